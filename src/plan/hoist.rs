//! Broadcast-invariant subexpressions, computed once: when a costly subexpression has far fewer
//! elements than the loop nest it sits in (`sin(radians(lat))` with `lat` of shape (nlat, 1, 1)
//! inside a (nlat, nr, nlon) expression), it is computed into a buffer of its own shape first,
//! and the loop nest reads it like an input. Which nodes qualify depends on the shapes, so the
//! choice is made per evaluation, and the code for each choice is compiled on first need and
//! kept (a few variants per expression at most).
//!
//! ```text
//! vx = -sin(radians(lon))*vlon - sin(radians(lat))*cos(radians(lon))*vlat + ...
//!      ^^^^^^^^^^^^^^^^^^ (nlon,)  ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ (nlat, 1, nlon)
//! ```

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use crate::codegen::{self, Code};
use crate::core::error::Result;
use crate::core::shape::Shape;
use crate::ir::{Graph, NodeId, NodeKind};
use crate::ops::Op;
use crate::plan::{self, Stage};

/// Below this many elements in a loop nest nothing is hoisted: a compile costs more than the
/// repeated work can.
const MIN_ELEMENTS: usize = 1 << 14;

/// A subexpression is hoisted when the loop nest has at least this many times its elements.
const MIN_RATIO: usize = 4;

/// The most variants kept per expression (each is a compiled module).
const MAX_VARIANTS: usize = 4;

/// An `auto` kernel's tier-up: its graph (the background compile's own copy), the time its
/// plain plan has run, and the LLVM code once compiled.
struct Upgrade {
    graph: Graph,
    nanos: AtomicU64,
    state: AtomicU8,
    code: OnceLock<Code>,
}

const IDLE: u8 = 0;
const COMPILING: u8 = 1;
const DONE: u8 = 2;
const FAILED: u8 = 3;

/// The stages and code of one choice of hoisted nodes.
pub(crate) struct Variant {
    pub stages: Vec<Stage>,
    pub code: Code,
}

/// Compiled code for a graph: the plain plan, and variants that hoist subexpressions.
pub(crate) struct Kernels {
    pub stages: Vec<Stage>,
    pub code: Code,
    /// The code generator of the plain plan, which compiles the variants too (Cranelift for
    /// an `auto` kernel: only its plain plan tiers up).
    tier: codegen::Tier,
    /// An `auto` kernel's second code, compiled by LLVM once it has run long enough.
    upgrade: Option<Arc<Upgrade>>,
    /// Per node: its subexpression calls a vector math function, divides or takes a root.
    costly: Vec<bool>,
    variants: Mutex<Vec<(Vec<NodeId>, Arc<Variant>)>>,
}

impl Kernels {
    /// Plans and compiles `g` (the plain plan; variants come later, on demand).
    pub fn compile(g: &Graph) -> Result<Kernels> {
        let stages = plan::plan(g);
        let tier = codegen::current_tier()?;
        let code = codegen::compile_with(g, &stages, tier)?;
        let upgrade = (tier == codegen::Tier::Auto && cfg!(feature = "llvm")).then(|| {
            Arc::new(Upgrade {
                graph: g.clone(),
                nanos: AtomicU64::new(0),
                state: AtomicU8::new(IDLE),
                code: OnceLock::new(),
            })
        });
        let tier = match tier {
            codegen::Tier::Auto => codegen::Tier::Cranelift,
            t => t,
        };
        Ok(Kernels {
            stages,
            code,
            tier,
            upgrade,
            costly: costly(g),
            variants: Mutex::new(Vec::new()),
        })
    }

    /// The plain plan's code: LLVM's once an `auto` kernel has tiered up, else the first.
    pub fn plain_code(&self) -> &Code {
        self.upgrade
            .as_ref()
            .and_then(|u| u.code.get())
            .unwrap_or(&self.code)
    }

    /// Counts `spent` running the plain plan; an `auto` kernel past [`codegen::AUTO_THRESHOLD`]
    /// starts its LLVM compile on a thread of its own (once; a failed compile leaves the
    /// Cranelift code in place).
    pub fn record(&self, spent: Duration) {
        let Some(u) = &self.upgrade else { return };
        let total = u
            .nanos
            .fetch_add(spent.as_nanos() as u64, Ordering::Relaxed);
        if total + (spent.as_nanos() as u64) < codegen::AUTO_THRESHOLD.as_nanos() as u64
            || u.state
                .compare_exchange(IDLE, COMPILING, Ordering::AcqRel, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        let (u, stages) = (u.clone(), self.stages.clone());
        let spawned = std::thread::Builder::new()
            .name("numjit-llvm".into())
            .spawn(move || {
                let state = match codegen::compile_with(&u.graph, &stages, codegen::Tier::Llvm) {
                    Ok(code) => {
                        let _ = u.code.set(code);
                        DONE
                    }
                    Err(_) => FAILED,
                };
                u.state.store(state, Ordering::Release);
            });
        if spawned.is_err() {
            if let Some(u) = &self.upgrade {
                u.state.store(FAILED, Ordering::Release);
            }
        }
    }

    /// True once an `auto` kernel runs on LLVM code (for tests).
    #[cfg(all(test, feature = "llvm"))]
    pub fn upgraded(&self) -> bool {
        self.plain_code().on_llvm()
    }

    /// The code to run for these node shapes: `None` for the plain plan, or the variant that
    /// computes the small costly subexpressions once.
    pub fn variant(&self, g: &Graph, shapes: &[Shape]) -> Result<Option<Arc<Variant>>> {
        let hoisted = choose(g, &self.stages, shapes, &self.costly);
        if hoisted.is_empty() {
            return Ok(None);
        }
        let mut variants = self.variants.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, v)) = variants.iter().find(|(h, _)| *h == hoisted) {
            return Ok(Some(v.clone()));
        }
        let stages = plan::plan_hoisting(g, &hoisted);
        let code = codegen::compile_with(g, &stages, self.tier)?;
        let v = Arc::new(Variant { stages, code });
        if variants.len() == MAX_VARIANTS {
            variants.remove(0);
        }
        variants.push((hoisted, v.clone()));
        Ok(Some(v))
    }
}

/// Elements of a shape, saturating: shapes too large to allocate are reported later, by the
/// runtime, as limit errors.
fn size(shape: &[usize]) -> usize {
    shape.iter().fold(1usize, |n, &d| n.saturating_mul(d))
}

/// Per node: whether computing it involves a costly op (a vector math call, a division, a root).
fn costly(g: &Graph) -> Vec<bool> {
    let mut out = vec![false; g.nodes.len()];
    for (id, node) in g.nodes.iter().enumerate() {
        out[id] = match &node.kind {
            NodeKind::Apply(op, args) => {
                codegen::has_vector_function(*op)
                    || matches!(op, Op::Div | Op::Sqrt)
                    || args.iter().any(|&a| out[a])
            }
            NodeKind::Cast(a) => out[*a],
            NodeKind::Call(..) => true,
            _ => false,
        };
    }
    out
}

/// The maximal costly subexpressions with at most 1/[`MIN_RATIO`] of the elements of the loop
/// nest they are in and no more elements than their widest argument, in node order.
fn choose(g: &Graph, stages: &[Stage], shapes: &[Shape], costly: &[bool]) -> Vec<NodeId> {
    let mut out = Vec::new();
    for stage in stages {
        let elements = stage
            .values()
            .iter()
            .map(|&v| size(&shapes[v]))
            .max()
            .unwrap_or(0);
        if elements < MIN_ELEMENTS {
            continue;
        }
        let mut seen = vec![false; g.nodes.len()];
        let mut stack = stage.values().to_vec();
        while let Some(id) = stack.pop() {
            if std::mem::replace(&mut seen[id], true) || stage.leaves.contains(&id) {
                continue;
            }
            let node = g.node(id);
            // 0-d subexpressions are already computed once per kernel call.
            if node.rank == 0 || !costly[id] {
                continue;
            }
            // An outer product of small pieces (`sinlat * coslon`, (nlat, 1, nlon)) is bigger
            // than its pieces: hoisting the pieces costs fewer buffer elements and loads.
            let n = size(&shapes[id]);
            let widest_arg = g.args(id).iter().map(|&a| size(&shapes[a])).max();
            let grows = widest_arg.is_some_and(|w| n > w);
            if !stage.values().contains(&id) && n * MIN_RATIO <= elements && !grows {
                out.push(id);
                continue;
            }
            stack.extend(g.args(id));
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::dtype::DType;
    use crate::ir::InputDecl;

    fn graph(src: &str) -> Graph {
        let decl = |name: &str| InputDecl {
            name: name.into(),
            dtype: DType::Float64,
            rank: 2,
            view: None,
            literal: None,
        };
        let ast = crate::parse::parse_expr(src).unwrap();
        crate::opt::optimize(&crate::lower::lower(&ast, &[decl("a"), decl("b")]).unwrap())
    }

    /// The hoisted nodes' shapes when `a` and `b` have these shapes.
    fn hoisted(src: &str, a: &[usize], b: &[usize]) -> Vec<Shape> {
        let g = graph(src);
        let view = |shape: &[usize]| crate::core::view::RawView {
            dtype: DType::Float64,
            ptr: std::ptr::null(),
            shape: shape.into(),
            strides: smallvec::smallvec![0; shape.len()],
        };
        let shapes = crate::core::shape::infer(&g, &[view(a), view(b)]).unwrap();
        let stages = plan::plan(&g);
        choose(&g, &stages, &shapes, &costly(&g))
            .into_iter()
            .map(|n| shapes[n].clone())
            .collect()
    }

    #[test]
    fn small_costly_subexpressions_are_hoisted() {
        // sin(a)*2 + 1 has (1000, 1) elements under a (1000, 100) loop nest: hoisted whole.
        assert_eq!(
            hoisted("(sin(a)*2 + 1) * b", &[1000, 1], &[1000, 100]),
            [Shape::from_slice(&[1000, 1])]
        );
        // An outer product of two small factors: each factor once (1000 sines, 100 cosines),
        // their product per element.
        assert_eq!(
            hoisted("sin(a) * cos(b)", &[1000, 1], &[1, 100]),
            [Shape::from_slice(&[1000, 1]), Shape::from_slice(&[1, 100])]
        );
        // Same shapes: nothing to gain.
        assert!(hoisted("sin(a) * b", &[1000, 100], &[1000, 100]).is_empty());
        // Cheap subexpressions stay inline; tiny nests are not worth a compile.
        assert!(hoisted("(a + 1) * b", &[1000, 1], &[1000, 100]).is_empty());
        assert!(hoisted("sin(a) * b", &[10, 1], &[10, 100]).is_empty());
    }
}

#[cfg(all(test, feature = "llvm"))]
mod auto_tests {
    use super::*;
    use crate::core::dtype::DType;
    use crate::ir::InputDecl;

    #[test]
    fn an_auto_kernel_tiers_up_once_it_has_run_long_enough() {
        let inputs = vec![InputDecl {
            name: "a".into(),
            dtype: DType::Float64,
            rank: 1,
            view: None,
            literal: None,
        }];
        let ast = crate::parse::parse_expr("sum(a * a) + a").unwrap_or_else(|e| panic!("{e}"));
        let g = crate::opt::optimize(
            &crate::lower::lower(&ast, &inputs).unwrap_or_else(|e| panic!("{e}")),
        );
        let k = codegen::with_tier(Some(codegen::Tier::Auto), || Kernels::compile(&g))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!k.upgraded() && !k.code.on_llvm());
        // Below the threshold nothing starts.
        k.record(Duration::from_millis(1));
        std::thread::sleep(Duration::from_millis(50));
        assert!(!k.upgraded());
        k.record(codegen::AUTO_THRESHOLD);
        let start = std::time::Instant::now();
        while !k.upgraded() {
            assert!(start.elapsed() < Duration::from_secs(120), "no tier-up");
            std::thread::sleep(Duration::from_millis(5));
        }
        // The first code stays alive beside the second (a call may still be running on it).
        assert!(!k.code.on_llvm());
    }
}
