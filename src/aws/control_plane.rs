//! The documented control-plane rate quotas of the APIs discovery lists (per account and
//! region), and the client-side token buckets that keep a listing under a share of them, so a
//! refresh never takes the rate a deployment needs.
//!
//! Amazon ECS ("Request throttling for the Amazon ECS API", ECS API Reference: token buckets,
//! per category, shared by the category's actions):
//! - Cluster read actions (DescribeClusters, ListClusters): burst 50, refill 20/s;
//! - Service read actions (DescribeServices, ListServices): burst 100, refill 20/s;
//! - Task definition read actions (DescribeTaskDefinition, ListTaskDefinitions,
//!   ListTaskDefinitionFamilies): burst 50, refill 20/s;
//! - Cluster resource read actions (ListAttributes, DescribeContainerInstances, …): burst
//!   100, refill 20/s;
//! - Service revision actions (DescribeServiceRevisions): burst 50, refill 20/s.
//!
//! AWS Lambda ("Lambda quotas", Lambda Developer Guide, "API requests"):
//! - GetFunction: 100 requests per second;
//! - the rest of the control plane (ListFunctions among them): 15 requests per second across
//!   all APIs — shared with every deployment tool's calls, hence the share.
//!
//! App Runner and Batch publish no per-action rates: their calls are left to the SDK's
//! adaptive retry, which slows down on throttling.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// A rate quota as a token bucket.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Quota {
    /// Bucket capacity: requests allowed in one burst.
    pub burst: f64,
    /// Refill: requests per second sustained.
    pub per_second: f64,
}

/// The token buckets discovery's calls draw from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    EcsClusterRead,
    EcsServiceRead,
    EcsTaskDefinitionRead,
    EcsClusterResourceRead,
    EcsServiceRevision,
    LambdaGetFunction,
    LambdaControlPlane,
}

impl Category {
    pub const ALL: [Category; 7] = [
        Category::EcsClusterRead,
        Category::EcsServiceRead,
        Category::EcsTaskDefinitionRead,
        Category::EcsClusterResourceRead,
        Category::EcsServiceRevision,
        Category::LambdaGetFunction,
        Category::LambdaControlPlane,
    ];

    /// The documented default quota.
    pub fn quota(self) -> Quota {
        let q = |burst, per_second| Quota { burst, per_second };
        match self {
            Category::EcsClusterRead => q(50.0, 20.0),
            Category::EcsServiceRead => q(100.0, 20.0),
            Category::EcsTaskDefinitionRead => q(50.0, 20.0),
            Category::EcsClusterResourceRead => q(100.0, 20.0),
            Category::EcsServiceRevision => q(50.0, 20.0),
            // Lambda documents a rate, not a burst: one second's worth.
            Category::LambdaGetFunction => q(100.0, 100.0),
            Category::LambdaControlPlane => q(15.0, 15.0),
        }
    }

    /// The category of an ECS action (`X-Amz-Target: AmazonEC2ContainerServiceV20141113.<Action>`).
    pub fn of_ecs_action(action: &str) -> Option<Category> {
        Some(match action {
            "DescribeClusters" | "ListClusters" => Category::EcsClusterRead,
            "DescribeServices" | "ListServices" => Category::EcsServiceRead,
            "DescribeTaskDefinition" | "ListTaskDefinitions" | "ListTaskDefinitionFamilies" => {
                Category::EcsTaskDefinitionRead
            }
            "DescribeContainerInstances"
            | "DescribeTasks"
            | "ListAttributes"
            | "ListContainerInstances"
            | "ListTasks" => Category::EcsClusterResourceRead,
            "DescribeServiceRevisions" => Category::EcsServiceRevision,
            _ => return None,
        })
    }

    /// The category of a Lambda REST request (`GET /2015-03-31/functions/NAME` is GetFunction;
    /// every other `/2015-03-31/…` call is the shared control plane).
    pub fn of_lambda_path(method: &str, path: &str) -> Option<Category> {
        let rest = path.strip_prefix("/2015-03-31/")?;
        let get_function = method.eq_ignore_ascii_case("GET")
            && rest
                .strip_prefix("functions/")
                .is_some_and(|name| !name.is_empty() && !name.contains('/'));
        Some(if get_function {
            Category::LambdaGetFunction
        } else {
            Category::LambdaControlPlane
        })
    }
}

/// A token bucket at a share of a quota; a request takes a token or waits for one (tokens
/// below zero are requests already waiting, served in order).
#[derive(Debug)]
pub struct TokenBucket {
    quota: Quota,
    state: Mutex<(f64, Instant)>,
}

impl TokenBucket {
    /// `percent` of `quota` (at least one request of burst); 0: no limit.
    pub fn at_share(quota: Quota, percent: u8) -> Option<TokenBucket> {
        if percent == 0 {
            return None;
        }
        let share = f64::from(percent.min(100)) / 100.0;
        let quota = Quota {
            burst: (quota.burst * share).max(1.0),
            per_second: quota.per_second * share,
        };
        Some(TokenBucket {
            quota,
            state: Mutex::new((quota.burst, Instant::now())),
        })
    }

    /// How long the next request must wait; it is counted now.
    pub fn reserve(&self) -> Duration {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let (tokens, last) = *state;
        let refilled = (tokens + now.duration_since(last).as_secs_f64() * self.quota.per_second)
            .min(self.quota.burst);
        let left = refilled - 1.0;
        *state = (left, now);
        if left >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-left / self.quota.per_second)
        }
    }

    /// Waits for a token.
    pub async fn take(&self) {
        let wait = self.reserve();
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// One bucket per category, at one share of the quotas: one account and region's.
#[derive(Debug)]
pub struct Buckets {
    buckets: Vec<(Category, TokenBucket)>,
}

impl Buckets {
    /// The share of the quotas discovery uses unless told otherwise (`DISCOVERY_QUOTA_SHARE`).
    pub const DEFAULT_SHARE_PERCENT: u8 = 50;

    pub fn at_share(percent: u8) -> Buckets {
        Buckets {
            buckets: Category::ALL
                .into_iter()
                .filter_map(|c| TokenBucket::at_share(c.quota(), percent).map(|b| (c, b)))
                .collect(),
        }
    }

    /// Waits for a token of `category`'s bucket.
    pub async fn take(&self, category: Category) {
        if let Some((_, b)) = self.buckets.iter().find(|(c, _)| *c == category) {
            b.take().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_told_apart_as_the_quota_tables_group_them() {
        assert_eq!(
            Category::of_ecs_action("ListServices"),
            Some(Category::EcsServiceRead)
        );
        assert_eq!(
            Category::of_ecs_action("DescribeTaskDefinition"),
            Some(Category::EcsTaskDefinitionRead)
        );
        assert_eq!(
            Category::of_ecs_action("ListAttributes"),
            Some(Category::EcsClusterResourceRead)
        );
        assert_eq!(Category::of_ecs_action("UpdateService"), None);
        let lambda = |m, p| Category::of_lambda_path(m, p);
        assert_eq!(
            lambda("GET", "/2015-03-31/functions/thumbs"),
            Some(Category::LambdaGetFunction)
        );
        assert_eq!(
            lambda("GET", "/2015-03-31/functions/"),
            Some(Category::LambdaControlPlane),
            "ListFunctions"
        );
        assert_eq!(
            lambda("GET", "/2015-03-31/functions/thumbs/configuration"),
            Some(Category::LambdaControlPlane)
        );
        assert_eq!(lambda("GET", "/v1/describejobdefinitions"), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_bucket_allows_its_burst_then_its_rate() {
        // ECS service reads at half the quota: 50 at once, then 10 per second.
        let b = TokenBucket::at_share(Category::EcsServiceRead.quota(), 50).unwrap();
        for _ in 0..50 {
            assert_eq!(b.reserve(), Duration::ZERO);
        }
        assert_eq!(b.reserve(), Duration::from_millis(100));
        assert_eq!(
            b.reserve(),
            Duration::from_millis(200),
            "queued behind the first"
        );
        tokio::time::advance(Duration::from_secs(10)).await;
        // 10 s refill it past its burst: 50 again at once, no more.
        for _ in 0..50 {
            assert_eq!(b.reserve(), Duration::ZERO);
        }
        assert!(b.reserve() > Duration::ZERO);
        assert!(TokenBucket::at_share(Category::EcsServiceRead.quota(), 0).is_none());
    }
}
