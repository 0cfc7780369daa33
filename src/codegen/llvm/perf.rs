//! Names of LLVM-tier code for Linux `perf`, so that a profile says which kernel and which
//! instruction (#16's "where a target is missed, by how much and why").
//!
//! Under `perf record` (which sets `PERF_BUILDID_DIR`, the variable Cranelift's JIT checks for
//! its own map), every linked function goes to `/tmp/perf-<pid>.map` as `llvm<n>:<name>` with
//! its address and size, and the object file to `/tmp/numjit-<pid>-<n>.o`. `perf report` then
//! names the functions, and an instruction is found with `objdump -d` on the object, at the
//! sample's address minus the function's. Without `perf`, nothing is written.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};

use inkwell::memory_buffer::MemoryBuffer;

/// Records `names`' functions (linked at `addresses`) from `object` when the process runs
/// under `perf record`. Best effort: a file that cannot be written only loses the names.
pub(super) fn record(object: &[u8], names: &[String], addresses: &[usize]) {
    if std::env::var_os("PERF_BUILDID_DIR").is_none() {
        return;
    }
    static OBJECTS: AtomicUsize = AtomicUsize::new(0);
    let n = OBJECTS.fetch_add(1, Ordering::Relaxed);
    let pid = std::process::id();
    let _ = std::fs::write(format!("/tmp/numjit-{pid}-{n}.o"), object);
    let lines = map_lines(object, names, addresses, n);
    let map = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(format!("/tmp/perf-{pid}.map"));
    if let Ok(mut map) = map {
        // One write, so that lines of two threads' compiles do not interleave.
        let _ = map.write_all(lines.as_bytes());
    }
}

/// The perf-map lines (`address size name`, hexadecimal) of `names`' functions, their sizes
/// from `object`'s symbol table (1 where it has none).
pub(super) fn map_lines(object: &[u8], names: &[String], addresses: &[usize], n: usize) -> String {
    let sizes = function_sizes(object);
    let mut lines = String::new();
    for (name, address) in names.iter().zip(addresses) {
        let size = (sizes.iter().find(|(s, _)| s == name)).map_or(1, |&(_, size)| size.max(1));
        lines += &format!("{address:x} {size:x} llvm{n}:{name}\n");
    }
    lines
}

/// The defined symbols of `object` with their sizes in bytes.
fn function_sizes(object: &[u8]) -> Vec<(String, u64)> {
    let buffer = MemoryBuffer::create_from_memory_range_copy(object, "numjit");
    let Ok(binary) = buffer.create_binary_file(None) else {
        return Vec::new();
    };
    let Some(mut symbols) = binary.get_symbols() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    while let Some(s) = symbols.next_symbol() {
        if let Some(name) = s.get_name() {
            out.push((name.to_string_lossy().into_owned(), s.get_size()));
        }
    }
    out
}
