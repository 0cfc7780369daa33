//! Many threads compiling and evaluating at once, through one small engine (so its cache evicts
//! kernels other threads may still hold) and the global one, while another thread resizes the
//! pool: every result must equal the interpreter's, and nothing may deadlock.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use ndarray::Array1;
use numjit::{Engine, Vars};

const THREADS: usize = 16;
const ROUNDS: usize = 12;
/// Above the serial cutoff (65 536), so every evaluation also uses the pool.
const N: usize = 100_000;

/// Expressions whose JIT and interpreter results agree bit for bit (no transcendental
/// functions, no float reductions); `{k}` makes a per-thread variant, so some kernels are
/// shared by every thread and some are not.
const EXPRESSIONS: [&str; 6] = [
    "a * 2.0 + b",
    "where(a > 0.5, a, b * 3.0)",
    "(a + {k}.0) * b - {k}.5",
    "i * 3 + {k}",
    "sum(i % 7 + {k})",
    "max(a * b, axis=0) + min(a - {k}.0)",
];

fn check_round(engine: &Engine, vars: &Vars, thread: usize, round: usize) {
    let template = EXPRESSIONS[(thread + round) % EXPRESSIONS.len()];
    let src = template.replace("{k}", &(thread % 5).to_string());
    let global = round.is_multiple_of(2);
    let kernel = engine
        .compile(&src, &vars.signature())
        .unwrap_or_else(|e| panic!("{src}: {e}"));
    let got = if global {
        numjit::evaluate(&src, vars)
    } else {
        kernel.eval(vars)
    }
    .unwrap_or_else(|e| panic!("{src}: {e}"));
    let want = kernel.eval_reference(vars).unwrap();
    assert_eq!(got.dtype(), want.dtype(), "{src}");
    assert_eq!(got.shape(), want.shape(), "{src}");
    let (g, w) = (got.to_f64(), want.to_f64());
    for (x, y) in g.iter().zip(w.iter()) {
        assert_eq!(x.to_bits(), y.to_bits(), "{src}: {x} vs {y}");
    }
}

#[test]
fn sixteen_threads_with_cache_eviction_and_pool_resizes_agree_with_the_interpreter() {
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let a = Array1::from_shape_fn(N, |k| ((k * 7919) % 1000) as f64 / 1000.0);
        let b = Array1::from_shape_fn(N, |k| ((k * 104_729) % 997) as f64 / 997.0 - 0.5);
        let i = Array1::from_shape_fn(N, |k| (k as i64 * 31) % 1009 - 500);
        // Four kernels for six expressions in up to five variants: the cache keeps evicting.
        let engine = Engine::with_cache_capacity(4);
        let stop = AtomicBool::new(false);
        let before = numjit::num_threads();
        std::thread::scope(|s| {
            s.spawn(|| {
                let mut n = 1;
                while !stop.load(Ordering::Relaxed) {
                    numjit::set_num_threads(n);
                    n = n % 3 + 1;
                    std::thread::sleep(Duration::from_millis(3));
                }
            });
            let workers: Vec<_> = (0..THREADS)
                .map(|t| {
                    let (engine, a, b, i) = (&engine, &a, &b, &i);
                    s.spawn(move || {
                        // `Vars` holds raw views (not `Sync`): one per thread, same arrays.
                        let vars = Vars::new().with("a", a).with("b", b).with("i", i);
                        (0..ROUNDS).for_each(|r| check_round(engine, &vars, t, r))
                    })
                })
                .collect();
            let results: Vec<_> = workers.into_iter().map(|w| w.join()).collect();
            stop.store(true, Ordering::Relaxed);
            for r in results {
                if let Err(panic) = r {
                    std::panic::resume_unwind(panic);
                }
            }
        });
        numjit::set_num_threads(before);
        let stats = engine.cache_stats();
        done.send(stats).unwrap();
    });
    // A deadlock fails the test instead of hanging CI.
    let stats = match finished.recv_timeout(Duration::from_secs(300)) {
        Ok(stats) => stats,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("not finished in 300 s: a deadlock"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("a thread failed (its panic is above)"),
    };
    println!("{stats:?}");
}
