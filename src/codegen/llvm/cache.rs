//! The on-disk cache of LLVM object files (its directory and counters: `codegen/cache.rs`).
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

    /// The cached object for this key, when the file exists and passes every check (counted:
    /// a hit, a miss, or a rejected file).
    pub fn fetch(&self) -> Option<Vec<u8>> {
        let Ok(bytes) = std::fs::read(&self.path) else {
            count(Event::Miss);
            return None;
        };
        let object = self.check(&bytes);
        count(if object.is_some() {
            Event::Hit
        } else {
            Event::Rejected
        });
        object
    }

    /// Counts a cached object that did not link after all (it replaces it next).
    pub fn reject(&self) {
        count(Event::Rejected);
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

    /// The file this key is cached in (for tests).
    #[cfg(test)]
    pub fn path(&self) -> &std::path::Path {
        &self.path
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
