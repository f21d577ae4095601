//! Content digests (`sha256:<64 hex>`): parsing and verification of what we read.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::util::error::Error;

/// A validated `sha256:<64 lowercase hex>` digest.
///
/// Only sha256 is accepted: it is what ECR, Docker and BuildKit write, and a digest we cannot
/// verify is one we must not trust.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Digest(String);

impl Digest {
    /// Parses `sha256:<64 hex>`; upper-case hex is rejected as registries do.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let hex = s.strip_prefix("sha256:").ok_or_else(|| {
            Error::InvalidDigest(format!("{s:?}: only sha256 digests are supported"))
        })?;
        if hex.len() != 64
            || !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(Error::InvalidDigest(format!(
                "{s:?}: expected sha256: followed by 64 lowercase hex characters"
            )));
        }
        Ok(Digest(s.to_string()))
    }

    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Digest(format!("sha256:{}", hex::encode(Sha256::digest(bytes))))
    }

    /// Checks that `bytes` hash to this digest.
    pub fn verify(&self, bytes: &[u8]) -> Result<(), Error> {
        let actual = Digest::of(bytes);
        if &actual == self {
            Ok(())
        } else {
            Err(Error::DigestMismatch {
                expected: self.to_string(),
                actual: actual.to_string(),
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 64 hex characters without the algorithm.
    pub fn hex(&self) -> &str {
        &self.0["sha256:".len()..]
    }

    /// The first 12 hex characters, as `docker images` shows them.
    pub fn short(&self) -> &str {
        &self.hex()[..12]
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Digest {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        Digest::parse(&s)
    }
}

impl From<Digest> for String {
    fn from(d: Digest) -> String {
        d.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_of_empty_input_is_the_well_known_value() {
        assert_eq!(
            Digest::of(b"").as_str(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn rejects_other_algorithms_short_and_uppercase_digests() {
        assert!(Digest::parse("sha512:abc").is_err());
        assert!(Digest::parse(
            "sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234"
        )
        .is_err());
        assert!(Digest::parse(&format!("sha256:{}", "A".repeat(64))).is_err());
        assert!(Digest::parse(&format!("sha256:{}", "a".repeat(64))).is_ok());
    }

    #[test]
    fn verify_reports_expected_and_actual() {
        let d = Digest::of(b"hello");
        assert!(d.verify(b"hello").is_ok());
        match d.verify(b"hellO") {
            Err(Error::DigestMismatch { expected, actual }) => {
                assert_eq!(expected, d.to_string());
                assert_eq!(actual, Digest::of(b"hellO").to_string());
            }
            other => panic!("expected a digest mismatch, got {other:?}"),
        }
    }
}
