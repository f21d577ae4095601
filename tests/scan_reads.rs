//! The scan reads at the ECR API's own granularity, counted on a fake ECR (tests/common/
//! fake_ecr.rs) through the real ECR adapter and SDK: listing pages of 1,000, manifests 100 per
//! BatchGetImage and only those of the images judged (an index's children and attestations
//! never), each config blob once however many images share it, and throttled images judged
//! again at a lower concurrency instead of failing the audit.
//! Facts from the ECR API reference: BatchGetImage takes 1 to 100 `imageIds`; DescribeImages
//! and DescribeRepositories take `maxResults` 1 to 1000.

mod common;

use std::time::Duration;

use common::fake_ecr::{FakeEcr, Fleet};
use common::local_aws::sdk_config;
use ecr_arch_guard::act::message::NoNotify;
use ecr_arch_guard::aws::download::Download;
use ecr_arch_guard::aws::ecr::Ecr;
use ecr_arch_guard::handler::settings::{Actions, Settings};
use ecr_arch_guard::handler::Guard;
use ecr_arch_guard::image::RegistryId;
use ecr_arch_guard::scan::pace::{Paced, Rates};
use ecr_arch_guard::scan::{self, Quiet, RowVerdict, ScanOptions};

async fn client(fake: &FakeEcr, attempts: u32) -> aws_sdk_ecr::Client {
    let config = sdk_config(&fake.endpoint)
        .await
        .to_builder()
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(attempts))
        .build();
    aws_sdk_ecr::Client::new(&config)
}

type TestGuard = Guard<Paced<Ecr>, NoNotify>;

fn guard(client: aws_sdk_ecr::Client) -> TestGuard {
    let settings = Settings {
        actions: Actions::default(),
        inspect_untagged: true,
        ..Settings::default()
    };
    let ecr = Ecr::new(client, Download::new(true).unwrap());
    let unpaced = Rates {
        manifests: 0.0,
        blobs: 0.0,
    };
    Guard::new(settings, Paced::new(ecr, unpaced), NoNotify).with_cache_entries(16_384)
}

fn options(concurrency: usize) -> ScanOptions {
    ScanOptions {
        registry: RegistryId::default(),
        repositories: vec![],
        tagged_only: false,
        since: None,
        concurrency,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_reads_manifests_in_batches_and_each_config_once() {
    let fleet = Fleet {
        repositories: 2,
        indexes: 3,
        singles: 150,
    };
    let fake = FakeEcr::start(fleet, Duration::ZERO).await;
    let g = guard(client(&fake, 3).await);
    let report = scan::scan(g.registry(), &g, &options(32), &Quiet)
        .await
        .unwrap();

    assert_eq!(report.rows.len(), fleet.judged());
    assert_eq!(report.count(RowVerdict::Error), 0, "{:?}", report.rows);
    // Every fifth config is arm64 (two singles each), against the default linux/amd64.
    assert_eq!(report.count(RowVerdict::Mismatch), 2 * 30);
    assert_eq!(
        report.children_skipped,
        2 * 3 * 3,
        "2 children + 1 attestation each"
    );

    let calls = fake.calls();
    let n = |k: &str| calls.get(k).copied().unwrap_or(0);
    assert_eq!(n("DescribeRepositories"), 1);
    assert_eq!(
        n("DescribeImages"),
        2,
        "one page of up to 1,000 per repository"
    );
    // Per repository: the 3 indexes in one call, then the 150 singles in two (100 + 50).
    assert_eq!(n("BatchGetImage"), 2 * 3, "{calls:?}");
    assert_eq!(
        n("BatchGetImage.imageIds"),
        fleet.judged(),
        "only the judged images' manifests; no child or attestation read"
    );
    assert_eq!(
        n("GetDownloadUrlForLayer"),
        fleet.single_configs(),
        "{calls:?}"
    );
    assert_eq!(n("Download"), fleet.single_configs());
    assert_eq!(
        n("ListTagsForResource"),
        2,
        "the repository policy tag once per repository"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_images_are_judged_again_at_a_lower_concurrency() {
    let fleet = Fleet {
        repositories: 1,
        indexes: 0,
        singles: 40,
    };
    let fake = FakeEcr::start(fleet, Duration::ZERO).await;
    // One attempt: every ThrottlingException reaches the scan (the CLI's SDK retries first).
    let g = guard(client(&fake, 1).await);
    fake.throttle("GetDownloadUrlForLayer", 5);
    let report = scan::scan(g.registry(), &g, &options(8), &Quiet)
        .await
        .unwrap();
    assert_eq!(report.rows.len(), 40);
    assert_eq!(report.count(RowVerdict::Error), 0, "{:?}", report.rows);
    assert_eq!(report.concurrency.throttled, 5);
    assert_eq!(
        fake.calls()["GetDownloadUrlForLayer"],
        fleet.single_configs() + 5
    );
}
