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

    // This rank's share computed alone, without any communication: the difference to the
    // distributed call is what combining the ranks costs (agreement, gathering the roots).
    let rows = part.rows(rank as usize);
    let alone_src = src.replace("arange(n)", "arange(lo, hi)");
    let alone_vars = numjit::Vars::new()
        .with("lo", rows.start as i64)
        .with("hi", rows.end as i64)
        .with("dx", dx);
    let mut local = Vec::new();
    for _ in 0..6 {
        let t = Instant::now();
        numjit::evaluate(&alone_src, &alone_vars)?;
        local.push(t.elapsed().as_secs_f64());
    }
    local.remove(0);
    local.sort_by(f64::total_cmp);
    let mut slowest = 0.0;
    world.all_reduce_into(
        &local[local.len() / 2],
        &mut slowest,
        dist::mpi::collective::SystemOperation::max(),
    );

    let single = if rank == 0 {
        let a = numjit::evaluate(src, &vars)?;
        a.as_f64().ok_or("area is not float64")?.sum()
    } else {
        0.0
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
            "  time {:.2} ms (median of 5); slowest rank alone {:.2} ms; combining {:.0}%",
            t * 1e3,
            slowest * 1e3,
            100.0 * ((t - slowest) / t).max(0.0)
        );
        println!("  single process: {single:.15}");
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
