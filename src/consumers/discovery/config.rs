//! How discovery behaves, read from the environment: which services (`DISCOVER`), how long a
//! listing is reused and may take, the consumer index (`CONSUMER_INDEX_*`) and the share of
//! the control-plane quotas a listing may use (`DISCOVERY_QUOTA_SHARE`).

use std::time::Duration;

use super::Service;
use crate::util::env_value;
use crate::util::error::Error;

/// Parses `DISCOVER`: a comma list of `ecs`, `apprunner`, `lambda`, `batch`, or `all`;
/// empty or `off` disables discovery. Sorted, de-duplicated.
pub fn parse_services(s: &str) -> Result<Vec<Service>, Error> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.to_ascii_lowercase().as_str() {
            "all" => out.extend(Service::ALL),
            "off" | "none" => {}
            name => match name.parse::<Service>() {
                Ok(s) => out.push(s),
                Err(_) => {
                    return Err(Error::Usage(format!(
                    "DISCOVER: unknown service {name:?}; use ecs, apprunner, lambda, batch or all"
                )))
                }
            },
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// How discovery behaves.
#[derive(Clone, Debug, PartialEq)]
pub struct DiscoveryConfig {
    pub services: Vec<Service>,
    /// How long a complete snapshot is reused (`DISCOVERY_TTL_SECONDS`, default 300).
    pub ttl: Duration,
    /// How long one service may take before it counts as unknown (`DISCOVERY_TIMEOUT_SECONDS`,
    /// default 10).
    pub deadline: Duration,
    /// Where the consumer index is (`CONSUMER_INDEX_BUCKET`: an S3 bucket); none: every
    /// environment lists for itself.
    pub index_bucket: Option<String>,
    /// The oldest a service's part of the consumer index may be before it is listed directly
    /// instead (`CONSUMER_INDEX_MAX_AGE_SECONDS`, default 900: three missed refreshes).
    pub index_max_age: Duration,
    /// How long a refresh may list one service (`CONSUMER_INDEX_REFRESH_SECONDS`, default 540).
    pub refresh_deadline: Duration,
    /// The share of ECS's and Lambda's documented control-plane rate quotas a listing may use,
    /// in percent (`DISCOVERY_QUOTA_SHARE`, default 50; 0: unpaced).
    pub quota_share: u8,
}

impl Default for DiscoveryConfig {
    fn default() -> Self {
        DiscoveryConfig {
            services: Vec::new(),
            ttl: Duration::from_secs(300),
            deadline: Duration::from_secs(10),
            index_bucket: None,
            index_max_age: Duration::from_secs(900),
            refresh_deadline: Duration::from_secs(540),
            quota_share: 50,
        }
    }
}

impl DiscoveryConfig {
    /// Reads the variables; unset ones keep their defaults.
    pub fn read(get: impl Fn(&str) -> Option<String>) -> Result<DiscoveryConfig, Error> {
        let mut c = DiscoveryConfig::default();
        let number = |k: &str, min, max| env_value::number(get(k), k, min, max);
        let seconds = |k: &str, min, max| env_value::seconds(get(k), k, min, max);
        if let Some(v) = get("DISCOVER") {
            c.services = parse_services(&v)?;
        }
        if let Some(d) = seconds("DISCOVERY_TTL_SECONDS", 0, 86_400)? {
            c.ttl = d;
        }
        if let Some(d) = seconds("DISCOVERY_TIMEOUT_SECONDS", 1, 900)? {
            c.deadline = d;
        }
        c.index_bucket = get("CONSUMER_INDEX_BUCKET");
        if let Some(d) = seconds("CONSUMER_INDEX_MAX_AGE_SECONDS", 60, 86_400)? {
            c.index_max_age = d;
        }
        if let Some(d) = seconds("CONSUMER_INDEX_REFRESH_SECONDS", 1, 900)? {
            c.refresh_deadline = d;
        }
        if let Some(n) = number("DISCOVERY_QUOTA_SHARE", 0, 100)? {
            c.quota_share = n as u8;
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_parse() {
        assert_eq!(parse_services("").unwrap(), vec![]);
        assert_eq!(parse_services("off").unwrap(), vec![]);
        assert_eq!(parse_services("all").unwrap(), Service::ALL.to_vec());
        assert_eq!(
            parse_services(" Lambda, ecs ,lambda").unwrap(),
            vec![Service::Ecs, Service::Lambda]
        );
        assert!(parse_services("ecs,eks").is_err());
    }

    #[test]
    fn the_index_and_the_pacing_are_read_with_bounds() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            DiscoveryConfig::read(env(&[])).unwrap(),
            DiscoveryConfig::default()
        );
        let c = DiscoveryConfig::read(env(&[
            ("DISCOVER", "ecs,lambda"),
            ("CONSUMER_INDEX_BUCKET", "guard-index"),
            ("CONSUMER_INDEX_MAX_AGE_SECONDS", "600"),
            ("CONSUMER_INDEX_REFRESH_SECONDS", "240"),
            ("DISCOVERY_QUOTA_SHARE", "25"),
        ]))
        .unwrap();
        assert_eq!(c.index_bucket.as_deref(), Some("guard-index"));
        assert_eq!(c.index_max_age, Duration::from_secs(600));
        assert_eq!(c.refresh_deadline, Duration::from_secs(240));
        assert_eq!(c.quota_share, 25);
        for bad in [
            ("DISCOVERY_QUOTA_SHARE", "150"),
            ("CONSUMER_INDEX_MAX_AGE_SECONDS", "10"),
            ("CONSUMER_INDEX_REFRESH_SECONDS", "soon"),
        ] {
            let pairs: &'static [(&'static str, &'static str)] = Box::leak(Box::new([bad]));
            assert!(DiscoveryConfig::read(env(pairs)).is_err(), "{bad:?}");
        }
    }
}
