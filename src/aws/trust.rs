//! The trust roots every TLS connection of the guard verifies AWS against (the SDK clients and
//! the blob download): Mozilla's root set compiled into the binary (`webpki-root-certs`, as
//! the PEM bundle build.rs writes; it holds the Amazon Trust Services roots every AWS endpoint,
//! S3's presigned URLs included, chains to), or the system's store with `TRUST_STORE=system`.
//!
//! Why compiled in: loading the system store at start-up opens and parses the bundle and every
//! file of the certificate directory (about 150 on Debian) before the first request, most of
//! the function's cold start. The trade: root updates arrive with crate updates (a rebuild),
//! not with the operating system's; use `TRUST_STORE=system` for a private CA or a
//! TLS-inspecting proxy.

use std::sync::Arc;

pub use crate::handler::settings::TrustRoots;

/// The compiled-in roots as one PEM bundle (written by build.rs from `webpki-root-certs`).
const BUNDLED_PEM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/trust-roots.pem"));

/// The SDK clients' trust store.
pub fn sdk_trust_store(roots: TrustRoots) -> aws_smithy_http_client::tls::TrustStore {
    use aws_smithy_http_client::tls::TrustStore;
    match roots {
        TrustRoots::System => TrustStore::default(),
        TrustRoots::Bundled => {
            // The SDK takes PEM: the bundle build.rs wrote from the same certificates.
            TrustStore::empty()
                .with_native_roots(false)
                .with_pem_certificate(BUNDLED_PEM)
        }
    }
}

/// A rustls configuration (ring, as the SDK clients) trusting the compiled-in roots, for the
/// blob download (built on the first download).
pub fn bundled_rustls_config() -> Result<rustls::ClientConfig, String> {
    use rustls::pki_types::{pem::PemObject, CertificateDer};
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_slice_iter(BUNDLED_PEM)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("compiled-in trust roots: {e}"))?;
    roots.add_parsable_certificates(certs);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS configuration: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_roots_hold_the_amazon_trust_services_roots() {
        bundled_rustls_config().unwrap();
        use rustls::pki_types::pem::PemObject;
        let bundled = rustls::pki_types::CertificateDer::pem_slice_iter(BUNDLED_PEM)
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        // Every root of the crate, unchanged, in the bundle the SDK and the download read.
        assert_eq!(bundled, webpki_root_certs::TLS_SERVER_ROOT_CERTS);
        let subjects: Vec<String> = webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .map(|c| String::from_utf8_lossy(c.as_ref()).into_owned())
            .collect();
        // The five roots Amazon Trust Services asks custom trust stores to hold
        // (https://www.amazontrust.com/repository/, "Trust store and pinning recommendations");
        // AWS endpoints and S3's presigned URLs chain to them.
        for root in [
            "Amazon Root CA 1",
            "Amazon Root CA 2",
            "Amazon Root CA 3",
            "Amazon Root CA 4",
            "Starfield Services Root Certificate Authority - G2",
        ] {
            assert!(subjects.iter().any(|s| s.contains(root)), "{root}");
        }
    }
}
