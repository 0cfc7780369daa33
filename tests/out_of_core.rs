//! Files larger than the residency bound, through the public API: the resident set stays
//! bounded while numjit writes and reads them, and the results are bit for bit those of the
//! same data in memory. The measuring part runs in a child process of this test binary, so
//! that other tests' memory does not count.

use std::process::Command;

#[path = "../examples/support/mod.rs"]
mod support;

use numjit::{npy, DType, Engine, Vars};

/// What the tests compute over a mapped matrix `m`: reductions of every layout (the pairwise
/// tree, column tiles, rows) and a derived matrix written to a second file.
const EXPRS: [&str; 4] = [
    "sum(m)",
    "mean(m, axis=0)",
    "sum(m, axis=1)",
    "min(m * 2, axis=0)",
];
const DERIVED: &str = "sqrt(abs(m - mean(m))) * 2 - 1";

/// The fill of an `r × c` matrix, computed by numjit from generators.
const FILL: &str = "(arange(r)[:, None] * c + arange(c)[None, :]) % 1000 * 0.001 - 0.5";

/// Set in the child process to the folder its files go to: run the measured part there.
const CHILD: &str = "NUMJIT_OUT_OF_CORE_CHILD";

/// The target of issue #13: peak RSS growth while streaming, whatever the file's size.
const BOUND_MIB: f64 = 256.0;

#[test]
fn streaming_a_file_four_times_the_bound_keeps_the_resident_set_bounded() {
    if !std::path::Path::new("/proc/self/clear_refs").exists() {
        return; // no way to reset the peak here (not Linux)
    }
    // The parent names the child's folder and removes it whatever becomes of the child: on
    // tmpfs a folder left by a failed or killed child would hold 2 GiB of RAM until reboot.
    let dir = scratch_base().join(format!("numjit-out-of-core-{}", std::process::id()));
    let exe = std::env::current_exe().expect("the test binary");
    let out = Command::new(exe)
        .args([
            "--exact",
            "child_streams_files",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, &dir)
        .output();
    let _ = std::fs::remove_dir_all(&dir);
    let out = out.expect("the child runs");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the child failed:\n{text}");
    assert!(
        text.contains("peak growth"),
        "the child did not measure:\n{text}"
    );
}

/// The measured part: only in the child process.
#[test]
fn child_streams_files() {
    let Some(dir) = std::env::var_os(CHILD).map(std::path::PathBuf::from) else {
        return;
    };
    numjit::set_num_threads(2);
    std::fs::create_dir_all(&dir).unwrap();
    // 1 GiB: 3355 rows of 40 000 columns (the course's width: three column tiles in memory).
    let (rows, cols) = (3355usize, 40_000usize);
    let gen = Vars::new().with("r", rows as i64).with("c", cols as i64);
    let engine = Engine::default();
    let fill = engine.compile(FILL, &gen.signature()).unwrap();
    // Compile and run everything once on a small file first, so the measured part allocates
    // no JIT memory or thread stacks.
    let exprs = EXPRS;
    let derived = DERIVED;
    {
        let small = Vars::new().with("r", 64_i64).with("c", 300_i64);
        let mut m = npy::create(dir.join("warm.npy"), DType::Float64, &[64, 300]).unwrap();
        fill.eval_into(&small, &mut m).unwrap();
        m.finish().unwrap();
        let m = npy::open(dir.join("warm.npy")).unwrap();
        let vars = Vars::new().with("m", &m);
        for e in exprs.iter().chain([&derived]) {
            numjit::evaluate(e, &vars).unwrap();
        }
    }
    let path = dir.join("m.npy");
    let d_path = dir.join("d.npy");
    // Reset the peak (VmHWM) to the current resident set.
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let start = support::status_mib("VmRSS:");
    let clock = std::time::Instant::now();

    let mut m = npy::create(&path, DType::Float64, &[rows, cols]).unwrap();
    fill.eval_into(&gen, &mut m).unwrap();
    m.finish().unwrap();
    let m = npy::open(&path).unwrap();
    let vars = Vars::new().with("m", &m);
    for e in exprs {
        numjit::evaluate(e, &vars).unwrap();
    }
    let mut d = npy::create(&d_path, DType::Float64, &[rows, cols]).unwrap();
    engine
        .compile(derived, &vars.signature())
        .unwrap()
        .eval_into(&vars, &mut d)
        .unwrap();
    d.finish().unwrap();

    // The same bytes read as a Fortran-ordered `cols × rows` file: walked in storage order,
    // front to back, with the same bound.
    drop(vars);
    drop(m);
    fortran_header(&path);
    let m = npy::open(&path).unwrap();
    let vars = Vars::new().with("m", &m);
    for e in EXPRS {
        numjit::evaluate(e, &vars).unwrap();
    }

    let growth = support::status_mib("VmHWM:") - start;
    println!(
        "peak growth {growth:.1} MiB for two files (one also read in Fortran order) of {:.1} MiB in {} (now RssFile {:.1}, RssShmem {:.1}, RssAnon {:.1} MiB); {:.1} s",
        (rows * cols * 8) as f64 / (1 << 20) as f64,
        dir.display(),
        support::status_mib("RssFile:"),
        support::status_mib("RssShmem:"),
        support::status_mib("RssAnon:"),
        clock.elapsed().as_secs_f64()
    );
    assert!(growth <= BOUND_MIB, "peak RSS grew by {growth:.1} MiB");

    drop(vars);
    drop(m);
}

/// Where the measured files go: tmpfs where there is one (the mapped pages count in the
/// resident set all the same, as RssShmem, and the test does not wait for a disk to write
/// 2 GiB), else the target's temporary folder.
fn scratch_base() -> std::path::PathBuf {
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
    }
}

/// A file as wide as the course's matrix (40 000 columns: three column tiles in memory, whole
/// rows when streamed) gives bit for bit the results of the same data in memory, at one and
/// two threads.
#[test]
fn streamed_results_are_bit_for_bit_those_in_memory() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("numjit-bits-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (rows, cols) = (300usize, 40_000usize);
    let gen = Vars::new().with("r", rows as i64).with("c", cols as i64);
    let path = dir.join("m.npy");
    let mut m = npy::create(&path, DType::Float64, &[rows, cols]).unwrap();
    let engine = Engine::default();
    engine
        .compile(FILL, &gen.signature())
        .unwrap()
        .eval_into(&gen, &mut m)
        .unwrap();
    m.finish().unwrap();
    let m = npy::open(&path).unwrap();
    let owned = m.view::<f64>().unwrap().to_owned();
    let (mapped, in_memory) = (Vars::new().with("m", &m), Vars::new().with("m", &owned));
    let bits = |a: &numjit::Array| a.to_f64().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    for threads in [1, 2] {
        numjit::set_num_threads(threads);
        for e in EXPRS.iter().chain([&DERIVED]) {
            let (x, y) = (
                numjit::evaluate(e, &mapped).unwrap(),
                numjit::evaluate(e, &in_memory).unwrap(),
            );
            assert!(bits(&x) == bits(&y), "{e} at {threads} threads");
        }
        let d_path = dir.join("d.npy");
        let mut d = npy::create(&d_path, DType::Float64, &[rows, cols]).unwrap();
        let k = engine.compile(DERIVED, &mapped.signature()).unwrap();
        k.eval_into(&mapped, &mut d).unwrap();
        d.finish().unwrap();
        let d = npy::open(&d_path).unwrap();
        let want = numjit::evaluate(DERIVED, &in_memory).unwrap().to_f64();
        let same = d.view::<f64>().unwrap().as_slice() == want.as_slice();
        assert!(same, "the derived file at {threads} threads");
    }
    drop(mapped);
    drop(m);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Rewrites the header of the C-ordered `.npy` file at `path`, of shape `(a, b)`, to say the
/// same bytes are a Fortran-ordered `(b, a)` array (its transpose), without reading the data.
fn fortran_header(path: &std::path::Path) {
    use std::io::{Read, Seek, Write};
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    let mut head = [0u8; 10];
    f.read_exact(&mut head).unwrap();
    // Version 1: magic, 2 version bytes, a little-endian u16 length, then the dict.
    assert_eq!(&head[..8], b"\x93NUMPY\x01\x00");
    let len = u16::from_le_bytes([head[8], head[9]]) as usize;
    let mut dict = vec![0u8; len];
    f.read_exact(&mut dict).unwrap();
    let text = String::from_utf8(dict).unwrap();
    let (lo, hi) = (
        text.find("'shape': (").unwrap() + 10,
        text.find(")").unwrap(),
    );
    let dims: Vec<&str> = text[lo..hi].split(',').map(str::trim).collect();
    let swapped = format!(
        "{}'shape': ({}, {}){}",
        &text[..lo - 10],
        dims[1],
        dims[0],
        &text[hi + 1..]
    )
    .replace("'fortran_order': False", "'fortran_order': True");
    // Same length: pad before the closing newline.
    let padded = format!(
        "{}{}\n",
        swapped.trim_end_matches('\n'),
        " ".repeat(len - swapped.len())
    );
    assert_eq!(padded.len(), len);
    f.seek(std::io::SeekFrom::Start(10)).unwrap();
    f.write_all(padded.as_bytes()).unwrap();
}

/// A Fortran-ordered file is walked in storage order: its results are bit for bit those of
/// its transpose in memory in C order (the same bytes walked the same way), at one and two
/// threads, and a derived matrix written from it matches.
#[test]
fn fortran_ordered_files_are_walked_in_storage_order() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("numjit-fortran-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Stored as `t`, 300 × 40 000 in C order; read as `m`, its 40 000 × 300 transpose.
    let (rows, cols) = (300usize, 40_000usize);
    let gen = Vars::new().with("r", rows as i64).with("c", cols as i64);
    let path = dir.join("m.npy");
    let mut t = npy::create(&path, DType::Float64, &[rows, cols]).unwrap();
    let engine = Engine::default();
    engine
        .compile(FILL, &gen.signature())
        .unwrap()
        .eval_into(&gen, &mut t)
        .unwrap();
    t.finish().unwrap();
    fortran_header(&path);
    let m = npy::open(&path).unwrap();
    assert_eq!(m.shape(), &[cols, rows]);
    let view = m.view::<f64>().unwrap();
    assert_eq!(view.strides(), &[1, cols as isize], "Fortran order");
    let t = view.t().to_owned();
    assert!(t.is_standard_layout());
    let (mapped, in_memory) = (Vars::new().with("m", &m), Vars::new().with("t", &t));
    let bits = |a: &numjit::Array| a.to_f64().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    // Each expression over the file, and the same over its transpose in C order.
    let pairs = [
        ("sum(m)", "sum(t)"),
        ("mean(m)", "mean(t)"),
        ("sum(m, axis=0)", "sum(t, axis=1)"),
        ("mean(m, axis=1)", "mean(t, axis=0)"),
        ("min(m * 2, axis=1)", "min(t * 2, axis=0)"),
    ];
    for threads in [1, 2] {
        numjit::set_num_threads(threads);
        for (e, f) in pairs {
            let (x, y) = (
                numjit::evaluate(e, &mapped).unwrap(),
                numjit::evaluate(f, &in_memory).unwrap(),
            );
            assert!(bits(&x) == bits(&y), "{e} at {threads} threads");
        }
        // A map from the file into memory: every element where it belongs.
        let x = numjit::evaluate("m * 2 - 1", &mapped).unwrap().to_f64();
        let y = numjit::evaluate("t * 2 - 1", &in_memory).unwrap().to_f64();
        assert!(x == y.t(), "map at {threads} threads");
    }
    drop(mapped);
    drop(m);
    std::fs::remove_dir_all(&dir).unwrap();
}
