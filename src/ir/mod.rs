//! The typed IR: a DAG of elementwise ops and reductions over named inputs.
//!
//! Nodes are stored in topological order (every argument has a smaller id than its user), so a
//! forward walk visits arguments first. Dtypes and ranks are fixed at lowering; concrete shapes are
//! bound per evaluation (`shape.rs`), so one compiled kernel serves arrays of any size.

pub(crate) mod eval;
pub(crate) mod kernel;

use std::fmt;

use crate::core::dtype::{DType, Scalar};
use crate::core::error::Span;
use crate::ops::{Op, ReduceOp};

/// Index of a node in [`Graph::nodes`].
pub(crate) type NodeId = usize;

/// What a node computes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum NodeKind {
    /// Reads input `inputs[i]`; broadcast to its users' shapes.
    Input(usize),
    /// A constant (0-d).
    Const(Scalar),
    /// Converts its argument to the node's dtype (C casts).
    Cast(NodeId),
    /// An elementwise op on arguments already cast to its operand dtype.
    Apply(Op, Vec<NodeId>),
    /// A kernel (`def`) applied elementwise to arguments of its parameters' dtypes.
    Call(std::sync::Arc<kernel::KernelIr>, Vec<NodeId>),
    /// A reduction over one axis, or over all axes when `axis` is `None`. Its dtype is the
    /// result dtype; it accumulates in `op.acc_dtype(arg dtype)`.
    Reduce {
        op: ReduceOp,
        arg: NodeId,
        axis: Option<usize>,
    },
    /// The element index `0, 1, …, len−1` along `axis`, as the node's dtype (int64 or float64),
    /// with size 1 along the node's other axes: what `arange` and `linspace` are made of. The
    /// length is computed from `len` when the inputs are bound; nothing is ever stored.
    Iota { axis: usize, len: Extent },
}

impl NodeKind {
    /// The same node over other arguments (`f` maps each argument's id).
    pub fn map_args(&self, f: impl Fn(NodeId) -> NodeId) -> NodeKind {
        match self {
            NodeKind::Input(_) | NodeKind::Const(_) => self.clone(),
            NodeKind::Cast(a) => NodeKind::Cast(f(*a)),
            NodeKind::Apply(op, args) => NodeKind::Apply(*op, args.iter().map(|&a| f(a)).collect()),
            NodeKind::Call(k, args) => {
                NodeKind::Call(k.clone(), args.iter().map(|&a| f(a)).collect())
            }
            NodeKind::Reduce { op, arg, axis } => NodeKind::Reduce {
                op: *op,
                arg: f(*arg),
                axis: *axis,
            },
            NodeKind::Iota { axis, len } => NodeKind::Iota {
                axis: *axis,
                len: len.map(f),
            },
        }
    }
}

/// How long an [`NodeKind::Iota`] is. Its nodes are 0-d and known when the inputs are bound
/// (constants and 0-d inputs only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Extent {
    /// `count` (an int64 node) elements; a negative count is an error (`linspace`'s `num`).
    Count(NodeId),
    /// `ceil((stop − start) / step)` elements, at least 0 (`arange`); a zero step is an error.
    /// The three nodes have one dtype, int64 or float64.
    Range {
        start: NodeId,
        stop: NodeId,
        step: NodeId,
    },
}

impl Extent {
    /// Its nodes, in order.
    pub fn nodes(self) -> Vec<NodeId> {
        match self {
            Extent::Count(n) => vec![n],
            Extent::Range { start, stop, step } => vec![start, stop, step],
        }
    }

    /// The same extent over other node ids (`f` maps each id).
    pub fn map(self, f: impl Fn(NodeId) -> NodeId) -> Extent {
        match self {
            Extent::Count(n) => Extent::Count(f(n)),
            Extent::Range { start, stop, step } => Extent::Range {
                start: f(start),
                stop: f(stop),
                step: f(step),
            },
        }
    }
}

/// One IR node.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub kind: NodeKind,
    pub dtype: DType,
    pub rank: usize,
    /// The source the node came from, for errors found when shapes are bound.
    pub span: Span,
}

/// A named input of an expression, as the compiled kernel expects it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct InputDecl {
    pub name: String,
    pub dtype: DType,
    pub rank: usize,
    /// For `u[1:-1, ::2]`: a view of input `base`, made when the inputs are bound. The rest
    /// of the pipeline sees an ordinary input, so a slice costs nothing per element.
    pub view: Option<InputView>,
    /// For a string literal (`b'abc'`, 0-d, of dtype `S3`): its bytes, which the program owns
    /// and binds as this input's view (the JIT reads them in place like any input's).
    pub literal: Option<std::sync::Arc<[u8]>>,
}

/// How a derived input is made from another: basic indexing.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct InputView {
    pub base: usize,
    pub items: Vec<crate::core::index::IndexItem>,
    /// The subscript expression, for errors found when the shape is known.
    pub span: Span,
}

/// A lowered expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Graph {
    pub nodes: Vec<Node>,
    pub inputs: Vec<InputDecl>,
    pub root: NodeId,
    /// For a group of program statements: the values stored, one per target, in statement
    /// order (`root` is the first). Empty for a single expression, whose value is `root`.
    pub roots: Vec<NodeId>,
}

impl Graph {
    pub fn new(inputs: Vec<InputDecl>) -> Graph {
        Graph {
            nodes: Vec::new(),
            inputs,
            root: 0,
            roots: Vec::new(),
        }
    }

    /// Appends a node and returns its id.
    pub fn push(&mut self, node: Node) -> NodeId {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id]
    }

    /// The arguments of a node, in order.
    pub fn args(&self, id: NodeId) -> Vec<NodeId> {
        match &self.nodes[id].kind {
            NodeKind::Input(_) | NodeKind::Const(_) => vec![],
            NodeKind::Cast(a) => vec![*a],
            NodeKind::Apply(_, args) | NodeKind::Call(_, args) => args.clone(),
            NodeKind::Reduce { arg, .. } => vec![*arg],
            NodeKind::Iota { len, .. } => len.nodes(),
        }
    }

    /// The reductions in evaluation order (arguments before users).
    pub fn reductions(&self) -> Vec<NodeId> {
        (0..self.nodes.len())
            .filter(|&i| matches!(self.nodes[i].kind, NodeKind::Reduce { .. }))
            .collect()
    }
}

impl fmt::Display for Graph {
    /// One line per node: `%3 = add float64[2] %1, %2`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, input) in self.inputs.iter().enumerate() {
            writeln!(
                f,
                "input {i}: {} {}[rank {}]",
                input.name, input.dtype, input.rank
            )?;
        }
        for (id, n) in self.nodes.iter().enumerate() {
            write!(f, "%{id} = ")?;
            match &n.kind {
                NodeKind::Input(i) => write!(f, "input {}", self.inputs[*i].name)?,
                NodeKind::Const(s) => write!(f, "const {s}")?,
                NodeKind::Cast(a) => write!(f, "cast %{a}")?,
                NodeKind::Apply(op, args) => {
                    let args: Vec<String> = args.iter().map(|a| format!("%{a}")).collect();
                    write!(f, "{} {}", op_label(*op), args.join(", "))?
                }
                NodeKind::Call(k, args) => {
                    let args: Vec<String> = args.iter().map(|a| format!("%{a}")).collect();
                    write!(f, "call {} {}", k.name, args.join(", "))?
                }
                NodeKind::Reduce { op, arg, axis } => match axis {
                    Some(ax) => write!(f, "{} %{arg}, axis={ax}", op.name())?,
                    None => write!(f, "{} %{arg}", op.name())?,
                },
                NodeKind::Iota { axis, len } => match len {
                    Extent::Count(n) => write!(f, "iota axis={axis}, len=%{n}")?,
                    Extent::Range { start, stop, step } => write!(
                        f,
                        "iota axis={axis}, len=ceil((%{stop} - %{start}) / %{step})"
                    )?,
                },
            }
            writeln!(
                f,
                "  : {}[rank {}]{}",
                n.dtype,
                n.rank,
                if id == self.root || self.roots.contains(&id) {
                    "  <- result"
                } else {
                    ""
                }
            )?;
        }
        // The kernels the graph calls, each once, typed as they are called.
        let mut shown: Vec<*const kernel::KernelIr> = Vec::new();
        for n in &self.nodes {
            if let NodeKind::Call(k, _) = &n.kind {
                if !shown.contains(&std::sync::Arc::as_ptr(k)) {
                    shown.push(std::sync::Arc::as_ptr(k));
                    write!(f, "{k}")?;
                }
            }
        }
        Ok(())
    }
}

impl Graph {
    /// The root as one expression over the inputs' names (`(zr * zr) + cr`): how a kernel's
    /// statements are printed.
    pub fn expression(&self) -> String {
        self.expression_of(self.root)
    }

    fn expression_of(&self, id: NodeId) -> String {
        let node = self.node(id);
        match &node.kind {
            NodeKind::Input(i) => self.inputs[*i].name.clone(),
            NodeKind::Const(s) => s.to_string(),
            NodeKind::Cast(a) => format!("{}({})", node.dtype, self.expression_of(*a)),
            NodeKind::Apply(op, args) => {
                let args: Vec<String> = args.iter().map(|a| self.expression_of(*a)).collect();
                let def = op.def();
                match (def.is_function, args.as_slice()) {
                    (false, [a]) => format!("{}{a}", def.name),
                    (false, [a, b]) => format!("({a} {} {b})", def.name),
                    _ => format!("{}({})", def.name, args.join(", ")),
                }
            }
            NodeKind::Call(k, args) => {
                let args: Vec<String> = args.iter().map(|a| self.expression_of(*a)).collect();
                format!("{}({})", k.name, args.join(", "))
            }
            NodeKind::Reduce { op, arg, .. } => {
                format!("{}({})", op.name(), self.expression_of(*arg))
            }
            NodeKind::Iota { axis, .. } => format!("iota(axis={axis})"),
        }
    }
}

/// Ops print by function name; operators by a word, since `-` alone is ambiguous.
fn op_label(op: Op) -> String {
    let def = op.def();
    if def.is_function {
        def.name.to_string()
    } else {
        format!("{op:?}").to_lowercase()
    }
}
