//! The Cranelift target and the lifetime of JIT memory.
//!
//! One `JITModule` per compiled expression: Cranelift frees JIT memory only per module
//! (`free_memory`), so a module per cached kernel, freed when the kernel is dropped, keeps memory
//! bounded under cache eviction.

use std::sync::Mutex;

use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_jit::{JITBuilder, JITModule};

use crate::core::error::{Error, ErrorKind, Result};
use crate::ops::scalar;

pub(crate) fn internal(what: &str, e: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Internal, format!("{what}: {e}"))
}

/// The host ISA with `opt_level=speed` (Cranelift's default is `none`). The verifier runs in debug
/// builds and tests, where catching malformed IR early is worth its cost.
pub(crate) fn host_isa() -> Result<OwnedTargetIsa> {
    let mut flags = settings::builder();
    let set = |f: &mut settings::Builder, k: &str, v: &str| {
        f.set(k, v).map_err(|e| internal("cranelift flag", e))
    };
    set(&mut flags, "opt_level", "speed")?;
    set(
        &mut flags,
        "enable_verifier",
        if cfg!(debug_assertions) {
            "true"
        } else {
            "false"
        },
    )?;
    set(&mut flags, "is_pic", "false")?;
    let isa = cranelift_native::builder().map_err(|e| internal("host ISA", e))?;
    isa.finish(settings::Flags::new(flags))
        .map_err(|e| internal("host ISA", e))
}

/// A fresh module that resolves numjit's scalar helpers by name.
pub(crate) fn new_module() -> Result<JITModule> {
    let mut builder = JITBuilder::with_isa(host_isa()?, cranelift_module::default_libcall_names());
    builder.symbol_lookup_fn(Box::new(scalar::helper_address));
    Ok(JITModule::new(builder))
}

/// Owns a finalized module; frees its code when dropped.
///
/// `JITModule` is `Send` but not `Sync`; the mutex makes the owner `Sync` so compiled kernels can
/// be shared across threads. Nothing locks it except `Drop`: calls go through raw function pointers.
pub(crate) struct CodeOwner(Mutex<Option<JITModule>>);

impl CodeOwner {
    pub fn new(module: JITModule) -> CodeOwner {
        CodeOwner(Mutex::new(Some(module)))
    }
}

impl Drop for CodeOwner {
    fn drop(&mut self) {
        let module = self
            .0
            .get_mut()
            .map(Option::take)
            .unwrap_or_else(|poisoned| poisoned.into_inner().take());
        if let Some(module) = module {
            // SAFETY: the owner is dropped only when the last `Arc` of its compiled expression is
            // dropped, and the function pointers into this module live in that same struct, so no
            // pointer into the code outlives this call.
            unsafe { module.free_memory() };
        }
    }
}
