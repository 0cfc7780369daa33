//! The LLVM target (the host CPU's name and features: full AVX2/AVX-512 width), the O3 pipeline
//! and the object file it compiles to.

use std::sync::OnceLock;

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
    // Always: LLVM's back end may crash the process on IR that does not verify (a value used
    // where its definition does not dominate crashed the register allocator once); an error
    // is the better failure, for well under a millisecond a module.
    module
        .verify()
        .map_err(|e| internal("llvm verifier", e.to_string()))?;
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
            // Position-independent small-model code: every reference is relative or through
            // the GOT, so the object loads at any address (and from the on-disk cache).
            RelocMode::PIC,
            CodeModel::Default,
        )
        .ok_or_else(|| internal("llvm target machine", &host.cpu))?;
    Ok((machine, triple))
}

/// The host machine code of an optimized `module`, as an ELF object file (position
/// independent, so the loader may place it anywhere).
pub(super) fn object(module: &Module<'_>) -> Result<Vec<u8>> {
    let (machine, _) = machine()?;
    let buffer = machine
        .write_to_memory_buffer(module, inkwell::targets::FileType::Object)
        .map_err(|e| internal("llvm object", e))?;
    Ok(buffer.as_slice().to_vec())
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

/// What the machine code of a module depends on besides its IR: numjit's version, LLVM's, and
/// the host (triple, CPU, features). The on-disk cache keys objects by this and the IR.
pub(super) fn fingerprint() -> Result<String> {
    let host = host()?;
    let (mut major, mut minor, mut patch) = (0, 0, 0);
    // SAFETY: writes three integers through valid pointers.
    unsafe { inkwell::llvm_sys::core::LLVMGetVersion(&mut major, &mut minor, &mut patch) };
    Ok(format!(
        "numjit {} llvm {major}.{minor}.{patch} {} {} {}",
        env!("CARGO_PKG_VERSION"),
        host.triple,
        host.cpu,
        host.features
    ))
}
