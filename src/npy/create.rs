//! A new `.npy` file mapped as an output: written beside its path, renamed into place only
//! once complete, so a failed or cancelled evaluation leaves the old file and no partial one.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use memmap2::MmapMut;
use ndarray::IxDyn;
use ndarray_npy::write_zeroed_npy;

use crate::api::vars::{IntoOut, RawViewMut};
use crate::core::dtype::DType;
use crate::core::error::{Error, ErrorKind, Result};
use crate::core::shape::fmt_shape;
use crate::core::view::RawView;
use crate::exec::c_strides;
use crate::exec::stream::{self, Registration};

use super::error;

/// A new `.npy` file (C order) being written through a mapping: an output for
/// [`Kernel::eval_into`](crate::Kernel::eval_into) or [`Vars::with_out`](crate::Vars::with_out).
///
/// It lives in a temporary file beside its path (`.NAME.PID.N.tmp`) until [`Output::finish`]
/// flushes it and renames it into place; dropped unfinished (an evaluation failed, was
/// cancelled, or panicked), the temporary file is removed and the path left as it was. A
/// process killed meanwhile leaves the temporary file behind.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("numjit-output-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// let path = dir.join("twice.npy");
/// let x = ndarray::Array1::linspace(0.0, 1.0, 5);
/// let mut out = numjit::npy::create(&path, numjit::DType::Float64, &[5])?;
/// let vars = numjit::Vars::new().with("x", &x);
/// numjit::Engine::default().compile("2 * x", &vars.signature())?.eval_into(&vars, &mut out)?;
/// assert!(!path.exists(), "not before finish");
/// out.finish()?;
/// assert_eq!(numjit::npy::open(&path)?.view::<f64>().unwrap()[[4]], 2.0);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Output {
    view: RawView,
    path: PathBuf,
    temp: PathBuf,
    finished: bool,
    // Declared before the mapping: unregistered (no hook advising it) before it is unmapped.
    _registration: Registration,
    map: MmapMut,
}

// SAFETY: the view points into the mapping this value owns; writes go through `&mut self`
// (`IntoOut`) or a `Vars` that borrows it mutably, as for an owned array.
unsafe impl Send for Output {}
// SAFETY: `&Output` gives no access to the data.
unsafe impl Sync for Output {}

/// Creates a `.npy` file at `path` of `dtype` and `shape`, zero-filled (sparse where the file
/// system allows), to be written by an evaluation and then [`finish`](Output::finish)ed.
///
/// Errors (kind [`File`](crate::ErrorKind::File)) name the file: the folder is missing or not
/// writable, or the disk has no room for the data; a shape whose bytes overflow is a
/// [`Limit`](crate::ErrorKind::Limit) error.
///
/// ```
/// let err = numjit::npy::create("/nonexistent/dir/a.npy", numjit::DType::Float64, &[3]).unwrap_err();
/// assert_eq!(err.kind(), numjit::ErrorKind::File);
/// # Ok::<(), numjit::Error>(())
/// ```
pub fn create(path: impl AsRef<Path>, dtype: DType, shape: &[usize]) -> Result<Output> {
    let path = path.as_ref();
    let bytes = shape
        .iter()
        .try_fold(dtype.size(), |acc, &d| acc.checked_mul(d))
        .filter(|&b| b <= isize::MAX as usize)
        .ok_or_else(|| {
            Error::new(
                ErrorKind::Limit,
                format!(
                    "`{}`: a file of shape {} and dtype {dtype} is too large",
                    path.display(),
                    fmt_shape(shape)
                ),
            )
        })?;
    let temp = temp_path(path)?;
    // From here on, `Partial` removes the temporary file on every early return.
    let partial = Partial(temp.clone());
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&temp)
        .map_err(|e| error(path, format!("cannot create: {e}")))?;
    let shape_dim = IxDyn(shape);
    let written = match dtype {
        DType::Bool => write_zeroed_npy::<bool, _>(&file, shape_dim),
        DType::Int32 => write_zeroed_npy::<i32, _>(&file, shape_dim),
        DType::Int64 => write_zeroed_npy::<i64, _>(&file, shape_dim),
        DType::Float32 => write_zeroed_npy::<f32, _>(&file, shape_dim),
        DType::Float64 => write_zeroed_npy::<f64, _>(&file, shape_dim),
        DType::Complex64 => write_zeroed_npy::<crate::Complex32, _>(&file, shape_dim),
        DType::Complex128 => write_zeroed_npy::<crate::Complex64, _>(&file, shape_dim),
        DType::Bytes(n) => {
            return Err(error(
                path,
                format!("cannot create a file of S{n}: numjit writes numbers and bools"),
            ))
        }
    };
    written.map_err(|e| error(path, format!("cannot write: {e}")))?;
    let len = file
        .metadata()
        .map_err(|e| error(path, format!("cannot write: {e}")))?
        .len() as usize;
    reserve(&file, len).map_err(|e| error(path, format!("cannot reserve {len} bytes: {e}")))?;
    // SAFETY: the file is new, named only by this value, and mapped shared for writing:
    // nothing else writes it, and the rename in `finish` happens after the last write.
    let mut map =
        unsafe { MmapMut::map_mut(&file) }.map_err(|e| error(path, format!("cannot map: {e}")))?;
    let _ = map.advise(memmap2::Advice::Sequential);
    // The data is the file's last `bytes` bytes (ndarray-npy pads the header to 64 bytes).
    let offset = len - bytes;
    let ptr = map.as_mut_ptr().wrapping_add(offset) as *const u8;
    if !(ptr as usize).is_multiple_of(dtype.size()) {
        return Err(Error::new(
            ErrorKind::Internal,
            format!("`{}`: the data starts misaligned", path.display()),
        ));
    }
    let view = RawView {
        dtype,
        ptr,
        shape: shape.into(),
        strides: c_strides(shape, dtype.size()),
    };
    let registration = stream::register(map.as_ptr(), map.len(), true);
    std::mem::forget(partial);
    Ok(Output {
        view,
        path: path.to_path_buf(),
        temp,
        finished: false,
        _registration: registration,
        map,
    })
}

/// Removes a temporary file unless forgotten.
struct Partial(PathBuf);

impl Drop for Partial {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// `.NAME.PID.N.tmp` beside `path`: on the same file system, so the rename is atomic.
fn temp_path(path: &Path) -> Result<PathBuf> {
    static N: AtomicUsize = AtomicUsize::new(0);
    let name = path
        .file_name()
        .ok_or_else(|| error(path, "is not a file name"))?;
    let temp = format!(
        ".{}.{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    Ok(path.with_file_name(temp))
}

/// Allocates the file's blocks now, so that a full disk is this error rather than a `SIGBUS`
/// when a kernel first writes a page. File systems without `fallocate` skip it.
fn reserve(file: &std::fs::File, len: usize) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: a plain system call on an open descriptor.
        let rc = unsafe { libc::fallocate(file.as_raw_fd(), 0, 0, len as libc::off_t) };
        if rc != 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EOPNOTSUPP) {
                return Err(e);
            }
        }
    }
    let _ = (file, len);
    Ok(())
}

impl Output {
    /// Flushes the data to the file and renames it into place (replacing a file of that name).
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("numjit-finish-doc-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("z.npy");
    /// numjit::npy::create(&path, numjit::DType::Int32, &[2, 2])?.finish()?;
    /// assert_eq!(numjit::npy::open(&path)?.shape(), &[2, 2]);
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn finish(mut self) -> Result<()> {
        self.map
            .flush()
            .map_err(|e| error(&self.path, format!("cannot write: {e}")))?;
        std::fs::rename(&self.temp, &self.path)
            .map_err(|e| error(&self.path, format!("cannot rename into place: {e}")))?;
        self.finished = true;
        Ok(())
    }

    /// The dtype of the elements.
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("numjit-odtype-doc-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// let out = numjit::npy::create(dir.join("d.npy"), numjit::DType::Float32, &[3])?;
    /// assert_eq!(out.dtype(), numjit::DType::Float32);
    /// # drop(out); std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn dtype(&self) -> DType {
        self.view.dtype
    }

    /// The shape.
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("numjit-oshape-doc-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// let out = numjit::npy::create(dir.join("s.npy"), numjit::DType::Int64, &[3, 4])?;
    /// assert_eq!(out.shape(), &[3, 4]);
    /// # drop(out); std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn shape(&self) -> &[usize] {
        &self.view.shape
    }

    /// The path the file gets on [`finish`](Output::finish).
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("numjit-opath-doc-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// let out = numjit::npy::create(dir.join("p.npy"), numjit::DType::Bool, &[1])?;
    /// assert!(out.path().ends_with("p.npy"));
    /// # drop(out); std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        if !self.finished {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// The file's data is written in place: `kernel.eval_into(&vars, &mut out)`.
impl IntoOut for Output {
    fn out_view(&mut self) -> RawViewMut {
        RawViewMut(self.view.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("numjit-create-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_failed_evaluation_leaves_the_old_file_and_no_partial_one() {
        let dir = scratch("failed");
        let path = dir.join("out.npy");
        std::fs::write(&path, b"old").unwrap();
        let x = ndarray::Array1::<f64>::zeros(3);
        let vars = crate::Vars::new().with("x", &x);
        let k = crate::Engine::default()
            .compile("x + 1", &vars.signature())
            .unwrap();
        let mut out = create(&path, DType::Float64, &[4]).unwrap();
        assert_eq!(names(&dir).len(), 2, "the temporary file beside it");
        let e = k.eval_into(&vars, &mut out).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Output);
        drop(out);
        assert_eq!(names(&dir), ["out.npy"]);
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        // A cancelled one too.
        let mut out = create(&path, DType::Float64, &[3]).unwrap();
        let token = crate::CancelToken::new();
        token.cancel();
        let e = token.scope(|| k.eval_into(&vars, &mut out)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Cancelled);
        drop(out);
        assert_eq!(names(&dir), ["out.npy"]);
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        // A finished one replaces it.
        let mut out = create(&path, DType::Float64, &[3]).unwrap();
        k.eval_into(&vars, &mut out).unwrap();
        out.finish().unwrap();
        assert_eq!(names(&dir), ["out.npy"]);
        let back = crate::npy::open(&path).unwrap();
        assert_eq!(
            back.view::<f64>()
                .unwrap()
                .iter()
                .copied()
                .collect::<Vec<_>>(),
            [1.0; 3]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn programs_write_files_bound_as_outputs() {
        let dir = scratch("program");
        let path = dir.join("u.npy");
        let mut u = create(&path, DType::Int32, &[2, 3]).unwrap();
        let vars = crate::Vars::new().with("n", 3_i64).with_out("u", &mut u);
        crate::run("u[:, 1:] = arange(1, n)[None, :] * 2; u[1] += 10", &vars).unwrap();
        drop(vars);
        u.finish().unwrap();
        let back = crate::npy::open(&path).unwrap();
        let v = back.view::<i32>().unwrap();
        assert_eq!(v.iter().copied().collect::<Vec<_>>(), [0, 2, 4, 10, 12, 14]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn impossible_files_are_errors() {
        let e = create("/nonexistent/x.npy", DType::Bool, &[1]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::File);
        assert!(e.message().contains("cannot create"), "{e}");
        let dir = scratch("huge");
        let e = create(dir.join("h.npy"), DType::Float64, &[1 << 40, 1 << 30]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Limit, "{e}");
        assert!(names(&dir).is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
