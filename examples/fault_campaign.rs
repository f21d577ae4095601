//! The fault campaign at full size (section 8 of `scripts/bench`): 1,000 events through the
//! release `bootstrap` under AWS's Lambda Runtime Interface Emulator in two environments, moto
//! behind the harness's proxy faulting 10 % of the calls with a fixed seed, driven as Lambda's
//! asynchronous invocation drives them, the dead-letter queue replayed with the CLI. Prints the
//! table docs/operations.md shows. The suite runs the same campaign at 100 events
//! (`tests/fault_campaign.rs`).
//!
//! Usage: cargo run --release --example fault_campaign -- [BOOTSTRAP] [CLI] [EVENTS] [SEED]

#![recursion_limit = "256"]

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::PathBuf;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let bootstrap = args
        .first()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/release/bootstrap"));
    let cli = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "target/release/ecr-arch-guard".into());
    let events = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(1000);
    let seed = args.get(3).and_then(|v| v.parse().ok()).unwrap_or(32);
    let r = common::campaign::run(events, seed, 100, &bootstrap, &cli).await;
    println!("| figure | value |");
    println!("| --- | --- |");
    print!("{}", common::campaign::table(&r));
    if !r.lost.is_empty() {
        println!("lost: {:?}", r.lost);
    }
}
