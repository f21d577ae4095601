//! Writes the compiled-in trust roots (Mozilla's set from `webpki-root-certs`) as one PEM
//! bundle into OUT_DIR, so the function hands them to the AWS SDK without encoding them at
//! start-up (see src/aws/trust.rs).

use std::io::Write;

use base64::Engine;

fn main() {
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let mut pem = Vec::new();
    let b64 = base64::engine::general_purpose::STANDARD;
    for cert in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
        let text = b64.encode(cert.as_ref());
        writeln!(pem, "-----BEGIN CERTIFICATE-----").unwrap();
        for line in text.as_bytes().chunks(64) {
            pem.extend_from_slice(line);
            pem.push(b'\n');
        }
        writeln!(pem, "-----END CERTIFICATE-----").unwrap();
    }
    std::fs::write(out.join("trust-roots.pem"), pem).expect("write trust-roots.pem");
    println!("cargo:rerun-if-changed=build.rs");
}
