//! Per-operand scratch values (offsets, addresses) without a heap allocation in the common case.
//!
//! The drivers compute one offset and one address per operand for every work item: every row of
//! a row reduction (10 000 for `sum(c, axis=1)` on 10 000²) and every chunk of a map. A `Vec`
//! each time cost a few percent of a memory-bound reduction in malloc and free.

use std::ops::{Deref, DerefMut};

/// Operands kept inline; a stage with more spills to the heap.
const INLINE: usize = 8;

/// `n` values of `T`, on the stack when `n ≤ 8`.
pub(crate) enum PerOperand<T> {
    Inline([T; INLINE], usize),
    Heap(Vec<T>),
}

impl<T: Copy + Default> PerOperand<T> {
    /// `n` default values (zeros).
    pub(crate) fn zeroed(n: usize) -> Self {
        if n <= INLINE {
            PerOperand::Inline([T::default(); INLINE], n)
        } else {
            PerOperand::Heap(vec![T::default(); n])
        }
    }
}

impl<T> Deref for PerOperand<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        match self {
            PerOperand::Inline(values, n) => &values[..*n],
            PerOperand::Heap(values) => values,
        }
    }
}

impl<T> DerefMut for PerOperand<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        match self {
            PerOperand::Inline(values, n) => &mut values[..*n],
            PerOperand::Heap(values) => values,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_counts_stay_inline_and_large_ones_use_the_heap() {
        let mut few = PerOperand::<isize>::zeroed(3);
        few[2] = 7;
        assert!(matches!(few, PerOperand::Inline(_, 3)));
        assert_eq!(&*few, &[0, 0, 7]);
        let mut many = PerOperand::<usize>::zeroed(INLINE + 1);
        many[INLINE] = 1;
        assert!(matches!(many, PerOperand::Heap(_)));
        assert_eq!(many.len(), INLINE + 1);
        assert_eq!(many.iter().sum::<usize>(), 1);
    }
}
