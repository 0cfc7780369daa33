//! [`CancelToken`]: stopping a long evaluation from another thread (or a signal handler).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

/// A flag that stops the evaluations running in its [`scope`](CancelToken::scope).
///
/// Every evaluation checks it between chunks of its work, between the iterations of a
/// program's `for` loops and at every trip of a kernel's loops (so `while True:` stops too),
/// and then returns an error of kind [`Cancelled`](crate::ErrorKind::Cancelled), typically
/// within a millisecond. An evaluation's result is discarded; a program's outputs (and the
/// output of [`Kernel::eval_into`](crate::Kernel::eval_into)) may be partly written.
///
/// Clones share the flag: keep one, give another to the thread that may cancel. A cancelled
/// token stays cancelled (later evaluations in its scope stop at once) until
/// [`reset`](CancelToken::reset).
///
/// ```
/// use numjit::{CancelToken, Engine, ErrorKind, Signature};
/// let src = "def spin(x):\n    while True:\n        x += 1\n    return x\nspin(0)";
/// let k = Engine::default().compile(src, &Signature::new())?;
/// let token = CancelToken::new();
/// let canceller = token.clone();
/// std::thread::spawn(move || {
///     std::thread::sleep(std::time::Duration::from_millis(20));
///     canceller.cancel();
/// });
/// let err = token.scope(|| k.eval(&numjit::Vars::new())).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Cancelled);
/// # Ok::<(), numjit::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct CancelToken {
    flag: Arc<AtomicU32>,
}

impl CancelToken {
    /// A token that is not cancelled.
    ///
    /// ```
    /// assert!(!numjit::CancelToken::new().is_cancelled());
    /// ```
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    /// Cancels the evaluations in this token's scope (now and until [`reset`](Self::reset)).
    /// Callable from any thread; it only stores to an atomic, so also from a signal handler.
    ///
    /// ```
    /// let token = numjit::CancelToken::new();
    /// token.cancel();
    /// assert!(token.is_cancelled());
    /// ```
    pub fn cancel(&self) {
        self.flag.store(1, Ordering::Relaxed);
    }

    /// True once [`cancel`](Self::cancel) was called (and not [`reset`](Self::reset) since).
    ///
    /// ```
    /// let token = numjit::CancelToken::new();
    /// assert!(!token.is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.flag.load(Ordering::Relaxed) != 0
    }

    /// Makes the token usable again after a cancellation.
    ///
    /// ```
    /// let token = numjit::CancelToken::new();
    /// token.cancel();
    /// token.reset();
    /// let two = token.scope(|| numjit::evaluate("1 + 1", &numjit::Vars::new()));
    /// assert_eq!(two?.to_string(), "2 (int64)");
    /// # Ok::<(), numjit::Error>(())
    /// ```
    pub fn reset(&self) {
        self.flag.store(0, Ordering::Relaxed);
    }

    /// Runs `f`; the evaluations it starts on this thread (with any numjit function) stop
    /// once the token is cancelled. Scopes nest: the innermost token counts.
    ///
    /// ```
    /// let token = numjit::CancelToken::new();
    /// token.cancel();
    /// let err = token.scope(|| numjit::evaluate("1 + 1", &numjit::Vars::new())).unwrap_err();
    /// assert_eq!(err.kind(), numjit::ErrorKind::Cancelled);
    /// ```
    pub fn scope<R>(&self, f: impl FnOnce() -> R) -> R {
        crate::exec::cancel::observing(&self.flag, f)
    }

    /// Runs `f` in this token's [`scope`](Self::scope), with Ctrl-C (SIGINT) cancelling the
    /// token while `f` runs instead of ending the process: how an interactive program stops a
    /// long evaluation and carries on.
    ///
    /// The hook is installed on entry and the previous SIGINT handler is back on return (also
    /// when several threads nest or overlap such calls). After cancelling, the signal goes on
    /// to the previous handler if that is a function (Python's, so that Python raises
    /// `KeyboardInterrupt` once numjit returns); it never goes on to the default action. A
    /// SIGINT that was ignored stays ignored and cancels nothing. Up to 64 calls can be hooked
    /// at once; more run unhooked. Not on Unix, this is [`scope`](Self::scope).
    ///
    /// ```
    /// let token = numjit::CancelToken::new();
    /// // In a REPL: a Ctrl-C during this evaluation makes it fail with `ErrorKind::Cancelled`.
    /// let n = token.cancel_on_sigint(|| numjit::evaluate("sum(arange(10**6))", &numjit::Vars::new()))?;
    /// assert_eq!(n.to_string(), "499999500000 (int64)");
    /// # Ok::<(), numjit::Error>(())
    /// ```
    pub fn cancel_on_sigint<R>(&self, f: impl FnOnce() -> R) -> R {
        super::sigint::while_hooked(&self.flag, || self.scope(f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Engine, ErrorKind, Signature, Vars};
    use std::time::{Duration, Instant};

    /// Cancels `token` in 50 ms, on another thread that returns when it did.
    fn cancel_soon(token: &CancelToken) -> std::thread::JoinHandle<Instant> {
        let canceller = token.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            canceller.cancel();
            Instant::now()
        })
    }

    /// Compiles `src`, cancels after 50 ms and returns how long the evaluation took to stop.
    fn stop_time(src: &str, reference: bool) -> Duration {
        let k = Engine::default().compile(src, &Signature::new()).unwrap();
        let token = CancelToken::new();
        let t = cancel_soon(&token);
        let vars = Vars::new();
        let result = token.scope(|| {
            if reference {
                k.eval_reference(&vars).map(|_| ())
            } else {
                k.run(&vars).map(|_| ())
            }
        });
        let stopped = Instant::now();
        let cancelled = t.join().unwrap();
        assert_eq!(result.unwrap_err().kind(), ErrorKind::Cancelled, "{src}");
        stopped.saturating_duration_since(cancelled)
    }

    const SPIN: &str = "def spin(x):\n    while x >= 0:\n        x = (x + 1) % 7\n    return x\n";

    #[test]
    fn endless_kernel_loops_stop_soon_after_cancel() {
        let cases = [
            format!("{SPIN}spin(arange(1000))"),
            format!("{SPIN}sum(spin(arange(100000)))"),
            format!("{SPIN}spin(linspace(0, 1, 3000))"),
            "def f(x):\n    for i in range(1 << 62):\n        x = x * 0.5 + 1.0\n    return x\nf(linspace(0, 1, 100))".into(),
        ];
        for src in &cases {
            for reference in [false, true] {
                let t = stop_time(src, reference);
                assert!(t < Duration::from_millis(500), "{src}: {t:?}");
            }
        }
    }

    #[test]
    fn endless_program_loops_stop_soon_after_cancel() {
        let mut t = ndarray::Array1::<f64>::ones(1000);
        let src = "for i in range(1 << 62):\n    t[:] = t * 0.5 + 1";
        let vars = Vars::new().with_out("t", &mut t);
        let k = Engine::default().compile(src, &vars.signature()).unwrap();
        let token = CancelToken::new();
        let at = cancel_soon(&token);
        let err = token.scope(|| k.run(&vars)).unwrap_err();
        let stopped = Instant::now().saturating_duration_since(at.join().unwrap());
        assert_eq!(err.kind(), ErrorKind::Cancelled);
        assert!(stopped < Duration::from_millis(500), "{stopped:?}");
    }

    #[test]
    fn a_reset_token_evaluates_again_and_other_threads_are_unaffected() {
        let token = CancelToken::new();
        token.cancel();
        let other = std::thread::spawn(|| crate::evaluate("2 * 3", &Vars::new()).unwrap());
        assert_eq!(other.join().unwrap().to_string(), "6 (int64)");
        token.reset();
        let v = token.scope(|| crate::evaluate("sum(arange(1000000))", &Vars::new()));
        assert_eq!(v.unwrap().to_string(), "499999500000 (int64)");
    }
}
