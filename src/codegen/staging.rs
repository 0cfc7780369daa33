//! Block staging of transcendental functions.
//!
//! Cranelift has no `sin` or `exp`, and a libm call per element costs several times what a
//! vector kernel compiled by rustc for AVX2/AVX-512 does (the README's vector-math table). So a map stage whose expression contains such
//! functions walks each row in blocks of `block` elements: phase `p` computes (per element) the
//! arguments of the functions at nesting level `p + 1` into scratch slots, then calls each
//! function's vector kernel once for the whole block; the last phase computes the expression
//! from the staged results. Nested calls (`sin(exp(x))`) simply take more phases.

use std::collections::HashMap;

use crate::core::dtype::DType;
use crate::ir::{Graph, NodeId, NodeKind};
use crate::ops::{Op, Vector};
use crate::plan::Stage;
use crate::vmath::{self, CUnary, VBinary, VUnary};

/// Scratch per thread for staged blocks: a quarter of it per stage is what fits next to the
/// operands in a 32 KiB L1 data cache.
const SCRATCH_TARGET_BYTES: usize = 24 * 1024;

/// A function of the op table that has a vector kernel.
#[derive(Debug, Clone, Copy)]
pub(crate) enum VectorFn {
    Unary(VUnary),
    Binary(VBinary),
    /// Square root with 256-bit instructions, where the CPU has them (see `vmath::sqrt`).
    WideSqrt,
    /// A complex function on interleaved parts (`vmath::complex`): one staged complex value
    /// is one scratch slot of whole elements, both parts.
    Complex(CUnary),
}

impl VectorFn {
    /// The vector kernel the op table gives `op`, or the 256-bit square root where the CPU has
    /// AVX.
    pub fn of(op: Op) -> Option<VectorFn> {
        match op.def().vector {
            Some(Vector::Unary(u)) => Some(VectorFn::Unary(u)),
            Some(Vector::Binary(b)) => Some(VectorFn::Binary(b)),
            None if op == Op::Sqrt && vmath::wide_sqrt_fn_ptr(false).is_some() => {
                Some(VectorFn::WideSqrt)
            }
            None => None,
        }
    }

    /// The block function computing `op` on elements of `dtype` (a float or complex dtype).
    pub fn for_dtype(op: Op, dtype: DType) -> Option<VectorFn> {
        if dtype.is_complex() {
            op.def().complex.map(VectorFn::Complex)
        } else if dtype.is_float() {
            VectorFn::of(op)
        } else {
            None
        }
    }

    /// The kernel's address for elements of `dtype` (float32 or float64; complex64 or
    /// complex128 for [`VectorFn::Complex`]).
    pub fn address(self, dtype: DType) -> *const u8 {
        let f32_ = dtype == DType::Float32;
        match self {
            VectorFn::Complex(c) => vmath::complex_fn_ptr(c, dtype == DType::Complex64),
            VectorFn::Unary(u) => vmath::unary_fn_ptr(u, f32_),
            VectorFn::Binary(b) => vmath::binary_fn_ptr(b, f32_),
            VectorFn::WideSqrt => vmath::wide_sqrt_fn_ptr(f32_)
                .unwrap_or_else(|| unreachable!("`of` checked the CPU")),
        }
    }
}

#[cfg(feature = "llvm")]
impl VectorFn {
    /// The name a module compiled ahead of its loading (the LLVM tier's) gives the block
    /// function [`VectorFn::address`] returns: an index into the kernel's enum and the dtype,
    /// never an address, so the same kernel has the same object file in every process
    /// ([`vector_symbol_address`] resolves it back): `nj_vu3_f32` is `VUnary::ALL[3]` on
    /// float32.
    pub fn symbol(self, dtype: DType) -> String {
        let suffix = match dtype {
            DType::Float32 => "f32",
            DType::Complex64 => "c64",
            DType::Complex128 => "c128",
            _ => "f64",
        };
        match self {
            VectorFn::Unary(u) => format!("nj_vu{}_{suffix}", u as usize),
            VectorFn::Binary(b) => format!("nj_vb{}_{suffix}", b as usize),
            VectorFn::WideSqrt => format!("nj_vsqrt_{suffix}"),
            VectorFn::Complex(c) => format!("nj_vc{}_{suffix}", c as usize),
        }
    }
}

/// The name of the shared sine-and-cosine block function on `dtype`, as [`VectorFn::symbol`]
/// names the others (its address: `vmath::sincos_fn_ptr`).
#[cfg(feature = "llvm")]
pub(crate) fn sincos_symbol(dtype: DType) -> &'static str {
    if dtype == DType::Float32 {
        "nj_vsincos_f32"
    } else {
        "nj_vsincos_f64"
    }
}

/// The address of the block function named `name` ([`VectorFn::symbol`], [`sincos_symbol`]) in
/// this process, or `None` for a name no kernel has.
#[cfg(feature = "llvm")]
pub(crate) fn vector_symbol_address(name: &str) -> Option<*const u8> {
    static TABLE: std::sync::OnceLock<HashMap<String, usize>> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut fns: Vec<VectorFn> = VUnary::ALL.iter().map(|&u| VectorFn::Unary(u)).collect();
        fns.extend(VBinary::ALL.iter().map(|&b| VectorFn::Binary(b)));
        if vmath::wide_sqrt_fn_ptr(false).is_some() {
            fns.push(VectorFn::WideSqrt);
        }
        let mut table = HashMap::new();
        for f in fns {
            for d in [DType::Float32, DType::Float64] {
                table.insert(f.symbol(d), f.address(d) as usize);
            }
        }
        for c in CUnary::ALL {
            let f = VectorFn::Complex(c);
            for d in [DType::Complex64, DType::Complex128] {
                table.insert(f.symbol(d), f.address(d) as usize);
            }
        }
        for d in [DType::Float32, DType::Float64] {
            let address = vmath::sincos_fn_ptr(d == DType::Float32) as usize;
            table.insert(sincos_symbol(d).to_string(), address);
        }
        table
    });
    table.get(name).map(|&a| a as *const u8)
}

/// Where a staged value lives in scratch: byte offset of its block and element size.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot {
    pub offset: i32,
    pub size: u8,
}

/// The staging of one map stage.
#[derive(Debug, Clone)]
pub(crate) struct Staging {
    /// Elements per block.
    pub block: usize,
    /// `phases[p]`: the staged nodes computed at the end of phase `p`.
    pub phases: Vec<Vec<NodeId>>,
    /// Scratch slots of staged nodes and of their (non-staged) arguments.
    pub slots: HashMap<NodeId, Slot>,
    /// Scratch bytes the stage needs per thread.
    pub scratch_bytes: usize,
    /// `sin(x)` → `cos(x)` of the same `x`: one `sincos` call fills both blocks, sharing the
    /// argument reduction (the results are bit for bit those of two calls).
    pub sincos: HashMap<NodeId, NodeId>,
}

impl Staging {
    /// True for a `cos` node whose block its `sin` partner's call computes.
    pub fn computed_with_sin(&self, node: NodeId) -> bool {
        self.sincos.values().any(|&c| c == node)
    }
}

/// Plans staging for a map stage, or `None` when its expression has no vector function.
pub(crate) fn plan(g: &Graph, stage: &Stage) -> Option<Staging> {
    plan_with(g, stage, true)
}

/// [`plan`], staging square roots too when `sqrt` is set (a code generator with a vector square
/// root instruction computes them inline: the bits are the same, correctly rounded).
pub(crate) fn plan_with(g: &Graph, stage: &Stage, sqrt: bool) -> Option<Staging> {
    let is_staged = |g: &Graph, id: NodeId| is_staged(g, id, sqrt);
    let mut level: HashMap<NodeId, usize> = HashMap::new();
    let mut order = Vec::new();
    for &v in stage.values() {
        visit(g, stage, v, &mut level, &mut order, sqrt);
    }
    let max_level = order.iter().map(|n| level[n]).max().unwrap_or(0);
    let staged: Vec<NodeId> = order.iter().copied().filter(|&n| is_staged(g, n)).collect();
    if staged.is_empty() {
        return None;
    }
    // Slots: every staged node, and every distinct argument of one that is not itself staged.
    let mut slot_nodes: Vec<NodeId> = Vec::new();
    for &s in &staged {
        for a in g.args(s) {
            if !is_staged(g, a) && !slot_nodes.contains(&a) {
                slot_nodes.push(a);
            }
        }
        slot_nodes.push(s);
    }
    let bytes_per_element: usize = slot_nodes.iter().map(|&n| g.node(n).dtype.size()).sum();
    // Blocks a multiple of 16 elements (whole vectors in every tier), between 64 and 1024.
    let block = (SCRATCH_TARGET_BYTES / bytes_per_element).clamp(64, 1024) / 16 * 16;
    let mut slots = HashMap::new();
    let mut offset = 0usize;
    for &n in &slot_nodes {
        let size = g.node(n).dtype.size();
        slots.insert(
            n,
            Slot {
                offset: offset as i32,
                size: size as u8,
            },
        );
        // Keep every block 64-byte aligned (the scratch base is), for aligned vector loads.
        offset += (block * size).div_ceil(64) * 64;
    }
    let mut sincos = HashMap::new();
    for &s in &staged {
        let (NodeKind::Apply(Op::Sin, x), dtype) = (&g.node(s).kind, g.node(s).dtype) else {
            continue;
        };
        let cos = staged.iter().copied().find(|&c| {
            matches!(&g.node(c).kind, NodeKind::Apply(Op::Cos, y) if y == x)
                && g.node(c).dtype == dtype
        });
        // Complex sin and cos have their own block functions.
        let cos = cos.filter(|_| dtype.is_float());
        if let Some(c) = cos {
            sincos.insert(s, c);
        }
    }
    let phases = (1..=max_level)
        .map(|l| staged.iter().copied().filter(|n| level[n] == l).collect())
        .collect();
    Some(Staging {
        block,
        phases,
        slots,
        scratch_bytes: offset,
        sincos,
    })
}

/// True for a node computed by a vector kernel. 0-d nodes (`sin(theta)` of a scalar) are not:
/// the translator computes them once per call. Without `sqrt`, real square roots are not
/// either (complex ones are: they are no instruction).
fn is_staged(g: &Graph, id: NodeId, sqrt: bool) -> bool {
    let node = g.node(id);
    node.rank > 0
        && matches!(&node.kind, NodeKind::Apply(op, _)
            if VectorFn::for_dtype(*op, node.dtype).is_some()
                && (sqrt || *op != Op::Sqrt || node.dtype.is_complex()))
}

/// Post-order walk of the stage's expression (stopping at its leaves), computing levels.
fn visit(
    g: &Graph,
    stage: &Stage,
    id: NodeId,
    level: &mut HashMap<NodeId, usize>,
    order: &mut Vec<NodeId>,
    sqrt: bool,
) -> usize {
    if let Some(&l) = level.get(&id) {
        return l;
    }
    let below = if stage.leaves.contains(&id) {
        0
    } else {
        // As deep as the graph (a chain of 10⁴ statements): on the heap past the red zone.
        crate::core::stack::deep(|| {
            g.args(id)
                .into_iter()
                .map(|a| visit(g, stage, a, level, order, sqrt))
                .max()
                .unwrap_or(0)
        })
    };
    let l = below + usize::from(!stage.leaves.contains(&id) && is_staged(g, id, sqrt));
    level.insert(id, l);
    order.push(id);
    l
}
