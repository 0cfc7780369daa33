//! `.npy` files for `load(...)` and `save(...)`: bool, int32, int64, float32 and float64 arrays of
//! any shape, read and written with ndarray-npy.

use std::path::Path;

use ndarray::ArrayD;
use ndarray_npy::{ReadNpyError, ReadNpyExt, ReadableElement, WriteNpyExt};
use numjit::Array;

/// Reads a file as one element type.
type Reader = fn(&Path) -> Result<Array, ReadNpyError>;

/// Reads an `.npy` file into an array of the dtype the file declares.
pub fn load(path: &Path) -> Result<Array, String> {
    // ndarray-npy reads one element type at a time and rejects a file whose header declares
    // another before reading any data, so trying each dtype costs one header read each.
    let attempts: [Reader; 7] = [
        |p| read::<f64>(p).map(Array::Float64),
        |p| read::<numjit::Complex64>(p).map(Array::Complex128),
        |p| read::<numjit::Complex32>(p).map(Array::Complex64),
        |p| read::<f32>(p).map(Array::Float32),
        |p| read::<i64>(p).map(Array::Int64),
        |p| read::<i32>(p).map(Array::Int32),
        |p| read::<bool>(p).map(Array::Bool),
    ];
    let mut declared = None;
    for attempt in attempts {
        match attempt(path) {
            Ok(array) => return Ok(array),
            Err(ReadNpyError::WrongDescriptor(descr)) => declared = Some(descr),
            Err(e) => return Err(describe_read_error(path, e)),
        }
    }
    Err(format!(
        "cannot load `{}`: its dtype {} is not one numjit computes with (bool, int32, int64, float32, float64)",
        path.display(),
        declared.map_or_else(|| "?".to_string(), |d| d.to_string())
    ))
}

fn read<T: ReadableElement + Clone>(path: &Path) -> Result<ArrayD<T>, ReadNpyError> {
    let file = std::fs::File::open(path)?;
    let array = ArrayD::<T>::read_npy(std::io::BufReader::new(file))?;
    // Fortran-ordered files come back column-major; numjit reads any strides, but kernels are
    // specialized for C order, so pay the copy once here rather than in every evaluation.
    Ok(if array.is_standard_layout() {
        array
    } else {
        array.as_standard_layout().into_owned()
    })
}

fn describe_read_error(path: &Path, e: ReadNpyError) -> String {
    match e {
        ReadNpyError::Io(io) => format!("cannot read `{}`: {io}", path.display()),
        other => format!("`{}` is not a valid .npy file: {other}", path.display()),
    }
}

/// Writes `array` to an `.npy` file (created or replaced).
pub fn save(path: &Path, array: &Array) -> Result<(), String> {
    let fail = |e: &dyn std::fmt::Display| format!("cannot write `{}`: {e}", path.display());
    let file = std::fs::File::create(path).map_err(|e| fail(&e))?;
    let writer = std::io::BufWriter::new(file);
    let written = match array {
        Array::Bool(a) => a.write_npy(writer),
        Array::Int32(a) => a.write_npy(writer),
        Array::Int64(a) => a.write_npy(writer),
        Array::Float32(a) => a.write_npy(writer),
        Array::Float64(a) => a.write_npy(writer),
        Array::Complex64(a) => a.write_npy(writer),
        Array::Complex128(a) => a.write_npy(writer),
    };
    written.map_err(|e| fail(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dtype_round_trips() {
        let dir = std::env::temp_dir().join(format!("numjit-npy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let arrays = [
            Array::Bool(ndarray::arr1(&[true, false]).into_dyn()),
            Array::Int32(ndarray::arr2(&[[1, 2], [3, 4]]).into_dyn()),
            Array::Int64(ndarray::arr0(7i64).into_dyn()),
            Array::Float32(ndarray::arr1(&[1.5f32]).into_dyn()),
            Array::Float64(ndarray::arr1(&[0.25, -1.0]).into_dyn()),
        ];
        for (i, a) in arrays.iter().enumerate() {
            let path = dir.join(format!("{i}.npy"));
            save(&path, a).unwrap();
            assert_eq!(&load(&path).unwrap(), a);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_file_is_a_message() {
        let e = load(Path::new("/nonexistent/x.npy")).unwrap_err();
        assert!(e.starts_with("cannot read `/nonexistent/x.npy`"), "{e}");
    }
}
