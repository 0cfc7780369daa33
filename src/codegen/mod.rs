//! Typed IR stages → native kernels, with Cranelift.
//!
//! `jit.rs` owns the target and JIT memory; `translate.rs` turns one stage into one function.

mod jit;
mod staging;
mod translate;
mod vector;

pub(crate) use translate::KernelFn;

use cranelift_codegen::Context;
use cranelift_frontend::FunctionBuilderContext;
use cranelift_module::{Linkage, Module};

use crate::error::Result;
use crate::ir::Graph;
use crate::plan::Stage;
use jit::{internal, CodeOwner};

/// The native code of one expression: a kernel per stage, and the memory they live in.
pub(crate) struct Code {
    /// `kernels[i]` runs `stages[i]`.
    pub kernels: Vec<StageKernel>,
    // Declared after `kernels` and never read: it keeps the code alive and frees it on drop.
    _owner: CodeOwner,
}

/// One stage's native code and the per-thread scratch it needs.
#[derive(Clone, Copy)]
pub(crate) struct StageKernel {
    pub f: KernelFn,
    pub scratch_bytes: usize,
}

fn staging_of(g: &Graph, stage: &Stage) -> Option<staging::Staging> {
    match stage.kind {
        crate::plan::StageKind::Map => staging::plan(g, stage),
        // Reductions call the scalar helpers: staging inside the accumulator loop is future work.
        crate::plan::StageKind::Reduce { .. } => None,
    }
}

/// Compiles every stage of `g` into one fresh module.
pub(crate) fn compile(g: &Graph, stages: &[Stage]) -> Result<Code> {
    let mut module = jit::new_module()?;
    let mut ctx = module.make_context();
    let mut fctx = FunctionBuilderContext::new();
    let mut ids = Vec::with_capacity(stages.len());
    let mut scratch = Vec::with_capacity(stages.len());
    for (i, stage) in stages.iter().enumerate() {
        ctx.func.signature = translate::kernel_signature(&module);
        let staging = staging_of(g, stage);
        scratch.push(staging.as_ref().map_or(0, |s| s.scratch_bytes));
        translate::translate(
            g,
            stage,
            &mut module,
            &mut ctx.func,
            &mut fctx,
            staging.as_ref(),
        )?;
        let id = module
            .declare_function(&format!("stage{i}"), Linkage::Local, &ctx.func.signature)
            .map_err(|e| internal("declare kernel", e))?;
        module
            .define_function(id, &mut ctx)
            .map_err(|e| internal("compile kernel", format!("{e:?}")))?;
        module.clear_context(&mut ctx);
        ids.push(id);
    }
    module
        .finalize_definitions()
        .map_err(|e| internal("finalize kernels", e))?;
    let kernels = ids
        .iter()
        .zip(scratch)
        .map(|(id, scratch_bytes)| {
            let ptr = module.get_finalized_function(*id);
            // SAFETY: the function was built with `kernel_signature`, i.e. five i64 parameters
            // and no results in the host's C calling convention, which is `KernelFn`.
            let f = unsafe { std::mem::transmute::<*const u8, KernelFn>(ptr) };
            StageKernel { f, scratch_bytes }
        })
        .collect();
    Ok(Code {
        kernels,
        _owner: CodeOwner::new(module),
    })
}

/// The Cranelift IR of every stage, before optimization (for `:clif` in the REPL).
pub(crate) fn clif_text(g: &Graph, stages: &[Stage]) -> Result<String> {
    let mut module = jit::new_module()?;
    let mut fctx = FunctionBuilderContext::new();
    let mut text = String::new();
    for (i, stage) in stages.iter().enumerate() {
        let mut ctx = Context::new();
        ctx.func.signature = translate::kernel_signature(&module);
        translate::translate(
            g,
            stage,
            &mut module,
            &mut ctx.func,
            &mut fctx,
            staging_of(g, stage).as_ref(),
        )?;
        text.push_str(&format!(
            "; stage {i}: {:?}\n{}\n",
            stage.kind,
            ctx.func.display()
        ));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::DType;
    use crate::ir::InputDecl;

    fn clif_of(src: &str, dtype: DType) -> String {
        let inputs = vec![InputDecl {
            name: "a".into(),
            dtype,
            rank: 1,
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
        let clif = clif_of("sin(2*pi*a)**2 + cos(2*pi*a)**2", DType::Float64);
        assert_eq!(clif.matches("call_indirect").count(), 2, "{clif}");
        assert!(clif.contains("f64x2"));
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
        assert!(!clif_of("where(a > 0, a, 0.0)", DType::Float64).contains("x2"));
    }
}
