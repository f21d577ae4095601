//! The one bounded cache every warm-environment cache uses (digests read, repository
//! policies, events handled, discovery snapshots): at most `capacity` entries, the oldest
//! inserted leaving first, each entry with the time it was stored so a reader can ask for a
//! fresh one. Time is tokio's clock, so tests can pause and advance it.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

pub struct Cache<K, V> {
    capacity: usize,
    inner: Mutex<Inner<K, V>>,
}

struct Inner<K, V> {
    entries: HashMap<K, (Instant, V)>,
    /// Keys in insertion order, for eviction.
    order: VecDeque<K>,
}

impl<K: Eq + Hash + Clone, V: Clone> Cache<K, V> {
    pub fn new(capacity: usize) -> Self {
        Cache {
            capacity: capacity.max(1),
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                order: VecDeque::new(),
            }),
        }
    }

    /// The value stored for `key`, however old.
    pub fn get(&self, key: &K) -> Option<V> {
        self.lock().entries.get(key).map(|(_, v)| v.clone())
    }

    /// The value stored for `key` and how long ago it was stored.
    pub fn get_with_age(&self, key: &K) -> Option<(V, Duration)> {
        self.lock()
            .entries
            .get(key)
            .map(|(at, v)| (v.clone(), at.elapsed()))
    }

    /// The value stored for `key` if it is younger than `max_age`.
    pub fn get_fresh(&self, key: &K, max_age: Duration) -> Option<V> {
        self.get_with_age(key)
            .filter(|(_, age)| *age < max_age)
            .map(|(v, _)| v)
    }

    /// Stores `value` for `key` now; the oldest entries leave when the cache is full.
    pub fn insert(&self, key: K, value: V) {
        let mut inner = self.lock();
        if inner
            .entries
            .insert(key.clone(), (Instant::now(), value))
            .is_some()
        {
            inner.order.retain(|k| k != &key);
        }
        inner.order.push_back(key);
        while inner.order.len() > self.capacity {
            if let Some(old) = inner.order.pop_front() {
                inner.entries.remove(&old);
            }
        }
    }

    /// The value stored for `key`, or `make()` stored now and returned: one value per key
    /// even when several callers ask at once.
    pub fn get_or_insert_with(&self, key: K, make: impl FnOnce() -> V) -> V {
        if let Some(v) = self.get(&key) {
            return v;
        }
        let mut inner = self.lock();
        if let Some((_, v)) = inner.entries.get(&key) {
            return v.clone();
        }
        let value = make();
        inner
            .entries
            .insert(key.clone(), (Instant::now(), value.clone()));
        inner.order.push_back(key);
        while inner.order.len() > self.capacity {
            if let Some(old) = inner.order.pop_front() {
                inner.entries.remove(&old);
            }
        }
        value
    }

    /// Removes and returns the value stored for `key`.
    pub fn take(&self, key: &K) -> Option<V> {
        let mut inner = self.lock();
        let (_, v) = inner.entries.remove(key)?;
        inner.order.retain(|k| k != key);
        Some(v)
    }

    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<K, V>> {
        // A panic while holding the lock cannot leave a cache inconsistent in a way that
        // matters: recover the data rather than fail every later event.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_entries_leave_first_and_a_rewrite_is_young_again() {
        let c = Cache::new(2);
        c.insert("a", 1);
        c.insert("b", 2);
        c.insert("a", 10);
        c.insert("c", 3);
        assert_eq!(c.get(&"b"), None, "b was the oldest");
        assert_eq!((c.get(&"a"), c.get(&"c")), (Some(10), Some(3)));
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn one_value_per_key_and_taken_values_leave() {
        let c = Cache::new(2);
        assert_eq!(c.get_or_insert_with("a", || 1), 1);
        assert_eq!(c.get_or_insert_with("a", || 2), 1, "the first value stays");
        assert_eq!(c.take(&"a"), Some(1));
        assert_eq!((c.take(&"a"), c.len()), (None, 0));
        for (k, v) in [("x", 1), ("y", 2), ("z", 3)] {
            c.get_or_insert_with(k, || v);
        }
        assert_eq!((c.get(&"x"), c.len()), (None, 2), "bounded like insert");
    }

    #[tokio::test(start_paused = true)]
    async fn fresh_means_younger_than_asked() {
        let c = Cache::new(8);
        c.insert("k", "v");
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(c.get_fresh(&"k", Duration::from_secs(11)), Some("v"));
        assert_eq!(c.get_fresh(&"k", Duration::from_secs(10)), None);
        assert_eq!(
            c.get_with_age(&"k").map(|(_, age)| age),
            Some(Duration::from_secs(10))
        );
    }
}
