//! The `numjit` binary as a user drives it: a script on standard input, `-c`, `run FILE`, and an
//! interactive session on a pseudo-terminal. Needs `--features repl` (the binary's feature):
//! `cargo test --features repl`.
#![cfg(feature = "repl")]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const NUMJIT: &str = env!("CARGO_BIN_EXE_numjit");

/// A directory of its own for one test, removed afterwards.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("numjit-repl-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `numjit ARGS` with `stdin` piped in, in `dir`.
fn numjit(args: &[&str], stdin: &str, dir: &Path) -> Output {
    let mut child = Command::new(NUMJIT)
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start numjit");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("numjit runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn dash_c_runs_statements_separated_by_semicolons_and_newlines() {
    let dir = TempDir::new("dash-c");
    let out = numjit(&["-c", "a = arange(4); sum(a)\na * 2"], "", dir.path());
    assert_eq!(
        stdout(&out),
        "6 (int64)\narray([0, 2, 4, 6], shape=(4,), dtype=int64)\n"
    );
    assert_eq!(stderr(&out), "");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn an_error_shows_the_line_with_a_caret_and_fails_the_script() {
    let dir = TempDir::new("caret");
    let out = numjit(&["-c", "x = 2 * rand(3) + nope; 1 + 1"], "", dir.path());
    assert_eq!(
        stderr(&out),
        "unknown name error: unknown name `nope`\n  x = 2 * rand(3) + nope\n                    ^^^^\n"
    );
    assert_eq!(stdout(&out), "", "nothing after the error runs");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn stdin_script_runs_until_the_first_error_and_names_its_line() {
    let dir = TempDir::new("stdin");
    let script = "a = linspace(0, 1, 5)\n\
                  mean(a)\n\
                  b = sin(a,\n    a)\n\
                  :vars\n";
    let out = numjit(&[], script, dir.path());
    assert_eq!(stdout(&out), "0.5 (float64)\n");
    let err = stderr(&out);
    assert!(err.starts_with("<stdin>:3: arity error:"), "{err}");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn run_file_with_comments_and_continued_lines() {
    let dir = TempDir::new("run");
    let script = dir.path().join("script.nj");
    std::fs::write(
        &script,
        "# a script: comments, brackets and backslashes continue lines\n\
         x = arange(1, 5)   # 1 2 3 4\n\
         total = sum(x *\n           x)\n\
         total + \\\n  0\n\
         \n\
         where(x > 2, x, -x); :quit\n\
         this line never runs (\n",
    )
    .unwrap();
    let out = numjit(&["run", script.to_str().unwrap()], "", dir.path());
    assert_eq!(
        stdout(&out),
        "30 (int64)\narray([-1, -2,  3,  4], shape=(4,), dtype=int64)\n"
    );
    assert_eq!(stderr(&out), "");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn usage_errors_exit_with_2() {
    let dir = TempDir::new("usage");
    let out = numjit(&["run", "no-such-file.nj"], "", dir.path());
    assert!(
        stderr(&out).contains("cannot read no-such-file.nj"),
        "{}",
        stderr(&out)
    );
    assert_eq!(out.status.code(), Some(2));
    let out = numjit(&["--bogus"], "", dir.path());
    assert!(stderr(&out).starts_with("usage: numjit"));
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn vars_lists_name_shape_dtype_and_bytes() {
    let dir = TempDir::new("vars");
    let out = numjit(
        &[
            "-c",
            "x = rand(1000, 3); n = arange(10, dtype=int32); ok = n > 4; :vars",
        ],
        "",
        dir.path(),
    );
    assert_eq!(
        stdout(&out),
        "name  shape      dtype      bytes\n\
         n     (10,)      int32       40 B\n\
         ok    (10,)      bool        10 B\n\
         x     (1000, 3)  float64  24.0 kB\n\
         3 variable(s), 24.1 kB in total\n"
    );
}

#[test]
fn npy_files_round_trip_through_save_and_load() {
    let dir = TempDir::new("npy");
    let out = numjit(
        &[
            "-c",
            "m = linspace(0, 1, 6) * 2\n\
             save(\"m.npy\", m)\n\
             save(\"i.npy\", arange(3, dtype=int32))\n\
             save(\"b.npy\", load(\"m.npy\") > 1)\n\
             all(load(\"m.npy\") == m)\n\
             load(\"i.npy\")\n\
             load(\"b.npy\")",
        ],
        "",
        dir.path(),
    );
    assert_eq!(
        stdout(&out),
        "True (bool)\n\
         array([0, 1, 2], shape=(3,), dtype=int32)\n\
         array([False, False, False,  True,  True,  True], shape=(6,), dtype=bool)\n",
        "{}",
        stderr(&out)
    );
    // A real .npy file, readable by NumPy: magic string, then a header naming the dtype.
    let bytes = std::fs::read(dir.path().join("m.npy")).unwrap();
    assert!(bytes.starts_with(b"\x93NUMPY"));
    assert!(String::from_utf8_lossy(&bytes[..128]).contains("'descr': '<f8'"));

    let out = numjit(&["-c", "y = load(\"missing.npy\")"], "", dir.path());
    let err = stderr(&out);
    assert!(
        err.starts_with("io error: cannot read `missing.npy`"),
        "{err}"
    );
    assert!(
        err.ends_with("  y = load(\"missing.npy\")\n           ^^^^^^^^^^^^^\n"),
        "{err}"
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn random_arrays_are_reproducible_and_seedable() {
    let dir = TempDir::new("seed");
    let run = |lines: &str| stdout(&numjit(&["-c", lines], "", dir.path()));
    let first = run("rand(3); randn(2)");
    assert_eq!(first, run("rand(3); randn(2)"));
    assert_ne!(first, run(":seed 1; rand(3); randn(2)"));
    // :reset forgets the variables and restarts the sequence from the current seed.
    let again = run(":seed 1; rand(2); :reset; rand(2)");
    let lines: Vec<&str> = again.lines().collect();
    assert_eq!(lines.len(), 3, "{again}");
    assert_eq!(lines[0], lines[2]);
    assert_eq!(lines[0], run(":seed 1; rand(2)").trim_end());
}

#[test]
fn pipeline_stages_threads_and_timing() {
    let dir = TempDir::new("stages");
    let out = numjit(
        &[
            "-c",
            "a = linspace(0, 1, 1000)\n\
             :ast 1 + a\n\
             :ir 2 * a + 1\n\
             :clif 2 * a + 1\n\
             :threads 1\n\
             :threads\n\
             :time sin(a) + 1",
        ],
        "",
        dir.path(),
    );
    let text = stdout(&out);
    assert!(text.contains("Binary"), "{text}");
    assert!(text.contains("<- result"), "{text}");
    assert!(text.contains("fadd"), "{text}");
    assert!(text.contains("threads: 1 (was"), "{text}");
    assert!(text.contains("\nthreads: 1\n"), "{text}");
    assert!(text.contains("runs over 1000 elements"), "{text}");
    assert!(
        text.contains("ns/element") && text.contains("GB/s (8.0 kB read + 8.0 kB written)"),
        "{text}"
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn interactive_session_on_a_terminal() {
    use rexpect::reader::Options;
    use rexpect::session::spawn_with_options;

    let dir = TempDir::new("pty");
    let mut command = Command::new(NUMJIT);
    command
        .current_dir(dir.path())
        .env("HOME", dir.path())
        .env("TERM", "xterm");
    // Ctrl-C as a terminal gives it: a test run started in the background by a shell without
    // job control inherits SIGINT ignored, which numjit rightly leaves ignored (the session
    // below would then never be interrupted).
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: `signal` is async-signal-safe, the only call between fork and exec.
        unsafe {
            command.pre_exec(|| {
                libc::signal(libc::SIGINT, libc::SIG_DFL);
                Ok(())
            })
        };
    }
    let options = Options::new()
        .timeout_ms(Some(60_000))
        .strip_ansi_escape_codes(true);
    let mut p = spawn_with_options(command, options).expect("spawn numjit on a pty");

    // Every step waits for the prompt that follows the previous output before it types: rustyline
    // reads ahead, and bytes typed before a line is accepted are dropped with that line's reader.
    p.exp_string(":help for help").unwrap();
    p.exp_string(">>> ").unwrap();
    p.send_line("a = arange(5)").unwrap();
    p.exp_string(">>> ").unwrap();
    p.send_line("sum(a * 2)").unwrap();
    p.exp_string("20 (int64)").unwrap();
    p.exp_string(">>> ").unwrap();

    // An error shows the line and a caret under the unknown name; the session goes on.
    p.send_line("a + nope").unwrap();
    p.exp_string("unknown name error: unknown name `nope`")
        .unwrap();
    p.exp_string("  a + nope").unwrap();
    p.exp_string("      ^^^^").unwrap();
    p.exp_string(">>> ").unwrap();
    p.send_line("a * 10").unwrap();
    p.exp_string("array([ 0, 10, 20, 30, 40], shape=(5,), dtype=int64)")
        .unwrap();
    p.exp_string(">>> ").unwrap();

    // An open bracket continues the statement on the next line.
    p.send_line("sum(a,").unwrap();
    p.send_line("    axis=0)").unwrap();
    p.exp_string("10 (int64)").unwrap();
    p.exp_string(">>> ").unwrap();

    // Tab completes a generator name, then a variable name. Each keystroke waits for its echo
    // (the completion redraws the line, prompt included, so the prompt alone is no marker).
    p.send("signal = lins").unwrap();
    p.flush().unwrap();
    p.exp_string("signal = lins").unwrap();
    p.send("\t").unwrap();
    p.flush().unwrap();
    p.exp_string("linspace").unwrap();
    p.send_line("(0, 1, 3)").unwrap();
    p.exp_string("(0, 1, 3)\r\n").unwrap();
    p.exp_string(">>> ").unwrap();
    p.send("sig").unwrap();
    p.flush().unwrap();
    p.exp_string("sig").unwrap();
    p.send("\t").unwrap();
    p.flush().unwrap();
    p.exp_string("sign").unwrap(); // extended to the prefix common to sign, signal, signbit
    p.send("al * 2").unwrap();
    p.flush().unwrap();
    p.exp_string("al * 2").unwrap();
    p.send_line("").unwrap();
    p.exp_string("array([0.0, 1.0, 2.0], shape=(3,), dtype=float64)")
        .unwrap();
    p.exp_string(">>> ").unwrap();

    // A `for` block: its lines under the continuation prompt, an empty line runs it as one
    // program that updates the variable in place.
    p.send_line("u = zeros(3)").unwrap();
    p.exp_string(">>> ").unwrap();
    p.send_line("for i in range(3):").unwrap();
    p.exp_string("... ").unwrap();
    p.send_line("    u += i").unwrap();
    p.exp_string("... ").unwrap();
    p.send_line("").unwrap();
    p.exp_string(">>> ").unwrap();
    p.send_line("sum(u)").unwrap();
    p.exp_string("9.0 (float64)").unwrap();
    p.exp_string(">>> ").unwrap();

    // Ctrl-C stops an endless kernel: the session says so and goes on, its variables intact.
    for line in [
        "def spin(x):",
        "    while True:",
        "        x += 1",
        "    return x",
    ] {
        p.send_line(line).unwrap();
        p.exp_string("... ").unwrap();
    }
    p.send_line("").unwrap();
    p.exp_string(">>> ").unwrap();
    p.send_line("spin(a)").unwrap();
    // The line's echo comes once the line editor has taken it; after that the terminal is
    // back in cooked mode, where Ctrl-C is a signal. A Ctrl-C sent before (a loaded machine
    // can take longer than any fixed sleep to read the line) is a typed-ahead byte instead.
    p.exp_string("spin(a)\r\n").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    p.send_control('c').unwrap();
    p.exp_string("interrupted").unwrap();
    p.exp_string(">>> ").unwrap();
    p.send_line("sum(a)").unwrap();
    p.exp_string("10 (int64)").unwrap();
    p.exp_string(">>> ").unwrap();

    p.send_line(":vars").unwrap();
    p.exp_string("a       (5,)   int64     40 B").unwrap();
    p.exp_string("signal  (3,)   float64   24 B").unwrap();
    p.send_line(":quit").unwrap();
    p.exp_eof().unwrap();
    assert!(matches!(
        p.process().wait(),
        Ok(rexpect::process::WaitStatus::Exited(_, 0))
    ));
    let history = std::fs::read_to_string(dir.path().join(".numjit_history")).unwrap();
    assert!(history.contains("sum(a * 2)"), "{history}");
}

/// The course's P5 setup as its Python computes it: interior rows, steps, coefficient, grid.
fn diffusion_problem() -> (usize, usize, f64, Vec<f64>) {
    let (d, x1, x2, runtime) = (1.0f64, -10.0f64, 10.0f64, 15.0f64);
    let nrows = ((x2 - x1) / 0.0667) as usize;
    let dx = (x2 - x1) / nrows as f64;
    let dt = 0.25 * dx.powi(2) / d;
    let nsteps = (runtime / dt) as usize;
    let coef = (d / dx.powi(2)) * dt;
    let f = |x: f64| 1.0 - (1.0 - 4.0 * ((x - (x1 + x2) / 2.0) / (x2 - x1)).abs()).abs();
    let x = |i: usize| x1 + ((i as f64 - 1.0) * (x2 - x1)) / nrows as f64;
    let n = nrows + 2;
    let mut grid = vec![0.0; n * n];
    for i in 1..=nrows {
        for j in 1..=nrows {
            grid[i * n + j] = f(x(i)) * f(x(j));
        }
    }
    (nrows, nsteps, coef, grid)
}

fn load_npy(path: &Path) -> ndarray::ArrayD<f64> {
    use ndarray_npy::ReadNpyExt;
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    ndarray::ArrayD::<f64>::read_npy(file).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs `numjit run examples/programs/NAME` in a directory of its own, which must succeed.
fn run_program_file(name: &str) -> (TempDir, Output) {
    let dir = TempDir::new(name);
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/programs")
        .join(name);
    let out = numjit(&["run", file.to_str().unwrap()], "", dir.path());
    assert!(out.status.success(), "{name}: {}", stderr(&out));
    (dir, out)
}

#[test]
fn diffusion_program_file_runs_bit_for_bit() {
    let (dir, out) = run_program_file("diffusion.nj");
    // The file states nrows and nsteps as numbers: they must be what the course's formulas give.
    let (nrows, nsteps, coef, mut d) = diffusion_problem();
    assert_eq!((nrows, nsteps), (299, 13410));
    let n = nrows + 2;
    let mut next = d.clone();
    for _ in 0..nsteps {
        for i in 1..=nrows {
            for j in 1..=nrows {
                let c = i * n + j;
                let lapl = d[c + n] + d[c - n] + d[c + 1] + d[c - 1] - 4.0 * d[c];
                next[c] = d[c] + coef * lapl;
            }
        }
        std::mem::swap(&mut d, &mut next);
    }
    let got = load_npy(&dir.path().join("diffusion.npy"));
    assert_eq!(got.shape(), [n, n]);
    let differ = got
        .iter()
        .zip(&d)
        .filter(|(a, b)| a.to_bits() != b.to_bits())
        .count();
    assert_eq!(differ, 0, "cells that differ from the Rust loop");
    let sum: f64 = d.iter().sum();
    let shown: f64 = stdout(&out).split(' ').next().unwrap().parse().unwrap();
    assert!((shown - sum).abs() <= 1e-6 * sum, "{shown} vs {sum}");
}

#[test]
fn laplace_program_file_runs_bit_for_bit() {
    let (dir, _) = run_program_file("laplace.nj");
    let u = load_npy(&dir.path().join("laplace_u.npy"));
    let got = load_npy(&dir.path().join("laplace.npy"));
    let (rows, cols) = (u.shape()[0], u.shape()[1]);
    assert_eq!((rows, cols), (4096, 4096));
    let (u, got) = (u.as_slice().unwrap(), got.as_slice().unwrap());
    let mut differ = 0;
    for i in 0..rows {
        for j in 0..cols {
            let c = i * cols + j;
            let want = if i == 0 || j == 0 || i == rows - 1 || j == cols - 1 {
                u[c]
            } else {
                0.25 * (u[c - cols] + u[c + cols] + u[c - 1] + u[c + 1])
            };
            differ += usize::from(want.to_bits() != got[c].to_bits());
        }
    }
    assert_eq!(differ, 0, "cells that differ from the Rust loop");
}

#[test]
fn slow_series_program_file_gives_the_published_sum() {
    let (dir, out) = run_program_file("slow_series.nj");
    let got = load_npy(&dir.path().join("slow_series.npy"));
    // The partial sum of Kempner's series to 10⁸ (P8).
    let published = 13.277_605_949_858_2;
    assert!((got[[]] - published).abs() < 1e-9, "{}", got[[]]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("13.2776"));
}

#[test]
fn mandelbrot_program_file_matches_a_rust_loop_pixel_for_pixel() {
    use ndarray_npy::ReadNpyExt;
    let (dir, _) = run_program_file("mandelbrot.nj");
    let x = load_npy(&dir.path().join("mandelbrot_x.npy"));
    let y = load_npy(&dir.path().join("mandelbrot_y.npy"));
    let file = std::fs::File::open(dir.path().join("mandelbrot.npy")).unwrap();
    let img = ndarray::ArrayD::<i64>::read_npy(file).unwrap();
    assert_eq!(img.shape(), [1000, 1500]);
    let escape = |cr: f64, ci: f64| {
        let (mut zr, mut zi) = (0.0f64, 0.0f64);
        for n in 0..20 {
            if zr * zr + zi * zi >= 4.0 {
                return n;
            }
            (zr, zi) = (zr * zr - zi * zi + cr, 2.0 * zr * zi + ci);
        }
        255
    };
    let mut differ = 0;
    for i in 0..1000 {
        for j in 0..1500 {
            differ += usize::from(img[[i, j]] != escape(x[[j]], y[[i]]));
        }
    }
    assert_eq!(differ, 0, "pixels that differ from the Rust loop");
}
