//! Runs every course example in `examples/` at its small size (`--small`) and checks that its
//! own check passed and what it printed; reads back the heatmaps `--plot` writes. Also tests the
//! examples' PNG writer against known checksums.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::SystemTime;

#[allow(dead_code)]
#[path = "../examples/support/png.rs"]
mod png;

/// Every course example; each test below runs one.
const EXAMPLES: [&str; 13] = [
    "trig_identity",
    "poly",
    "temporaries",
    "diffusion",
    "heat",
    "laplace",
    "velocity",
    "area",
    "pairwise",
    "axis_sums",
    "slow_series",
    "mandelbrot",
    "out_of_core",
];

fn modified(path: &Path) -> Option<SystemTime> {
    path.metadata().and_then(|m| m.modified()).ok()
}

/// The newest modification time among the Rust sources under `dir`.
fn newest_rs(dir: &Path) -> Option<SystemTime> {
    let entries = std::fs::read_dir(dir).ok()?;
    entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter_map(|p| match p.extension() {
            Some(ext) if ext == "rs" => modified(&p),
            _ => newest_rs(&p),
        })
        .max()
}

/// The directory with the example binaries: `target/<profile>/examples/`, beside this test's
/// `deps/`, when a `cargo test` or `cargo build --examples` left them there newer than every
/// source. Otherwise (a fresh checkout, `cargo test --test examples` after an edit) they are
/// built once, into a target directory of their own: the outer cargo holds the lock on the
/// usual one while tests run.
fn examples_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let exe = std::env::current_exe().expect("test executable path");
        let profile = exe
            .parent()
            .and_then(Path::parent)
            .expect("the test runs from target/<profile>/deps");
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let sources = [
            newest_rs(&root.join("src")),
            newest_rs(&root.join("examples")),
        ]
        .into_iter()
        .chain(["Cargo.toml", "Cargo.lock"].map(|f| modified(&root.join(f))))
        .max()
        .flatten();
        let fresh = |dir: &Path| {
            EXAMPLES.iter().all(|name| {
                let bin = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
                modified(&bin).is_some_and(|built| Some(built) >= sources)
            })
        };
        let usual = profile.join("examples");
        if fresh(&usual) {
            return usual;
        }
        let own = profile
            .parent()
            .unwrap_or(profile)
            .join("examples-test-build");
        let mut cargo = Command::new(env!("CARGO"));
        cargo.args(["build", "--profile", "test", "--target-dir"]);
        cargo.arg(&own).current_dir(root);
        for name in EXAMPLES {
            cargo.args(["--example", name]);
        }
        let status = cargo.status().expect("cargo runs");
        assert!(status.success(), "cargo build of the examples failed");
        own.join("debug").join("examples")
    })
}

/// Runs example `name` with `args`, asserts that it succeeded and returns what it printed.
fn run(name: &str, args: &[&str]) -> String {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(examples_dir().join(name))
        .args(args)
        .output()
        .expect("the example runs");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    );
    assert!(
        status.success(),
        "{name} {args:?} failed ({status}):\n{stdout}\n{stderr}"
    );
    stdout
}

/// Runs example `name` at its small size and checks that `checks` of its checks passed and
/// that it printed each of `lines` (substrings).
fn small(name: &str, extra: &[&str], checks: usize, lines: &[&str]) -> String {
    let out = run(name, &[&["--small"], extra].concat());
    let passed = out
        .lines()
        .filter(|l| l.trim_start().starts_with("check:") && l.ends_with("— ok"))
        .count();
    assert_eq!(passed, checks, "{name}: passed checks in\n{out}");
    assert!(out.contains("threads"), "{name}: no banner in\n{out}");
    assert!(out.contains("  time "), "{name}: no time in\n{out}");
    for line in lines {
        assert!(out.contains(line), "{name}: no {line:?} in\n{out}");
    }
    out
}

/// A path for a file the tests write.
fn scratch(file: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(file)
}

/// Reads back a heatmap and checks its size and that it is not one flat colour.
fn check_heatmap(path: &Path, side: u32) {
    check_image(path, side, side);
}

/// [`check_heatmap`] for a `width × height` image.
fn check_image(path: &Path, width: u32, height: u32) {
    let bytes = std::fs::read(path).expect("the heatmap was written");
    let (w, h, rgb) = png::decode_rgb(&bytes).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((w, h), (width, height));
    let first = &rgb[..3];
    assert!(rgb.chunks(3).any(|px| px != first), "a flat image");
}

#[test]
fn trig_identity() {
    small(
        "trig_identity",
        &[],
        1,
        &["P1 trig identity: n = 100000", "every element is 1"],
    );
}

#[test]
fn velocity() {
    small(
        "velocity",
        &[],
        1,
        &[
            "P7 velocity conversion: nlat, nr, nlon = 25, 30, 40",
            "vx, vy, vz agree with a Rust loop",
        ],
    );
}

#[test]
fn poly() {
    small(
        "poly",
        &[],
        1,
        &["P2 Horner polynomial: n = 100000", "bit for bit"],
    );
}

#[test]
fn temporaries() {
    small(
        "temporaries",
        &[],
        2,
        &["P4 temporaries: shape (4, 1024, 50)", "no temporaries"],
    );
}

#[test]
fn diffusion() {
    let plot = scratch("diffusion.png");
    let _ = std::fs::remove_file(&plot);
    let path = plot.to_str().expect("a UTF-8 path");
    small(
        "diffusion",
        &["--plot", path],
        1,
        &[
            "P5 2-D diffusion: 29² interior points, 126 steps",
            "bit for bit",
        ],
    );
    // 31² cells, each 16 × 16 pixels.
    check_heatmap(&plot, 31 * 16);
}

#[test]
fn heat() {
    let plot = scratch("heat.png");
    let _ = std::fs::remove_file(&plot);
    let path = plot.to_str().expect("a UTF-8 path");
    small(
        "heat",
        &["--plot", path],
        2,
        &[
            "P5b heat equation: 40² grid, 40 steps",
            "u = gⁿ·u₀",
            "bit for bit",
        ],
    );
    // 40² cells, each 12 × 12 pixels.
    check_heatmap(&plot, 40 * 12);
}

#[test]
fn laplace() {
    small(
        "laplace",
        &[],
        1,
        &["P6 Laplace stencil: 300²", "bit for bit"],
    );
}

#[test]
fn area() {
    small(
        "area",
        &[],
        2,
        &["P9 area under a curve: n = 100000", "closed form", "8.175"],
    );
}

#[test]
fn pairwise() {
    small(
        "pairwise",
        &[],
        4,
        &["M = 50:", "M = 200:", "symmetric", "bit for bit"],
    );
}

#[test]
fn axis_sums() {
    small(
        "axis_sums",
        &[],
        2,
        &[
            "P11 axis sums: 300 × 300",
            "sum(c, axis=0)",
            "sum(c, axis=1)",
        ],
    );
}

#[test]
fn slow_series() {
    small(
        "slow_series",
        &[],
        1,
        &[
            "P8 slow series: n = 100000",
            "def term(k):",
            "a plain Rust loop",
        ],
    );
}

#[test]
fn mandelbrot() {
    let plot = scratch("mandelbrot.png");
    let _ = std::fs::remove_file(&plot);
    let path = plot.to_str().expect("a UTF-8 path");
    small(
        "mandelbrot",
        &["--plot", path],
        1,
        &[
            "P12 Mandelbrot: 100 × 150 pixels",
            "def escape(cr, ci, maxiter):",
        ],
    );
    // 150 × 100 pixels, each 3 × 3.
    check_image(&plot, 450, 300);
}

#[test]
fn out_of_core() {
    small(
        "out_of_core",
        &[],
        4,
        &[
            "P15 out of core: 3000 × 1000 float64",
            "d = (m - mean(m))**2",
            "peak RSS",
        ],
    );
}

#[test]
fn a_size_argument_wins_and_bad_arguments_exit_with_2() {
    let out = run("poly", &["--small", "1_000"]);
    assert!(out.contains("n = 1000,"), "{out}");
    for args in [&["--plot", "x.png"][..], &["--nonsense"], &["1", "2"]] {
        let out = Command::new(examples_dir().join("poly"))
            .args(args)
            .output()
            .expect("the example runs");
        assert_eq!(out.status.code(), Some(2), "poly {args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("usage:"));
    }
}

#[test]
fn png_checksums_match_known_values() {
    assert_eq!(png::crc32(b"123456789"), 0xCBF4_3926);
    assert_eq!(png::crc32(b"IEND"), 0xAE42_6082);
    assert_eq!(png::adler32(b"Wikipedia"), 0x11E6_0398);
}

#[test]
fn png_round_trips_and_detects_corruption() {
    // 200 × 120 RGB is 72 120 bytes of rows: two stored blocks.
    let (w, h) = (200u32, 120u32);
    let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 7 % 251) as u8).collect();
    let file = png::encode_rgb(w, h, &rgb);
    assert_eq!(png::decode_rgb(&file), Ok((w, h, rgb)));
    // A flipped bit in the pixels breaks the IDAT chunk's CRC.
    let mut bad = file.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 1;
    assert!(png::decode_rgb(&bad).unwrap_err().contains("CRC"));
    assert!(png::decode_rgb(&file[..file.len() - 1]).is_err());
}
