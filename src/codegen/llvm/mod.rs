//! The LLVM tier (feature `llvm`): the same stages → the same [`KernelFn`]s, through LLVM 19 at
//! the host CPU's full vector width, bit for bit the Cranelift tier's results.
//!
//! Same bits by construction: every node is emitted with the operation the Cranelift emitter
//! uses (`translate/emit.rs`), scalar in the tail and as `lanes`-wide vectors in the body, with no
//! fast-math flags and no contraction; transcendentals in maps are block-staged through scratch
//! and computed by the same vector-math kernels (`staging.rs`), elsewhere by the same scalar
//! helpers; reductions keep [`ACCUMULATORS`] accumulators (element `j` of a row into
//! accumulator `j % 8`, one 8-lane vector here) merged in the same pairwise order, then the
//! tail, then the row's partial. The vector loops are emitted explicitly (LLVM's loop vectorizer
//! would not reassociate a reduction without fast-math, and explicit vectors need no alias
//! checks), and `default<O3>` schedules them.
//!
//! A `def` kernel is inlined into the element loop on scalars, as `translate/kernel.rs` inlines
//! it (the same ops, the same unsigned `//` and `%` on counters known ≥ 0, the same cancel
//! polls); a vector body runs it once per lane (`kernel.rs`).
//!
//! A map also gets a streaming entry point on x86-64 (see [`Entry`]): the same body with its
//! contiguous vector stores to the outputs non-temporal (`vmovntpd`, which needs the row's head
//! run up to a 64-byte boundary first) and an `sfence` before it returns. The executor calls it
//! for outputs larger than the last-level cache that the map does not read
//! (`exec::drive::streams`): they skip the read that a store's write-allocate would make. Only
//! the store kind changes, so the bits do not.
//!
//! Stages it does not translate run on Cranelift code (per stage, see [`supports`]): those with
//! complex values or byte strings, in the stage or in a kernel it applies.
//!
//! `target.rs` the host target, the pass pipeline and the code's owner; `rows.rs` the loop nest
//! and the rows (map, staged map, reduction, column); `carried.rs` a map's operands that are
//! views of one row, read through shared aligned loads; `emit.rs` one arm per IR node;
//! `kernel.rs` a `def` kernel inlined as blocks, per lane in vector bodies.

mod cache;
mod carried;
mod code;
mod divide;
mod emit;
mod kernel;
mod masked;
mod perf;
mod rows;
mod target;

use std::collections::HashMap;

use inkwell::builder::Builder;
use inkwell::context::Context;
use inkwell::module::Module;
use inkwell::values::{BasicValueEnum, FunctionValue, IntValue, PointerValue};

use emit::Check;

use super::staging::{self, Staging};
use super::translate::{ACCUMULATORS, COLUMN_ROWS};
use super::StageKernel;
use crate::core::error::Result;
use crate::ir::{Graph, NodeId, NodeKind};
use crate::plan::{Stage, StageKind};

pub(crate) use code::LlvmCode;

/// True when the LLVM tier translates `stage`: everything but stages that compute complex
/// values or read byte strings, in the stage or inside a `def` kernel it applies (those keep
/// their Cranelift code).
pub(crate) fn supports(g: &Graph, stage: &Stage) -> bool {
    let plain = stage.nodes(g).into_iter().all(|id| {
        let node = g.node(id);
        !(node.dtype.is_complex() || node.dtype.is_bytes())
            && match &node.kind {
                NodeKind::Call(k, _) => kernel::real_kernel(k),
                _ => true,
            }
    });
    if !plain {
        return false;
    }
    match stage.kind {
        StageKind::Reduce { acc, .. } => !acc.is_complex(),
        StageKind::Map => true,
    }
}

/// Compiles `stages` (each supported, see [`supports`]) into one LLVM module: per stage its
/// kernel and, for reductions over one axis, its column kernel.
pub(crate) fn compile(g: &Graph, stages: &[&Stage]) -> Result<(Vec<StageKernel>, LlvmCode)> {
    let host = target::host()?;
    let mut layout = Vec::with_capacity(stages.len());
    let (addresses, owner) = LlvmCode::compile(|ctx, module| {
        let mut names = Vec::new();
        for (i, stage) in stages.iter().enumerate() {
            let staging = match stage.kind {
                // Square roots stay inline (`llvm.sqrt`, correctly rounded like the 256-bit
                // kernel): only the transcendentals are staged.
                StageKind::Map => staging::plan_with(g, stage, false),
                StageKind::Reduce { .. } => None,
            };
            let mut scratch = staging
                .as_ref()
                .map_or(0, |s| s.scratch_bytes.next_multiple_of(64));
            let lanes = rows::map_lanes(g, stage, host.vector_bytes);
            // One region per leaf for its value splatted over a vector, where the leaf is
            // invariant along a row (its inner stride is 0).
            let mut regions = Vec::with_capacity(stage.leaves.len());
            for &leaf in &stage.leaves {
                regions.push(scratch);
                let size = g.node(leaf).dtype.size() * lanes.max(ACCUMULATORS as u32) as usize;
                scratch += size.next_multiple_of(64);
            }
            let main = format!("stage{i}");
            let streams = streaming(stage);
            build(
                ctx,
                module,
                g,
                stage,
                staging.as_ref(),
                &regions,
                lanes,
                Entry::Main { streams },
                &main,
            )?;
            names.push(main.clone());
            if streams {
                names.push(format!("{main}_stream"));
            }
            let columns = super::has_columns(g, stage);
            if columns {
                let name = format!("stage{i}_columns");
                let columns = Entry::Columns;
                build(ctx, module, g, stage, None, &regions, lanes, columns, &name)?;
                names.push(name);
            }
            layout.push((streams, columns, scratch));
        }
        Ok(names)
    })?;
    let mut next = addresses.into_iter();
    let mut kernels = Vec::with_capacity(stages.len());
    for (streams, columns, scratch_bytes) in layout {
        let mut take = || {
            let address = next
                .next()
                .ok_or_else(|| super::jit::internal("llvm", "a kernel is missing"))?;
            // SAFETY: every function was built by `build` with the signature of `KernelFn`
            // (six 64-bit integer or pointer parameters, no result, the C calling convention).
            Ok::<_, crate::Error>(unsafe { std::mem::transmute::<usize, super::KernelFn>(address) })
        };
        let f = take()?;
        let streaming = if streams { Some(take()?) } else { None };
        let columns = if columns { Some(take()?) } else { None };
        kernels.push(StageKernel {
            f,
            scratch_bytes,
            columns,
            streaming,
        });
    }
    Ok((kernels, owner))
}

/// The LLVM IR of every stage after the O3 pipeline, and its host assembly (for tests).
#[cfg(test)]
pub(crate) fn ir_text(g: &Graph, stages: &[Stage]) -> Result<(String, String)> {
    ir_text_with(g, stages, true)
}

/// [`ir_text`], or with `optimize` false the IR as emitted (its blocks keep their names) and
/// no assembly (for tests).
#[cfg(test)]
pub(crate) fn ir_text_with(
    g: &Graph,
    stages: &[Stage],
    optimize: bool,
) -> Result<(String, String)> {
    let host = target::host()?;
    let ctx = Context::create();
    let module = ctx.create_module("numjit");
    for (i, stage) in stages.iter().enumerate() {
        let staging = match stage.kind {
            StageKind::Map => staging::plan_with(g, stage, false),
            StageKind::Reduce { .. } => None,
        };
        let lanes = rows::map_lanes(g, stage, host.vector_bytes);
        let regions = vec![0; stage.leaves.len()];
        let streams = streaming(stage);
        build(
            &ctx,
            &module,
            g,
            stage,
            staging.as_ref(),
            &regions,
            lanes,
            Entry::Main { streams },
            &format!("stage{i}"),
        )?;
    }
    if !optimize {
        return Ok((module.print_to_string().to_string(), String::new()));
    }
    target::optimize(&module)?;
    Ok((
        module.print_to_string().to_string(),
        target::assembly(&module)?,
    ))
}

/// True when `stage` gets a streaming entry point besides its plain one (see [`Entry`]): maps,
/// on x86-64 (where `sfence` orders the streaming stores).
fn streaming(stage: &Stage) -> bool {
    matches!(stage.kind, StageKind::Map)
        && target::host().is_ok_and(|h| h.triple.starts_with("x86_64"))
}

/// Which kernel functions `build` adds for a stage.
#[derive(Clone, Copy)]
enum Entry {
    /// The stage's kernel `name`; with `streams`, the body is `name_body` with a seventh
    /// parameter, the streaming flag, called by `name` (flag 0) and `name_stream` (flag 1),
    /// whose vector stores to the outputs are non-temporal (see `rows.rs`, `map_row`).
    Main { streams: bool },
    /// The column kernel of a reduction over one axis.
    Columns,
}

/// Adds the kernel function `name` for `stage` to `module` (and its streaming entry, see
/// [`Entry`]).
#[allow(clippy::too_many_arguments)]
fn build<'ctx>(
    ctx: &'ctx Context,
    module: &Module<'ctx>,
    g: &Graph,
    stage: &Stage,
    staging: Option<&Staging>,
    regions: &[usize],
    lanes: u32,
    entry: Entry,
    name: &str,
) -> Result<()> {
    let host = target::host()?;
    let i64t = ctx.i64_type();
    let ptr = ctx.ptr_type(inkwell::AddressSpace::default());
    let params: [inkwell::types::BasicMetadataTypeEnum; 7] = [
        i64t.into(),
        i64t.into(),
        ptr.into(),
        ptr.into(),
        ptr.into(),
        ptr.into(),
        i64t.into(),
    ];
    let fn_type = ctx.void_type().fn_type(&params[..6], false);
    let target_attributes = |f: FunctionValue<'ctx>| {
        for (key, value) in [
            ("target-cpu", host.cpu.as_str()),
            ("target-features", host.features.as_str()),
        ] {
            f.add_attribute(
                inkwell::attributes::AttributeLoc::Function,
                ctx.create_string_attribute(key, value),
            );
        }
    };
    let streams = matches!(entry, Entry::Main { streams: true });
    let f = if streams {
        let body_type = ctx.void_type().fn_type(&params, false);
        let body = module.add_function(&format!("{name}_body"), body_type, None);
        target_attributes(body);
        // One body for both entries: inlined into each, its loops would be compiled twice.
        let noinline = inkwell::attributes::Attribute::get_named_enum_kind_id("noinline");
        body.add_attribute(
            inkwell::attributes::AttributeLoc::Function,
            ctx.create_enum_attribute(noinline, 0),
        );
        for (entry, flag) in [(name.to_string(), 0), (format!("{name}_stream"), 1)] {
            let w = module.add_function(&entry, fn_type, None);
            target_attributes(w);
            let b = ctx.create_builder();
            b.position_at_end(ctx.append_basic_block(w, "entry"));
            let mut args: Vec<inkwell::values::BasicMetadataValueEnum> =
                w.get_param_iter().map(Into::into).collect();
            args.push(i64t.const_int(flag, false).into());
            b.build_call(body, &args, "").or_err()?;
            b.build_return(None).or_err()?;
        }
        body
    } else {
        let f = module.add_function(name, fn_type, None);
        target_attributes(f);
        f
    };
    let mut t = Translator {
        g,
        stage,
        ctx,
        module,
        b: ctx.create_builder(),
        f,
        allocas: ctx.append_basic_block(f, "allocas"),
        operand_of: stage
            .leaves
            .iter()
            .enumerate()
            .map(|(k, &leaf)| (leaf, k + stage.heads()))
            .collect(),
        consts: HashMap::new(),
        addr: Vec::new(),
        s1: Vec::new(),
        scratch: None,
        cancel: None,
        staging,
        loaded: HashMap::new(),
        index: None,
        lanes: 1,
        gather: false,
        columns: matches!(entry, Entry::Columns),
        regions: regions.to_vec(),
        vector_lanes: lanes,
        row_shift: Vec::new(),
        block_start: Vec::new(),
        stream: None,
        dense: None,
        nontemporal: false,
        carried: carried::carried_groups(g, stage, host.vector_bytes, lanes),
        carried_values: Vec::new(),
    };
    t.body()
}

/// One stage being translated into one LLVM function.
struct Translator<'a, 'ctx> {
    g: &'a Graph,
    stage: &'a Stage,
    ctx: &'ctx Context,
    module: &'a Module<'ctx>,
    b: Builder<'ctx>,
    f: FunctionValue<'ctx>,
    /// The entry block, holding only the stack slots of loop variables (promoted to registers
    /// by the pipeline); it jumps to the body's first block when the function is done.
    allocas: inkwell::basic_block::BasicBlock<'ctx>,
    /// Leaf node → operand index.
    operand_of: HashMap<NodeId, usize>,
    /// 0-d nodes, computed once in the entry block (scalars).
    consts: HashMap<NodeId, BasicValueEnum<'ctx>>,
    /// Per operand, the address (an `i64`) of the current element, or of the first of the
    /// current vector's elements.
    addr: Vec<IntValue<'ctx>>,
    /// Per operand, the inner stride in bytes.
    s1: Vec<IntValue<'ctx>>,
    /// The scratch base address.
    scratch: Option<PointerValue<'ctx>>,
    /// The evaluation's cancel flag (an `AtomicU32`), polled by kernels' loops.
    cancel: Option<PointerValue<'ctx>>,
    staging: Option<&'a Staging>,
    /// Staged nodes whose block is in scratch: read them there, at `index`.
    loaded: HashMap<NodeId, staging::Slot>,
    /// The element index within the current block (addresses scratch).
    index: Option<IntValue<'ctx>>,
    /// Elements per value now: 1 in scalar code, the vector's lanes in a vector body.
    lanes: u32,
    /// In a vector body over strided operands: loads gather lane by lane.
    gather: bool,
    /// A reduction compiled as a column kernel: `partial[j] ⊕= value(j)` along the row.
    columns: bool,
    /// Per leaf, the byte offset in scratch of its splat region.
    regions: Vec<usize>,
    /// Lanes of a map's vector body.
    vector_lanes: u32,
    /// In a body with a streaming flag (see [`Entry`]): the flag, as an `i1`.
    stream: Option<IntValue<'ctx>>,
    /// Set by the body's entry (`rows.rs`): true (`i1`) when, in this call, every leaf read
    /// from memory along rows is contiguous (none invariant along them), so that a vector body
    /// can step every operand by a constant stride.
    dense: Option<IntValue<'ctx>>,
    /// In a streaming vector body: vector stores to the outputs are non-temporal.
    nontemporal: bool,
    /// While a column kernel folds a block of rows (`rows.rs`): per operand, the byte offset
    /// from the block's first row to the row being read; empty otherwise.
    row_shift: Vec<IntValue<'ctx>>,
    /// In a staged map row (`rows.rs`): per operand, the address of the current block's first
    /// element; empty otherwise.
    block_start: Vec<IntValue<'ctx>>,
    /// The groups of operands whose dense vector bodies read through shared aligned loads
    /// (`carried.rs`); empty when the stage's maps load each operand on its own.
    carried: Vec<Vec<usize>>,
    /// In such a body: per operand, its vector for the current trip, made from the shared
    /// loads; empty otherwise.
    carried_values: Vec<Option<BasicValueEnum<'ctx>>>,
}

#[cfg(test)]
mod tests;
