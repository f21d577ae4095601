//! The scan's own ceiling and its AWS calls per image (`scripts/bench` runs it): 10,000 images
//! in 50 repositories on a local fake ECR (tests/common/fake_ecr.rs: per repository 25
//! multi-platform indexes, each listed with its 2 children and its attestation, and 100
//! single-platform images sharing 50 configs), scanned by the library exactly as
//! `ecr-arch-guard scan` does (real ECR adapter and SDK, adaptive retry, concurrency up to
//! 32), with a fresh guard each run. Three settings, median of the runs:
//! - no delay, unpaced: the tool's own ceiling (the fake answers in microseconds);
//! - 20 ms per call, unpaced: what a region's round trip alone costs;
//! - 20 ms per call at the CLI's default 10 % share of ECR's rate quotas (what a user gets).
//!
//! Calls are counted by the fake, per action, and divided by the images listed.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::fake_ecr::{FakeEcr, Fleet};
use common::local_aws::sdk_config;
use ecr_arch_guard::act::message::NoNotify;
use ecr_arch_guard::aws::download::Download;
use ecr_arch_guard::aws::ecr::Ecr;
use ecr_arch_guard::aws::quotas;
use ecr_arch_guard::handler::settings::{Actions, Settings};
use ecr_arch_guard::handler::Guard;
use ecr_arch_guard::image::RegistryId;
use ecr_arch_guard::scan::pace::Paced;
use ecr_arch_guard::scan::{self, Quiet, RowVerdict, ScanOptions};

const FLEET: Fleet = Fleet {
    repositories: 50,
    indexes: 25,
    singles: 100,
};
const RUNS: usize = 3;

async fn run(fake: &FakeEcr, share: u8) -> (f64, scan::Report) {
    // The CLI's retry (aws::wiring::Connection with adaptive_retry).
    let config = sdk_config(&fake.endpoint)
        .await
        .to_builder()
        .retry_config(aws_config::retry::RetryConfig::adaptive().with_max_attempts(8))
        .build();
    let settings = Settings {
        actions: Actions::default(),
        inspect_untagged: true,
        ..Settings::default()
    };
    let ecr = Ecr::new(
        aws_sdk_ecr::Client::new(&config),
        Download::new(true).unwrap(),
    );
    let guard = Guard::new(settings, Paced::new(ecr, quotas::rates(share)), NoNotify)
        .with_cache_entries(16_384);
    let opts = ScanOptions {
        registry: RegistryId::default(),
        repositories: Vec::new(),
        tagged_only: false,
        since: None,
        concurrency: 32,
    };
    let start = Instant::now();
    let report = scan::scan(guard.registry(), &guard, &opts, &Quiet)
        .await
        .unwrap();
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(report.rows.len(), FLEET.judged());
    assert_eq!(report.count(RowVerdict::Error), 0);
    (secs, report)
}

#[tokio::main]
async fn main() {
    let listed = FLEET.listed();
    println!(
        "scan of {listed} images ({} judged, the rest children and attestations of indexes) in {} repositories, {} distinct single-image configs; median of {RUNS} runs",
        FLEET.judged(),
        FLEET.repositories,
        FLEET.single_configs()
    );
    println!();
    println!("| delay per call | quota share | wall time | images/s | AWS calls | calls per image | peak concurrency |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    let mut calls_line = String::new();
    for (delay_ms, share) in [(0u64, 0u8), (20, 0), (20, quotas::DEFAULT_SHARE_PERCENT)] {
        let fake = FakeEcr::start(FLEET, Duration::from_millis(delay_ms)).await;
        let mut runs = Vec::new();
        for _ in 0..RUNS {
            fake.reset_calls();
            let (secs, report) = run(&fake, share).await;
            runs.push((secs, report.concurrency.peak, fake.calls()));
        }
        runs.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
        let (secs, peak, calls) = &runs[RUNS / 2];
        let total: usize = calls
            .iter()
            .filter(|(k, _)| !k.contains('.'))
            .map(|(_, v)| v)
            .sum();
        println!(
            "| {delay_ms} ms | {} | {secs:.2} s | {:.0} | {total} | {:.3} | {peak} |",
            if share == 0 {
                "unpaced".to_string()
            } else {
                format!("{share} %")
            },
            listed as f64 / secs,
            total as f64 / listed as f64,
        );
        calls_line = calls
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ");
    }
    println!();
    println!("calls per run: {calls_line}");
}
