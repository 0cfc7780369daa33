//! Typed IR stages → native kernels, with Cranelift (and LLVM, feature `llvm`).
//!
//! `jit.rs` owns the target and JIT memory; `translate/` turns one stage into one Cranelift
//! function; `llvm/` is the second tier (the same stages, the same bits, full-width vectors);
//! `tier.rs` which tier compiles; `object_cache.rs` where the LLVM tier caches its objects.

mod jit;
#[cfg(feature = "llvm")]
mod llvm;
mod object_cache;
mod staging;
mod tier;
mod translate;

#[cfg(test)]
pub(crate) use object_cache::{count as count_cache_event, Event as CacheEvent};
pub use object_cache::{
    object_cache_dir, object_cache_stats, set_object_cache_dir, ObjectCacheStats,
};
pub(crate) use tier::{current as current_tier, scoped as with_tier};
pub use tier::{set_tier, tier, Tier, AUTO_THRESHOLD};

#[cfg(feature = "internals")]
pub(crate) use translate::lanes::set_enabled as set_kernel_lanes;
mod vector;

pub(crate) use translate::KernelFn;

use cranelift_codegen::Context;
use cranelift_frontend::FunctionBuilderContext;
use cranelift_jit::JITModule;
use cranelift_module::{FuncId, Linkage, Module};

use crate::core::error::Result;
use crate::ir::{Graph, NodeKind};
use crate::plan::{Stage, StageKind};
use jit::{internal, CodeOwner};

/// The native code of one expression: a kernel per stage, and the memory they live in.
pub(crate) struct Code {
    /// `kernels[i]` runs `stages[i]`.
    pub kernels: Vec<StageKernel>,
    // Declared after `kernels` and never read: they keep the code alive and free it on drop
    // (a Cranelift module, and with the LLVM tier an LLVM engine too).
    _owners: Vec<Owner>,
}

impl Code {
    /// True when some stage runs on LLVM code.
    #[cfg(all(test, feature = "llvm"))]
    pub(crate) fn on_llvm(&self) -> bool {
        self._owners.iter().any(|o| matches!(o, Owner::Llvm(_)))
    }
}

/// The memory some kernels' code lives in (held only to be dropped: its fields are never read).
#[allow(dead_code)]
enum Owner {
    Cranelift(Box<CodeOwner>),
    #[cfg(feature = "llvm")]
    Llvm(llvm::LlvmCode),
}

/// One stage's native code and the per-thread scratch it needs.
#[derive(Clone, Copy)]
pub(crate) struct StageKernel {
    pub f: KernelFn,
    pub scratch_bytes: usize,
    /// For a reduction over a non-innermost axis: the column kernel (see `translate`).
    pub columns: Option<KernelFn>,
    /// For a map compiled by LLVM on x86-64: `f` with non-temporal vector stores to the
    /// outputs, for outputs written once and larger than the last-level cache (see
    /// `exec::drive::streams`); the same values.
    pub streaming: Option<KernelFn>,
}

/// True when `op` has a precompiled vector kernel (a block-staged call: the costly ops).
pub(crate) fn has_vector_function(op: crate::ops::Op) -> bool {
    staging::VectorFn::of(op).is_some()
}

fn staging_of(g: &Graph, stage: &Stage) -> Option<staging::Staging> {
    match stage.kind {
        StageKind::Map => staging::plan(g, stage),
        // Reductions call the scalar helpers: staging inside the accumulator loop is future work.
        StageKind::Reduce { .. } => None,
    }
}

/// True for a reduction over one axis of an array of two or more: it also gets a column kernel,
/// used for a non-innermost axis (`sum(c, axis=0)` walks rows) and for a short innermost one
/// (`sum(d**2, axis=-1)` with 3 elements per output folds 3 rows of outputs instead).
fn has_columns(g: &Graph, stage: &Stage) -> bool {
    match stage.kind {
        StageKind::Reduce { node, .. } => matches!(
            g.node(node).kind,
            NodeKind::Reduce { axis: Some(_), arg, .. } if g.node(arg).rank >= 2
        ),
        StageKind::Map => false,
    }
}

/// Compiles every stage of `g` with `tier`: Cranelift, or LLVM for every stage it translates
/// (`llvm::supports`) and Cranelift for the others.
pub(crate) fn compile_with(g: &Graph, stages: &[Stage], tier: Tier) -> Result<Code> {
    match tier {
        // The first code of an `auto` kernel is Cranelift's (`plan::hoist` tiers it up).
        Tier::Cranelift | Tier::Auto => {
            let all: Vec<&Stage> = stages.iter().collect();
            let (kernels, owner) = compile_cranelift(g, &all)?;
            Ok(Code {
                kernels,
                _owners: vec![Owner::Cranelift(Box::new(owner))],
            })
        }
        Tier::Llvm => compile_llvm(g, stages),
    }
}

#[cfg(not(feature = "llvm"))]
fn compile_llvm(_: &Graph, _: &[Stage]) -> Result<Code> {
    Err(crate::Error::new(
        crate::ErrorKind::Value,
        "the llvm tier needs numjit built with feature `llvm`",
    ))
}

/// The LLVM tier: one LLVM module for the stages it translates, one Cranelift module for the
/// rest (complex values, byte strings), each stage's kernel taken from its own.
#[cfg(feature = "llvm")]
fn compile_llvm(g: &Graph, stages: &[Stage]) -> Result<Code> {
    let (on_llvm, on_cranelift): (Vec<&Stage>, Vec<&Stage>) =
        stages.iter().partition(|s| llvm::supports(g, s));
    let mut owners = Vec::with_capacity(2);
    let mut from_llvm = Vec::new().into_iter();
    if !on_llvm.is_empty() {
        let (kernels, owner) = llvm::compile(g, &on_llvm)?;
        owners.push(Owner::Llvm(owner));
        from_llvm = kernels.into_iter();
    }
    let mut from_cranelift = Vec::new().into_iter();
    if !on_cranelift.is_empty() {
        let (kernels, owner) = compile_cranelift(g, &on_cranelift)?;
        owners.push(Owner::Cranelift(Box::new(owner)));
        from_cranelift = kernels.into_iter();
    }
    let kernels = stages
        .iter()
        .map(|s| {
            let next = if llvm::supports(g, s) {
                from_llvm.next()
            } else {
                from_cranelift.next()
            };
            next.ok_or_else(|| jit::internal("compile", "a stage has no kernel"))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Code {
        kernels,
        _owners: owners,
    })
}

/// Compiles `stages` into one fresh Cranelift module.
fn compile_cranelift(g: &Graph, stages: &[&Stage]) -> Result<(Vec<StageKernel>, CodeOwner)> {
    let mut module = jit::new_module()?;
    let mut ctx = module.make_context();
    let mut fctx = FunctionBuilderContext::new();
    let mut ids = Vec::with_capacity(stages.len());
    let mut n = 0;
    let mut define = |module: &mut JITModule,
                      stage: &Stage,
                      staging: Option<&staging::Staging>,
                      columns: bool| {
        ctx.func.signature = translate::kernel_signature(module);
        translate::translate(g, stage, module, &mut ctx.func, &mut fctx, staging, columns)?;
        n += 1;
        let id = module
            .declare_function(&format!("kernel{n}"), Linkage::Local, &ctx.func.signature)
            .map_err(|e| internal("declare kernel", e))?;
        module
            .define_function(id, &mut ctx)
            .map_err(|e| internal("compile kernel", format!("{e:?}")))?;
        module.clear_context(&mut ctx);
        Ok::<FuncId, crate::Error>(id)
    };
    for &stage in stages {
        let staging = staging_of(g, stage);
        let main = define(&mut module, stage, staging.as_ref(), false)?;
        let columns = if has_columns(g, stage) {
            Some(define(&mut module, stage, None, true)?)
        } else {
            None
        };
        let scratch = staging.map_or(0, |s| s.scratch_bytes.next_multiple_of(64))
            + translate::invariant_scratch(stage.leaves.len());
        ids.push((main, columns, scratch));
    }
    module
        .finalize_definitions()
        .map_err(|e| internal("finalize kernels", e))?;
    let address = |id: FuncId| {
        let ptr = module.get_finalized_function(id);
        // SAFETY: every function was built with `kernel_signature`, i.e. five i64 parameters and
        // no results in the host's C calling convention, which is `KernelFn`.
        unsafe { std::mem::transmute::<*const u8, KernelFn>(ptr) }
    };
    let kernels = ids
        .into_iter()
        .map(|(main, columns, scratch_bytes)| StageKernel {
            f: address(main),
            scratch_bytes,
            columns: columns.map(address),
            streaming: None,
        })
        .collect();
    Ok((kernels, CodeOwner::new(module)))
}

/// The Cranelift IR of every stage, before optimization (for `:clif` in the REPL).
pub(crate) fn clif_text(g: &Graph, stages: &[Stage]) -> Result<String> {
    let mut module = jit::new_module()?;
    let mut fctx = FunctionBuilderContext::new();
    let mut text = String::new();
    for (i, stage) in stages.iter().enumerate() {
        // A reduction over one axis also has its column kernel (see `has_columns`).
        for columns in [false, true] {
            if columns && !has_columns(g, stage) {
                continue;
            }
            let mut ctx = Context::new();
            ctx.func.signature = translate::kernel_signature(&module);
            let staging = staging_of(g, stage).filter(|_| !columns);
            translate::translate(
                g,
                stage,
                &mut module,
                &mut ctx.func,
                &mut fctx,
                staging.as_ref(),
                columns,
            )?;
            let which = if columns { ", column kernel" } else { "" };
            text.push_str(&format!(
                "; stage {i}: {:?}{which}\n{}\n",
                stage.kind,
                ctx.func.display()
            ));
        }
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::dtype::DType;
    use crate::ir::InputDecl;

    fn clif_of(src: &str, dtype: DType) -> String {
        let inputs = vec![InputDecl {
            name: "a".into(),
            dtype,
            rank: 1,
            view: None,
            literal: None,
        }];
        let g = crate::opt::optimize(
            &crate::lower::lower(&crate::parse::parse_expr(src).unwrap(), &inputs).unwrap(),
        );
        clif_text(&g, &crate::plan::plan(&g)).unwrap()
    }

    #[test]
    fn float_arithmetic_runs_as_vectors() {
        assert!(clif_of("((.25*a + .75)*a - 1.5)*a - 2", DType::Float64).contains("f64x2"));
        assert!(clif_of("a * 2.5 + 1", DType::Float32).contains("f32x4"));
    }

    #[test]
    fn transcendentals_are_block_staged() {
        // sin and cos of one argument: a single sincos call per block.
        let clif = clif_of("sin(2*pi*a)**2 + cos(2*pi*a)**2", DType::Float64);
        assert_eq!(clif.matches("call_indirect").count(), 1, "{clif}");
        assert!(clif.contains("f64x2"));
        let clif = clif_of("sin(a)**2 + cos(2*a)**2", DType::Float64);
        assert_eq!(clif.matches("call_indirect").count(), 2, "{clif}");
    }

    #[test]
    fn complex_transcendentals_are_block_staged() {
        // One block call per function, no per-element helper; complex sin and cos of one
        // argument are two calls (the real sincos pairing is for floats only).
        for d in [DType::Complex128, DType::Complex64] {
            let clif = clif_of("exp(a)", d);
            assert_eq!(clif.matches("call_indirect").count(), 1, "{clif}");
            assert!(!clif.contains("call fn"), "{clif}");
            let clif = clif_of("sin(a) + cos(a) * sqrt(a)", d);
            assert_eq!(clif.matches("call_indirect").count(), 3, "{clif}");
            // Without a block function: the per-element helper.
            let clif = clif_of("arcsin(a)", d);
            assert_eq!(clif.matches("call_indirect").count(), 0, "{clif}");
            assert!(clif.contains("call fn"), "{clif}");
        }
    }

    #[test]
    fn staged_complex_functions_agree_with_the_interpreter() {
        use crate::core::dtype::{Complex32, Complex64};
        use crate::{Array, Engine, Vars};
        // Longer than a block, with special values inside; contiguous, strided and reversed
        // views; nested and mixed with real functions; both widths.
        let n = 3001;
        let specials = [f64::INFINITY, -0.0, f64::NAN, 0.0, 800.0, -1e-310];
        let part = |k: usize, s: f64| match k % 97 {
            j if j < specials.len() => specials[j],
            _ => ((k as f64 * s).sin() * 3.0).powi(3),
        };
        let z =
            ndarray::Array1::from_shape_fn(n, |k| Complex64::new(part(k, 0.37), part(k + 5, 1.3)));
        let x = ndarray::Array1::from_shape_fn(n, |k| (k as f64 * 0.01).cos());
        let z32 = z.mapv(|c| Complex32::new(c.re as f32, c.im as f32));
        // Normwise against the interpreter (the C library: a few ulps apart, see
        // `vmath::complex`); a non-finite expected part must come out the same.
        fn close(g: (f64, f64), w: (f64, f64), tol: f64) -> bool {
            let bits = |a: f64, b: f64| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
            if !(w.0.is_finite() && w.1.is_finite()) {
                return bits(g.0, w.0) && bits(g.1, w.1);
            }
            (g.0 - w.0).hypot(g.1 - w.1) <= tol * (w.0.hypot(w.1) + 1.0)
        }
        let x32 = x.mapv(|v| v as f32);
        let engine = Engine::default();
        for src in [
            "exp(z)",
            "log(z) + log10(z)",
            "sqrt(z) * tanh(z) - tan(z)",
            // The inner argument stays moderate: sin of a huge argument is ill-conditioned.
            "sin(2 * cos(z / 1000)) + sinh(z) / cosh(z)",
            "exp(z) * sin(x) + z",
            "where(x > 0, exp(z), log(z))",
            "exp(z) + arcsin(z)",
        ] {
            for view in [
                z.view(),
                z.slice(ndarray::s![..;3]),
                z.slice(ndarray::s![..;-1]),
            ] {
                let xv = x.slice(ndarray::s![..view.len()]);
                let vars = Vars::new().with("z", view).with("x", xv);
                let k = engine.compile(src, &vars.signature()).unwrap();
                let (Array::Complex128(got), Array::Complex128(want)) =
                    (k.eval(&vars).unwrap(), k.eval_reference(&vars).unwrap())
                else {
                    panic!("{src}: not complex128");
                };
                for (g, w) in got.iter().zip(&want) {
                    assert!(
                        close((g.re, g.im), (w.re, w.im), 1e-12),
                        "{src}: {g} vs {w}"
                    );
                }
            }
            let vars = Vars::new().with("z", &z32).with("x", &x32);
            let k = engine.compile(src, &vars.signature()).unwrap();
            let (Array::Complex64(got), Array::Complex64(want)) =
                (k.eval(&vars).unwrap(), k.eval_reference(&vars).unwrap())
            else {
                panic!("{src}: not complex64");
            };
            for (g, w) in got.iter().zip(&want) {
                let (g, w) = ((g.re.into(), g.im.into()), (w.re.into(), w.im.into()));
                assert!(close(g, w, 1e-5), "{src}: {g:?} vs {w:?}");
            }
        }
    }

    #[test]
    fn float64_sums_accumulate_in_vectors() {
        let clif = clif_of("sum(a * a)", DType::Float64);
        assert!(
            clif.contains("extractlane") && clif.contains("f64x2"),
            "{clif}"
        );
        // float32 sums accumulate in float64: mixed widths stay scalar.
        assert!(!clif_of("sum(a)", DType::Float32).contains("x4"));
    }

    #[test]
    fn mixed_dtypes_and_masks_stay_scalar() {
        assert!(!clif_of("where((a > 0) & (a < 1), a, 0.0)", DType::Float64).contains("x2"));
        assert!(!clif_of("a * 2", DType::Int32).contains("x4")); // no i32x4 multiply
    }

    #[test]
    fn where_of_a_comparison_runs_as_vectors() {
        let clif = clif_of("where(a > 0, a, 0.1*a)", DType::Float64);
        assert!(
            clif.contains("bitselect") && clif.contains("f64x2"),
            "{clif}"
        );
        assert!(clif_of("where(a != 3, a, -a)", DType::Int64).contains("bitselect"));
    }

    #[test]
    fn generators_run_as_vectors() {
        // P9 on a linspace with a 0-d length: the index becomes float64 lanes [i, i+1], the
        // per-call step is hoisted, the last element is a lane select.
        let inputs = vec![InputDecl {
            name: "n".into(),
            dtype: DType::Int64,
            rank: 0,
            view: None,
            literal: None,
        }];
        for src in [
            "sum(0.7*x**3 - 2*x**2 + 4)".replace('x', "linspace(0, 3, n)"),
            "sum((0.7*x**3 - 2*x**2 + 4) * 3e-8)".replace('x', "(arange(n) * 3e-8)"),
            "arange(n) - arange(2, n + 2)".into(),
        ] {
            let g = crate::opt::optimize(
                &crate::lower::lower(&crate::parse::parse_expr(&src).unwrap(), &inputs).unwrap(),
            );
            let clif = clif_text(&g, &crate::plan::plan(&g)).unwrap();
            assert!(clif.contains("x2"), "{src}: {clif}");
        }
    }

    #[test]
    fn scalar_subexpressions_are_computed_once_per_call() {
        let inputs = vec![
            InputDecl {
                name: "a".into(),
                dtype: DType::Float64,
                rank: 1,
                view: None,
                literal: None,
            },
            InputDecl {
                name: "n".into(),
                dtype: DType::Int64,
                rank: 0,
                view: None,
                literal: None,
            },
        ];
        let src = "a * (sin(n) / (n - 1))";
        let g = crate::opt::optimize(
            &crate::lower::lower(&crate::parse::parse_expr(src).unwrap(), &inputs).unwrap(),
        );
        let clif = clif_text(&g, &crate::plan::plan(&g)).unwrap();
        // The int64 → float64 conversions and sin(n) run once, and the loop is still vectors.
        assert!(clif.contains("f64x2"), "{clif}");
        assert!(!clif.contains("call_indirect"), "{clif}");
    }
}

#[cfg(all(test, feature = "llvm"))]
mod tier_tests {
    use super::*;
    use crate::core::dtype::DType;
    use crate::ir::InputDecl;

    fn owners(src: &str, tier: Tier) -> Vec<&'static str> {
        let inputs = vec![InputDecl {
            name: "a".into(),
            dtype: DType::Float64,
            rank: 1,
            view: None,
            literal: None,
        }];
        let g = crate::opt::optimize(
            &crate::lower::lower(
                &crate::parse::parse_expr(src).unwrap_or_else(|e| panic!("{e}")),
                &inputs,
            )
            .unwrap_or_else(|e| panic!("{e}")),
        );
        let code = compile_with(&g, &crate::plan::plan(&g), tier).unwrap_or_else(|e| panic!("{e}"));
        code._owners
            .iter()
            .map(|o| match o {
                Owner::Cranelift(_) => "cranelift",
                Owner::Llvm(_) => "llvm",
            })
            .collect()
    }

    #[test]
    fn the_tier_chooses_the_code_generator() {
        assert_eq!(owners("sum(a * a) + a", Tier::Llvm), ["llvm"]);
        assert_eq!(owners("sum(a * a) + a", Tier::Cranelift), ["cranelift"]);
        // Complex values keep Cranelift code, stage by stage.
        assert_eq!(
            owners("abs(complex(a, sum(a)))", Tier::Llvm),
            ["llvm", "cranelift"]
        );
    }
}
