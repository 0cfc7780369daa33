//! The kernel cache: compiled expressions keyed by source and input signature, least recently
//! used evicted first. Evicting drops the cache's reference; the JIT memory is freed when the
//! last [`Kernel`](crate::Kernel) using it is dropped too.

use std::collections::HashMap;
use std::sync::Arc;

use crate::api::vars::Signature;

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
    /// By source text, then by signature (usually one): a lookup borrows both, allocating
    /// nothing, which matters for small arrays where the whole call takes about a microsecond.
    map: HashMap<String, Vec<Entry<V>>>,
    len: usize,
    pub stats: CacheStats,
}

struct Entry<V> {
    sig: Signature,
    value: Arc<V>,
    used: u64,
}

impl<V> Cache<V> {
    pub fn new(capacity: usize) -> Cache<V> {
        Cache {
            capacity: capacity.max(1),
            tick: 0,
            map: HashMap::new(),
            len: 0,
            stats: CacheStats::default(),
        }
    }

    pub fn get(&mut self, src: &str, sig: &Signature) -> Option<Arc<V>> {
        self.tick += 1;
        let entry = self.map.get_mut(src)?.iter_mut().find(|e| e.sig == *sig)?;
        entry.used = self.tick;
        self.stats.hits += 1;
        Some(entry.value.clone())
    }

    pub fn insert(&mut self, src: &str, sig: &Signature, value: Arc<V>) {
        self.tick += 1;
        self.stats.compiled += 1;
        let entries = self.map.entry(src.to_string()).or_default();
        match entries.iter_mut().find(|e| e.sig == *sig) {
            // Two threads compiled the same expression at once: keep the newer, count it once.
            Some(e) => {
                *e = Entry {
                    sig: sig.clone(),
                    value,
                    used: self.tick,
                }
            }
            None => {
                entries.push(Entry {
                    sig: sig.clone(),
                    value,
                    used: self.tick,
                });
                self.len += 1;
            }
        }
        while self.len > self.capacity {
            self.evict_oldest();
        }
        self.stats.len = self.len;
    }

    fn evict_oldest(&mut self) {
        let oldest = self
            .map
            .iter()
            .flat_map(|(src, es)| es.iter().enumerate().map(move |(i, e)| (e.used, src, i)))
            .min_by_key(|(used, _, _)| *used)
            .map(|(_, src, i)| (src.clone(), i));
        if let Some((src, i)) = oldest {
            if let Some(es) = self.map.get_mut(&src) {
                es.swap_remove(i);
                if es.is_empty() {
                    self.map.remove(&src);
                }
            }
            self.len -= 1;
            self.stats.evictions += 1;
        }
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
