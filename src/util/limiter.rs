//! Adaptive concurrency for the audit: additive increase, multiplicative decrease (AIMD, the
//! rule TCP and the AWS SDKs' adaptive retry mode use). Every piece of work holds a permit;
//! each `limit` successes in a row allow one more at once, up to the ceiling; a throttled one
//! halves the limit (never below one). Time plays no part, so it behaves the same on any
//! machine and under a paused test clock.

use std::sync::Mutex;

use tokio::sync::Notify;

pub struct Limiter {
    max: usize,
    state: Mutex<State>,
    released: Notify,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LimiterStats {
    /// The limit now.
    pub limit: usize,
    /// The highest limit reached.
    pub peak: usize,
    /// How many pieces of work were throttled.
    pub throttled: u64,
}

struct State {
    limit: usize,
    in_flight: usize,
    streak: usize,
    stats: LimiterStats,
}

/// The right to run one piece of work; say how it went with [`Permit::ok`] or
/// [`Permit::throttled`] (dropping it says nothing).
pub struct Permit<'a> {
    limiter: &'a Limiter,
}

impl Limiter {
    /// Starts with `start` at once (at least one), never more than `max`.
    pub fn new(start: usize, max: usize) -> Limiter {
        let max = max.max(1);
        let limit = start.clamp(1, max);
        Limiter {
            max,
            state: Mutex::new(State {
                limit,
                in_flight: 0,
                streak: 0,
                stats: LimiterStats {
                    limit,
                    peak: limit,
                    throttled: 0,
                },
            }),
            released: Notify::new(),
        }
    }

    /// Waits until fewer than the limit are running.
    pub async fn acquire(&self) -> Permit<'_> {
        loop {
            let released = self.released.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            {
                let mut s = self.lock();
                if s.in_flight < s.limit {
                    s.in_flight += 1;
                    return Permit { limiter: self };
                }
            }
            released.await;
        }
    }

    pub fn stats(&self) -> LimiterStats {
        self.lock().stats
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Permit<'_> {
    /// The work succeeded (or failed for another reason than throttling).
    pub fn ok(self) {
        let mut s = self.limiter.lock();
        s.streak += 1;
        if s.streak >= s.limit {
            s.streak = 0;
            s.limit = (s.limit + 1).min(self.limiter.max);
            s.stats.limit = s.limit;
            s.stats.peak = s.stats.peak.max(s.limit);
        }
    }

    /// The service asked to slow down.
    pub fn throttled(self) {
        let mut s = self.limiter.lock();
        s.streak = 0;
        s.limit = (s.limit / 2).max(1);
        s.stats.limit = s.limit;
        s.stats.throttled += 1;
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.limiter.lock().in_flight -= 1;
        self.limiter.released.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_by_one_per_limit_successes_and_halves_when_throttled() {
        let l = Limiter::new(4, 6);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            for _ in 0..4 {
                l.acquire().await.ok();
            }
            assert_eq!(l.stats().limit, 5);
            for _ in 0..100 {
                l.acquire().await.ok();
            }
            assert_eq!(l.stats().limit, 6, "never above the ceiling");
            l.acquire().await.throttled();
            assert_eq!(l.stats().limit, 3);
            for _ in 0..3 {
                l.acquire().await.throttled();
            }
            assert_eq!(
                l.stats(),
                LimiterStats {
                    limit: 1,
                    peak: 6,
                    throttled: 4
                }
            );
        });
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn never_more_at_once_than_the_limit() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let l = std::sync::Arc::new(Limiter::new(3, 3));
        let now = std::sync::Arc::new(AtomicUsize::new(0));
        let most = std::sync::Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..40)
            .map(|_| {
                let (l, now, most) = (l.clone(), now.clone(), most.clone());
                tokio::spawn(async move {
                    let p = l.acquire().await;
                    let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(n, Ordering::SeqCst);
                    tokio::task::yield_now().await;
                    now.fetch_sub(1, Ordering::SeqCst);
                    drop(p);
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert!(most.load(Ordering::SeqCst) <= 3);
        assert_eq!(l.stats().limit, 3, "dropped permits say nothing");
    }
}
