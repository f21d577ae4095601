//! What the benchmarks (`examples/*_bench.rs`, `bench_lambda`) share: medians, milliseconds,
//! and AWS calls counted by operation.
#![allow(dead_code)]

use std::time::Duration;

pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// `12.3 ms`.
pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// `ecr:BatchGetImage 1 + GET blob 1`, in the order first made; `none` for no call.
pub fn summarize(calls: Vec<String>) -> String {
    if calls.is_empty() {
        return "none".into();
    }
    let mut counted: Vec<(String, usize)> = Vec::new();
    for c in calls {
        match counted.iter_mut().find(|(k, _)| *k == c) {
            Some((_, n)) => *n += 1,
            None => counted.push((c, 1)),
        }
    }
    counted
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(" + ")
}
