//! The on-disk cache of LLVM object files (its directory and counters: `codegen/object_cache.rs`).
//!
//! A file is `<dir>/<hash of key>.njo`:
//!
//! ```text
//! "NJOBJ001" | key length (u64 LE) | key | object length (u64 LE) | object | FNV-1a 64 of all before
//! ```
//!
//! The key is the whole module's IR text before optimization (every stage, operand dtype and
//! layout numjit compiled into it; imports by name, never by address) behind
//! `target::fingerprint` (numjit's and LLVM's versions, the host CPU and features). A file is
//! used only when its length, checksum and whole key match: a truncated, corrupted or foreign
//! file, or a file for another key under the same hash, is a miss, compiled afresh and replaced.
//! After each write the directory is trimmed to its size limit, least recently used first.
//! Writes go to a temporary file renamed over the name, so a reader never sees half a file.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use inkwell::module::Module;

use super::target;
use crate::codegen::object_cache::{count, object_cache_dir, Event};
use crate::core::error::Result;

const MAGIC: &[u8; 8] = b"NJOBJ001";

/// Where the object of one module is cached, and the key it must carry.
pub(super) struct Key {
    path: PathBuf,
    key: Vec<u8>,
}

impl Key {
    /// The key of `module` (before optimization), or `None` when no cache directory is set.
    pub fn of(module: &Module<'_>) -> Result<Option<Key>> {
        let Some(dir) = object_cache_dir() else {
            return Ok(None);
        };
        let mut key = target::fingerprint()?.into_bytes();
        key.push(b'\n');
        key.extend_from_slice(module.print_to_string().to_bytes());
        let path = dir.join(format!("{:016x}.njo", fnv1a(&key)));
        Ok(Some(Key { path, key }))
    }

    /// The cached object for this key, when the file exists and passes every check (a miss or
    /// a rejected file is counted here; the caller counts the object's fate, [`Key::linked`]).
    pub fn fetch(&self) -> Option<Vec<u8>> {
        let Ok(bytes) = std::fs::read(&self.path) else {
            count(Event::Miss);
            return None;
        };
        let object = self.check(&bytes);
        if object.is_none() {
            count(Event::Rejected);
        }
        object
    }

    /// Counts a fetched object that linked (a hit, which marks the file as just used) or did
    /// not (rejected: it is replaced next).
    pub fn linked(&self, ok: bool) {
        if ok {
            // Best effort: a file that cannot be touched is only evicted sooner.
            let _ = std::fs::File::options()
                .write(true)
                .open(&self.path)
                .and_then(|f| f.set_modified(std::time::SystemTime::now()));
        }
        count(if ok { Event::Hit } else { Event::Rejected });
    }

    /// The object in `bytes` when they are a whole file for this key.
    fn check(&self, bytes: &[u8]) -> Option<Vec<u8>> {
        let (body, sum) = bytes.split_at_checked(bytes.len().checked_sub(8)?)?;
        if fnv1a(body).to_le_bytes() != sum {
            return None;
        }
        let rest = body.strip_prefix(MAGIC)?;
        let (key, rest) = take(rest)?;
        let (object, rest) = take(rest)?;
        (key == self.key && rest.is_empty()).then(|| object.to_vec())
    }

    /// Writes `object` under this key (best effort: a failure is counted, not raised).
    pub fn store(&self, object: &[u8]) {
        count(match self.write(object) {
            Ok(()) => Event::Stored,
            Err(_) => Event::StoreError,
        });
        if let Some(dir) = self.path.parent() {
            trim(dir, max_bytes(), &self.path);
        }
    }

    fn write(&self, object: &[u8]) -> std::io::Result<()> {
        let mut bytes = Vec::with_capacity(self.key.len() + object.len() + 32);
        bytes.extend_from_slice(MAGIC);
        for part in [&self.key[..], object] {
            bytes.extend_from_slice(&(part.len() as u64).to_le_bytes());
            bytes.extend_from_slice(part);
        }
        bytes.extend_from_slice(&fnv1a(&bytes).to_le_bytes());
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        // A name of this process and write alone; the rename replaces the file atomically.
        static WRITES: AtomicU64 = AtomicU64::new(0);
        let n = WRITES.fetch_add(1, Ordering::Relaxed);
        let temporary = self
            .path
            .with_extension(format!("{}-{n}.tmp", std::process::id()));
        std::fs::write(&temporary, &bytes)?;
        std::fs::rename(&temporary, &self.path).inspect_err(|_| {
            let _ = std::fs::remove_file(&temporary);
        })
    }
}

/// The most the cache's objects may take on disk: `NUMJIT_CACHE_MAX_MB` mebibytes, else 256 MiB
/// (a course kernel's file is 40–75 KB).
fn max_bytes() -> u64 {
    let mb = std::env::var("NUMJIT_CACHE_MAX_MB")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(256);
    mb.saturating_mul(1 << 20)
}

/// Removes the least recently used objects of `dir` (oldest modification time first; a hit
/// refreshes it) until its `.njo` files take at most `limit` bytes; never `keep`, the file just
/// written, and nothing but `.njo` files. Best effort: what cannot be read or removed stays.
fn trim(dir: &std::path::Path, limit: u64, keep: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut files: Vec<(std::time::SystemTime, u64, PathBuf)> = entries
        .filter_map(|e| {
            let path = e.ok()?.path();
            if path.extension()? != "njo" {
                return None;
            }
            let meta = std::fs::metadata(&path).ok()?;
            Some((meta.modified().ok()?, meta.len(), path))
        })
        .collect();
    let mut total: u64 = files.iter().map(|f| f.1).sum();
    files.sort();
    for (_, len, path) in files {
        if total <= limit {
            break;
        }
        if path != keep && std::fs::remove_file(&path).is_ok() {
            total -= len;
        }
    }
}

/// A length-prefixed part of `bytes` and what follows it.
fn take(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = bytes.split_at_checked(8)?;
    let len = usize::try_from(u64::from_le_bytes(len.try_into().ok()?)).ok()?;
    rest.split_at_checked(len)
}

/// FNV-1a, 64 bits: a checksum and file name stable across processes and Rust releases.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use ndarray::Array1;

    use super::*;
    use crate::codegen::object_cache::{scoped_dir, thread_object_cache_stats, ObjectCacheStats};
    use crate::codegen::{with_tier, Tier};
    use crate::{Array, Engine, Vars};

    /// A map calling a vector kernel (`sin`, staged) beside a reduction calling a scalar helper
    /// (`exp` in a reduction): the object imports both kinds of function by name.
    const SRC: &str = "sin(a) * b + sum(exp(b))";

    fn vars() -> (Array1<f64>, Array1<f64>) {
        let a = Array1::from_shape_fn(1001, |i| (i as f64 * 0.37).sin() * 3.0);
        let b = Array1::from_shape_fn(1001, |i| 1.0 / (1.0 + i as f64));
        (a, b)
    }

    fn eval(tier: Tier, src: &str) -> Vec<u64> {
        let (a, b) = vars();
        let vars = Vars::new().with("a", &a).with("b", &b);
        let out = with_tier(Some(tier), || {
            Engine::default()
                .compile(src, &vars.signature())
                .and_then(|k| k.eval(&vars))
                .unwrap_or_else(|e| panic!("{src}: {e}"))
        });
        match out {
            Array::Float64(x) => x.iter().map(|v| v.to_bits()).collect(),
            other => panic!("{src}: {other:?}"),
        }
    }

    /// A fresh directory under the system's temporary one.
    fn fresh_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("numjit-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn objects(dir: &Path) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        files.sort();
        files
    }

    /// What the cache did for this thread's compiles while `f` ran.
    fn delta(f: impl FnOnce()) -> ObjectCacheStats {
        let s = thread_object_cache_stats();
        f();
        let t = thread_object_cache_stats();
        ObjectCacheStats {
            hits: t.hits - s.hits,
            misses: t.misses - s.misses,
            rejected: t.rejected - s.rejected,
            stored: t.stored - s.stored,
            store_errors: t.store_errors - s.store_errors,
        }
    }

    fn counts(hits: u64, misses: u64, rejected: u64, stored: u64) -> ObjectCacheStats {
        ObjectCacheStats {
            hits,
            misses,
            rejected,
            stored,
            store_errors: 0,
        }
    }

    #[test]
    fn objects_are_cached_checked_and_replaced() {
        let dir = fresh_dir("object-cache");
        let cranelift = eval(Tier::Cranelift, SRC);
        scoped_dir(&dir, || {
            // First compile: a miss, one object stored.
            let d = delta(|| assert_eq!(eval(Tier::Llvm, SRC), cranelift));
            assert_eq!(d, counts(0, 1, 0, 1));
            let files = objects(&dir);
            assert_eq!(files.len(), 1, "{files:?}");
            let file = files[0].clone();
            let good = std::fs::read(&file).unwrap();
            let text = String::from_utf8_lossy(&good);
            assert!(text.contains("@nj_vu") && text.contains("@nj_unary_f64_"));

            // Second compile: loaded, the same bits.
            let d = delta(|| assert_eq!(eval(Tier::Llvm, SRC), cranelift));
            assert_eq!(d, counts(1, 0, 0, 0));

            // A flipped byte in the object, a truncated file, a file that is not one of ours:
            // each is rejected, compiled afresh (the same bits) and replaced by a good file.
            let mut flipped = good.clone();
            let middle = good.len() - good.len() / 4;
            flipped[middle] ^= 0x40;
            for bad in [
                flipped,
                good[..good.len() / 2].to_vec(),
                b"#!/bin/sh\n".to_vec(),
            ] {
                std::fs::write(&file, &bad).unwrap();
                let d = delta(|| assert_eq!(eval(Tier::Llvm, SRC), cranelift));
                assert_eq!(d, counts(0, 0, 1, 1));
                assert_eq!(std::fs::read(&file).unwrap(), good);
            }

            // A whole, well-formed file for another key under this name (another expression's
            // object, or a colliding hash): rejected by its key.
            let other = "cos(a) - b";
            eval(Tier::Llvm, other);
            let other_file = objects(&dir).into_iter().find(|f| *f != file).unwrap();
            std::fs::copy(&other_file, &file).unwrap();
            let d = delta(|| assert_eq!(eval(Tier::Llvm, SRC), cranelift));
            assert_eq!(d, counts(0, 0, 1, 1));

            // A file with this key and a valid checksum whose object does not link.
            let key = Key {
                path: file.clone(),
                key: take(&good[8..]).unwrap().0.to_vec(),
            };
            key.write(b"not an object file").unwrap();
            let d = delta(|| assert_eq!(eval(Tier::Llvm, SRC), cranelift));
            assert_eq!(d, counts(0, 0, 1, 1));
            assert_eq!(std::fs::read(&file).unwrap(), good);
        });
        // Outside the scope, with no directory set for the process, the cache is not used.
        if crate::object_cache_dir().is_none() {
            let d = delta(|| assert_eq!(eval(Tier::Llvm, SRC), cranelift));
            assert_eq!(d, counts(0, 0, 0, 0));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_unwritable_directory_is_counted_not_raised() {
        let dir = fresh_dir("object-cache-file");
        // A file where the directory should be: nothing can be created under it.
        std::fs::write(&dir, b"a file").unwrap();
        let cranelift = eval(Tier::Cranelift, SRC);
        scoped_dir(&dir, || {
            let d = delta(|| assert_eq!(eval(Tier::Llvm, SRC), cranelift));
            assert_eq!((d.misses, d.stored, d.store_errors), (1, 0, 1));
        });
        std::fs::remove_file(&dir).unwrap();
    }

    #[test]
    fn trim_removes_the_least_recently_used_objects() {
        let dir = fresh_dir("object-cache-trim");
        std::fs::create_dir_all(&dir).unwrap();
        let start = std::time::SystemTime::now() - std::time::Duration::from_secs(100);
        let names = ["a.njo", "b.njo", "c.njo", "d.njo", "notes.txt"];
        for (i, name) in names.iter().enumerate() {
            let path = dir.join(name);
            std::fs::write(&path, [0u8; 100]).unwrap();
            let f = std::fs::File::options().write(true).open(&path).unwrap();
            f.set_modified(start + std::time::Duration::from_secs(i as u64))
                .unwrap();
        }
        // 400 bytes of objects over a limit of 250: the oldest go first, but never `keep` (the
        // oldest here), and never a file that is not an object.
        trim(&dir, 250, &dir.join("a.njo"));
        let left: Vec<String> = objects(&dir)
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left, ["a.njo", "d.njo", "notes.txt"]);
        // Under the limit, nothing goes.
        trim(&dir, 1000, &dir.join("d.njo"));
        assert_eq!(objects(&dir).len(), 3);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The child of [`a_second_process_loads_the_first_ones_object`]: run alone, in a process of
    /// its own, with `NUMJIT_CACHE_DIR` set.
    #[test]
    #[ignore = "run by a_second_process_loads_the_first_ones_object"]
    fn second_process() {
        assert!(std::env::var_os("NUMJIT_CACHE_DIR").is_some());
        let cranelift = eval(Tier::Cranelift, SRC);
        let d = delta(|| assert_eq!(eval(Tier::Llvm, SRC), cranelift));
        assert_eq!(d, counts(1, 0, 0, 0));
    }

    #[test]
    fn a_second_process_loads_the_first_ones_object() {
        let dir = fresh_dir("object-cache-processes");
        let d = delta(|| {
            scoped_dir(&dir, || eval(Tier::Llvm, SRC));
        });
        assert_eq!((d.misses, d.stored), (1, 1));
        // Another process: its helpers and kernels sit at other addresses (ASLR), so the object
        // is linked anew against them.
        let child = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "codegen::llvm::cache::tests::second_process"])
            .args(["--ignored", "--test-threads=1"])
            .env("NUMJIT_CACHE_DIR", &dir)
            .env_remove("NUMJIT_TIER")
            .output()
            .unwrap();
        let report = String::from_utf8_lossy(&child.stdout);
        // Success alone would also be a filter that matched no test.
        assert!(
            child.status.success() && report.contains("1 passed"),
            "the second process: {}\n{report}{}",
            child.status,
            String::from_utf8_lossy(&child.stderr)
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
