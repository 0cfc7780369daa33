//! Course problem P15, out of core: the mean of a float64 matrix stored in a file (the course's
//! is 40 000 × 40 000, 12.8 GB, read with `np.memmap` and a chunked Python loop), its per-column
//! means, and a derived matrix `(m - mean(m))**2 < 1/48` (a bool mask: an eighth of the bytes,
//! so that it fits beside a file larger than RAM on a shared disk) written to a second file, each
//! one numjit call over memory-mapped `.npy` files with a resident set that does not grow with
//! the file.
//! Checked against a chunked Rust loop that reads the file with `read` (64 MiB at a time).
//!
//! `cargo run --release --example out_of_core [--small] [ROWS]`: 40 000 columns, and by default
//! enough rows for the file to exceed this machine's RAM (MemTotal in /proc/meminfo), so the
//! page cache cannot hold it. The files go to `$OUT_OF_CORE_DIR` (default: the temp folder)
//! and are removed at the end. With `OUT_OF_CORE_FILE=PATH`, the matrix is that file instead:
//! written there if it does not exist yet, and kept (so that one file larger than RAM serves
//! the REPL, Python and the benchmark too: `benches/course/p15.py`).

#[path = "support/mod.rs"]
mod support;

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use numjit::{npy, DType, Engine, Vars};

/// This machine's memory in bytes (MemTotal), or 16 GiB when unknown.
fn mem_total() -> usize {
    let info = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    info.lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
        .map_or(16 << 30, |kb| kb * 1024)
}

/// `12.8 GB in 5.1 s: 2.51 GB/s`.
fn rate(bytes: usize, secs: f64) -> String {
    format!(
        "{:.2} GB in {}: {:.2} GB/s",
        bytes as f64 / 1e9,
        support::secs(secs),
        bytes as f64 / 1e9 / secs
    )
}

/// A chunked reader of the matrix in a `.npy` file (`rows × cols` float64, C order): 64 MiB of
/// whole rows at a time, read with `read` into one buffer, as a chunked loop over a file does.
struct Chunks {
    file: std::fs::File,
    rows_left: usize,
    cols: usize,
    per_chunk: usize,
    buf: Vec<u8>,
    values: Vec<f64>,
}

impl Chunks {
    fn open(path: &Path, rows: usize, cols: usize) -> std::io::Result<Chunks> {
        let mut file = std::fs::File::open(path)?;
        let len = file.metadata()?.len() as usize;
        file.seek(SeekFrom::Start((len - rows * cols * 8) as u64))?;
        let per_chunk = ((64 << 20) / (cols * 8)).max(1);
        Ok(Chunks {
            file,
            rows_left: rows,
            cols,
            per_chunk,
            buf: vec![0u8; per_chunk * cols * 8],
            values: vec![0f64; per_chunk * cols],
        })
    }

    /// The next rows, as one slice of whole rows; `None` at the end.
    fn next(&mut self) -> std::io::Result<Option<&[f64]>> {
        let n = self.per_chunk.min(self.rows_left);
        if n == 0 {
            return Ok(None);
        }
        let bytes = &mut self.buf[..n * self.cols * 8];
        self.file.read_exact(bytes)?;
        for (v, b) in self.values.iter_mut().zip(bytes.chunks_exact(8)) {
            *v = f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
        }
        self.rows_left -= n;
        Ok(Some(&self.values[..n * self.cols]))
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = support::Args::parse(false);
    let cols = if args.small { 1000 } else { 40_000 };
    let above_ram = (mem_total() + (1 << 30)).div_ceil(cols * 8);
    let rows = args.size(above_ram, 3000);
    let dir: PathBuf = std::env::var_os("OUT_OF_CORE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let tag = std::process::id();
    let kept = std::env::var_os("OUT_OF_CORE_FILE").map(PathBuf::from);
    let (m_path, d_path) = (
        kept.clone()
            .unwrap_or_else(|| dir.join(format!("p15-m-{tag}.npy"))),
        dir.join(format!("p15-d-{tag}.npy")),
    );
    // An existing file gives the size.
    let (rows, cols) = match kept.as_ref().filter(|p| p.exists()) {
        Some(p) => match npy::open(p)?.shape() {
            &[r, c] => (r, c),
            other => return Err(format!("{}: shape {other:?}, not a matrix", p.display()).into()),
        },
        None => (rows, cols),
    };
    let bytes = rows * cols * 8;
    support::banner(format!(
        "P15 out of core: {rows} × {cols} float64, {:.2} GB in {}",
        bytes as f64 / 1e9,
        dir.display()
    ));
    let result = run(rows, cols, &m_path, &d_path);
    if kept.is_none() {
        let _ = std::fs::remove_file(&m_path);
    }
    let _ = std::fs::remove_file(&d_path);
    result
}

fn run(
    rows: usize,
    cols: usize,
    m_path: &Path,
    d_path: &Path,
) -> Result<(), Box<dyn std::error::Error>> {
    let bytes = rows * cols * 8;
    let engine = Engine::default();
    let rss0 = support::status_mib("VmHWM:");

    // The matrix, written by numjit from generators: nothing of it is ever in memory whole.
    let fill = "((arange(r)[:, None] * c + arange(c)[None, :]) * 0.6180339887498949) % 1.0 - 0.25";
    if m_path.exists() {
        println!("  m = {} (kept from an earlier run)", m_path.display());
    } else {
        let vars = Vars::new().with("r", rows as i64).with("c", cols as i64);
        let (written, t) = support::timed(|| -> numjit::Result<()> {
            let mut m = npy::create(m_path, DType::Float64, &[rows, cols])?;
            engine
                .compile(fill, &vars.signature())?
                .eval_into(&vars, &mut m)?;
            m.finish()
        });
        written?;
        println!("  m = {fill}");
        println!("  written: {}", rate(bytes, t));
    }

    let m = npy::open(m_path)?;
    let vars = Vars::new().with("m", &m);
    let (mean, t) = support::timed(|| numjit::evaluate("mean(m)", &vars));
    let mean = mean?.to_f64()[[]];
    println!("  mean(m) = {mean:.12}");
    support::print_time(t, 1, rows * cols);
    println!("  read: {}", rate(bytes, t));
    let (col_mean, t) = support::timed(|| numjit::evaluate("mean(m, axis=0)", &vars));
    let col_mean = col_mean?.to_f64();
    println!(
        "  mean(m, axis=0): {cols} values, the first {:.12}",
        col_mean[[0]]
    );
    println!("  read: {}", rate(bytes, t));

    let derived = "(m - mean(m))**2 < 1 / 48";
    let (written, t) = support::timed(|| -> numjit::Result<()> {
        let mut d = npy::create(d_path, DType::Bool, &[rows, cols])?;
        engine
            .compile(derived, &vars.signature())?
            .eval_into(&vars, &mut d)?;
        d.finish()
    });
    written?;
    println!(
        "  d = {derived}: read twice, an eighth written: {}",
        rate(2 * bytes + bytes / 8, t)
    );
    let numjit_peak = support::status_mib("VmHWM:");
    println!(
        "  peak RSS {numjit_peak:.1} MiB (+{:.1} MiB over the start) for {:.1} MiB of files",
        numjit_peak - rss0,
        (bytes + bytes / 8) as f64 / (1 << 20) as f64
    );
    drop(vars);
    drop(m);

    // The chunked Rust loop: one pass for the total and the column sums.
    let mut total = 0.0f64;
    let mut col_sums = vec![0.0f64; cols];
    let (read, t) = support::timed(|| -> std::io::Result<()> {
        let mut chunks = Chunks::open(m_path, rows, cols)?;
        while let Some(values) = chunks.next()? {
            for row in values.chunks_exact(cols) {
                for (s, &v) in col_sums.iter_mut().zip(row) {
                    *s += v;
                    total += v;
                }
            }
        }
        Ok(())
    });
    read?;
    println!(
        "  chunked Rust loop (read 64 MiB at a time): {}",
        rate(bytes, t)
    );
    // Summing n terms of magnitude at most 0.75 in any order is within (n - 1)·eps·0.75·n of
    // the exact sum, whichever order either takes; divided by n for the means.
    let n = (rows * cols) as f64;
    let want = total / n;
    let tol = 2.0 * n * f64::EPSILON * 0.75;
    support::check(
        (mean - want).abs() <= tol,
        format!("mean(m) agrees with the chunked loop within {tol:.1e}"),
        || format!("{mean} vs {want}"),
    );
    let want: ndarray::Array1<f64> = col_sums.iter().map(|s| s / rows as f64).collect();
    let tol = 2.0 * rows as f64 * f64::EPSILON * 0.75;
    support::check_loop(col_mean.view(), want.into_dyn().view(), tol);

    // The derived file, chunk by chunk against the same formula in Rust (the same operations
    // in the same order: the same answer for every element).
    let mut ms = Chunks::open(m_path, rows, cols)?;
    let mut ds = std::io::BufReader::with_capacity(8 << 20, std::fs::File::open(d_path)?);
    let len = std::fs::metadata(d_path)?.len() as usize;
    ds.seek(SeekFrom::Start((len - rows * cols) as u64))?;
    let (mut differ, mut set) = (0usize, 0usize);
    let mut flags = Vec::new();
    while let Some(mv) = ms.next()? {
        flags.resize(mv.len(), 0u8);
        ds.read_exact(&mut flags)?;
        for (&v, &d) in mv.iter().zip(&flags) {
            let want = (v - mean) * (v - mean) < 1.0 / 48.0;
            differ += usize::from(want != (d == 1));
            set += usize::from(d == 1);
        }
    }
    support::check(
        differ == 0,
        format!(
            "the derived file is a Rust loop's (m - mean)**2 < 1/48 element for element ({set} set: {:.2} %)",
            100.0 * set as f64 / (rows * cols) as f64
        ),
        || format!("{differ} elements differ"),
    );
    support::check(
        numjit_peak - rss0 <= 256.0,
        "peak RSS grew by at most 256 MiB",
        || format!("it grew by {:.1} MiB", numjit_peak - rss0),
    );
    println!(
        "  rss file/anon now: {:.1}/{:.1} MiB",
        support::status_mib("RssFile:"),
        support::status_mib("RssAnon:")
    );
    Ok(())
}
