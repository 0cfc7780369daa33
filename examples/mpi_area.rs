//! Course problem P16: P9's area under 0.7x³ - 2x² + 4 on [0, 3], `sum((0.7*x**3 - 2*x**2 +
//! 4)*dx)` with x_i = i·dx, dx = 3/n, over MPI ranks (`numjit::dist`). `x` is a generator, so
//! no rank allocates anything; each rank sums its whole subtrees of the pairwise tree and the
//! ranks combine the roots in the tree's order. Checked bit for bit against the single-process
//! value (rank 0 computes it too).
//!
//! ```sh
//! cargo build --release --features mpi --example mpi_area
//! mpirun -n 2 target/release/examples/mpi_area [--small] [--threads T] [n]
//! ```
//! (as root add `--allow-run-as-root`; on fewer cores than ranks `--oversubscribe`). A wrong
//! answer prints `FAILED: …` and exits with status 1 on every rank.

use numjit::dist::{self, mpi::traits::*};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut n: usize = 100_000_000;
    let mut threads = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            // Not a multiple of the tree's block, so the last leaf is short.
            "--small" => n = 1_000_003,
            "--threads" => threads = Some(args.next().ok_or("--threads needs a count")?.parse()?),
            s => n = s.parse()?,
        }
    }
    if let Some(t) = threads {
        numjit::set_num_threads(t);
    }
    let universe = dist::mpi::initialize().ok_or("MPI was initialized already")?;
    let world = universe.world();
    let (rank, size) = (world.rank(), world.size());
    let dx = 3.0 / n as f64;
    let expr = "sum((0.7*x**3 - 2*x**2 + 4)*dx)";
    // `x` written out as the generator it stands for (CSE computes it once per element).
    let src = "sum((0.7*(arange(n)*dx)**3 - 2*(arange(n)*dx)**2 + 4)*dx)";
    let vars = numjit::Vars::new().with("n", n as i64).with("dx", dx);
    let part = dist::partition(&[n], &world)?;

    // Median of 5 (the first run compiles).
    let mut times = Vec::new();
    let mut area = 0.0;
    for _ in 0..6 {
        world.barrier();
        let t = Instant::now();
        let a = dist::evaluate(&world, &part, src, &vars)?;
        times.push(t.elapsed().as_secs_f64());
        area = a.as_f64().ok_or("area is not float64")?.sum();
    }
    times.remove(0);
    times.sort_by(f64::total_cmp);
    let t = times[times.len() / 2];

    // What combining the ranks costs (two agreements and a gather of the subtree roots, each a
    // collective): the same call on 1024 points, whose evaluation is a few microseconds.
    let tiny = numjit::Vars::new()
        .with("n", 1024_i64)
        .with("dx", 3.0 / 1024.0);
    let tiny_part = dist::partition(&[1024], &world)?;
    let mut fixed = Vec::new();
    for _ in 0..6 {
        world.barrier();
        let t = Instant::now();
        dist::evaluate(&world, &tiny_part, src, &tiny)?;
        fixed.push(t.elapsed().as_secs_f64());
    }
    fixed.remove(0);
    fixed.sort_by(f64::total_cmp);
    let fixed = fixed[fixed.len() / 2];

    // The single-process value and time (rank 0, same threads).
    let (single, t_single) = if rank == 0 {
        let mut ts = Vec::new();
        let mut v = 0.0;
        for _ in 0..6 {
            let t = Instant::now();
            let a = numjit::evaluate(src, &vars)?;
            ts.push(t.elapsed().as_secs_f64());
            v = a.as_f64().ok_or("area is not float64")?.sum();
        }
        ts.remove(0);
        ts.sort_by(f64::total_cmp);
        (v, ts[ts.len() / 2])
    } else {
        (0.0, 0.0)
    };
    let mut same = [u8::from(single.to_bits() == area.to_bits())];
    world.process_at_rank(0).broadcast_into(&mut same[..]);
    if rank == 0 {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split(':').nth(1))
                    .map(|s| s.trim().to_string())
            })
            .unwrap_or_else(|| "unknown CPU".into());
        println!(
            "P16 area across MPI ranks: n = {n}, {size} ranks x {} threads ({cpu})",
            numjit::num_threads()
        );
        println!("  {expr}, x = arange(n)*dx");
        println!("  area = {area:.15}");
        println!(
            "  time {:.2} ms (median of 5); combining the ranks {:.3} ms ({:.1}%, the call on 1024 points)",
            t * 1e3,
            fixed * 1e3,
            100.0 * fixed / t
        );
        println!("  single process: {single:.15}, {:.2} ms", t_single * 1e3);
    }
    if same[0] == 1 {
        if rank == 0 {
            println!("check: bit-identical to the single-process sum — ok");
        }
        Ok(())
    } else {
        eprintln!("FAILED: rank {rank}: {area:e} differs from the single-process sum");
        std::process::exit(1)
    }
}
