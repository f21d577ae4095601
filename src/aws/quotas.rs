//! Amazon ECR's default per-account, per-region API rate quotas, as AWS documents them ("Amazon
//! ECR service quotas", ECR User Guide; Service Quotas codes in brackets), and the rates the
//! audit reads at: a share of them, because the account's own image pulls (every ECS task,
//! Lambda cold start and node that pulls) draw on the same quotas and must never be throttled
//! by an audit. Only the two read APIs the audit repeats per image have published rate quotas;
//! the listing calls (DescribeRepositories, DescribeImages: 1 per 1,000 results) and
//! ListTagsForResource (1 per repository) are left to the SDK's adaptive retry.

use crate::scan::pace::Rates;

/// "Rate of BatchGetImage requests": 2,000 per second (L-16E70933).
pub const BATCH_GET_IMAGE_PER_SECOND: f64 = 2000.0;

/// "Rate of GetDownloadUrlForLayer requests": 3,000 per second (L-A60A366D).
pub const GET_DOWNLOAD_URL_FOR_LAYER_PER_SECOND: f64 = 3000.0;

/// The share of those quotas the CLI uses unless told otherwise (`--quota-share`), in percent.
pub const DEFAULT_SHARE_PERCENT: u8 = 10;

/// The rates at `percent` of ECR's default quotas (0: unpaced, for tests and local fakes).
pub fn rates(percent: u8) -> Rates {
    let share = f64::from(percent.min(100)) / 100.0;
    Rates {
        manifests: BATCH_GET_IMAGE_PER_SECOND * share,
        blobs: GET_DOWNLOAD_URL_FOR_LAYER_PER_SECOND * share,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_share_is_a_tenth_of_the_quotas() {
        let r = rates(DEFAULT_SHARE_PERCENT);
        assert_eq!((r.manifests, r.blobs), (200.0, 300.0));
        assert_eq!(rates(0).manifests, 0.0);
        assert_eq!(rates(250).blobs, 3000.0, "never above the quota");
    }
}
