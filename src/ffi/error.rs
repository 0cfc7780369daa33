//! Status codes and the error object.
//!
//! Why an error object handed back through an out-parameter (regex-capi's `rure_error`, GLib's
//! `GError **`) rather than a thread-local "last error" read with `numjit_last_error_message`:
//! the error is a value the caller owns, so it survives later calls and can be passed to another
//! thread (a Python or C++ wrapper often reports on a different thread than the one that failed);
//! there is no hidden per-thread state to go stale; and a caller that only wants the status passes
//! NULL and pays nothing. The object is allocated only on failure, so success costs nothing either.

use std::ffi::{c_char, CStr, CString};

use crate::core::error::{Error, ErrorKind, Span};

/// The outcome of a call: `NUMJIT_STATUS_OK` (0) or the kind of error.
///
/// The numbers are part of the ABI and never change meaning. Codes 1–99 mirror numjit's error
/// kinds (problems with the expression or the data); codes from 100 are misuse of the C API
/// itself or a bug.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum numjit_status {
    /// Success.
    Ok = 0,
    /// The text is not an expression: `1 +`, `a < b < c`.
    Syntax = 1,
    /// A name that is neither a variable nor a constant.
    UnknownName = 2,
    /// A call of a function numjit does not have: `foo(a)`.
    UnknownFunction = 3,
    /// A call with the wrong number of arguments or an unknown keyword: `sin(a, b)`.
    Arity = 4,
    /// An operation not defined for the operand types: `~a` on float64.
    Type = 5,
    /// Operand shapes that do not broadcast: `(3,)` with `(4,)`.
    Broadcast = 6,
    /// A reduction axis outside the operand's rank.
    Axis = 7,
    /// An integer raised to a negative integer literal: `a ** -1` for an int64 `a`.
    NegativePower = 8,
    /// An output array of the wrong shape or dtype.
    Output = 9,
    /// Variables that do not match what the kernel was compiled for (name, dtype, ndim).
    Signature = 10,
    /// A value that makes the operation undefined: `min(a)` of an empty `a`.
    Value = 11,
    /// A limit of the engine was exceeded: more than 8 dimensions, nesting too deep.
    Limit = 12,
    /// A bug in numjit; please report it with the expression.
    Internal = 13,
    /// The evaluation was cancelled with `numjit_cancel`; a program's outputs may be partly
    /// written, a result is discarded.
    Cancelled = 14,
    /// A file that cannot be opened or created, or is no `.npy` numjit reads (no C function
    /// opens files yet: the Rust API's `numjit::npy` does).
    File = 15,
    /// A pointer argument that must not be NULL was NULL.
    NullArgument = 100,
    /// An argument is malformed: unknown dtype code, negative or overflowing shape, strides
    /// that leave the address space (or, for byte strings, are not whole strings), an output
    /// whose elements overlap, a name that is not UTF-8 or is given twice.
    InvalidArgument = 101,
    /// numjit panicked (a bug); the message says where. The call had no effect on outputs
    /// other than possibly a partially written `out` array.
    Panic = 102,
}

impl numjit_status {
    /// The stable lower-case name (`"syntax"`, `"null_argument"`).
    pub(super) fn name(self) -> &'static CStr {
        match self {
            numjit_status::Ok => c"ok",
            numjit_status::Syntax => c"syntax",
            numjit_status::UnknownName => c"unknown_name",
            numjit_status::UnknownFunction => c"unknown_function",
            numjit_status::Arity => c"arity",
            numjit_status::Type => c"type",
            numjit_status::Broadcast => c"broadcast",
            numjit_status::Axis => c"axis",
            numjit_status::NegativePower => c"negative_power",
            numjit_status::Output => c"output",
            numjit_status::Signature => c"signature",
            numjit_status::Value => c"value",
            numjit_status::Limit => c"limit",
            numjit_status::Internal => c"internal",
            numjit_status::Cancelled => c"cancelled",
            numjit_status::File => c"file",
            numjit_status::NullArgument => c"null_argument",
            numjit_status::InvalidArgument => c"invalid_argument",
            numjit_status::Panic => c"panic",
        }
    }

    /// All codes, for looking one up by number without transmuting.
    const ALL: [numjit_status; 19] = [
        numjit_status::Ok,
        numjit_status::Syntax,
        numjit_status::UnknownName,
        numjit_status::UnknownFunction,
        numjit_status::Arity,
        numjit_status::Type,
        numjit_status::Broadcast,
        numjit_status::Axis,
        numjit_status::NegativePower,
        numjit_status::Output,
        numjit_status::Signature,
        numjit_status::Value,
        numjit_status::Limit,
        numjit_status::Internal,
        numjit_status::Cancelled,
        numjit_status::File,
        numjit_status::NullArgument,
        numjit_status::InvalidArgument,
        numjit_status::Panic,
    ];
}

impl From<ErrorKind> for numjit_status {
    fn from(kind: ErrorKind) -> numjit_status {
        // Exhaustive on purpose (`non_exhaustive` does not apply inside the crate): a new kind
        // must get its own status number here before the crate compiles.
        match kind {
            ErrorKind::Syntax => numjit_status::Syntax,
            ErrorKind::UnknownName => numjit_status::UnknownName,
            ErrorKind::UnknownFunction => numjit_status::UnknownFunction,
            ErrorKind::Arity => numjit_status::Arity,
            ErrorKind::Type => numjit_status::Type,
            ErrorKind::Broadcast => numjit_status::Broadcast,
            ErrorKind::Axis => numjit_status::Axis,
            ErrorKind::NegativePower => numjit_status::NegativePower,
            ErrorKind::Output => numjit_status::Output,
            ErrorKind::Signature => numjit_status::Signature,
            ErrorKind::Value => numjit_status::Value,
            ErrorKind::Limit => numjit_status::Limit,
            ErrorKind::Internal => numjit_status::Internal,
            ErrorKind::Cancelled => numjit_status::Cancelled,
            ErrorKind::File => numjit_status::File,
        }
    }
}

/// A failed call before it becomes a `numjit_error`: what the ffi functions return internally.
#[derive(Debug)]
pub(super) struct Failure {
    pub status: numjit_status,
    /// The full text shown to the user (for numjit errors: with the caret drawing).
    pub text: String,
    pub span: Option<Span>,
}

impl Failure {
    /// A NULL where a pointer was required (`what` names it: "`engine`", "the data of …").
    pub fn null(what: &dyn std::fmt::Display) -> Failure {
        Failure {
            status: numjit_status::NullArgument,
            text: format!("null argument: {what} must not be NULL"),
            span: None,
        }
    }

    /// A malformed argument.
    pub fn invalid(message: impl Into<String>) -> Failure {
        Failure {
            status: numjit_status::InvalidArgument,
            text: format!("invalid argument: {}", message.into()),
            span: None,
        }
    }

    /// A caught panic, with its message when it has one.
    pub fn panic(payload: &(dyn std::any::Any + Send)) -> Failure {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".to_string());
        Failure {
            status: numjit_status::Panic,
            text: format!("numjit panicked (a bug; please report it): {what}"),
            span: None,
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure {
            status: e.kind().into(),
            text: e.to_string(),
            span: e.span(),
        }
    }
}

/// An error: its status, its message and where in the expression it happened.
///
/// Created by numjit when a call fails and handed to the caller through the call's
/// `numjit_error **error` parameter; the caller owns it and releases it with `numjit_error_free`.
/// It is immutable: any thread may read it, and it stays valid after later numjit calls.
pub struct numjit_error {
    status: numjit_status,
    text: CString,
    span: Option<Span>,
}

impl From<Failure> for numjit_error {
    fn from(f: Failure) -> numjit_error {
        // Messages never contain NUL (expressions arrive as C strings), but a panic message
        // could; replace rather than lose the message.
        let text = CString::new(f.text.replace('\0', "\u{FFFD}")).unwrap_or_default();
        numjit_error {
            status: f.status,
            text,
            span: f.span,
        }
    }
}

/// The status of `error`; `NUMJIT_STATUS_NULL_ARGUMENT` when `error` is NULL.
///
/// # Safety
/// `error` is NULL or an error returned by numjit and not yet freed.
#[no_mangle]
pub unsafe extern "C" fn numjit_error_status(error: *const numjit_error) -> numjit_status {
    // SAFETY: NULL or a live error, as this function's contract requires.
    match unsafe { error.as_ref() } {
        Some(e) => e.status,
        None => numjit_status::NullArgument,
    }
}

/// The message of `error`: one line saying what went wrong, then (for errors in an expression)
/// the expression and a line with carets under the offending part, e.g.
///
/// ```text
/// unknown name error: unknown name `y`
///   2*y + 1
///     ^
/// ```
///
/// The string is UTF-8, NUL-terminated and owned by `error`: valid until `numjit_error_free`.
/// For a NULL `error`, a static message saying so.
///
/// # Safety
/// `error` is NULL or an error returned by numjit and not yet freed.
#[no_mangle]
pub unsafe extern "C" fn numjit_error_message(error: *const numjit_error) -> *const c_char {
    // SAFETY: NULL or a live error, as this function's contract requires.
    match unsafe { error.as_ref() } {
        Some(e) => e.text.as_ptr(),
        None => c"numjit_error_message: the error is NULL".as_ptr(),
    }
}

/// Where in the expression `error` points: byte offsets `[*start, *end)` into the expression's
/// UTF-8 text. Returns true and writes both when the error has a place; returns false and
/// writes nothing when it has none (e.g. a NULL argument) or when any pointer is NULL.
///
/// # Safety
/// `error` is NULL or a live error; `start` and `end` are NULL or point to writable `size_t`s.
#[no_mangle]
pub unsafe extern "C" fn numjit_error_span(
    error: *const numjit_error,
    start: *mut usize,
    end: *mut usize,
) -> bool {
    if start.is_null() || end.is_null() {
        return false;
    }
    // SAFETY: NULL or a live error, as this function's contract requires.
    let Some(span) = (unsafe { error.as_ref() }).and_then(|e| e.span) else {
        return false;
    };
    // SAFETY: both are non-NULL (checked above) and writable by contract.
    unsafe {
        *start = span.start;
        *end = span.end;
    }
    true
}

/// Frees an error. NULL is allowed and does nothing. The error must not be used afterwards.
///
/// # Safety
/// `error` is NULL or an error returned by numjit that has not been freed yet.
#[no_mangle]
pub unsafe extern "C" fn numjit_error_free(error: *mut numjit_error) {
    if !error.is_null() {
        // SAFETY: a pointer numjit made with `Box::into_raw` and the caller has not freed
        // (contract); ownership returns to Rust here exactly once.
        drop(unsafe { Box::from_raw(error) });
    }
}

/// The stable lower-case name of a status code (`"syntax"`, `"null_argument"`), or `"unknown"`
/// for a number that is not a status. The string is static.
///
/// Takes a plain integer so that any value a C program holds is safe to pass.
#[no_mangle]
pub extern "C" fn numjit_status_name(status: u32) -> *const c_char {
    numjit_status::ALL
        .iter()
        .find(|s| **s as u32 == status)
        .map_or(c"unknown", |s| s.name())
        .as_ptr()
}
