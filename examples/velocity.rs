//! Course problem P7: spherical → Cartesian velocity, as one numjit program.
//!
//! Written as the course writes it: the trigonometry of the coordinates as intermediates, then
//! three outputs. numjit computes the three outputs in one fused pass over the
//! (nlat, nr, nlon) fields, and the subexpressions of the small coordinate arrays (the sines and
//! cosines, and their products of shape (nlat, 1, nlon)) once, before that pass, because they
//! have far fewer elements than the pass (`src/hoist.rs`). Checked against a plain Rust loop.
//!
//! `cargo run --release --example velocity [--small]` (default nlat, nlon, nr = 250, 400, 300).

use std::time::Instant;

use ndarray::{Array1, Array3};
use numjit::{Engine, Vars};

const PROGRAM: &str = "
sinlat = sin(radians(lat)); coslat = cos(radians(lat))
sinlon = sin(radians(lon)); coslon = cos(radians(lon))
vx = -sinlon*vlon - sinlat*coslon*vlat + coslat*coslon*vrad
vy = coslon*vlon - sinlat*sinlon*vlat + coslat*sinlon*vrad
vz = coslat*vlat + sinlat*vrad
";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let small = std::env::args().any(|a| a == "--small");
    let (nlat, nlon, nr) = if small { (25, 40, 30) } else { (250, 400, 300) };
    let lat = Array1::<f64>::linspace(-90.0, 90.0, nlat).into_shape_with_order((nlat, 1, 1))?;
    let lon = Array1::<f64>::linspace(0.0, 360.0, nlon);
    let field = |g: f64| {
        Array3::from_shape_fn((nlat, nr, nlon), |(i, j, k)| {
            ((i * nr * nlon + j * nlon + k) as f64 * g).fract() - 0.5
        })
    };
    let (vlat, vlon, vrad) = (field(0.618), field(0.7548), field(0.5698));
    let mut out: Vec<Array3<f64>> = (0..3).map(|_| Array3::zeros((nlat, nr, nlon))).collect();
    let elapsed = {
        let [vx, vy, vz] = &mut out[..] else {
            unreachable!("three outputs")
        };
        let vars = Vars::new()
            .with("lat", &lat)
            .with("lon", &lon)
            .with("vlat", &vlat)
            .with("vlon", &vlon)
            .with("vrad", &vrad)
            .with_out("vx", vx)
            .with_out("vy", vy)
            .with_out("vz", vz);
        let kernel = Engine::default().compile(PROGRAM, &vars.signature())?;
        kernel.run(&vars)?; // warm-up: first touch of the outputs
        let start = Instant::now();
        kernel.run(&vars)?;
        start.elapsed()
    };
    println!(
        "P7 velocity conversion: nlat, nr, nlon = {nlat}, {nr}, {nlon}; {} threads",
        numjit::num_threads()
    );
    println!(
        "  time {:.1} ms ({:.2} ns/element, 3 outputs)",
        elapsed.as_secs_f64() * 1e3,
        elapsed.as_secs_f64() * 1e9 / (nlat * nr * nlon) as f64
    );
    // The same formulas as a plain loop (same operation order: bit-for-bit).
    let mut worst = 0.0f64;
    for i in 0..nlat {
        let (sl, cl) = (
            lat[[i, 0, 0]].to_radians().sin(),
            lat[[i, 0, 0]].to_radians().cos(),
        );
        for j in 0..nr {
            for k in 0..nlon {
                let (so, co) = (lon[k].to_radians().sin(), lon[k].to_radians().cos());
                let (a, b, c) = (vlat[[i, j, k]], vlon[[i, j, k]], vrad[[i, j, k]]);
                let expect = [
                    -so * b - sl * co * a + cl * co * c,
                    co * b - sl * so * a + cl * so * c,
                    cl * a + sl * c,
                ];
                for (o, e) in out.iter().zip(expect) {
                    worst = worst.max((o[[i, j, k]] - e).abs());
                }
            }
        }
    }
    if worst > 1e-14 {
        eprintln!("FAILED: max |numjit - loop| = {worst:e}");
        std::process::exit(1);
    }
    println!("  check: vx, vy, vz agree with a Rust loop within {worst:.1e} — ok");
    Ok(())
}
