//! Which mappings hold a range of this process's memory: whether an array handed over through
//! the C ABI lies in file mappings the release-behind hook (`stream.rs`) may drop pages of.
//!
//! Asked of the kernel one mapping at a time with the `PROCMAP_QUERY` ioctl on
//! `/proc/self/maps` (Linux 6.11 and later): a few µs whatever the process maps. Reading the
//! whole table as text, the fallback for older kernels, costs ~0.2 ms in a Python process that
//! has imported NumPy and Dask (thousands of mappings), once per call and array of
//! [`MIN_LOOKED_UP`](super::stream::MIN_LOOKED_UP) bytes or more. Both apply the same rules
//! ([`Mapping::releasable`]), and a test checks that they agree.

use std::ops::Range;

/// One mapping as both sources describe it.
struct Mapping {
    end: usize,
    /// Backed by a file: an inode and a path (anonymous mappings may have names like `[heap]`).
    file: bool,
    shared: bool,
    writable: bool,
}

impl Mapping {
    /// Shared file mappings (`np.memmap`, `np.load(..., mmap_mode="r")`, `mmap(MAP_SHARED)`)
    /// and private ones nobody can write. A private writable mapping is copy on write: its
    /// changed pages exist nowhere else, and `MADV_DONTNEED` would discard them.
    fn releasable(&self) -> bool {
        self.file && (self.shared || !self.writable)
    }
}

/// Whether `range` lies in consecutive releasable file mappings, and then whether any of them
/// is writable; `None` for memory that is anything else, elsewhere than Linux, or when neither
/// the query nor the table can be read.
pub(crate) fn file_mapped(range: Range<usize>) -> Option<bool> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    match query::file_mapped(range.clone()) {
        Ok(found) => found,
        Err(query::Unsupported) => {
            let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
            file_mapped_in_table(&maps, range)
        }
    }
}

/// Walks the mappings from `range.start`: `next(address)` gives the mapping holding `address`
/// (`Ok(None)` when none does).
fn walk<E>(
    range: Range<usize>,
    mut next: impl FnMut(usize) -> Result<Option<Mapping>, E>,
) -> Result<Option<bool>, E> {
    let mut covered = range.start;
    let mut writable = false;
    while covered < range.end {
        let Some(m) = next(covered)? else {
            return Ok(None); // a gap, or no mapping holds the start
        };
        if !m.releasable() || m.end <= covered {
            return Ok(None);
        }
        writable |= m.writable;
        covered = m.end;
    }
    Ok(Some(writable))
}

/// [`file_mapped`] from `maps`, the text of a `/proc/PID/maps`.
fn file_mapped_in_table(maps: &str, range: Range<usize>) -> Option<bool> {
    // Lines: `start-end perms offset dev inode path`, in address order.
    let mut lines = maps.lines();
    let found: Result<_, ()> = walk(range, |address| {
        for line in lines.by_ref() {
            let mut fields = line.split_ascii_whitespace();
            let (lo, hi) = fields.next().ok_or(())?.split_once('-').ok_or(())?;
            let lo = usize::from_str_radix(lo, 16).map_err(|_| ())?;
            let end = usize::from_str_radix(hi, 16).map_err(|_| ())?;
            if end <= address {
                continue;
            }
            if lo > address {
                return Ok(None);
            }
            let perms = fields.next().ok_or(())?.as_bytes();
            let inode = fields.nth(2).ok_or(())?;
            let path = fields.next().unwrap_or("");
            return Ok(Some(Mapping {
                end,
                file: inode != "0" && path.starts_with('/'),
                shared: perms.get(3) == Some(&b's'),
                writable: perms.get(1) == Some(&b'w'),
            }));
        }
        Ok(None)
    });
    found.ok().flatten()
}

/// The `PROCMAP_QUERY` ioctl (`include/uapi/linux/fs.h`).
mod query {
    use super::{walk, Mapping};
    use std::ops::Range;
    use std::os::fd::AsRawFd;

    /// The kernel has no such query (before 6.11), or it failed otherwise: read the table.
    #[derive(Debug, PartialEq)]
    pub(super) struct Unsupported;

    /// `struct procmap_query`, 104 bytes; its `size` field lets the kernel tell versions apart.
    #[repr(C)]
    #[derive(Default)]
    struct ProcmapQuery {
        size: u64,
        query_flags: u64,
        query_addr: u64,
        vma_start: u64,
        vma_end: u64,
        vma_flags: u64,
        vma_page_size: u64,
        vma_offset: u64,
        inode: u64,
        dev_major: u32,
        dev_minor: u32,
        vma_name_size: u32,
        build_id_size: u32,
        vma_name_addr: u64,
        build_id_addr: u64,
    }
    const _: () = assert!(std::mem::size_of::<ProcmapQuery>() == 104);

    /// `_IOWR('f', 17, struct procmap_query)`.
    const PROCMAP_QUERY: u64 = (3 << 30) | (104 << 16) | ((b'f' as u64) << 8) | 17;
    const VMA_WRITABLE: u64 = 0x02;
    const VMA_SHARED: u64 = 0x08;

    /// [`super::file_mapped`] asked of the kernel. The descriptor is opened per call: one kept
    /// open would go on describing the parent's memory in a forked child (Dask's workers).
    pub(super) fn file_mapped(range: Range<usize>) -> Result<Option<bool>, Unsupported> {
        let maps = std::fs::File::open("/proc/self/maps").map_err(|_| Unsupported)?;
        // Only the name's first byte matters ('/' for a file); a longer one fails with
        // ENAMETOOLONG, so the buffer holds any path.
        let mut name = [0u8; 4096];
        walk(range, |address| {
            let mut q = ProcmapQuery {
                size: std::mem::size_of::<ProcmapQuery>() as u64,
                query_addr: address as u64,
                vma_name_size: name.len() as u32,
                vma_name_addr: name.as_mut_ptr() as u64,
                ..ProcmapQuery::default()
            };
            // SAFETY: `q` is a valid `procmap_query` whose name buffer holds `vma_name_size`
            // bytes; the kernel writes only those and `q`.
            let rc = unsafe { libc::ioctl(maps.as_raw_fd(), PROCMAP_QUERY as _, &mut q) };
            if rc != 0 {
                return match std::io::Error::last_os_error().raw_os_error() {
                    Some(libc::ENOENT) => Ok(None), // nothing maps `address`
                    _ => Err(Unsupported),
                };
            }
            // `vma_name_size` comes back as the name's length with its NUL, 0 for no name.
            let named_path = q.vma_name_size > 1 && name[0] == b'/';
            Ok(Some(Mapping {
                end: q.vma_end as usize,
                file: q.inode != 0 && named_path,
                shared: q.vma_flags & VMA_SHARED != 0,
                writable: q.vma_flags & VMA_WRITABLE != 0,
            }))
        })
    }
}

/// A new file of `len` zero bytes in the temporary directory, open for reading and writing, and
/// its path (the test removes it).
#[cfg(test)]
pub(super) fn temp_file(tag: &str, len: usize) -> (std::path::PathBuf, std::fs::File) {
    let path = std::env::temp_dir().join(format!("numjit-{tag}-{}", std::process::id()));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    file.set_len(len as u64).unwrap();
    (path, file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn only_file_mappings_that_can_be_released_are_found() {
        let maps = "\
7f0000000000-7f0000100000 r--s 00000000 fd:01 1234 /data/a.npy
7f0000100000-7f0000200000 rw-s 00100000 fd:01 1234 /data/a.npy
7f0000200000-7f0000300000 rw-p 00000000 00:00 0
7f0000300000-7f0000400000 rw-p 00000000 fd:01 99 /data/b.npy
7f0000400000-7f0000500000 r--p 00000000 fd:01 98 /data/c.npy
7f0000500000-7f0000600000 rw-s 00000000 00:01 1027 [anon_shmem:x]
";
        let at = |lo: usize, hi: usize| {
            file_mapped_in_table(maps, 0x7f0000000000 + lo..0x7f0000000000 + hi)
        };
        assert_eq!(at(0x10, 0x8000), Some(false), "read-only shared");
        assert_eq!(at(0x10, 0x180000), Some(true), "across two shared mappings");
        assert_eq!(at(0x200010, 0x280000), None, "anonymous");
        assert_eq!(
            at(0x300010, 0x380000),
            None,
            "private and writable: copy on write"
        );
        assert_eq!(at(0x400010, 0x480000), Some(false), "private, read-only");
        assert_eq!(at(0x180000, 0x280000), None, "runs into anonymous memory");
        assert_eq!(at(0x500010, 0x580000), None, "shared but no file");
        assert_eq!(at(0x600000, 0x680000), None, "unmapped");
        assert_eq!(at(0x4ffff0, 0x600010), None, "runs past the last mapping");
    }

    /// Kernel release `major.minor` from `uname`.
    fn kernel_release() -> (u32, u32) {
        // SAFETY: `uname` fills the zeroed struct with NUL-terminated strings.
        let release = unsafe {
            let mut u: libc::utsname = std::mem::zeroed();
            assert_eq!(libc::uname(&mut u), 0);
            std::ffi::CStr::from_ptr(u.release.as_ptr())
                .to_string_lossy()
                .into_owned()
        };
        let mut parts = release.split(|c: char| !c.is_ascii_digit());
        let mut next = || parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        (next(), next())
    }

    #[test]
    fn the_query_and_the_table_agree_on_real_mappings() {
        use memmap2::MmapOptions;
        let len = 4 << 20;
        let (path, file) = temp_file("maps", len);
        // SAFETY: the file is this test's own; nothing else changes it while mapped.
        let (shared_ro, shared_rw, private_ro, private_rw) = unsafe {
            (
                MmapOptions::new().map(&file).unwrap(),
                MmapOptions::new().map_mut(&file).unwrap(),
                MmapOptions::new().map_copy_read_only(&file).unwrap(),
                MmapOptions::new().map_copy(&file).unwrap(),
            )
        };
        let heap = vec![0u8; len];
        let span = |p: *const u8| p as usize + 8..p as usize + len;
        let cases = [
            (span(shared_ro.as_ptr()), Some(false), "shared, read-only"),
            (span(shared_rw.as_ptr()), Some(true), "shared, writable"),
            (span(private_ro.as_ptr()), Some(false), "private, read-only"),
            (span(private_rw.as_ptr()), None, "private, writable"),
            (span(heap.as_ptr()), None, "heap"),
            (0..4096, None, "page zero: unmapped"),
        ];
        let query_works = query::file_mapped(span(shared_ro.as_ptr())).is_ok();
        if kernel_release() >= (6, 11) {
            assert!(query_works, "PROCMAP_QUERY exists since Linux 6.11");
        }
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        for (range, expected, what) in cases {
            assert_eq!(
                file_mapped_in_table(&maps, range.clone()),
                expected,
                "{what}"
            );
            if query_works {
                assert_eq!(query::file_mapped(range.clone()), Ok(expected), "{what}");
            }
            assert_eq!(file_mapped(range), expected, "{what}");
        }
        drop((shared_ro, shared_rw, private_ro, private_rw));
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn a_range_running_out_of_a_file_mapping_is_not_found() {
        let len = 1 << 20;
        let (path, file) = temp_file("maps-end", len);
        // SAFETY: a fresh reservation of two lengths, its first half replaced by the file
        // (read-only, this test's own) in place: the second half stays anonymous whatever
        // other threads map meanwhile.
        let p = unsafe {
            let none = libc::PROT_NONE;
            let anon = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS;
            let p = libc::mmap(std::ptr::null_mut(), 2 * len, none, anon, -1, 0);
            assert_ne!(p, libc::MAP_FAILED);
            let fixed = libc::MAP_SHARED | libc::MAP_FIXED;
            let f = libc::mmap(p, len, libc::PROT_READ, fixed, file.as_raw_fd(), 0);
            assert_eq!(f, p);
            p as usize
        };
        assert_eq!(file_mapped(p..p + len), Some(false));
        assert_eq!(file_mapped(p + len - 8..p + len + 8), None);
        // SAFETY: the reservation made above, unused from here on.
        unsafe { libc::munmap(p as *mut libc::c_void, 2 * len) };
        std::fs::remove_file(&path).unwrap();
    }
}
