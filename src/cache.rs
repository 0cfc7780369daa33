//! The kernel cache: compiled expressions keyed by source and input signature, least recently
//! used evicted first. Evicting drops the cache's reference; the JIT memory is freed when the
//! last [`Kernel`](crate::Kernel) using it is dropped too.

use std::collections::HashMap;
use std::sync::Arc;

use crate::vars::Signature;

/// Counters describing the cache's behaviour since the engine was created.
///
/// ```
/// let engine = numjit::Engine::default();
/// let sig = numjit::Signature::new().with("x", numjit::DType::Float64, 1);
/// engine.compile("x + 1", &sig)?;
/// engine.compile("x + 1", &sig)?;
/// let s = engine.cache_stats();
/// assert_eq!((s.compiled, s.hits), (1, 1));
/// # Ok::<(), numjit::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Expressions compiled (cache misses that compiled successfully).
    pub compiled: u64,
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Entries evicted to stay within capacity.
    pub evictions: u64,
    /// Entries held now.
    pub len: usize,
}

pub(crate) struct Cache<V> {
    capacity: usize,
    tick: u64,
    map: HashMap<(String, Signature), (Arc<V>, u64)>,
    pub stats: CacheStats,
}

impl<V> Cache<V> {
    pub fn new(capacity: usize) -> Cache<V> {
        Cache {
            capacity: capacity.max(1),
            tick: 0,
            map: HashMap::new(),
            stats: CacheStats::default(),
        }
    }

    pub fn get(&mut self, src: &str, sig: &Signature) -> Option<Arc<V>> {
        self.tick += 1;
        let tick = self.tick;
        // The key owns its strings; a lookup by borrowed parts would need a custom Borrow impl
        // for the tuple, which costs more code than this clone of a short string.
        let entry = self.map.get_mut(&(src.to_string(), sig.clone()))?;
        entry.1 = tick;
        self.stats.hits += 1;
        Some(entry.0.clone())
    }

    pub fn insert(&mut self, src: &str, sig: &Signature, value: Arc<V>) {
        self.tick += 1;
        self.stats.compiled += 1;
        self.map
            .insert((src.to_string(), sig.clone()), (value, self.tick));
        while self.map.len() > self.capacity {
            let oldest = self
                .map
                .iter()
                .min_by_key(|(_, (_, t))| *t)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                self.map.remove(&k);
                self.stats.evictions += 1;
            }
        }
        self.stats.len = self.map.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn least_recently_used_is_evicted() {
        let sig = Signature::new();
        let mut c = Cache::new(2);
        c.insert("a", &sig, Arc::new(1));
        c.insert("b", &sig, Arc::new(2));
        assert!(c.get("a", &sig).is_some());
        c.insert("c", &sig, Arc::new(3));
        assert!(c.get("b", &sig).is_none());
        assert!(c.get("a", &sig).is_some() && c.get("c", &sig).is_some());
        assert_eq!(c.stats.evictions, 1);
    }

    #[test]
    fn evicted_values_are_dropped_when_unused() {
        let sig = Signature::new();
        let mut c = Cache::new(1);
        let v = Arc::new(5);
        c.insert("a", &sig, v.clone());
        c.insert("b", &sig, Arc::new(6));
        assert_eq!(
            Arc::strong_count(&v),
            1,
            "the cache let go of the evicted entry"
        );
    }
}
