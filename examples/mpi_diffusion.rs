//! Course problem P5 across MPI ranks (`numjit::dist::run`): 2-D diffusion with the course's
//! exact parameters (a 301² grid, 13 410 explicit steps), the whole time loop one program on
//! every rank, rows split among the ranks, one ghost row exchanged with each neighbour per
//! step. Checked bit for bit against the single-process program (rank 0 runs it too).
//!
//! ```sh
//! cargo build --release --features mpi --example mpi_diffusion
//! mpirun -n 2 target/release/examples/mpi_diffusion [--small] [--threads T] [--repeat R] [STEPS]
//! ```
//! (as root add `--allow-run-as-root`; on fewer cores than ranks `--oversubscribe`).
//! `--small`: the same program on a ten times coarser grid (29² interior points, 126 steps).
//! A wrong answer prints `FAILED: …` and exits with status 1 on every rank.

use ndarray::{s, Array2};
use numjit::dist::{self, mpi::traits::*};
use std::time::Instant;

/// The course's setup, computed as its Python does (as in `examples/diffusion.rs`).
struct Problem {
    nrows: usize,
    nsteps: usize,
    coef: f64,
    init: Array2<f64>,
}

impl Problem {
    fn new(dx: f64) -> Problem {
        let (d, x1, x2, runtime) = (1.0f64, -10.0f64, 10.0f64, 15.0f64);
        let nrows = ((x2 - x1) / dx) as usize;
        let dx = (x2 - x1) / nrows as f64;
        let dt = 0.25 * (dx * dx) / d;
        let nsteps = (runtime / dt) as usize;
        let f = |x: f64| 1.0 - (1.0 - 4.0 * ((x - (x1 + x2) / 2.0) / (x2 - x1)).abs()).abs();
        let x = |i: usize| x1 + ((i as f64 - 1.0) * (x2 - x1)) / nrows as f64;
        let init = Array2::from_shape_fn((nrows + 2, nrows + 2), |(i, j)| {
            let interior = (1..=nrows).contains(&i) && (1..=nrows).contains(&j);
            if interior {
                f(x(i)) * f(x(j))
            } else {
                0.0
            }
        });
        Problem {
            nrows,
            nsteps,
            coef: (d / (dx * dx)) * dt,
            init,
        }
    }
}

/// The course's step, `lapl` summed left to right as NumPy does, as one program: a time loop
/// with a swap (the program `examples/diffusion.rs` runs in one process).
const PROGRAM: &str = "for step in range(nsteps):
    next[1:-1, 1:-1] = d[1:-1, 1:-1] + coef*(d[2:, 1:-1] + d[:-2, 1:-1] + d[1:-1, 2:] + d[1:-1, :-2] - 4*d[1:-1, 1:-1])
    swap(d, next)";

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (mut small, mut steps, mut threads, mut repeat) = (false, None, None, 3usize);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--small" => small = true,
            "--threads" => threads = Some(args.next().ok_or("--threads needs a count")?.parse()?),
            "--repeat" => repeat = args.next().ok_or("--repeat needs a count")?.parse()?,
            s => steps = Some(s.parse()?),
        }
    }
    if let Some(t) = threads {
        numjit::set_num_threads(t);
    }
    let universe = dist::mpi::initialize().ok_or("MPI was initialized already")?;
    let world = universe.world();
    let (rank, size) = (world.rank() as usize, world.size());
    let mut p = Problem::new(if small { 0.667 } else { 0.0667 });
    p.nsteps = steps.unwrap_or(p.nsteps);
    let n = p.nrows + 2;
    // Equal blocks of rows (numjit's own partition cuts at blocks of 128 rows, for reductions:
    // a 301-row grid would be one or three blocks).
    let counts: Vec<usize> = (0..size as usize)
        .map(|r| n / size as usize + usize::from(r < n % size as usize))
        .collect();
    let part = dist::Partition::new(&[n, n], &counts, &world)?;
    let rows = part.rows(rank);

    // Each run starts from the initial field: `d` and `next` are this rank's rows of it.
    let mut times = Vec::new();
    let mut halo = dist::HaloStats::default();
    let mut mine = Array2::zeros((rows.len(), n));
    for _ in 0..repeat.max(1) {
        let mut d = p.init.slice(s![rows.start..rows.end, ..]).to_owned();
        let mut next = d.clone();
        let vars = numjit::Vars::new()
            .with("nsteps", p.nsteps as i64)
            .with("coef", p.coef)
            .with_out("d", &mut d)
            .with_out("next", &mut next);
        world.barrier();
        let t = Instant::now();
        halo = dist::run(&world, &part, PROGRAM, &vars)?;
        world.barrier();
        times.push(t.elapsed().as_secs_f64());
        drop(vars);
        mine = d;
    }
    let t = median(times);

    // The single-process program on rank 0 (same threads), sent to every rank to compare.
    let mut single = Array2::<f64>::zeros((n, n));
    let mut t_single = 0.0;
    if rank == 0 {
        let mut ts = Vec::new();
        for _ in 0..repeat.max(1) {
            let (mut d, mut next) = (p.init.clone(), p.init.clone());
            let vars = numjit::Vars::new()
                .with("nsteps", p.nsteps as i64)
                .with("coef", p.coef)
                .with_out("d", &mut d)
                .with_out("next", &mut next);
            let t = Instant::now();
            numjit::run(PROGRAM, &vars)?;
            ts.push(t.elapsed().as_secs_f64());
            drop(vars);
            single = d;
        }
        t_single = median(ts);
    }
    let flat = single.as_slice_mut().ok_or("a fresh array is contiguous")?;
    world.process_at_rank(0).broadcast_into(flat);
    let same_here = mine
        .iter()
        .zip(single.slice(s![rows.start..rows.end, ..]).iter())
        .all(|(a, b)| a.to_bits() == b.to_bits());
    let mut same = 0u8;
    world.all_reduce_into(
        &u8::from(same_here),
        &mut same,
        dist::mpi::collective::SystemOperation::min(),
    );
    // The slowest rank's share of time in the exchange (waiting for a neighbour included).
    let mut comm = 0.0f64;
    world.all_reduce_into(
        &halo.seconds,
        &mut comm,
        dist::mpi::collective::SystemOperation::max(),
    );
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
            "P5 2-D diffusion across MPI ranks: {}² interior points, {} steps, {size} ranks x {} threads ({cpu})",
            p.nrows,
            p.nsteps,
            numjit::num_threads()
        );
        println!(
            "  rows per rank: {:?}",
            (0..size as usize)
                .map(|r| part.rows(r).len())
                .collect::<Vec<_>>()
        );
        println!(
            "  time {:.1} ms (median of {}), {:.2} us per step; halo exchange {:.1} ms ({:.1}%, slowest rank), {} exchanges, {} bytes sent by rank 0",
            t * 1e3,
            repeat.max(1),
            t * 1e6 / p.nsteps.max(1) as f64,
            comm * 1e3,
            100.0 * comm / t,
            halo.exchanges,
            halo.bytes_sent
        );
        println!(
            "  single process: {:.1} ms, {:.2} us per step",
            t_single * 1e3,
            t_single * 1e6 / p.nsteps.max(1) as f64
        );
        let c = p.nrows / 2 + 1;
        println!(
            "  final density: sum {:.6e}, centre {:.6e}",
            single.sum(),
            single[[c, c]]
        );
    }
    if same == 1 {
        if rank == 0 {
            println!("check: bit-identical to the single-process run — ok");
        }
        Ok(())
    } else {
        eprintln!("FAILED: rank {rank}: its rows differ from the single-process run");
        std::process::exit(1)
    }
}
