//! Cancelling evaluations from C: a token, the thread whose evaluations observe it, and
//! `numjit_cancel`, callable from any thread (or a signal handler).

use std::cell::{Cell, RefCell};

use super::guard;
use crate::api::cancel::CancelToken;

/// A cancel flag shared by the threads that evaluate under it and the ones that cancel.
///
/// Created by `numjit_cancel_token_new`, freed by `numjit_cancel_token_free`. Thread-safe.
pub struct numjit_cancel_token {
    token: CancelToken,
}

thread_local! {
    /// The token set with `numjit_set_cancel_token` on this thread (a clone: freeing the
    /// caller's handle does not end it).
    static CURRENT: RefCell<Option<CancelToken>> = const { RefCell::new(None) };
}

thread_local! {
    /// Set with `numjit_set_cancel_on_sigint`: this thread's evaluations cancel on SIGINT.
    static ON_SIGINT: Cell<bool> = const { Cell::new(false) };
    /// The token of a thread that cancels on SIGINT but set none itself, reset per call (a
    /// Ctrl-C stops the call it interrupted, not the next one).
    static SIGINT_TOKEN: CancelToken = CancelToken::new();
}

/// Runs `body` observing this thread's token, if one is set, and SIGINT if the thread asked
/// for it (every fallible call does).
pub(super) fn observing<R>(body: impl FnOnce() -> R) -> R {
    let token = CURRENT.with(|c| c.borrow().clone());
    if !ON_SIGINT.with(Cell::get) {
        return match token {
            Some(token) => token.scope(body),
            None => body(),
        };
    }
    let token = token.unwrap_or_else(|| {
        SIGINT_TOKEN.with(|t| {
            t.reset();
            t.clone()
        })
    });
    token.cancel_on_sigint(body)
}

/// A new token, not cancelled; NULL only if numjit panicked (a bug).
#[no_mangle]
pub extern "C" fn numjit_cancel_token_new() -> *mut numjit_cancel_token {
    guard::value(std::ptr::null_mut(), || {
        Box::into_raw(Box::new(numjit_cancel_token {
            token: CancelToken::new(),
        }))
    })
}

/// Frees `token` (NULL is allowed). A thread that set it with `numjit_set_cancel_token` keeps
/// observing it until it sets another.
///
/// # Safety
/// `token` is NULL or a token from `numjit_cancel_token_new`, not yet freed.
#[no_mangle]
pub unsafe extern "C" fn numjit_cancel_token_free(token: *mut numjit_cancel_token) {
    if !token.is_null() {
        // SAFETY: created by `Box::into_raw` in `numjit_cancel_token_new`, freed once.
        guard::value((), || drop(unsafe { Box::from_raw(token) }));
    }
}

/// Makes the evaluations this thread starts from now on observe `token` (NULL: none). A
/// cancelled evaluation returns `NUMJIT_STATUS_CANCELLED`.
///
/// # Safety
/// `token` is NULL or a live token.
#[no_mangle]
pub unsafe extern "C" fn numjit_set_cancel_token(token: *const numjit_cancel_token) {
    // SAFETY: NULL or live, by the contract.
    let token = unsafe { token.as_ref() }.map(|t| t.token.clone());
    guard::value((), || CURRENT.with(|c| *c.borrow_mut() = token));
}

/// Makes the evaluations this thread starts from now on cancel on Ctrl-C (`on`: SIGINT while
/// one runs cancels it, `NUMJIT_STATUS_CANCELLED`) or not (`!on`, the default).
///
/// While such an evaluation runs, numjit's SIGINT handler is installed; it sets the thread's
/// token (`numjit_set_cancel_token`, which stays cancelled until reset) or else a token of its
/// own that each call resets, then calls the handler that was installed before if that is a
/// function (a language runtime's, which can then raise its own interrupt, as Python's
/// `KeyboardInterrupt`). It never takes the default action (ending the process), and an
/// ignored SIGINT stays ignored. The previous handler is back when the evaluation returns.
/// Unix only; elsewhere the setting has no effect.
#[no_mangle]
pub extern "C" fn numjit_set_cancel_on_sigint(on: bool) {
    guard::value((), || ON_SIGINT.with(|c| c.set(on)));
}

/// Cancels the evaluations observing `token`: they stop within about a millisecond (kernel
/// loops included) and return `NUMJIT_STATUS_CANCELLED`; a result is discarded, a program's
/// outputs may be partly written. The token stays cancelled until `numjit_cancel_token_reset`.
/// Any thread may call it; it only stores to an atomic, so a signal handler may too.
///
/// # Safety
/// `token` is NULL (nothing happens) or a live token.
#[no_mangle]
pub unsafe extern "C" fn numjit_cancel(token: *const numjit_cancel_token) {
    // SAFETY: NULL or live, by the contract. No guard: `cancel` cannot panic, and a guard is
    // not async-signal-safe.
    if let Some(t) = unsafe { token.as_ref() } {
        t.token.cancel();
    }
}

/// Makes `token` usable again after `numjit_cancel`.
///
/// # Safety
/// `token` is NULL (nothing happens) or a live token.
#[no_mangle]
pub unsafe extern "C" fn numjit_cancel_token_reset(token: *const numjit_cancel_token) {
    // SAFETY: NULL or live, by the contract.
    if let Some(t) = unsafe { token.as_ref() } {
        t.token.reset();
    }
}
