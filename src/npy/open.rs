//! An existing `.npy` file mapped read-only as an input.

use std::path::{Path, PathBuf};

use memmap2::Mmap;
use ndarray::{ArrayViewD, IxDyn, ShapeBuilder};
use ndarray_npy::{ViewElement, ViewNpyError, ViewNpyExt};

use crate::api::vars::{IntoVar, VarValue};
use crate::core::dtype::{DType, Element};
use crate::core::error::Result;
use crate::core::shape::fmt_shape;
use crate::core::view::RawView;
use crate::exec::stream::{self, Registration};

use super::error;

/// A `.npy` file mapped read-only: an input array of numjit's dtypes, C or Fortran order.
/// Bind it with [`Vars::with`](crate::Vars::with); its pages are read as evaluations reach
/// them and released behind them.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("numjit-open-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// # let path = dir.join("a.npy");
/// # numjit::npy::create(&path, numjit::DType::Int32, &[4])?.finish()?;
/// let a = numjit::npy::open(&path)?;
/// assert_eq!((a.dtype(), a.shape()), (numjit::DType::Int32, &[4][..]));
/// let s = numjit::evaluate("sum(a + 1)", &numjit::Vars::new().with("a", &a))?;
/// assert_eq!(s.as_i64().unwrap()[[]], 4);
/// # drop(a); std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct File {
    view: RawView,
    path: PathBuf,
    // Declared before the mapping: unregistered (no hook advising it) before it is unmapped.
    _registration: Registration,
    _map: Mmap,
}

// SAFETY: the view points into the read-only mapping this value owns; nothing writes through
// it, so sharing or sending it between threads is as safe as for a `&[u8]`.
unsafe impl Send for File {}
// SAFETY: as above.
unsafe impl Sync for File {}

/// Maps the `.npy` file at `path` read-only.
///
/// Errors (kind [`File`](crate::ErrorKind::File)) name the file: it cannot be opened; it is
/// no `.npy`; its header describes more (or fewer) bytes than the file holds (the size is
/// checked before any data is read, so a truncated file is an error, never a `SIGBUS`); its
/// dtype is none of bool, int32, int64, float32, float64, or not in native byte order. A bool
/// file is checked for bytes other than 0 and 1, which reads it once.
///
/// ```
/// let err = numjit::npy::open("/nonexistent/a.npy").unwrap_err();
/// assert_eq!(err.kind(), numjit::ErrorKind::File);
/// assert!(err.message().contains("/nonexistent/a.npy"));
/// # Ok::<(), numjit::Error>(())
/// ```
pub fn open(path: impl AsRef<Path>) -> Result<File> {
    let path = path.as_ref();
    let file = std::fs::File::open(path).map_err(|e| error(path, format!("cannot open: {e}")))?;
    let len = file
        .metadata()
        .map_err(|e| error(path, format!("cannot read: {e}")))?
        .len();
    if len == 0 {
        return Err(error(path, "is empty, not a .npy file"));
    }
    // SAFETY: the mapping is read-only and private to this value. Another process may still
    // change or truncate the file meanwhile (the module's docs say what that does); numjit
    // itself never writes it.
    let map = unsafe { Mmap::map(&file) }.map_err(|e| error(path, format!("cannot map: {e}")))?;
    let view = view_of(path, &map)?;
    // Both hints only: the executor reads in storage order, and the data of a validated bool
    // file need not stay resident until an evaluation comes for it.
    let _ = map.advise(memmap2::Advice::Sequential);
    if view.dtype == DType::Bool {
        // SAFETY: a read-only shared file mapping: dropped pages are read back from the file.
        let _ = unsafe { map.unchecked_advise(memmap2::UncheckedAdvice::DontNeed) };
    }
    let registration = stream::register(map.as_ptr(), map.len(), false);
    Ok(File {
        view,
        path: path.to_path_buf(),
        _registration: registration,
        _map: map,
    })
}

/// The view of the data in `bytes`, a whole `.npy` file, of the dtype its header declares.
fn view_of(path: &Path, bytes: &[u8]) -> Result<RawView> {
    // ndarray-npy views one element type at a time and rejects another descriptor before it
    // looks at the data: trying each dtype costs a header parse each.
    let mut declared = None;
    macro_rules! attempt {
        ($($t:ty),*) => {$(
            match ArrayViewD::<$t>::view_npy(bytes) {
                Ok(v) => return Ok(raw(&v)),
                Err(ViewNpyError::WrongDescriptor(d)) => {
                    declared.get_or_insert(d);
                }
                Err(e) => return Err(describe(path, bytes.len(), e)),
            }
        )*};
    }
    attempt!(f64, f32, i64, i32, bool, crate::Complex64, crate::Complex32);
    Err(error(
        path,
        format!(
            "its dtype {} is not one numjit computes with (bool, int32, int64, float32, float64, complex64, complex128)",
            declared.map_or_else(|| "?".to_string(), |d| d.to_string())
        ),
    ))
}

fn raw<T: Element + ViewElement>(v: &ArrayViewD<'_, T>) -> RawView {
    let size = std::mem::size_of::<T>() as isize;
    RawView {
        dtype: T::DTYPE,
        ptr: v.as_ptr() as *const u8,
        shape: v.shape().into(),
        strides: v.strides().iter().map(|s| s * size).collect(),
    }
}

fn describe(path: &Path, len: usize, e: ViewNpyError) -> crate::Error {
    let message = match e {
        ViewNpyError::MissingBytes(n) => format!(
            "is truncated, or its header lies: the file has {len} bytes, {n} fewer than its header describes"
        ),
        ViewNpyError::ExtraBytes(n) => {
            format!("has {n} bytes more than its header describes")
        }
        ViewNpyError::ParseHeader(e) => format!("is not a .npy file: {e}"),
        ViewNpyError::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            "is not a .npy file: it ends inside its header".to_string()
        }
        ViewNpyError::LengthOverflow => "the shape in its header overflows".to_string(),
        ViewNpyError::NonNativeEndian => {
            "its data is not in this machine's byte order".to_string()
        }
        ViewNpyError::MisalignedData => "its data is not aligned for its dtype".to_string(),
        ViewNpyError::InvalidData(e) => format!("has invalid data: {e}"),
        other => format!("cannot be read: {other}"),
    };
    error(path, message)
}

impl File {
    /// The dtype of the elements.
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("numjit-dtype-doc-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// # let path = dir.join("b.npy");
    /// numjit::npy::create(&path, numjit::DType::Bool, &[2, 3])?.finish()?;
    /// assert_eq!(numjit::npy::open(&path)?.dtype(), numjit::DType::Bool);
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn dtype(&self) -> DType {
        self.view.dtype
    }

    /// The shape its header declares.
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("numjit-shape-doc-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// # let path = dir.join("s.npy");
    /// numjit::npy::create(&path, numjit::DType::Float32, &[2, 3])?.finish()?;
    /// assert_eq!(numjit::npy::open(&path)?.shape(), &[2, 3]);
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn shape(&self) -> &[usize] {
        &self.view.shape
    }

    /// The path it was opened from.
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("numjit-path-doc-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// # let path = dir.join("p.npy");
    /// numjit::npy::create(&path, numjit::DType::Int64, &[1])?.finish()?;
    /// assert_eq!(numjit::npy::open(&path)?.path(), path);
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The elements as an ndarray view, when they are `T`s (`None` for another dtype).
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("numjit-view-doc-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// # let path = dir.join("v.npy");
    /// numjit::npy::create(&path, numjit::DType::Float64, &[3])?.finish()?;
    /// let a = numjit::npy::open(&path)?;
    /// assert_eq!(a.view::<f64>().unwrap().sum(), 0.0);
    /// assert!(a.view::<i32>().is_none());
    /// # drop(a); std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn view<T: Element>(&self) -> Option<ArrayViewD<'_, T>> {
        if T::DTYPE != self.view.dtype {
            return None;
        }
        let size = std::mem::size_of::<T>() as isize;
        // Files give non-negative strides (C or Fortran order), in elements here.
        let strides: Vec<usize> = self
            .view
            .strides
            .iter()
            .map(|s| (s / size) as usize)
            .collect();
        let shape = IxDyn(&self.view.shape).strides(IxDyn(&strides));
        // SAFETY: the view was checked by ndarray-npy against the mapping, which lives as long
        // as `self` and is never written; `T` is the file's element type.
        Some(unsafe { ArrayViewD::from_shape_ptr(shape, self.view.ptr as *const T) })
    }
}

impl std::fmt::Display for File {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} mapped from `{}`",
            self.view.dtype,
            fmt_shape(&self.view.shape),
            self.path.display()
        )
    }
}

/// A mapped file binds like an ndarray view: `Vars::new().with("a", &file)`.
impl<'a> IntoVar<'a> for &'a File {
    fn into_var(self) -> VarValue<'a> {
        VarValue::borrowed(self.view.clone(), false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("numjit-open-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("x.npy")
    }

    fn write<T: ndarray_npy::WritableElement>(path: &Path, a: &ndarray::ArrayD<T>) {
        use ndarray_npy::WriteNpyExt;
        a.write_npy(std::fs::File::create(path).unwrap()).unwrap();
    }

    #[test]
    fn every_dtype_and_both_orders_read_as_written() {
        let path = scratch("dtypes");
        let m = ndarray::Array2::from_shape_fn((5, 7), |(i, j)| (i * 7 + j) as f64).into_dyn();
        for fortran in [false, true] {
            let a = if fortran {
                m.t().as_standard_layout().reversed_axes().into_owned()
            } else {
                m.clone()
            };
            write(&path, &a);
            let f = open(&path).unwrap();
            assert_eq!(f.view::<f64>().unwrap(), m.view(), "fortran {fortran}");
            let vars = crate::Vars::new().with("m", &f);
            let s = crate::evaluate("sum(m * m, axis=0)", &vars).unwrap();
            let expected = (&m * &m).sum_axis(ndarray::Axis(0));
            assert_eq!(s.as_f64().unwrap(), &expected);
        }
        write(&path, &m.mapv(|v| v as f32));
        assert_eq!(open(&path).unwrap().dtype(), DType::Float32);
        write(&path, &m.mapv(|v| v as i64));
        assert_eq!(open(&path).unwrap().dtype(), DType::Int64);
        write(&path, &m.mapv(|v| v as i32));
        assert_eq!(open(&path).unwrap().dtype(), DType::Int32);
        write(&path, &m.mapv(|v| v > 3.0));
        let b = open(&path).unwrap();
        assert_eq!(b.dtype(), DType::Bool);
        let vars = crate::Vars::new().with("b", &b);
        let count = crate::evaluate("sum(b)", &vars).unwrap();
        assert_eq!(count.as_i64().unwrap()[[]], 31);
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn broken_files_are_file_errors_naming_the_file() {
        let path = scratch("broken");
        let a = ndarray::Array1::<f64>::from_elem(100, 1.5).into_dyn();
        write(&path, &a);
        let bytes = std::fs::read(&path).unwrap();
        let cases: [(&[u8], &str); 4] = [
            (&bytes[..bytes.len() - 8], "is truncated"),
            (&bytes[..40], "not a .npy"),
            (b"", "is empty"),
            (b"hello, world", "not a .npy"),
        ];
        for (content, says) in cases {
            std::fs::write(&path, content).unwrap();
            let e = open(&path).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::File, "{e}");
            assert!(e.message().contains(says), "{e}");
            assert!(e.message().contains(&path.display().to_string()), "{e}");
        }
        // A header that claims a larger shape than the data.
        let at = bytes.windows(6).position(|w| w == b"(100,)").unwrap();
        let mut lying = bytes.clone();
        lying[at..at + 6].copy_from_slice(b"(200,)");
        std::fs::write(&path, &lying).unwrap();
        assert!(open(&path).unwrap_err().message().contains("is truncated"));
        // A dtype numjit does not compute with.
        use ndarray_npy::WriteNpyExt;
        let u8s = ndarray::Array1::<u8>::zeros(4);
        u8s.write_npy(std::fs::File::create(&path).unwrap())
            .unwrap();
        let e = open(&path).unwrap_err();
        assert!(e.message().contains("not one numjit computes with"), "{e}");
        let e = open(path.parent().unwrap().join("missing.npy")).unwrap_err();
        assert!(e.message().contains("cannot open"), "{e}");
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }
}
