//! Discovery at estate scale: 1,000 ECS services in 20 clusters and 1,000 Lambda functions (300
//! images) on a fake that throttles over ECS's and Lambda's documented rate quotas
//! (tests/common/fake_estate); a burst of 100 pushes dealt to 10 concurrent guard environments.
//! After one refresh of the consumer index, a push costs one discovery call (a conditional S3
//! GET), nothing is throttled and no verdict falls back to unknown; the refresh itself stays
//! under the quotas, and a second one reads no task definition or function again.
//! (Timings and the before/after comparison are `scripts/bench` §7: a benchmark, not a test.)

#![recursion_limit = "256"]

mod common;

use std::time::Duration;

use common::estate_run::{burst, World};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_one_refresh_a_push_costs_one_read_and_nothing_is_throttled() {
    let mut world = World::start(Duration::ZERO).await;

    let (report, _) = world.refresh(50).await;
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    // 1,000 services (one container each) and 300 image functions; every family's latest
    // revision runs in a service, so no task definition counts on its own.
    assert_eq!(report.consumers, 1_300);
    let first = world.estate.calls();
    assert!(
        world.estate.throttled().is_empty(),
        "{:?}",
        world.estate.throttled()
    );
    assert_eq!(first["ListServices"], 20, "100 a page");
    assert_eq!(first["DescribeServices"], 100, "10 a call");
    assert_eq!(
        first["DescribeTaskDefinition"], 50,
        "each family's latest once"
    );
    assert_eq!(first["GetFunction"], 300, "image functions only");

    let mut guards = Vec::new();
    for _ in 0..10 {
        guards.push(world.guard(true, 50).await);
    }
    let b = burst(&world, guards).await;
    assert_eq!((b.verdicts, b.errors), (100, 0));
    assert_eq!(b.unknown, 0, "no verdict fell back to unknown");
    assert_eq!(b.fell_back, 0, "the index was fresh");
    assert_eq!(b.throttles(), 0, "{:?}", b.throttled);
    // One conditional GET per push: each environment downloads the index once, then 304s.
    assert_eq!(b.discovery_calls(), 100, "{:?}", b.calls);
    assert_eq!(b.calls.get("GetObject"), Some(&10));
    assert_eq!(b.calls.get("GetObject 304"), Some(&90));

    // A second refresh: task definition revisions and unchanged functions are not read again.
    world.estate.reset();
    let (again, _) = world.refresh(50).await;
    assert_eq!(again.consumers, 1_300);
    let second = world.estate.calls();
    assert_eq!(second.get("DescribeTaskDefinition"), None, "{second:?}");
    assert_eq!(second.get("GetFunction"), None, "{second:?}");
    assert!(world.estate.throttled().is_empty());
}
