//! The lifetime of LLVM-compiled code: a module is optimized and compiled to an object file (or
//! the object is taken from the on-disk cache, `cache.rs`), and one ORC `LLJIT` per compiled set
//! of stages links it in this process, binding the names it imports (numjit's scalar helpers and
//! vector kernels) to their addresses here. The JIT and its code are freed together when the
//! kernel that owns them is dropped (as Cranelift modules are).

use std::ffi::{CStr, CString};

use inkwell::context::Context;
use inkwell::llvm_sys::core::LLVMCreateMemoryBufferWithMemoryRangeCopy;
use inkwell::llvm_sys::error::{LLVMDisposeErrorMessage, LLVMErrorRef, LLVMGetErrorMessage};
use inkwell::llvm_sys::orc2::lljit::{
    LLVMOrcCreateLLJIT, LLVMOrcDisposeLLJIT, LLVMOrcLLJITAddObjectFile,
    LLVMOrcLLJITGetMainJITDylib, LLVMOrcLLJITLookup, LLVMOrcLLJITMangleAndIntern, LLVMOrcLLJITRef,
};
use inkwell::llvm_sys::orc2::{
    LLVMJITEvaluatedSymbol, LLVMJITSymbolFlags, LLVMJITSymbolGenericFlags, LLVMOrcAbsoluteSymbols,
    LLVMOrcCSymbolMapPair, LLVMOrcDisposeMaterializationUnit, LLVMOrcJITDylibDefine,
};
use inkwell::module::Module;

use super::super::jit::internal;
use super::{cache, perf, target};
use crate::core::error::Result;
use crate::ops::scalar;

/// An `LLJIT` holding the machine code of one compiled set of stages.
pub(crate) struct LlvmCode {
    jit: LLVMOrcLLJITRef,
}

// SAFETY: after `LlvmCode::compile` returns, nothing uses the JIT except `Drop` (calls go
// through raw function pointers into its memory), and `Drop` has `&mut self`, so no two threads
// ever touch it at once.
unsafe impl Send for LlvmCode {}
// SAFETY: as above: shared references give no access to the JIT.
unsafe impl Sync for LlvmCode {}

impl LlvmCode {
    /// Builds a module in a fresh context with `build`, optimizes it and compiles it to an
    /// object file (or takes that object from the on-disk cache when one is set and holds it),
    /// links it, and returns the addresses of the functions `build` named, with their owner.
    pub fn compile(
        build: impl for<'ctx> FnOnce(&'ctx Context, &Module<'ctx>) -> Result<Vec<String>>,
    ) -> Result<(Vec<usize>, LlvmCode)> {
        let context = Context::create();
        let module = context.create_module("numjit");
        let names = build(&context, &module)?;
        let imports = imports(&module)?;
        let compile = || -> Result<Vec<u8>> {
            target::optimize(&module)?;
            target::object(&module)
        };
        let Some(key) = cache::Key::of(&module)? else {
            return Self::link(&compile()?, &imports, &names);
        };
        if let Some(object) = key.fetch() {
            let linked = Self::link(&object, &imports, &names);
            key.linked(linked.is_ok());
            if linked.is_ok() {
                return linked;
            }
        }
        let object = compile()?;
        key.store(&object);
        Self::link(&object, &imports, &names)
    }

    /// Links `object` into a new JIT (its imports bound to `imports`, name and address) and
    /// returns the addresses of the functions `names`.
    fn link(
        object: &[u8],
        imports: &[(String, usize)],
        names: &[String],
    ) -> Result<(Vec<usize>, LlvmCode)> {
        let code = Self::load(object, imports)?;
        let addresses = names
            .iter()
            .map(|n| code.lookup(n))
            .collect::<Result<Vec<_>>>()?;
        perf::record(object, names, &addresses);
        Ok((addresses, code))
    }

    /// Links `object` into a new JIT, its imports bound to `imports` (name, address).
    fn load(object: &[u8], imports: &[(String, usize)]) -> Result<LlvmCode> {
        let mut jit: LLVMOrcLLJITRef = std::ptr::null_mut();
        // SAFETY: a null builder asks for the default LLJIT for the host; `jit` is written on
        // success and owned (disposed) by the `LlvmCode` made right after.
        check(
            unsafe { LLVMOrcCreateLLJIT(&mut jit, std::ptr::null_mut()) },
            "llvm jit",
        )?;
        let code = LlvmCode { jit };
        // SAFETY: `jit` is a live LLJIT; its main dylib lives as long as it does.
        let dylib = unsafe { LLVMOrcLLJITGetMainJITDylib(jit) };
        if !imports.is_empty() {
            let mut pairs = Vec::with_capacity(imports.len());
            for (name, address) in imports {
                let c = CString::new(name.as_str()).map_err(|e| internal("llvm import", e))?;
                pairs.push(LLVMOrcCSymbolMapPair {
                    // SAFETY: the returned entry is retained for us; `LLVMOrcAbsoluteSymbols`
                    // takes that reference over.
                    Name: unsafe { LLVMOrcLLJITMangleAndIntern(jit, c.as_ptr()) },
                    Sym: LLVMJITEvaluatedSymbol {
                        Address: *address as u64,
                        Flags: LLVMJITSymbolFlags {
                            GenericFlags:
                                LLVMJITSymbolGenericFlags::LLVMJITSymbolGenericFlagsExported as u8
                                    | LLVMJITSymbolGenericFlags::LLVMJITSymbolGenericFlagsCallable
                                        as u8,
                            TargetFlags: 0,
                        },
                    },
                });
            }
            // SAFETY: `pairs` is a valid array of `pairs.len()` entries, read during the call.
            let unit = unsafe { LLVMOrcAbsoluteSymbols(pairs.as_mut_ptr(), pairs.len()) };
            // SAFETY: on success the dylib owns `unit`; on failure we still do, and free it.
            let defined = check(
                unsafe { LLVMOrcJITDylibDefine(dylib, unit) },
                "llvm imports",
            );
            if defined.is_err() {
                // SAFETY: `unit` was not taken over (the call failed).
                unsafe { LLVMOrcDisposeMaterializationUnit(unit) };
            }
            defined?;
        }
        let label = c"numjit";
        // SAFETY: copies `object` into a buffer the JIT takes over.
        let buffer = unsafe {
            LLVMCreateMemoryBufferWithMemoryRangeCopy(
                object.as_ptr().cast(),
                object.len(),
                label.as_ptr(),
            )
        };
        // SAFETY: `jit` and `dylib` are live; the buffer's ownership passes to the JIT.
        check(
            unsafe { LLVMOrcLLJITAddObjectFile(jit, dylib, buffer) },
            "llvm object",
        )?;
        Ok(code)
    }

    /// The address of the function `name`. The JIT links the object at the first lookup, so an
    /// object that does not link fails here.
    fn lookup(&self, name: &str) -> Result<usize> {
        let c = CString::new(name).map_err(|e| internal("llvm lookup", e))?;
        let mut address = 0u64;
        // SAFETY: `self.jit` is live; `address` is written on success.
        check(
            unsafe { LLVMOrcLLJITLookup(self.jit, &mut address, c.as_ptr()) },
            "llvm function address",
        )?;
        if address == 0 {
            return Err(internal("llvm function address", name));
        }
        Ok(address as usize)
    }
}

impl Drop for LlvmCode {
    fn drop(&mut self) {
        // SAFETY: disposed once; no function pointer into the code outlives the `Code` that owns
        // this (see `CodeOwner`). An error here (a failed deregistration) has no one to go to.
        let err = unsafe { LLVMOrcDisposeLLJIT(self.jit) };
        let _ = check(err, "llvm dispose");
    }
}

/// The functions `module` declares but does not define, other than LLVM's intrinsics, with
/// their addresses in this process: numjit's scalar helpers and vector kernels, which the
/// emitter declares by name (`Translator::external`).
fn imports(module: &Module<'_>) -> Result<Vec<(String, usize)>> {
    let mut imports = Vec::new();
    for f in module.get_functions() {
        let name = f.get_name().to_string_lossy().into_owned();
        if f.count_basic_blocks() > 0 || name.starts_with("llvm.") {
            continue;
        }
        let address = scalar::helper_address(&name)
            .or_else(|| super::staging::vector_symbol_address(&name))
            .ok_or_else(|| internal("llvm import", format!("no function {name}")))?;
        imports.push((name, address as usize));
    }
    Ok(imports)
}

/// `Ok` for a null `LLVMErrorRef`, else the error's message (consumed) as an internal error.
fn check(err: LLVMErrorRef, what: &str) -> Result<()> {
    if err.is_null() {
        return Ok(());
    }
    // SAFETY: a non-null error is consumed by `LLVMGetErrorMessage`, whose message we copy and
    // then free.
    let message = unsafe {
        let raw = LLVMGetErrorMessage(err);
        let text = CStr::from_ptr(raw).to_string_lossy().into_owned();
        LLVMDisposeErrorMessage(raw);
        text
    };
    Err(internal(what, message))
}
