//! Ctrl-C as a cancel (`CancelToken::cancel_on_sigint`): a real SIGINT sent to this process.
//! One test function, run alone in its own binary, because SIGINT's handler is process-wide.
#![cfg(unix)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use numjit::{CancelToken, Engine, ErrorKind, Signature, Vars};

const SPIN: &str = "def spin(x):\n    while True:\n        x += 1\n    return x\nspin(arange(100))";

/// Sends SIGINT to this process in `after`, from another thread; joins to the time it did.
fn sigint_in(after: Duration) -> std::thread::JoinHandle<Instant> {
    std::thread::spawn(move || {
        std::thread::sleep(after);
        // SAFETY: kill(2) with this process's id and a valid signal number.
        unsafe { libc::kill(libc::getpid(), libc::SIGINT) };
        Instant::now()
    })
}

/// The address of SIGINT's handler now.
fn current_handler() -> libc::sighandler_t {
    // SAFETY: a zeroed sigaction is valid; a NULL new action only queries.
    unsafe {
        let mut now: libc::sigaction = std::mem::zeroed();
        libc::sigaction(libc::SIGINT, std::ptr::null(), &mut now);
        now.sa_sigaction
    }
}

fn set_handler(handler: libc::sighandler_t) {
    // SAFETY: as in `current_handler`; `handler` is SIG_IGN, SIG_DFL or `counting`.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = handler;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGINT, &action, std::ptr::null_mut());
    }
}

static COUNTED: AtomicUsize = AtomicUsize::new(0);

extern "C" fn counting(_: libc::c_int) {
    COUNTED.fetch_add(1, Ordering::SeqCst);
}

#[test]
fn sigint_cancels_the_hooked_evaluation_and_goes_on_to_a_previous_function_handler() {
    let kernel = Engine::default().compile(SPIN, &Signature::new()).unwrap();
    let vars = Vars::new();
    let token = CancelToken::new();

    // A handler of the caller's own (as Python's): numjit's runs first, then it.
    let counting = counting as *const () as libc::sighandler_t;
    set_handler(counting);
    let sent = sigint_in(Duration::from_millis(50));
    let err = token.cancel_on_sigint(|| kernel.eval(&vars)).unwrap_err();
    let stopped = Instant::now().saturating_duration_since(sent.join().unwrap());
    assert_eq!(err.kind(), ErrorKind::Cancelled);
    assert!(stopped < Duration::from_millis(500), "{stopped:?}");
    assert_eq!(
        COUNTED.load(Ordering::SeqCst),
        1,
        "the previous handler ran"
    );
    assert_eq!(current_handler(), counting, "and is back in place");

    // The default action (ending the process) is never taken while hooked: this test survives.
    set_handler(libc::SIG_DFL);
    token.reset();
    let sent = sigint_in(Duration::from_millis(50));
    let err = token.cancel_on_sigint(|| kernel.eval(&vars)).unwrap_err();
    sent.join().unwrap();
    assert_eq!(err.kind(), ErrorKind::Cancelled);
    assert_eq!(current_handler(), libc::SIG_DFL);

    // Nested and overlapping hooks on several threads: SIGINTs cancel them all. They are sent
    // until both stop (a thread may start late on a busy machine), to the counting handler.
    set_handler(counting);
    token.reset();
    let other = CancelToken::new();
    let done = std::sync::atomic::AtomicBool::new(false);
    let results = std::thread::scope(|s| {
        s.spawn(|| {
            while !done.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(20));
                // SAFETY: as in `sigint_in`.
                unsafe { libc::kill(libc::getpid(), libc::SIGINT) };
            }
        });
        let worker = s.spawn(|| other.cancel_on_sigint(|| kernel.eval(&Vars::new())));
        let here = token.cancel_on_sigint(|| token.cancel_on_sigint(|| kernel.eval(&vars)));
        let there = worker.join().unwrap();
        done.store(true, Ordering::SeqCst);
        [here, there]
    });
    for r in results {
        assert_eq!(r.unwrap_err().kind(), ErrorKind::Cancelled);
    }
    assert_eq!(current_handler(), counting);

    // An ignored SIGINT stays ignored: the evaluation runs to its end.
    set_handler(libc::SIG_IGN);
    token.reset();
    let long = "sum(sqrt(arange(10**8)))";
    let sent = sigint_in(Duration::from_millis(5));
    let sum = token.cancel_on_sigint(|| numjit::evaluate(long, &vars));
    sent.join().unwrap();
    assert!(sum.is_ok(), "{sum:?}");
    assert_eq!(current_handler(), libc::SIG_IGN);
}
