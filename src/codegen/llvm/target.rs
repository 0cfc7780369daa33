//! The LLVM target (the host CPU's name and features: full AVX2/AVX-512 width), the O3 pipeline,
//! and the lifetime of LLVM-compiled code: one context and one MCJIT engine per compiled set of
//! stages, freed together when the kernel that owns them is dropped (as Cranelift modules are).

use std::mem::ManuallyDrop;
use std::sync::OnceLock;

use inkwell::context::Context;
use inkwell::execution_engine::ExecutionEngine;
use inkwell::module::Module;
use inkwell::passes::PassBuilderOptions;
use inkwell::targets::{
    CodeModel, InitializationConfig, RelocMode, Target, TargetMachine, TargetTriple,
};
use inkwell::OptimizationLevel;

use super::super::jit::internal;
use crate::core::error::Result;

/// The host CPU as LLVM names it, its features (`+avx2,+avx512f,…`), and the widest vector in
/// bytes those features allow.
pub(super) struct Host {
    pub cpu: String,
    pub features: String,
    pub vector_bytes: u32,
    pub triple: String,
}

/// The host, detected once (LLVM's native target initialized on the way).
pub(super) fn host() -> Result<&'static Host> {
    static HOST: OnceLock<std::result::Result<Host, String>> = OnceLock::new();
    HOST.get_or_init(|| {
        Target::initialize_native(&InitializationConfig::default())?;
        let cpu = TargetMachine::get_host_cpu_name().to_string();
        let features = TargetMachine::get_host_cpu_features().to_string();
        let has = |f: &str| features.split(',').any(|x| x == f);
        let vector_bytes = if has("+avx512f") {
            64
        } else if has("+avx2") {
            32
        } else {
            16
        };
        let triple = TargetMachine::get_default_triple()
            .as_str()
            .to_string_lossy()
            .into_owned();
        Ok(Host {
            cpu,
            features,
            vector_bytes,
            triple,
        })
    })
    .as_ref()
    .map_err(|e| internal("llvm native target", e))
}

/// Runs LLVM's `default<O3>` pipeline on `module` for the host. The IR carries no fast-math
/// flags and the target machine fuses no multiply-add it is not asked for (`Standard` fusion
/// only fuses `llvm.fmuladd`, which numjit never emits), so the results keep the bits of the IR.
pub(super) fn optimize(module: &Module<'_>) -> Result<()> {
    let (machine, triple) = machine()?;
    module.set_triple(&triple);
    module.set_data_layout(&machine.get_target_data().get_data_layout());
    if cfg!(debug_assertions) {
        module
            .verify()
            .map_err(|e| internal("llvm verifier", e.to_string()))?;
    }
    module
        .run_passes("default<O3>", &machine, PassBuilderOptions::create())
        .map_err(|e| internal("llvm passes", e))
}

/// The host's target machine and triple.
fn machine() -> Result<(TargetMachine, TargetTriple)> {
    let host = host()?;
    let triple = TargetTriple::create(&host.triple);
    let target = Target::from_triple(&triple).map_err(|e| internal("llvm target", e))?;
    let machine = target
        .create_target_machine(
            &triple,
            &host.cpu,
            &host.features,
            OptimizationLevel::Aggressive,
            RelocMode::Default,
            CodeModel::JITDefault,
        )
        .ok_or_else(|| internal("llvm target machine", &host.cpu))?;
    Ok((machine, triple))
}

/// The host assembly of an optimized `module` (for tests).
#[cfg(test)]
pub(super) fn assembly(module: &Module<'_>) -> Result<String> {
    let (machine, _) = machine()?;
    let buffer = machine
        .write_to_memory_buffer(module, inkwell::targets::FileType::Assembly)
        .map_err(|e| internal("llvm assembly", e))?;
    Ok(String::from_utf8_lossy(buffer.as_slice()).into_owned())
}

/// A context and the engine holding the machine code compiled in it.
///
/// The engine borrows the context (`ExecutionEngine<'ctx>`); both live here, the context boxed so
/// its address is stable, and the engine is dropped first.
pub(crate) struct LlvmCode {
    engine: ManuallyDrop<ExecutionEngine<'static>>,
    context: ManuallyDrop<Box<Context>>,
}

// SAFETY: after `LlvmCode::compile` returns, nothing uses the engine or the context except
// `Drop` (calls go through raw function pointers into the engine's memory), and `Drop` has
// `&mut self`, so no two threads ever touch the LLVM objects (or the engine's `Rc`) at once.
unsafe impl Send for LlvmCode {}
// SAFETY: as above: shared references give no access to the LLVM objects.
unsafe impl Sync for LlvmCode {}

impl LlvmCode {
    /// Builds a module in a fresh context with `build`, optimizes it, compiles it to machine
    /// code and returns the addresses of the functions `build` named, with their owner.
    pub fn compile(
        build: impl for<'ctx> FnOnce(&'ctx Context, &Module<'ctx>) -> Result<Vec<String>>,
    ) -> Result<(Vec<usize>, LlvmCode)> {
        let context = Box::new(Context::create());
        // SAFETY: the context is boxed (it does not move) and dropped only after the engine and
        // everything else made from it (`Drop` below); the module is dropped in this function.
        let ctx: &'static Context = unsafe { &*(context.as_ref() as *const Context) };
        let module = ctx.create_module("numjit");
        let names = build(ctx, &module)?;
        optimize(&module)?;
        let engine = module
            .create_jit_execution_engine(OptimizationLevel::Aggressive)
            .map_err(|e| internal("llvm engine", e))?;
        let addresses = names
            .iter()
            .map(|n| {
                engine
                    .get_function_address(n)
                    .map_err(|e| internal("llvm function address", e))
            })
            .collect::<Result<Vec<_>>>();
        let owner = LlvmCode {
            engine: ManuallyDrop::new(engine),
            context: ManuallyDrop::new(context),
        };
        drop(module);
        Ok((addresses?, owner))
    }
}

impl Drop for LlvmCode {
    fn drop(&mut self) {
        // SAFETY: dropped once each, the engine (which owns the module and the code) before the
        // context it was made in; no function pointer into the code outlives the `Code` that
        // owns this (see `CodeOwner`).
        unsafe {
            ManuallyDrop::drop(&mut self.engine);
            ManuallyDrop::drop(&mut self.context);
        }
    }
}
