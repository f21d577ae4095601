//! Which credentials and region read an image: the guard's own for its own account, the member
//! role's (assumed through STS, cached per account, refreshed before expiry) for another
//! account of the organisation, and always a client for the event's own region.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_config::{Region, SdkConfig};
use aws_credential_types::provider::{self, future, ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use tokio::sync::Mutex;

use super::assume_role::AssumeRole;
use super::ecr::partition;
pub use crate::handler::settings::MemberRole;
use crate::util::error::Error;

/// Credentials are renewed this long before they expire.
const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(300);

/// Clients' configurations per account and region.
#[derive(Debug)]
pub struct Accounts {
    base: SdkConfig,
    /// The guard's own account (`HOME_ACCOUNT_ID`); `None`: every account is read with the
    /// guard's own credentials (single-account deployment, CLI).
    home: Option<String>,
    member: Option<MemberRole>,
    providers: Mutex<HashMap<String, SharedCredentialsProvider>>,
    configs: Mutex<HashMap<(String, String), SdkConfig>>,
}

impl Accounts {
    pub fn new(base: SdkConfig, home: Option<String>, member: Option<MemberRole>) -> Accounts {
        Accounts {
            base,
            home,
            member,
            providers: Mutex::default(),
            configs: Mutex::default(),
        }
    }

    /// The base configuration (the guard's own account and region).
    pub fn base(&self) -> &SdkConfig {
        &self.base
    }

    /// Whether `account` is read through the member role.
    pub fn is_member(&self, account: Option<&str>) -> bool {
        match (account, &self.home, &self.member) {
            (Some(a), Some(home), Some(_)) => a != home,
            _ => false,
        }
    }

    /// The configuration that reads `account` in `region` (either `None`: the guard's own).
    /// The first use of a member account assumes its role, so a denied or missing role is
    /// reported here as [`Error::AccountUnreadable`], naming the account.
    pub async fn config(
        &self,
        account: Option<&str>,
        region: Option<&str>,
    ) -> Result<SdkConfig, Error> {
        let region = region
            .map(str::to_string)
            .or_else(|| self.base.region().map(|r| r.to_string()))
            .unwrap_or_default();
        let member = self.is_member(account);
        let key = (
            if member {
                account.unwrap_or_default().to_string()
            } else {
                String::new()
            },
            region.clone(),
        );
        if let Some(c) = self.configs.lock().await.get(&key) {
            return Ok(c.clone());
        }
        let mut builder = self.base.to_builder();
        if !region.is_empty() {
            builder = builder.region(Region::new(region.clone()));
        }
        if member {
            let account = account.unwrap_or_default();
            let provider = self.member_credentials(account, &region).await?;
            builder = builder.credentials_provider(provider);
        }
        let config = builder.build();
        self.configs.lock().await.insert(key, config.clone());
        Ok(config)
    }

    /// The member role's credentials for `account`, one cached provider per account shared by
    /// every region; checked once now so a denied role is a clear error.
    async fn member_credentials(
        &self,
        account: &str,
        region: &str,
    ) -> Result<SharedCredentialsProvider, Error> {
        let mut providers = self.providers.lock().await;
        if let Some(p) = providers.get(account) {
            return Ok(p.clone());
        }
        let member = self.member.as_ref().expect("is_member checked");
        let part = partition(if region.is_empty() {
            "us-east-1"
        } else {
            region
        });
        let role = format!("arn:{part}:iam::{account}:role/{}", member.name);
        let assume = AssumeRole::new(&self.base, &role, member.external_id.as_deref());
        let cached = Refreshing::new(assume);
        if let Err(e) = cached.provide_credentials().await {
            let text = super::error_chain(&e);
            return Err(if text.contains("Throttl") || text.contains("timed out") {
                Error::Transient(format!("assuming {role}: {text}"))
            } else {
                Error::AccountUnreadable {
                    account: account.to_string(),
                    reason: format!("assuming {role} failed: {text}"),
                }
            });
        }
        let shared = SharedCredentialsProvider::new(cached);
        providers.insert(account.to_string(), shared.clone());
        Ok(shared)
    }
}

/// Credentials from `inner`, kept until shortly before they expire.
#[derive(Debug)]
pub struct Refreshing<P> {
    inner: P,
    cached: Arc<Mutex<Option<Credentials>>>,
}

impl<P: ProvideCredentials> Refreshing<P> {
    pub fn new(inner: P) -> Self {
        Refreshing {
            inner,
            cached: Arc::default(),
        }
    }

    async fn get(&self) -> provider::Result {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref() {
            let fresh = c
                .expiry()
                .is_none_or(|at| at > SystemTime::now() + REFRESH_BEFORE_EXPIRY);
            if fresh {
                return Ok(c.clone());
            }
        }
        let c = self.inner.provide_credentials().await?;
        *cached = Some(c.clone());
        Ok(c)
    }
}

impl<P: ProvideCredentials> ProvideCredentials for Refreshing<P> {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(self.get())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Debug)]
    struct Counting {
        calls: Arc<AtomicUsize>,
        lifetime: Duration,
    }

    impl ProvideCredentials for Counting {
        fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            self.calls.fetch_add(1, Ordering::SeqCst);
            future::ProvideCredentials::ready(Ok(Credentials::new(
                "AKIA",
                "secret",
                Some("token".into()),
                Some(SystemTime::now() + self.lifetime),
                "test",
            )))
        }
    }

    #[tokio::test]
    async fn credentials_are_reused_until_shortly_before_expiry() {
        let calls = Arc::new(AtomicUsize::new(0));
        let long = Refreshing::new(Counting {
            calls: calls.clone(),
            lifetime: Duration::from_secs(3600),
        });
        for _ in 0..5 {
            long.provide_credentials().await.unwrap();
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let calls = Arc::new(AtomicUsize::new(0));
        let expiring = Refreshing::new(Counting {
            calls: calls.clone(),
            lifetime: Duration::from_secs(60),
        });
        for _ in 0..3 {
            expiring.provide_credentials().await.unwrap();
        }
        assert_eq!(
            calls.load(Ordering::SeqCst),
            3,
            "within 5 min of expiry: refreshed"
        );
    }

    #[test]
    fn only_other_accounts_in_organisation_mode_are_members() {
        let base = SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let role = MemberRole {
            name: "ecr-arch-guard-reader".into(),
            external_id: None,
        };
        let org = Accounts::new(base.clone(), Some("111111111111".into()), Some(role));
        assert!(org.is_member(Some("222222222222")));
        assert!(!org.is_member(Some("111111111111")));
        assert!(!org.is_member(None));
        let single = Accounts::new(base, Some("111111111111".into()), None);
        assert!(!single.is_member(Some("222222222222")));
    }
}
