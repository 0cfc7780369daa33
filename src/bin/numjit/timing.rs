//! `:time EXPR`: how fast the compiled kernel runs, the way a benchmark would report it.
//!
//! Generator calls in EXPR run once, before timing; compilation is timed separately; then the
//! kernel runs enough times to fill about half a second, and the minimum (the best the machine
//! does) and median (what to expect) are reported with ns/element and bandwidth, counting the
//! bytes of every input read once plus the output written once.

use std::ops::Range;
use std::time::{Duration, Instant};

use numjit::Array;

use crate::diagnostic::Diagnostic;
use crate::print;
use crate::session::Session;
use crate::syntax::scan;

/// How long the measured runs should take together.
const BUDGET: Duration = Duration::from_millis(500);
/// Bounds on the number of measured runs: a few for a median, and a cap for tiny expressions.
const MIN_RUNS: usize = 3;
const MAX_RUNS: usize = 1_000_000;

/// Times `statement[range]` and returns the report.
pub fn time(
    session: &mut Session,
    statement: &str,
    range: Range<usize>,
) -> Result<String, Diagnostic> {
    let prepared = session.prepare(statement, range)?;
    let hits_before = session.engine.cache_stats().hits;
    let started = Instant::now();
    let kernel = session.compile(&prepared)?;
    let compile = started.elapsed();
    let cached = session.engine.cache_stats().hits > hits_before;

    let vars = session.bind(&prepared);
    let run = || -> Result<(Array, Duration), Diagnostic> {
        let started = Instant::now();
        let result = kernel.eval(&vars).map_err(|e| prepared.diagnostic(&e))?;
        Ok((result, started.elapsed()))
    };
    // The first run pays for page faults on fresh output memory and a cold thread pool; the
    // second one is the estimate the number of runs is based on.
    run()?;
    let (result, estimate) = run()?;
    let runs = runs_for(estimate);
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        samples.push(run()?.1);
    }
    samples.sort();

    let inputs = session.inputs(&prepared);
    // Mapped files the expression reads count like arrays: (elements, bytes).
    let files: std::collections::BTreeMap<&str, (usize, usize)> = scan(&prepared.text)
        .iter()
        .filter_map(|t| session.mapped.get_key_value(t.text(&prepared.text)))
        .map(|(name, f)| {
            let n: usize = f.shape().iter().product();
            (name.as_str(), (n, n * f.dtype().size()))
        })
        .collect();
    let elements = inputs
        .iter()
        .map(|(_, a)| element_count(a))
        .chain(files.values().map(|f| f.0))
        .chain([element_count(&result)])
        .max()
        .unwrap_or(0);
    let read: usize = inputs.iter().map(|(_, a)| byte_count(a)).sum::<usize>()
        + files.values().map(|f| f.1).sum::<usize>();
    let written = byte_count(&result);
    Ok(report(&Measurement {
        compile,
        cached,
        min: samples[0],
        median: samples[samples.len() / 2],
        runs,
        elements,
        read,
        written,
    }))
}

/// Enough runs to fill [`BUDGET`] at `estimate` each, within [`MIN_RUNS`]..=[`MAX_RUNS`].
fn runs_for(estimate: Duration) -> usize {
    let per_run = estimate.as_secs_f64().max(1e-9);
    ((BUDGET.as_secs_f64() / per_run).round() as usize).clamp(MIN_RUNS, MAX_RUNS)
}

fn element_count(a: &Array) -> usize {
    a.shape().iter().product()
}

fn byte_count(a: &Array) -> usize {
    element_count(a) * a.dtype().size()
}

/// What one `:time` measured.
struct Measurement {
    compile: Duration,
    cached: bool,
    min: Duration,
    median: Duration,
    runs: usize,
    /// The larger of the biggest input and the output: the size of the loop the kernel runs.
    elements: usize,
    read: usize,
    written: usize,
}

fn report(m: &Measurement) -> String {
    let compile = if m.cached {
        "kernel from cache".to_string()
    } else {
        format!("compiled in {}", print::duration(m.compile))
    };
    let seconds = m.median.as_secs_f64().max(1e-12);
    let ns_per_element = m.median.as_nanos() as f64 / m.elements.max(1) as f64;
    let gb_per_second = (m.read + m.written) as f64 / seconds / 1e9;
    format!(
        "{} runs over {} elements ({compile})\n  min {}   median {}   {} ns/element   {} GB/s ({} read + {} written)",
        m.runs,
        m.elements,
        print::duration(m.min),
        print::duration(m.median),
        print::three_digits(ns_per_element),
        print::three_digits(gb_per_second),
        print::bytes(m.read),
        print::bytes(m.written),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_fill_the_budget_within_bounds() {
        assert_eq!(runs_for(Duration::from_millis(100)), 5);
        assert_eq!(runs_for(Duration::from_secs(2)), MIN_RUNS);
        assert_eq!(runs_for(Duration::ZERO), MAX_RUNS);
    }

    #[test]
    fn report_counts_bandwidth_over_the_median() {
        let text = report(&Measurement {
            compile: Duration::from_millis(2),
            cached: false,
            min: Duration::from_millis(9),
            median: Duration::from_millis(10),
            runs: 50,
            elements: 1_000_000,
            read: 8_000_000,
            written: 8_000_000,
        });
        assert!(
            text.contains("median 10.0 ms   10.0 ns/element   1.60 GB/s"),
            "{text}"
        );
        assert!(
            text.starts_with("50 runs over 1000000 elements (compiled in 2.00 ms)"),
            "{text}"
        );
    }

    #[test]
    fn time_runs_an_expression() {
        let mut s = Session::default();
        s.execute("a = linspace(0, 1, 1000)").unwrap();
        let text = time(&mut s, ":time sin(a) + 1", 6..16).unwrap();
        assert!(text.contains("runs over 1000 elements"), "{text}");
        assert!(text.contains("8.0 kB read + 8.0 kB written"), "{text}");
    }
}
