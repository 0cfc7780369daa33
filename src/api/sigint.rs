//! Ctrl-C as a cancel: while an evaluation runs under
//! [`CancelToken::cancel_on_sigint`](crate::CancelToken::cancel_on_sigint), a SIGINT sets its
//! token's flag instead of ending the process.
//!
//! The hook is installed only while at least one such evaluation runs, and the handler that was
//! there before is put back when the last one ends. The handler only stores to the registered
//! flags (atomics, so async-signal-safe), then passes the signal on to the previous handler if
//! that is a function: Python's C handler, say, which makes Python raise `KeyboardInterrupt`
//! once the call returns. It never passes it on to the default action (ending the process): a
//! REPL survives its Ctrl-C. A SIGINT that was ignored stays ignored.
//!
//! Registered flags live in a fixed table, so the handler never allocates or locks; an
//! evaluation that finds the table full (64 at once) runs without the hook.

use std::sync::atomic::AtomicU32;
use std::sync::Arc;

/// Runs `f` with a SIGINT setting `flag` (see the module docs).
pub(crate) fn while_hooked<R>(flag: &Arc<AtomicU32>, f: impl FnOnce() -> R) -> R {
    let _hook = imp::Registration::new(flag);
    f()
}

#[cfg(unix)]
mod imp {
    use std::ffi::{c_int, c_void};
    use std::ptr::null_mut;
    use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicUsize, Ordering::SeqCst};
    use std::sync::{Arc, Mutex, MutexGuard};

    /// How many evaluations can be hooked at once.
    const SLOTS: usize = 64;

    /// The flags a SIGINT sets: each slot is null or the flag of one live [`Registration`].
    static FLAGS: [AtomicPtr<AtomicU32>; SLOTS] = [const { AtomicPtr::new(null_mut()) }; SLOTS];
    /// Handlers running now; a registration waits for zero before its flag may be freed.
    static IN_HANDLER: AtomicUsize = AtomicUsize::new(0);
    /// The previous handler to pass the signal on to (0: none), and whether it takes
    /// `SA_SIGINFO` arguments. Read by the handler, so atomics rather than the mutex.
    static PREVIOUS: AtomicUsize = AtomicUsize::new(0);
    static PREVIOUS_SIGINFO: AtomicBool = AtomicBool::new(false);

    /// Install/restore bookkeeping, only touched outside the handler.
    struct State {
        /// Live registrations.
        users: usize,
        /// What SIGINT did before our hook, while the hook is installed.
        previous: Option<libc::sigaction>,
    }

    // SAFETY: `libc::sigaction` is plain data (a handler address, a mask, flags).
    unsafe impl Send for State {}

    static STATE: Mutex<State> = Mutex::new(State {
        users: 0,
        previous: None,
    });

    fn state() -> MutexGuard<'static, State> {
        // The state stays consistent under a panic (none can happen while it is held).
        STATE.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One hooked evaluation: its flag in the table, the hook installed while any is live.
    pub(super) struct Registration {
        /// The table slot holding `flag`, if one was free and SIGINT was not ignored.
        slot: Option<usize>,
        /// Keeps the flag alive until the handler can no longer read it.
        _flag: Arc<AtomicU32>,
    }

    impl Registration {
        pub(super) fn new(flag: &Arc<AtomicU32>) -> Registration {
            let mut state = state();
            if state.users == 0 {
                state.previous = install();
            }
            state.users += 1;
            let hooked = state.previous.is_some();
            let pointer = Arc::as_ptr(flag).cast_mut();
            let slot = hooked
                .then(|| {
                    FLAGS.iter().position(|s| {
                        s.compare_exchange(null_mut(), pointer, SeqCst, SeqCst)
                            .is_ok()
                    })
                })
                .flatten();
            Registration {
                slot,
                _flag: Arc::clone(flag),
            }
        }
    }

    impl Drop for Registration {
        fn drop(&mut self) {
            let mut state = state();
            if let Some(slot) = self.slot {
                FLAGS[slot].store(null_mut(), SeqCst);
                // A handler that started before the store may still hold the pointer.
                while IN_HANDLER.load(SeqCst) != 0 {
                    std::hint::spin_loop();
                }
            }
            state.users -= 1;
            if state.users == 0 {
                if let Some(previous) = state.previous.take() {
                    restore(&previous);
                }
            }
        }
    }

    /// Puts our handler in place; `None` (and SIGINT left as it was) when SIGINT is ignored.
    fn install() -> Option<libc::sigaction> {
        // SAFETY: zeroed `sigaction` structs are valid; `sigemptyset` and `sigaction` get
        // pointers to live ones; `on_sigint` is async-signal-safe (atomics only).
        unsafe {
            let mut ours: libc::sigaction = std::mem::zeroed();
            ours.sa_sigaction = on_sigint as *const () as libc::sighandler_t;
            ours.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART | libc::SA_ONSTACK;
            libc::sigemptyset(&mut ours.sa_mask);
            let mut previous: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(libc::SIGINT, &ours, &mut previous) != 0 {
                return None;
            }
            if previous.sa_sigaction == libc::SIG_IGN {
                libc::sigaction(libc::SIGINT, &previous, null_mut());
                return None;
            }
            let function = previous.sa_sigaction != libc::SIG_DFL;
            PREVIOUS.store(if function { previous.sa_sigaction } else { 0 }, SeqCst);
            PREVIOUS_SIGINFO.store(previous.sa_flags & libc::SA_SIGINFO != 0, SeqCst);
            Some(previous)
        }
    }

    /// Puts `previous` back, unless someone replaced our handler meanwhile (then theirs stays).
    fn restore(previous: &libc::sigaction) {
        // SAFETY: as in `install`.
        unsafe {
            let mut current: libc::sigaction = std::mem::zeroed();
            libc::sigaction(libc::SIGINT, previous, &mut current);
            if current.sa_sigaction != on_sigint as *const () as libc::sighandler_t {
                libc::sigaction(libc::SIGINT, &current, null_mut());
            }
        }
        PREVIOUS.store(0, SeqCst);
    }

    /// The SIGINT handler: sets every registered flag, then passes the signal on.
    extern "C" fn on_sigint(signal: c_int, info: *mut libc::siginfo_t, context: *mut c_void) {
        IN_HANDLER.fetch_add(1, SeqCst);
        for slot in &FLAGS {
            let flag = slot.load(SeqCst);
            if !flag.is_null() {
                // SAFETY: a registration keeps its flag alive until its slot is cleared and
                // no handler is running (`IN_HANDLER`), which this one still counts in.
                unsafe { (*flag).store(1, SeqCst) };
            }
        }
        IN_HANDLER.fetch_sub(1, SeqCst);
        let previous = PREVIOUS.load(SeqCst);
        if previous != 0 {
            // SAFETY: `previous` is the address of the handler SIGINT had, with the calling
            // convention its `SA_SIGINFO` flag says.
            unsafe {
                if PREVIOUS_SIGINFO.load(SeqCst) {
                    let f: extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void) =
                        std::mem::transmute(previous);
                    f(signal, info, context);
                } else {
                    let f: extern "C" fn(c_int) = std::mem::transmute(previous);
                    f(signal);
                }
            }
        }
    }
}

#[cfg(not(unix))]
mod imp {
    use std::sync::atomic::AtomicU32;
    use std::sync::Arc;

    /// No SIGINT to hook on this platform.
    pub(super) struct Registration;

    impl Registration {
        pub(super) fn new(_flag: &Arc<AtomicU32>) -> Registration {
            Registration
        }
    }
}
