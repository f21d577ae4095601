//! Discovery at estate scale, before and after the consumer index (`scripts/bench` §7).
//!
//! The estate of the issue on a local fake that answers each call 20 ms late and throttles over
//! ECS's and Lambda's documented rate quotas (tests/common/fake_estate): 1,000 ECS services in
//! 20 clusters, 1,000 Lambda functions of which 300 are images; a burst of 100 pushes dealt to
//! 10 concurrent guard environments, each handling its events one at a time as Lambda does.
//! - before: every environment lists the estate itself (no index, unpaced, the SDK's standard
//!   retry: the guard as it was);
//! - after: one refresh of the consumer index (paced at 50 % of the quotas), then the burst.
//!
//! Then what a refresh costs for estates of 5 to 5,000 services and functions (no delay; the
//! calls are what the APIs' page sizes make them), and so what each size costs per day.

#![recursion_limit = "256"]

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Duration;

use common::estate_run::{burst, Burst, World};
use common::fake_estate::{EstateSpec, FakeEstate};

const LATENCY: Duration = Duration::from_millis(20);

fn row(name: &str, b: &Burst) {
    println!(
        "| {name} | {} | {:.2} | {} | {:.1} s | {} | {} |",
        b.discovery_calls(),
        b.discovery_calls() as f64 / b.verdicts.max(1) as f64,
        b.throttles(),
        b.elapsed.as_secs_f64(),
        b.unknown,
        b.errors
    );
}

fn calls(map: &std::collections::BTreeMap<String, usize>) -> String {
    map.iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    println!("| run (100 pushes, 10 environments, 20 ms per call) | discovery calls | per push | throttled | last verdict after | unknown verdicts | failed events |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    let before = {
        let world = World::start(LATENCY).await;
        let mut guards = Vec::new();
        for _ in 0..10 {
            guards.push(world.guard(false, 0).await);
        }
        burst(&world, guards).await
    };
    row("before: each environment lists", &before);
    let mut world = World::start(LATENCY).await;
    let (report, took) = world.refresh(50).await;
    let refresh_calls = world.estate.calls();
    let refresh_throttled = world.estate.throttled().values().sum::<usize>();
    let mut guards = Vec::new();
    for _ in 0..10 {
        guards.push(world.guard(true, 50).await);
    }
    let after = burst(&world, guards).await;
    row("after: one refresh, then the index", &after);
    println!();
    println!("before, by action: {}", calls(&before.calls));
    println!("before, throttled: {}", calls(&before.throttled));
    println!("after, by action: {}", calls(&after.calls));
    println!(
        "the refresh before the burst: {} calls ({}), {} throttled, {:.1} s, {} consumers, {} bytes",
        refresh_calls.values().sum::<usize>(),
        calls(&refresh_calls),
        refresh_throttled,
        took.as_secs_f64(),
        report.consumers,
        report.bytes
    );
    world.estate.reset();
    let (_, took) = world.refresh(50).await;
    println!(
        "the next refresh (warm refresher): {} calls ({}), {:.1} s",
        world.estate.calls().values().sum::<usize>(),
        calls(&world.estate.calls()),
        took.as_secs_f64()
    );

    println!();
    println!("| estate (services = functions, 30 % images) | first refresh: calls | next refreshes: calls | next refresh time (no delay) | index (gzip) | refresh calls per day (every 5 min) |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for n in [5usize, 50, 500, 5_000] {
        let clusters = n.div_ceil(50).max(1);
        let spec = EstateSpec {
            clusters,
            services_per_cluster: n / clusters,
            families: (n / 20).max(1),
            functions: n,
            image_functions: (n * 3).div_ceil(10),
            images: world
                .pushes
                .iter()
                .map(|(r, t, _, _)| common::local_aws::image_uri(r, t))
                .collect(),
        };
        let mut w = World::start(Duration::ZERO).await;
        w.estate = FakeEstate::start(spec, Duration::ZERO, true).await;
        let (first, _) = w.refresh(50).await;
        let first_calls: usize = w.estate.calls().values().sum();
        w.estate.reset();
        let (_, took) = w.refresh(50).await;
        let next: usize = w.estate.calls().values().sum();
        println!(
            "| {n} | {first_calls} | {next} | {:.1} s | {} B | {} |",
            took.as_secs_f64(),
            first.bytes,
            next * 288
        );
    }
}
