//! The services whose consumers the guard discovers: ECS, App Runner, Lambda, Batch.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A service whose consumers can be discovered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Service {
    Ecs,
    AppRunner,
    Lambda,
    Batch,
}

impl Service {
    pub const ALL: [Service; 4] = [
        Service::Ecs,
        Service::AppRunner,
        Service::Lambda,
        Service::Batch,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Service::Ecs => "ecs",
            Service::AppRunner => "apprunner",
            Service::Lambda => "lambda",
            Service::Batch => "batch",
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Service {
    type Err = String;

    /// `ecs`, `apprunner`, `lambda` or `batch` (any case).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.to_ascii_lowercase();
        Service::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| format!("unknown service {s:?}; use ecs, apprunner, lambda or batch"))
    }
}

impl Serialize for Service {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Service {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in Service::ALL {
            assert_eq!(s.as_str().parse::<Service>(), Ok(s));
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(serde_json::from_str::<Service>(&json).unwrap(), s);
        }
        assert_eq!("Lambda".parse::<Service>(), Ok(Service::Lambda));
        assert!("eks".parse::<Service>().is_err());
    }
}
