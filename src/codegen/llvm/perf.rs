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

/// The perf-map lines (`address size name`, hexadecimal) of `object`'s functions: `names` at
/// their `addresses`, and the object's other functions (a streaming entry's body, say) at the
/// same distance from them as in the object's code section. A name the object has no size for
/// gets size 1.
pub(super) fn map_lines(object: &[u8], names: &[String], addresses: &[usize], n: usize) -> String {
    let symbols = functions(object);
    let mut lines = String::new();
    let mut line = |address: usize, size: u64, name: &str| {
        lines += &format!("{address:x} {:x} llvm{n}:{name}\n", size.max(1));
    };
    for (name, &address) in names.iter().zip(addresses) {
        let size = (symbols.iter().find(|s| &s.0 == name)).map_or(1, |s| s.2);
        line(address, size, name);
    }
    // The code section is linked in one piece: one named function places the others.
    let base = names.iter().zip(addresses).find_map(|(name, &address)| {
        let s = symbols.iter().find(|s| &s.0 == name)?;
        address.checked_sub(s.1 as usize)
    });
    if let Some(base) = base {
        for (name, offset, size) in symbols.iter().filter(|s| !names.contains(&s.0)) {
            line(base + *offset as usize, *size, name);
        }
    }
    lines
}

/// The functions `object` defines (symbols of nonzero size): name, offset in the code section,
/// size in bytes.
fn functions(object: &[u8]) -> Vec<(String, u64, u64)> {
    let buffer = MemoryBuffer::create_from_memory_range_copy(object, "numjit");
    let Ok(binary) = buffer.create_binary_file(None) else {
        return Vec::new();
    };
    let Some(mut symbols) = binary.get_symbols() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    while let Some(s) = symbols.next_symbol() {
        if let (Some(name), true) = (s.get_name(), s.get_size() > 0) {
            out.push((
                name.to_string_lossy().into_owned(),
                s.get_address(),
                s.get_size(),
            ));
        }
    }
    out
}
