//! Bounded-memory counters: a 128-bit linear-counting distinct estimator, a
//! tumbling window, and a map that evicts its least recently used entries in
//! amortised O(1).
//!
//! The distinct estimator is exact-ish up to a few dozen values and saturates
//! around 600: the detectors' thresholds sit well below that, which is why 16
//! bytes per counter suffice.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

use crate::keys::mix;

/// Distinct-count estimate in 16 bytes (linear counting over 128 bits).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Distinct128(u128);

impl Distinct128 {
    /// Adds a value; returns whether it was (probably) new.
    pub(crate) fn insert(&mut self, h: u64) -> bool {
        let bit = 1u128 << (mix(h) & 127);
        let new = self.0 & bit == 0;
        self.0 |= bit;
        new
    }
    pub(crate) fn contains(&self, h: u64) -> bool {
        self.0 & (1u128 << (mix(h) & 127)) != 0
    }
    pub(crate) fn estimate(&self) -> u32 {
        let zeros = 128 - self.0.count_ones();
        if zeros == 0 {
            return 621; // 128 * ln(128): the estimator's ceiling
        }
        let m = 128f64;
        (-m * (f64::from(zeros) / m).ln()).round() as u32
    }
}

/// A tumbling window: `roll` clears the counters when the window has passed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Window {
    pub start_ms: i64,
}

impl Window {
    /// Whether the window was reset (the caller then clears its counters).
    pub(crate) fn roll(&mut self, now_ms: i64, len_ms: i64) -> bool {
        if self.start_ms == 0 || now_ms - self.start_ms >= len_ms || now_ms < self.start_ms {
            self.start_ms = now_ms;
            true
        } else {
            false
        }
    }
}

/// A hasher for keys that are already well-mixed 64-bit hashes.
#[derive(Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) ^ u64::from(b) ^ (self.0 >> 56);
        }
        self.0 = mix(self.0);
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = mix(v ^ self.0);
    }
}

#[derive(Default, Clone, Copy)]
pub(crate) struct IdBuild;

impl BuildHasher for IdBuild {
    type Hasher = IdHasher;
    fn build_hasher(&self) -> IdHasher {
        IdHasher(0)
    }
}

pub(crate) type IdMap<K, V> = HashMap<K, V, IdBuild>;

/// A map of at most `cap` entries; when full, the least recently touched
/// eighth is evicted in one pass (O(n), so O(1) amortised per insert).
#[derive(Debug)]
pub(crate) struct BoundedMap<V> {
    map: IdMap<u64, (V, i64)>,
    cap: usize,
}

impl<V: Default> BoundedMap<V> {
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            map: IdMap::default(),
            cap: cap.max(8),
        }
    }
    /// The entry for `k`, created when absent; touched at `now_ms`.
    pub(crate) fn entry(&mut self, k: u64, now_ms: i64) -> &mut V {
        if !self.map.contains_key(&k) && self.map.len() >= self.cap {
            self.evict();
        }
        let e = self.map.entry(k).or_insert_with(|| (V::default(), now_ms));
        e.1 = e.1.max(now_ms);
        &mut e.0
    }
    pub(crate) fn get(&self, k: u64) -> Option<&V> {
        self.map.get(&k).map(|(v, _)| v)
    }
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
    fn evict(&mut self) {
        let mut times: Vec<i64> = self.map.values().map(|(_, t)| *t).collect();
        let n = (times.len() / 8).max(1);
        let (_, cut, _) = times.select_nth_unstable(n - 1);
        let cut = *cut;
        let mut removed = 0;
        self.map.retain(|_, (_, t)| {
            if *t <= cut && removed < n {
                removed += 1;
                false
            } else {
                true
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_estimates_small_counts() {
        let mut d = Distinct128::default();
        for i in 0..20u64 {
            d.insert(i);
        }
        let e = d.estimate();
        assert!((17..=23).contains(&e), "{e}");
        assert!(d.contains(3));
        let mut one = Distinct128::default();
        for _ in 0..50 {
            one.insert(9);
        }
        assert_eq!(one.estimate(), 1);
    }

    #[test]
    fn bounded_map_stays_bounded_and_keeps_recent() {
        let mut m: BoundedMap<u32> = BoundedMap::new(64);
        for i in 0..1000u64 {
            *m.entry(i, i as i64) += 1;
        }
        assert!(m.len() <= 64);
        assert!(m.get(999).is_some());
        assert!(m.get(0).is_none());
    }
}
