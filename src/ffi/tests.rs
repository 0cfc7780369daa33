//! The C ABI called from Rust as a C program would: argument checks, ownership, errors.

use std::ffi::{c_char, c_void, CStr};
use std::ptr::{null, null_mut};

use super::array::{numjit_array, numjit_array_mut, numjit_dtype, numjit_var, numjit_var_mut};
use super::cancel::*;
use super::engine::*;
use super::error::*;
use super::program::*;
use super::result::*;
use super::runtime::*;

const F64: u32 = numjit_dtype::Float64 as u32;

fn array(
    dtype: u32,
    data: *const c_void,
    shape: &[isize],
    strides: Option<&[isize]>,
) -> numjit_array {
    numjit_array {
        dtype,
        data,
        ndim: shape.len(),
        shape: shape.as_ptr(),
        strides: strides.map_or(null(), |s| s.as_ptr()),
    }
}

/// Compiles and evaluates `expr` with one variable `x`; returns the status, the result's values
/// read through its strides (as f64) and the error message.
fn eval_x(expr: &CStr, x: numjit_array) -> (numjit_status, Vec<f64>, String) {
    let vars = [numjit_var {
        name: c"x".as_ptr(),
        array: x,
    }];
    let mut result = null_mut();
    let mut error = null_mut();
    // SAFETY: all pointers are live locals; `x` describes memory the caller keeps alive.
    let status =
        unsafe { numjit_evaluate(expr.as_ptr(), vars.as_ptr(), 1, &mut result, &mut error) };
    let message = take_message(error);
    let mut values = Vec::new();
    if status == numjit_status::Ok {
        let mut a = array(0, null(), &[], None);
        // SAFETY: `result` is live until freed below.
        assert_eq!(
            unsafe { numjit_result_array(result, &mut a) },
            numjit_status::Ok
        );
        assert_eq!(a.dtype, F64);
        // SAFETY: `a` describes the result's own C-contiguous buffer (checked via strides).
        unsafe {
            let n: isize = (0..a.ndim).map(|i| *a.shape.add(i)).product();
            for i in 0..n {
                values.push(*(a.data as *const f64).offset(i));
            }
            numjit_result_free(result);
        }
    } else {
        assert!(result.is_null());
    }
    (status, values, message)
}

/// Compiles `expr` for `vars` (asserting success) and returns the kernel.
///
/// # Safety
/// `engine` is live; `vars` describe live arrays.
unsafe fn compile_ok(
    engine: *const numjit_engine,
    expr: &CStr,
    vars: &[numjit_var],
) -> *mut numjit_kernel {
    let (mut kernel, mut error) = (null_mut(), null_mut());
    // SAFETY: by this function's contract; the out-parameters are live locals.
    let status = unsafe {
        numjit_compile(
            engine,
            expr.as_ptr(),
            vars.as_ptr(),
            vars.len(),
            &mut kernel,
            &mut error,
        )
    };
    assert_eq!(status, numjit_status::Ok, "{}", take_message(error));
    kernel
}

fn take_message(error: *mut numjit_error) -> String {
    if error.is_null() {
        return String::new();
    }
    // SAFETY: a live error from numjit, freed right after reading.
    unsafe {
        let m = CStr::from_ptr(numjit_error_message(error))
            .to_string_lossy()
            .into_owned();
        numjit_error_free(error);
        m
    }
}

#[test]
fn negative_and_zero_strides_are_read_in_place() {
    let data = [1.0f64, 2.0, 3.0, 4.0];
    // x[::-1]: pointer at the last element, stride -8.
    let rev = array(F64, data[3..].as_ptr() as *const c_void, &[4], Some(&[-8]));
    let (status, values, _) = eval_x(c"x * 10", rev);
    assert_eq!(status, numjit_status::Ok);
    assert_eq!(values, [40.0, 30.0, 20.0, 10.0]);
    // A broadcast input: every row is the same memory.
    let bcast = array(F64, data.as_ptr() as *const c_void, &[2, 4], Some(&[0, 8]));
    let (status, values, _) = eval_x(c"sum(x)", bcast);
    assert_eq!((status, values), (numjit_status::Ok, vec![20.0]));
}

#[test]
fn malformed_arrays_are_rejected_with_messages() {
    let data = [0.0f64; 4];
    let p = data.as_ptr() as *const c_void;
    let cases: [(numjit_array, numjit_status, &str); 5] = [
        (
            array(9, p, &[4], None),
            numjit_status::InvalidArgument,
            "dtype code 9",
        ),
        (
            array(F64, p, &[-1], None),
            numjit_status::InvalidArgument,
            "negative length",
        ),
        (
            array(F64, null(), &[4], None),
            numjit_status::NullArgument,
            "data",
        ),
        (
            array(F64, p, &[isize::MAX / 4, 4], None),
            numjit_status::InvalidArgument,
            "larger than memory",
        ),
        (
            array(F64, p, &[2, 2], Some(&[isize::MAX / 8 * 8, 8])),
            numjit_status::InvalidArgument,
            "address space",
        ),
    ];
    for (a, want, text) in cases {
        let (status, _, message) = eval_x(c"x + 1", a);
        assert_eq!(status, want, "{message}");
        assert!(
            message.contains(text) && message.contains("`x`"),
            "{message}"
        );
    }
    // An empty array needs no data pointer.
    let (status, values, _) = eval_x(c"x + 1", array(F64, null(), &[0, 3], None));
    assert_eq!((status, values.len()), (numjit_status::Ok, 0));
}

#[test]
fn expression_errors_carry_status_span_and_caret() {
    let x = 1.0f64;
    let (status, _, message) = eval_x(
        c"2*y + x",
        array(F64, &x as *const f64 as *const c_void, &[], None),
    );
    assert_eq!(status, numjit_status::UnknownName);
    assert!(message.ends_with("  2*y + x\n    ^"), "{message}");
    let mut error = null_mut();
    let mut result = null_mut();
    // SAFETY: live locals; no vars.
    let status = unsafe { numjit_evaluate(c"1 +".as_ptr(), null(), 0, &mut result, &mut error) };
    assert_eq!(status, numjit_status::Syntax);
    let (mut start, mut end) = (0, 0);
    // SAFETY: `error` is live until freed.
    unsafe {
        assert!(numjit_error_span(error, &mut start, &mut end));
        assert_eq!(numjit_error_status(error), numjit_status::Syntax);
        numjit_error_free(error);
    }
    assert_eq!((start, end), (3, 3));
}

#[test]
fn null_arguments_are_reported() {
    let mut error = null_mut();
    // SAFETY: NULL is what is being tested; `error` is a live local.
    let status = unsafe { numjit_evaluate(null(), null(), 0, null_mut(), &mut error) };
    assert_eq!(status, numjit_status::NullArgument);
    assert!(take_message(error).contains("result_out"));
    // SAFETY: as above.
    let status = unsafe { numjit_evaluate(c"1".as_ptr(), null(), 3, &mut null_mut(), null_mut()) };
    assert_eq!(status, numjit_status::NullArgument);
    // SAFETY: NULL handles are documented no-ops / errors.
    unsafe {
        numjit_engine_free(null_mut());
        numjit_kernel_free(null_mut());
        numjit_result_free(null_mut());
        numjit_error_free(null_mut());
        assert_eq!(numjit_error_status(null()), numjit_status::NullArgument);
    }
}

#[test]
fn eval_into_a_strided_output_and_rejects_overlap() {
    let x = [1.0f64, 2.0, 3.0];
    let vars = [numjit_var {
        name: c"x".as_ptr(),
        array: array(F64, x.as_ptr() as *const c_void, &[3], None),
    }];
    let engine = numjit_engine_new(0);
    let (mut kernel, mut error) = (null_mut(), null_mut());
    // SAFETY: live locals and handles throughout; every handle is freed once.
    unsafe {
        let status = numjit_compile(
            engine,
            c"x * x".as_ptr(),
            vars.as_ptr(),
            1,
            &mut kernel,
            &mut error,
        );
        assert_eq!(status, numjit_status::Ok, "{}", take_message(error));
        let mut dtype = numjit_dtype::Bool;
        assert_eq!(numjit_kernel_dtype(kernel, &mut dtype), numjit_status::Ok);
        assert_eq!(dtype, numjit_dtype::Float64);
        let mut buf = [0.0f64; 6];
        let shape = [3isize];
        let every_other = numjit_array_mut {
            dtype: F64,
            data: buf.as_mut_ptr() as *mut c_void,
            ndim: 1,
            shape: shape.as_ptr(),
            strides: [16isize].as_ptr(),
        };
        let status = numjit_kernel_eval_into(kernel, vars.as_ptr(), 1, &every_other, &mut error);
        assert_eq!(status, numjit_status::Ok, "{}", take_message(error));
        assert_eq!(buf, [1.0, 0.0, 4.0, 0.0, 9.0, 0.0]);
        let overlapping = numjit_array_mut {
            strides: [0isize].as_ptr(),
            ..every_other
        };
        let status = numjit_kernel_eval_into(kernel, vars.as_ptr(), 1, &overlapping, &mut error);
        assert_eq!(status, numjit_status::InvalidArgument);
        assert!(take_message(error).contains("share memory"));
        let wrong_shape = numjit_array_mut {
            shape: [2isize].as_ptr(),
            ..every_other
        };
        let status = numjit_kernel_eval_into(kernel, vars.as_ptr(), 1, &wrong_shape, &mut error);
        assert_eq!(status, numjit_status::Output);
        take_message(error);
        numjit_kernel_free(kernel);
        numjit_engine_free(engine);
    }
}

#[test]
fn eval_into_an_input_updates_it_in_place() {
    // The output may be an input's very memory. P10's distances of 16 points in 16 dimensions
    // read every row of `x` for every row of the result: nothing may be written before all of
    // it is read (the fused reduction and map stages must not write while other tiles read).
    let n = 16;
    let mut x: Vec<f64> = (0..n * n).map(|i| ((i * 7) % 11) as f64 * 0.5).collect();
    let shape = [n as isize, n as isize];
    let expr = c"sqrt(sum((x[:, None, :] - x[None, :, :])**2, axis=-1)) + 1";
    let (status, want, message) =
        eval_x(expr, array(F64, x.as_ptr() as *const c_void, &shape, None));
    assert_eq!(status, numjit_status::Ok, "{message}");
    let vars = [numjit_var {
        name: c"x".as_ptr(),
        array: array(F64, x.as_ptr() as *const c_void, &shape, None),
    }];
    let out = numjit_array_mut {
        dtype: F64,
        data: x.as_mut_ptr() as *mut c_void,
        ndim: 2,
        shape: shape.as_ptr(),
        strides: null(),
    };
    let engine = numjit_engine_new(0);
    let mut error = null_mut();
    // SAFETY: live locals and handles throughout; every handle is freed once. `x` is read and
    // written only through numjit during the call.
    unsafe {
        let kernel = compile_ok(engine, expr, &vars);
        let status = numjit_kernel_eval_into(kernel, vars.as_ptr(), 1, &out, &mut error);
        assert_eq!(status, numjit_status::Ok, "{}", take_message(error));
        numjit_kernel_free(kernel);
        numjit_engine_free(engine);
    }
    assert_eq!(x, want);
}

#[test]
fn duplicate_names_are_rejected() {
    let x = 1.0f64;
    let a = array(F64, &x as *const f64 as *const c_void, &[], None);
    let vars = [
        numjit_var {
            name: c"x".as_ptr(),
            array: a,
        },
        numjit_var {
            name: c"x".as_ptr(),
            array: a,
        },
    ];
    let (mut result, mut error) = (null_mut(), null_mut());
    // SAFETY: live locals.
    let status =
        unsafe { numjit_evaluate(c"x".as_ptr(), vars.as_ptr(), 2, &mut result, &mut error) };
    assert_eq!(status, numjit_status::InvalidArgument);
    assert!(take_message(error).contains("given twice"));
}

fn names_of(expr: &CStr) -> (numjit_status, String) {
    let mut needed = 0usize;
    let mut error = null_mut();
    // SAFETY: size query with live locals.
    let status =
        unsafe { numjit_expr_names(expr.as_ptr(), null_mut(), 0, &mut needed, &mut error) };
    if status != numjit_status::Ok {
        take_message(error);
        return (status, String::new());
    }
    let mut buf = vec![1 as c_char; needed];
    // SAFETY: `buf` has `needed` writable bytes.
    let status = unsafe {
        numjit_expr_names(
            expr.as_ptr(),
            buf.as_mut_ptr(),
            needed,
            &mut needed,
            null_mut(),
        )
    };
    // SAFETY: numjit NUL-terminated it.
    let text = unsafe { CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned();
    (status, text)
}

#[test]
fn expression_names_in_source_order() {
    assert_eq!(
        names_of(c"where(b > 0, sum(a, axis=0), b) + a * pi"),
        (numjit_status::Ok, "b a pi".to_string())
    );
    assert_eq!(names_of(c"1 + 2"), (numjit_status::Ok, String::new()));
    assert_eq!(names_of(c"1 +").0, numjit_status::Syntax);
    let mut needed = 0;
    let mut small = [0 as c_char; 2];
    // SAFETY: `small` has 2 writable bytes.
    let status = unsafe {
        numjit_expr_names(
            c"abc".as_ptr(),
            small.as_mut_ptr(),
            2,
            &mut needed,
            null_mut(),
        )
    };
    assert_eq!(
        (status, needed, small[0]),
        (numjit_status::InvalidArgument, 4, 0)
    );
}

#[test]
fn status_names_and_threads() {
    // SAFETY: static strings.
    let name = |s: u32| {
        unsafe { CStr::from_ptr(numjit_status_name(s)) }
            .to_str()
            .unwrap_or("")
    };
    assert_eq!(name(numjit_status::NegativePower as u32), "negative_power");
    assert_eq!(name(101), "invalid_argument");
    assert_eq!(name(77), "unknown");
    let before = numjit_get_num_threads();
    assert!(before >= 1);
    assert_eq!(numjit_set_num_threads(before), before);
    // SAFETY: a static NUL-terminated string.
    assert_eq!(
        unsafe { CStr::from_ptr(numjit_version()) }.to_str().ok(),
        Some(env!("CARGO_PKG_VERSION"))
    );
}

/// `numjit_program_names` of `src` for `which`, as one string.
fn program_names_of(src: &CStr, which: u32) -> (numjit_status, String) {
    let mut needed = 0;
    // Zeros: a failed call writes nothing, and the text read below must end inside `buf`.
    let mut buf = vec![0 as c_char; 256];
    // SAFETY: `buf` has 256 writable bytes.
    let status = unsafe {
        numjit_program_names(
            src.as_ptr(),
            which,
            buf.as_mut_ptr(),
            buf.len(),
            &mut needed,
            null_mut(),
        )
    };
    // SAFETY: NUL-terminated by numjit, or all zeros.
    let text = unsafe { CStr::from_ptr(buf.as_ptr()) }.to_string_lossy();
    (status, text.into_owned())
}

#[test]
fn program_names_list_what_is_read_and_what_is_written() {
    let src = c"t = a * 2\nfor i in range(n):\n    u[1:-1] = t[1:-1] + i * u[1:-1]\n    swap(u, v)\nsum(u)";
    assert_eq!(
        program_names_of(src, numjit_names::All as u32),
        (numjit_status::Ok, "t a n u v".to_string()),
        "every name but the loop variable"
    );
    assert_eq!(
        program_names_of(src, numjit_names::Written as u32),
        (numjit_status::Ok, "t u v".to_string())
    );
    assert_eq!(program_names_of(c"x = 1 +", 0).0, numjit_status::Syntax);
    assert_eq!(program_names_of(c"x", 7).0, numjit_status::InvalidArgument);
}

#[test]
fn a_program_without_a_result_has_no_dtype() {
    let x = [1.0f64, 2.0];
    let vars = [numjit_var {
        name: c"x".as_ptr(),
        array: array(F64, x.as_ptr() as *const c_void, &[2], None),
    }];
    let engine = numjit_engine_new(0);
    let (mut kernel, mut error) = (null_mut(), null_mut());
    // SAFETY: live locals and handles throughout; every handle is freed once.
    unsafe {
        let status = numjit_compile(
            engine,
            c"y = 2 * x".as_ptr(),
            vars.as_ptr(),
            1,
            &mut kernel,
            &mut error,
        );
        assert_eq!(status, numjit_status::Ok, "{}", take_message(error));
        let mut dtype = numjit_dtype::Bool;
        assert_eq!(
            numjit_kernel_dtype(kernel, &mut dtype),
            numjit_status::Value
        );
        assert_eq!(dtype, numjit_dtype::Bool, "nothing is written on failure");
        numjit_kernel_free(kernel);
        numjit_engine_free(engine);
    }
}

#[test]
fn a_cancelled_token_stops_the_evaluations_of_the_thread_that_set_it() {
    let src = c"def spin(x):\n    while True:\n        x += 1\n    return x\nspin(arange(10))";
    let token = numjit_cancel_token_new();
    // SAFETY: `token` is live until freed at the end; the strings are NUL-terminated.
    unsafe {
        numjit_set_cancel_token(token);
        let canceller = token as usize;
        let t = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(30));
            numjit_cancel(canceller as *const numjit_cancel_token);
        });
        let (mut result, mut error) = (null_mut(), null_mut());
        let status = numjit_evaluate(src.as_ptr(), null(), 0, &mut result, &mut error);
        t.join().unwrap();
        assert_eq!(status, numjit_status::Cancelled);
        assert!(result.is_null());
        assert_eq!(
            CStr::from_ptr(numjit_status_name(status as u32)).to_str(),
            Ok("cancelled")
        );
        numjit_error_free(error);
        // Reset, the same thread evaluates again; freeing the handle keeps the thread's token.
        numjit_cancel_token_reset(token);
        numjit_cancel_token_free(token);
        let status = numjit_evaluate(c"2 * 21".as_ptr(), null(), 0, &mut result, null_mut());
        assert_eq!(status, numjit_status::Ok);
        numjit_result_free(result);
        numjit_set_cancel_token(null());
    }
}

// The C ABI segfaulted on threads with small stacks (64 KiB: even `x`; 128 KiB: 128 nested
// `sin(`): compiling needs more stack than that, so calls move to a segment of their own.
#[test]
fn c_abi_runs_on_small_stacks() {
    let nested = format!("{}x{}", "sin(".repeat(128), ")".repeat(128));
    let deepest = format!("{}x{}", "sin(".repeat(250), ")".repeat(250));
    for (stack, expr) in [
        (64 << 10, "x * 10".to_string()),
        (64 << 10, "x".to_string()),
        (128 << 10, nested),
        (64 << 10, deepest.clone()),
        // Enough left for the red zone: the call stays on this thread's own stack.
        (1280 << 10, deepest),
    ] {
        let values = std::thread::Builder::new()
            .stack_size(stack)
            .spawn(move || {
                let data = [0.5f64, 2.0];
                let x = array(F64, data.as_ptr() as *const c_void, &[2], None);
                let expr = std::ffi::CString::new(expr).expect("no NUL");
                let (status, values, message) = eval_x(&expr, x);
                assert_eq!(status, numjit_status::Ok, "{message}");
                values
            })
            .expect("spawn")
            .join()
            .expect("no panic");
        assert_eq!(values.len(), 2);
    }
}

/// Compile latency through the C ABI on a thread of `stack` bytes: the median of 200 compiles
/// of new expressions (no cache hits), in µs.
fn compile_latency_us(stack: usize) -> f64 {
    std::thread::Builder::new()
        .stack_size(stack)
        .spawn(move || {
            let x = [1.0f64, 2.0, 3.0];
            let vars = [numjit_var {
                name: c"x".as_ptr(),
                array: array(F64, x.as_ptr() as *const c_void, &[3], None),
            }];
            let engine = numjit_engine_new(0);
            let mut times: Vec<f64> = (0..200)
                .map(|i| {
                    let expr = std::ffi::CString::new(format!("sin(x) * {i} + x**2")).unwrap();
                    let start = std::time::Instant::now();
                    // SAFETY: live locals and handles; the kernel is freed right after.
                    unsafe {
                        let kernel = compile_ok(engine, &expr, &vars);
                        let t = start.elapsed().as_secs_f64() * 1e6;
                        numjit_kernel_free(kernel);
                        t
                    }
                })
                .collect();
            // SAFETY: made above, freed once.
            unsafe { numjit_engine_free(engine) };
            times.sort_by(f64::total_cmp);
            times[times.len() / 2]
        })
        .expect("spawn")
        .join()
        .expect("no panic")
}

// What running a call on a fresh stack segment costs (`guard::run`): compare the compile
// latency on an 8 MiB thread (no segment) with a 64 KiB one (a segment per call). Run with
// `cargo test --release --lib compile_latency_on_small_stacks -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement, not a check"]
fn compile_latency_on_small_stacks() {
    for stack in [8 << 20, 64 << 10, 8 << 20, 64 << 10] {
        println!(
            "{:>5} KiB stack: compile median {:.1} µs",
            stack >> 10,
            compile_latency_us(stack)
        );
    }
}

#[test]
fn byte_strings_are_inputs_with_their_length_in_the_dtype_code() {
    use super::array::NUMJIT_BYTES_SHIFT;
    let s3 = numjit_dtype::Bytes as u32 | 3 << NUMJIT_BYTES_SHIFT;
    // ["ab", "b", "", "zz"] as S3, read backwards.
    let data: [u8; 12] = *b"ab\0b\0\0\0\0\0zz\0";
    let last = data[9..].as_ptr() as *const c_void;
    let expr = c"where(contains(x, b'b') | (x < 'a'), 1.0, 0.0) + (x == 'zz\\x00')";
    let (status, values, message) = eval_x(expr, array(s3, last, &[4], Some(&[-3])));
    assert_eq!(status, numjit_status::Ok, "{message}");
    assert_eq!(values, vec![1.0, 1.0, 1.0, 1.0]);
    let (_, values, _) = eval_x(c"1.0 * (x >= 'b')", array(s3, last, &[4], Some(&[-3])));
    assert_eq!(values, vec![1.0, 0.0, 1.0, 0.0]);
    // No strings of length 0, strides in whole strings, and no arithmetic on them.
    let empty = numjit_dtype::Bytes as u32;
    let (status, _, message) = eval_x(c"x == 'a'", array(empty, last, &[4], Some(&[-3])));
    assert_eq!(status, numjit_status::InvalidArgument, "{message}");
    let (status, _, message) = eval_x(
        c"x == 'a'",
        array(s3, data.as_ptr().cast(), &[2], Some(&[4])),
    );
    assert_eq!(status, numjit_status::InvalidArgument);
    assert!(
        message.contains("not a multiple of the 3-byte S3"),
        "{message}"
    );
    let (status, _, message) = eval_x(c"x + 1.0", array(s3, data.as_ptr().cast(), &[4], None));
    assert_eq!(status, numjit_status::Type);
    assert!(message.contains("S3"), "{message}");
}

#[test]
fn the_tier_is_set_by_name_and_an_unknown_one_is_refused() {
    let tier = || {
        unsafe { CStr::from_ptr(numjit_get_tier()) }
            .to_str()
            .unwrap()
    };
    let before = tier().to_string();
    let mut error = null_mut();
    let status = unsafe { numjit_set_tier(c"gcc".as_ptr(), &mut error) };
    assert_eq!(status, numjit_status::Value);
    assert!(take_message(error).contains("unknown tier 'gcc'"));
    assert_eq!(tier(), before, "a refused name changes nothing");
    let status = unsafe { numjit_set_tier(c"llvm".as_ptr(), null_mut()) };
    let expected = if cfg!(feature = "llvm") {
        numjit_status::Ok
    } else {
        numjit_status::Value
    };
    assert_eq!(status, expected);
    let status = unsafe { numjit_set_tier(c"cranelift".as_ptr(), null_mut()) };
    assert_eq!((status, tier()), (numjit_status::Ok, "cranelift"));
    let status = unsafe { numjit_set_tier(null(), null_mut()) };
    assert_eq!(status, numjit_status::NullArgument);
}

#[test]
fn the_object_cache_directory_is_set_read_back_and_cleared() {
    let dir_now = || {
        let mut needed = 0;
        let status = unsafe { numjit_get_object_cache_dir(null_mut(), 0, &mut needed, null_mut()) };
        assert_eq!(status, numjit_status::Ok);
        let mut buf = vec![0u8; needed];
        let mut error = null_mut();
        let buf_ptr = buf.as_mut_ptr().cast();
        let status =
            unsafe { numjit_get_object_cache_dir(buf_ptr, needed, &mut needed, &mut error) };
        assert_eq!(status, numjit_status::Ok, "{}", take_message(error));
        assert_eq!(needed, buf.len());
        CStr::from_bytes_with_nul(&buf).unwrap().to_owned()
    };
    let status =
        unsafe { numjit_set_object_cache_dir(c"/tmp/numjit ffi cache".as_ptr(), null_mut()) };
    assert_eq!(status, numjit_status::Ok);
    assert_eq!(dir_now().as_c_str(), c"/tmp/numjit ffi cache");
    assert_eq!(
        crate::object_cache_dir(),
        Some("/tmp/numjit ffi cache".into())
    );
    // Too small a buffer is refused and left holding an empty string.
    let mut small = [b'x'; 4];
    let mut needed = 0;
    let mut error = null_mut();
    let status = unsafe {
        numjit_get_object_cache_dir(small.as_mut_ptr().cast(), 4, &mut needed, &mut error)
    };
    assert_eq!(status, numjit_status::InvalidArgument);
    assert!(take_message(error).contains("needs 22 bytes"));
    assert_eq!((small[0], needed), (0, 22));
    let status = unsafe { numjit_get_object_cache_dir(null_mut(), 0, null_mut(), null_mut()) };
    assert_eq!(status, numjit_status::NullArgument);
    // NULL and the empty string both mean: cache nothing.
    for off in [null(), c"".as_ptr()] {
        unsafe { numjit_set_object_cache_dir(c"/tmp/x".as_ptr(), null_mut()) };
        let status = unsafe { numjit_set_object_cache_dir(off, null_mut()) };
        assert_eq!(status, numjit_status::Ok);
        assert_eq!(dir_now().as_c_str(), c"");
        assert_eq!(crate::object_cache_dir(), None);
    }
}

#[test]
fn the_object_cache_counts_are_those_of_the_rust_api() {
    use crate::codegen::{count_cache_event, CacheEvent};
    let stats = || {
        let mut s = numjit_object_cache_stats::default();
        let status = unsafe { numjit_get_object_cache_stats(&mut s, null_mut()) };
        assert_eq!(status, numjit_status::Ok);
        [s.hits, s.misses, s.rejected, s.stored, s.store_errors]
    };
    let before = stats();
    // Each event a different number of times, so a swapped field shows (without feature `llvm`
    // nothing else counts; with it, other tests' compiles may add to the counts).
    let events = [
        CacheEvent::Hit,
        CacheEvent::Miss,
        CacheEvent::Rejected,
        CacheEvent::Stored,
        CacheEvent::StoreError,
    ];
    for (i, event) in events.into_iter().enumerate() {
        (0..=i).for_each(|_| count_cache_event(event));
    }
    let after = stats();
    for i in 0..5 {
        let added = after[i] - before[i];
        if cfg!(feature = "llvm") {
            assert!(added > i as u64, "{before:?} {after:?}");
        } else {
            assert_eq!(added, i as u64 + 1, "{before:?} {after:?}");
        }
    }
    let status = unsafe { numjit_get_object_cache_stats(null_mut(), null_mut()) };
    assert_eq!(status, numjit_status::NullArgument);
}

/// `n` float64 values written at byte offset 1 of a buffer, `stride` bytes apart: misaligned
/// for float64 (and, for a stride that is no multiple of 8, every element differently so).
fn misaligned_f64(buf: &mut [u8], values: &[f64], stride: usize) -> *mut c_void {
    for (i, v) in values.iter().enumerate() {
        buf[1 + i * stride..1 + i * stride + 8].copy_from_slice(&v.to_ne_bytes());
    }
    buf[1..].as_mut_ptr() as *mut c_void
}

fn read_f64(buf: &[u8], n: usize, stride: usize) -> Vec<f64> {
    (0..n)
        .map(|i| f64::from_ne_bytes(buf[1 + i * stride..1 + i * stride + 8].try_into().unwrap()))
        .collect()
}

#[test]
fn misaligned_inputs_and_outputs_are_read_and_written() {
    // NumPy allows them (`np.empty(5, np.uint8)[1:].view(np.int32)`, fields of packed records):
    // numjit reads an aligned copy and writes an output through one.
    let values = [1.5, -2.0, 3.25, 8.0];
    for stride in [8usize, 12] {
        let mut buf = vec![0u8; 1 + 4 * stride + 8];
        let p = misaligned_f64(&mut buf, &values, stride);
        let strides = [stride as isize];
        let x = array(F64, p, &[4], Some(&strides));
        let (status, got, message) = eval_x(c"x * 2 + 1", x);
        assert_eq!(status, numjit_status::Ok, "{message}");
        assert_eq!(got, [4.0, -3.0, 7.5, 17.0], "stride {stride}");

        // eval_into a misaligned output (here the input's own memory, read before written).
        let vars = [numjit_var {
            name: c"x".as_ptr(),
            array: x,
        }];
        let out = numjit_array_mut {
            dtype: F64,
            data: p,
            ndim: 1,
            shape: [4isize].as_ptr(),
            strides: strides.as_ptr(),
        };
        let engine = numjit_engine_new(0);
        let mut error = null_mut();
        // SAFETY: live locals and handles; `buf` is touched only through numjit in the call.
        unsafe {
            let kernel = compile_ok(engine, c"x * x", &vars);
            let status = numjit_kernel_eval_into(kernel, vars.as_ptr(), 1, &out, &mut error);
            assert_eq!(status, numjit_status::Ok, "{}", take_message(error));
            numjit_kernel_free(kernel);
            numjit_engine_free(engine);
        }
        assert_eq!(read_f64(&buf, 4, stride), [2.25, 4.0, 10.5625, 64.0]);

        // A program reads and writes the misaligned array; a failing one leaves it as it was.
        let outputs = [numjit_var_mut {
            name: c"u".as_ptr(),
            array: out,
        }];
        for (program, want_status) in [
            (c"u += 1\nu[1:] = u[:-1] * 2", numjit_status::Ok),
            (c"u += 1\nu[1:] = nope", numjit_status::UnknownName),
        ] {
            let mut error = null_mut();
            // SAFETY: as above; no result is asked for.
            let status = unsafe {
                numjit_run(
                    program.as_ptr(),
                    null(),
                    0,
                    outputs.as_ptr(),
                    1,
                    null_mut(),
                    &mut error,
                )
            };
            let message = take_message(error);
            assert_eq!(status, want_status, "{message}");
            // Right after the first program; the second changes nothing.
            assert_eq!(read_f64(&buf, 4, stride), [3.25, 6.5, 10.0, 23.125]);
        }
    }
}
