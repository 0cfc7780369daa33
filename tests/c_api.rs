//! The C ABI as C sees it: `include/numjit.h` is exactly what the pinned cbindgen generates from
//! `src/ffi/`, and the program in `examples/c/` compiles against it with warnings as errors,
//! links the library `cargo test` just built (shared and static) and passes its own checks.
//!
//! Regenerate the header after changing `src/ffi/`: `NUMJIT_BLESS=1 cargo test --test c_api`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn generate_header() -> String {
    let config = cbindgen::Config::from_file(root().join("cbindgen.toml"))
        .unwrap_or_else(|e| panic!("cbindgen.toml: {e}"));
    // Only the ffi module is parsed: the rest of the crate is not part of the C ABI, and parsing
    // it would make the header depend on code cbindgen does not need to understand.
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(root().join("src/ffi/mod.rs"))
        .generate()
        .unwrap_or_else(|e| panic!("cbindgen could not generate the header: {e}"));
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).unwrap_or_else(|e| panic!("header is not UTF-8: {e}"))
}

#[test]
fn header_is_fresh() {
    let path = root().join("include/numjit.h");
    let fresh = generate_header();
    if std::env::var_os("NUMJIT_BLESS").is_some() {
        std::fs::create_dir_all(root().join("include")).expect("create include/");
        std::fs::write(&path, &fresh).expect("write include/numjit.h");
        return;
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    if current != fresh {
        let line = current
            .lines()
            .zip(fresh.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(current.lines().count().min(fresh.lines().count()));
        panic!(
            "include/numjit.h is stale (first difference at line {}: {:?} should be {:?}).\n\
             Regenerate it with: NUMJIT_BLESS=1 cargo test --test c_api",
            line + 1,
            current.lines().nth(line).unwrap_or("<end of file>"),
            fresh.lines().nth(line).unwrap_or("<end of file>"),
        );
    }
}

/// Where `libnumjit.so` and `libnumjit.a` are: `target/<profile>/`, next to this test's `deps/`
/// directory, when a `cargo build` made them (`.ci/run` does). `cargo test` alone builds only the
/// rlib, so on a fresh checkout this builds the library once, into a target directory of its own
/// (the outer cargo holds the lock on the usual one while tests run).
fn lib_dir() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let exe = std::env::current_exe().expect("test executable path");
        let dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("the test runs from target/<profile>/deps")
            .to_path_buf();
        let built = |d: &Path| {
            d.join("libnumjit.a").exists()
                && (d.join("libnumjit.so").exists() || d.join("libnumjit.dylib").exists())
        };
        if built(&dir) {
            return dir;
        }
        let own = dir
            .parent()
            .map_or_else(|| dir.join("c-api-build"), |t| t.join("c-api-build"));
        let status = Command::new(env!("CARGO"))
            .args(["build", "--lib", "--target-dir"])
            .arg(&own)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo runs");
        assert!(
            status.success(),
            "cargo build --lib for the C example failed"
        );
        own.join("debug")
    })
    .clone()
}

fn cc() -> String {
    std::env::var("CC").unwrap_or_else(|_| "cc".to_string())
}

/// Compiles `examples/c/<source>` with warnings as errors and `link` arguments, runs it with
/// `args`, and returns what it printed (it must exit 0).
fn build_and_run(source: &str, name: &str, link: &[String], args: &[&str]) -> String {
    let exe = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let status = Command::new(cc())
        .args([
            "-std=c11",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
            "-O1",
        ])
        .arg("-I")
        .arg(root().join("include"))
        .arg(root().join("examples/c").join(source))
        .arg("-o")
        .arg(&exe)
        .args(link)
        .status()
        .unwrap_or_else(|e| panic!("could not run {}: {e}", cc()));
    assert!(status.success(), "compiling examples/c/{source} failed");
    let out = under_valgrind(&exe)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("could not run {}: {e}", exe.display()));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "examples/c/{source} failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    stdout
}

/// A command that runs `exe`, under valgrind's memcheck when `NUMJIT_VALGRIND` is set (CI):
/// any memory error, or a definitely lost block, fails the run. `--smc-check=all`: the JIT writes
/// code into fresh pages and runs it, which valgrind must retranslate. The suppressions file
/// lists only documented false positives.
fn under_valgrind(exe: &Path) -> Command {
    if std::env::var_os("NUMJIT_VALGRIND").is_none() {
        return Command::new(exe);
    }
    let mut c = Command::new("valgrind");
    c.args([
        "--quiet",
        "--error-exitcode=97",
        "--smc-check=all",
        "--leak-check=full",
        "--errors-for-leak-kinds=definite",
        "--show-leak-kinds=definite",
    ])
    .arg(format!(
        "--suppressions={}",
        root().join(".ci/valgrind.supp").display()
    ))
    .arg(exe);
    c
}

/// Runs `numjit_example.c` and checks what it printed.
fn check_example(name: &str, link: &[String]) {
    let stdout = build_and_run("numjit_example.c", name, link, &[]);
    // The error it provokes is printed with the caret under the unknown name.
    assert!(
        stdout.contains("unknown name `y`\n  2*x + y\n        ^"),
        "{stdout}"
    );
    assert!(stdout.contains("all checks passed"), "{stdout}");
}

/// The arguments that link the shared library.
fn shared_link() -> Vec<String> {
    let dir = lib_dir();
    let so = if cfg!(target_os = "macos") {
        "libnumjit.dylib"
    } else {
        "libnumjit.so"
    };
    assert!(
        dir.join(so).exists(),
        "{} not found: cargo builds it with the crate (crate-type cdylib)",
        dir.join(so).display()
    );
    let d = dir.display();
    vec![
        format!("-L{d}"),
        "-lnumjit".into(),
        format!("-Wl,-rpath,{d}"),
        "-lm".into(),
    ]
}

#[cfg(unix)]
#[test]
fn diffusion_program_runs_from_c_bit_for_bit() {
    // A ten times coarser grid than the course's: 29² interior points, 126 steps.
    let stdout = build_and_run("diffusion.c", "diffusion_c", &shared_link(), &["0.667"]);
    assert!(
        stdout.contains("29² interior points, 126 steps"),
        "{stdout}"
    );
    assert!(
        stdout.contains("bit for bit equal to the C loop"),
        "{stdout}"
    );
    // Two outputs on one block of memory are refused, and the message says which.
    assert!(
        stdout.contains("output `next` overlaps the memory of `d`"),
        "{stdout}"
    );
}

#[test]
fn kernel_programs_run_from_c_and_match_c_loops() {
    let stdout = build_and_run("kernels.c", "kernels_c", &shared_link(), &["150", "100000"]);
    for line in [
        "P12 Mandelbrot from C: 100 x 150 pixels",
        "every pixel equal to the C loop",
        "P8 slow series from C: n = 100000",
        "the sum within",
    ] {
        assert!(stdout.contains(line), "{line:?} not in\n{stdout}");
    }
}

#[cfg(unix)]
#[test]
fn c_example_links_the_shared_library() {
    check_example("numjit_example_shared", &shared_link());
}

#[cfg(target_os = "linux")]
#[test]
fn c_example_links_the_static_library() {
    let a = lib_dir().join("libnumjit.a");
    assert!(
        a.exists(),
        "{} not found (crate-type staticlib)",
        a.display()
    );
    // What the Rust standard library needs from the system when linked statically.
    let sys = ["-lpthread", "-ldl", "-lm", "-lgcc_s", "-lc"].map(String::from);
    let mut link = vec![a.display().to_string()];
    link.extend(sys);
    check_example("numjit_example_static", &link);
}

/// The header is also valid C++ (cbindgen's `cpp_compat` guards), checked when a C++ compiler
/// is installed.
#[test]
fn header_compiles_as_cpp() {
    let cxx = std::env::var("CXX").unwrap_or_else(|_| "c++".to_string());
    let src = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("numjit_header_check.cpp");
    std::fs::write(
        &src,
        "#include \"numjit.h\"\nint main() { return numjit_get_num_threads() == 0; }\n",
    )
    .expect("write the C++ check");
    let status = Command::new(&cxx)
        .args(["-fsyntax-only", "-Wall", "-Wextra", "-Werror", "-pedantic"])
        .arg("-I")
        .arg(root().join("include"))
        .arg(&src)
        .status();
    match status {
        Ok(s) => assert!(s.success(), "include/numjit.h does not compile as C++"),
        Err(e) => eprintln!("skipped: no C++ compiler `{cxx}` ({e})"),
    }
}
