//! Where ranks may cut a distributed reduction, and how their partials combine: the ranks'
//! pieces are whole subtrees of the single-process pairwise tree (`exec/drive/tree.rs`), so
//! combining the subtree roots in the tree's order gives the single-process value bit for bit.
//!
//! The single-process tree over a 1-d reduction of `n` elements has `ceil(n / BLOCK)` leaves
//! (blocks of [`BLOCK`] elements) and splits every node `lo..hi` at `lo + (hi - lo) / 2`; the
//! subtree under a node is the tree of its length alone, so a rank that reduces the node's
//! elements on its own gets the node's value.

use crate::ops::ReduceOp;

/// Elements per leaf of the single-process tree.
use crate::exec::BLOCK;

/// Pieces per rank in numjit's own partition: nodes of the tree differ in size by at most a
/// factor two, so eight per rank balance the ranks to within about 1/8.
const PIECES_PER_RANK: usize = 8;

/// A piece of the reduction: rows `lo..hi` along axis 0, and its leaves `leaves.0..leaves.1`
/// in the combining tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Piece {
    pub lo: usize,
    pub hi: usize,
    pub leaves: (usize, usize),
}

/// A cut of the tree over `n` elements into whole subtrees, about [`PIECES_PER_RANK`] per
/// rank (fewer when the tree has fewer leaves), in order.
pub(crate) fn cut(n: usize, ranks: usize) -> Vec<Piece> {
    let leaves = n.div_ceil(BLOCK);
    if leaves == 0 {
        return Vec::new();
    }
    let goal = PIECES_PER_RANK * ranks.max(1);
    let mut nodes = vec![(0, leaves)];
    // Splitting the largest node keeps the sizes within a factor two of each other; the
    // children of a node are nodes, so the list stays a cut of the tree.
    while nodes.len() < goal {
        let Some((i, &(lo, hi))) = nodes
            .iter()
            .enumerate()
            .filter(|(_, (lo, hi))| hi - lo >= 2)
            .max_by_key(|(i, (lo, hi))| (hi - lo, usize::MAX - i))
        else {
            break;
        };
        let mid = lo + (hi - lo) / 2;
        nodes.splice(i..=i, [(lo, mid), (mid, hi)]);
    }
    nodes
        .into_iter()
        .map(|(lo, hi)| Piece {
            lo: lo * BLOCK,
            hi: (hi * BLOCK).min(n),
            leaves: (lo, hi),
        })
        .collect()
}

/// The first row of every rank (and `n` last) when `pieces` (in order, covering `0..n`) go to
/// the rank their middle row falls in, of `ranks` equal shares.
pub(crate) fn starts(pieces: &[Piece], n: usize, ranks: usize) -> Vec<usize> {
    let owner = |p: &Piece| ((p.lo + p.hi) / 2 * ranks / n.max(1)).min(ranks - 1);
    (0..=ranks)
        .map(|r| pieces.iter().find(|p| owner(p) >= r).map_or(n, |p| p.lo))
        .collect()
}

/// Combines the pieces' values (each `k` accumulators, in piece order) by the tree over their
/// leaves: the node that is a piece gives its value, any other splits at its midpoint.
pub(crate) fn combine<T: Clone>(
    pieces: &[Piece],
    values: &[T],
    k: usize,
    f: &impl Fn(T, T) -> T,
) -> Vec<T> {
    fn node<T: Clone>(
        pieces: &[Piece],
        values: &[T],
        k: usize,
        lo: usize,
        hi: usize,
        j: usize,
        f: &impl Fn(T, T) -> T,
    ) -> T {
        if let Some(i) = pieces.iter().position(|p| p.leaves == (lo, hi)) {
            return values[i * k + j].clone();
        }
        let mid = lo + (hi - lo) / 2;
        f(
            node(pieces, values, k, lo, mid, j, f),
            node(pieces, values, k, mid, hi, j, f),
        )
    }
    let (Some(first), Some(last)) = (pieces.first(), pieces.last()) else {
        return Vec::new();
    };
    let (lo, hi) = (first.leaves.0, last.leaves.1);
    (0..k)
        .map(|j| node(pieces, values, k, lo, hi, j, f))
        .collect()
}

/// The combine of `op` on accumulators of type `T`.
pub(crate) fn combiner<T: crate::exec::Acc>(op: ReduceOp) -> impl Fn(T, T) -> T {
    move |a, b| T::combine(op, a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_cover_in_order_and_balance() {
        for n in [0, 1, 127, 128, 129, 1000, 12_345, 100_000_000] {
            for ranks in 1..=5 {
                let pieces = cut(n, ranks);
                let mut at = 0;
                for p in &pieces {
                    assert_eq!(p.lo, at);
                    assert!(p.hi > p.lo);
                    at = p.hi;
                }
                assert_eq!(at, n);
                let s = starts(&pieces, n, ranks);
                assert_eq!((s[0], s[ranks]), (0, n));
                assert!(s.windows(2).all(|w| w[0] <= w[1]));
                if n >= 1_000_000 {
                    let most = s.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);
                    assert!(most <= n / ranks + n / ranks / 4, "{n} {ranks} {s:?}");
                }
            }
        }
    }

    /// The property `numjit::dist` rests on, checked in one process: summing every piece on its
    /// own and combining the roots gives the single-process sum bit for bit. A change to the
    /// executor's tree (`exec/drive/tree.rs`) that breaks it fails here, without MPI.
    #[test]
    fn pieces_reduce_to_the_single_process_sum() {
        let sum = |a: ndarray::ArrayView1<f64>| {
            crate::evaluate("sum(a)", &crate::Vars::new().with("a", a))
                .map(|s| s.to_f64()[[]])
                .unwrap_or(f64::NAN)
        };
        for n in [1, 127, 129, 5000, 300_001] {
            let a = ndarray::Array1::from_shape_fn(n, |i| ((i * 7919) % 1013) as f64 / 7.0 - 50.0);
            let whole = sum(a.view());
            for ranks in 1..=4 {
                let pieces = cut(n, ranks);
                let values: Vec<f64> = pieces
                    .iter()
                    .map(|p| sum(a.slice(ndarray::s![p.lo..p.hi])))
                    .collect();
                let got = combine(&pieces, &values, 1, &combiner::<f64>(ReduceOp::Sum));
                assert_eq!(got[0].to_bits(), whole.to_bits(), "n = {n}, {ranks} ranks");
            }
        }
    }

    #[test]
    fn combining_a_cut_is_the_whole_tree() {
        // A sum over leaf values 1, 2, 4, ... records the order of additions in float rounding;
        // strings record it exactly.
        let leaves = 37;
        let whole = combine(
            &[Piece {
                lo: 0,
                hi: leaves * BLOCK,
                leaves: (0, leaves),
            }],
            &["w".to_string()],
            1,
            &|a: String, b| format!("({a}{b})"),
        );
        assert_eq!(whole, vec!["w".to_string()]);
        fn tree(lo: usize, hi: usize) -> String {
            if hi - lo == 1 {
                return lo.to_string();
            }
            let mid = lo + (hi - lo) / 2;
            format!("({}+{})", tree(lo, mid), tree(mid, hi))
        }
        for ranks in 1..=4 {
            let pieces = cut(leaves * BLOCK, ranks);
            let values: Vec<String> = pieces
                .iter()
                .map(|p| tree(p.leaves.0, p.leaves.1))
                .collect();
            let got = combine(&pieces, &values, 1, &|a: String, b: String| {
                format!("({a}+{b})")
            });
            assert_eq!(got, vec![tree(0, leaves)]);
        }
    }
}
