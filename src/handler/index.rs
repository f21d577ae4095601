//! The consumer index's refresh, on its schedule: an EventBridge "Scheduled Event" (the rule
//! the template creates for the refresher function) lists the function's own account and
//! region and every other one that has an index, and writes each index.

use serde_json::Value;

use super::Guard;
use crate::act::message::Notify;
use crate::consumers::discovery::{Discover, RefreshReport};
use crate::image::ports::Registry;
use crate::image::RegistryId;
use crate::util::error::Error;

/// The detail-type of the events a scheduled EventBridge rule sends ("Amazon EventBridge
/// events", example "Scheduled Event": `source` `aws.events`, `detail` `{}`).
pub const SCHEDULED_EVENT: &str = "Scheduled Event";

/// The account and region a scheduled event comes from (the refresher's own), when `event`
/// is one.
pub fn scheduled(event: &Value) -> Option<RegistryId> {
    let field = |k: &str| event.get(k).and_then(Value::as_str);
    if field("detail-type") != Some(SCHEDULED_EVENT) || field("source") != Some("aws.events") {
        return None;
    }
    Some(RegistryId::new(field("account"), field("region")))
}

impl<R: Registry, N: Notify, D: Discover> Guard<R, N, D> {
    /// Refreshes the consumer index of `home` and of every account and region that has one.
    /// Fails (so the function's Errors alarm tells someone) when any of them failed; the
    /// others are written all the same.
    pub async fn refresh_index(&self, home: &RegistryId) -> Result<Vec<RefreshReport>, Error> {
        let outcomes = self.sources.discovery.refresh_all(home).await?;
        let mut reports = Vec::new();
        let mut failed = Vec::new();
        for outcome in outcomes {
            match outcome {
                Ok(r) => reports.push(r),
                Err(e) => failed.push(e),
            }
        }
        if failed.is_empty() {
            Ok(reports)
        } else {
            Err(Error::Transient(format!(
                "consumer index refresh failed for {} of {} accounts and regions: {}",
                failed.len(),
                failed.len() + reports.len(),
                failed.join("; ")
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_scheduled_events_refresh() {
        // The example in the EventBridge User Guide ("Creating a rule that runs on a schedule").
        let event: Value = serde_json::from_str(
            r#"{"version":"0","id":"53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa","detail-type":"Scheduled Event","source":"aws.events","account":"123456789012","time":"2015-10-08T16:53:06Z","region":"us-east-1","resources":["arn:aws:events:us-east-1:123456789012:rule/my-scheduled-rule"],"detail":{}}"#,
        )
        .unwrap();
        assert_eq!(
            scheduled(&event),
            Some(RegistryId::new(Some("123456789012"), Some("us-east-1")))
        );
        let mut other = event.clone();
        other["source"] = "aws.ecr".into();
        assert_eq!(scheduled(&other), None);
        assert_eq!(
            scheduled(&serde_json::json!({"detail-type": "ECR Image Action"})),
            None
        );
    }
}
