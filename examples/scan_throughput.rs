//! Scan throughput on moto (`scripts/bench` runs it): N distinct single-platform images across
//! several repositories, scanned by the library exactly as `ecr-arch-guard scan` does, with a
//! fresh guard (cold digest cache) per run, at two concurrency levels. Prints the median of
//! the runs in images/s. Moto is a single Python process, so absolute figures are moto's; the
//! ratio between the levels is what this measures.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use common::local_aws::*;
use ecr_arch_guard::act::message::NoNotify;
use ecr_arch_guard::aws::download::Download;
use ecr_arch_guard::aws::ecr::Ecr;
use ecr_arch_guard::handler::settings::{Actions, Settings};
use ecr_arch_guard::handler::Guard;
use ecr_arch_guard::scan::{self, Quiet, ScanOptions};

const REPOSITORIES: usize = 10;
const PER_REPOSITORY: usize = 20;
const RUNS: usize = 5;

#[tokio::main]
async fn main() {
    let LocalAws {
        moto: _moto,
        gap,
        config,
    } = LocalAws::start().await;
    let ecr = aws_sdk_ecr::Client::new(&config);
    for r in 0..REPOSITORIES {
        let repo = format!("svc-{r}");
        create_repository(&ecr, &repo).await;
        for i in 0..PER_REPOSITORY {
            let arch = if i % 3 == 0 { "arm64" } else { "amd64" };
            let cfg = format!(
                r#"{{"architecture":"{arch}","os":"linux","config":{{}},"rootfs":{{"type":"layers","diff_ids":[]}},"history":[{{"created_by":"{repo}-{i}"}}]}}"#
            );
            let cfg_digest = gap.upload(&repo, cfg.as_bytes());
            let manifest = format!(
                r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"{OCI_CONFIG}","digest":"{cfg_digest}","size":{}}},"layers":[]}}"#,
                cfg.len()
            );
            put_manifest(
                &ecr,
                &repo,
                manifest.as_bytes(),
                OCI_MANIFEST,
                Some(&format!("v{i}")),
            )
            .await;
        }
    }
    let images = REPOSITORIES * PER_REPOSITORY;
    println!("scan throughput on moto: {images} single-platform images in {REPOSITORIES} repositories, median of {RUNS} runs, cold cache each run");
    for concurrency in [1usize, 8] {
        let mut rates = Vec::new();
        for _ in 0..RUNS {
            let settings = Settings {
                actions: Actions::default(),
                inspect_untagged: true,
                allow_http_downloads: true,
                ..Settings::default()
            };
            let guard = Guard::new(
                settings,
                Ecr::new(
                    aws_sdk_ecr::Client::new(&config),
                    Download::new(true).unwrap(),
                ),
                NoNotify,
            );
            let opts = ScanOptions {
                registry: ecr_arch_guard::image::RegistryId::new(None, Some(REGION)),
                repositories: Vec::new(),
                tagged_only: false,
                since: None,
                concurrency,
            };
            let start = Instant::now();
            let report = scan::scan(guard.registry(), &guard, &opts, &Quiet)
                .await
                .unwrap();
            let secs = start.elapsed().as_secs_f64();
            assert_eq!(report.rows.len(), images);
            assert_eq!(report.count(scan::RowVerdict::Error), 0);
            rates.push(images as f64 / secs);
        }
        rates.sort_by(|a, b| a.partial_cmp(b).unwrap());
        println!(
            "  concurrency {concurrency:>2}: {:>6.1} images/s (median; min {:.1}, max {:.1})",
            rates[RUNS / 2],
            rates[0],
            rates[RUNS - 1]
        );
    }
}
