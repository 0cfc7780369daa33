//! Unsigned division of 64-bit integer vectors by a constant, as a multiply-high by a "magic"
//! number and shifts (libdivide's unsigned algorithm; Granlund and Montgomery 1994).
//!
//! LLVM lowers `udiv <N x i64> x, splat(d)` the same way, but x86 has no 64-bit vector
//! multiply-high, so it then splits the vector into N scalar `mulx`es with extracts and inserts
//! around each (P8's digit loop ran 1.5× slower than on scalars that way). Here the high half of
//! `x · m` is built from four 32 × 32 → 64-bit products, which LLVM selects as `vpmuludq` on
//! whole vectors; where every lane is below 2^32, one such product per lane does. The quotient
//! is exact for every `x`: the same value as the hardware's `div`.

use inkwell::values::{IntValue, VectorValue};
use inkwell::IntPredicate;

use super::super::jit::internal;
use super::emit::Check;
use super::*;

/// How to divide by a constant `d`: `x >> shift` for a power of two, else from
/// `t = mulhi(x, magic)`: `t >> shift`, or with `add`, `(((x - t) >> 1) + t) >> shift`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Magic {
    magic: u64,
    shift: u32,
    add: bool,
}

impl Magic {
    /// The magic number of `d` (≥ 1) for dividends of `bits` bits (32 or 64), as libdivide's
    /// `libdivide_internal_u32_gen` and `_u64_gen` find it.
    pub fn of(d: u64, bits: u32) -> Magic {
        assert!(d > 0, "division by zero has no magic number");
        assert!(bits == 64 || (bits == 32 && d <= u32::MAX as u64));
        let log2 = 63 - d.leading_zeros();
        if d.is_power_of_two() {
            return Magic {
                magic: 0,
                shift: log2,
                add: false,
            };
        }
        let wrap = |v: u128| (v & ((1u128 << bits) - 1)) as u64;
        let numerator = 1u128 << (bits + log2);
        let (mut m, rem) = (numerator / d as u128, numerator % d as u128);
        let add = d as u128 - rem >= 1u128 << log2;
        if add {
            // 2^(bits + log2) / d does not fit: use 2^(bits + 1 + log2) / d, one bit too
            // wide, whose top bit the `add` step restores.
            m = 2 * m + u128::from(2 * rem >= d as u128);
        }
        Magic {
            magic: wrap(m + 1),
            shift: log2,
            add,
        }
    }

    /// `x / d` computed as the vector code computes it (`x` below `2^bits`; for tests).
    #[cfg(test)]
    pub fn divide(self, x: u64, bits: u32) -> u64 {
        if self.magic == 0 {
            return x >> self.shift;
        }
        let t = ((x as u128 * self.magic as u128) >> bits) as u64;
        if self.add {
            (((x - t) >> 1) + t) >> self.shift
        } else {
            t >> self.shift
        }
    }
}

impl<'ctx> Translator<'_, 'ctx> {
    /// `x / d` on a vector of unsigned 64-bit integers. For `d < 2^32`, a vector whose lanes
    /// are all below `2^32` (P8's digits: every one) takes a shorter path, one 32-bit
    /// multiply-high per lane; the others take the 64-bit one.
    pub(super) fn divide_u64_vector(
        &self,
        x: VectorValue<'ctx>,
        d: u64,
    ) -> Result<VectorValue<'ctx>> {
        if d > u32::MAX as u64 || d.is_power_of_two() {
            return self.divide_with(x, Magic::of(d, 64), 64);
        }
        let thirty_two = self.splat_u64(32, x)?;
        let high = self
            .b
            .build_right_shift(x, thirty_two, false, "")
            .or_err()?;
        let zero = self.splat_u64(0, x)?;
        let wide = self
            .b
            .build_int_compare(IntPredicate::NE, high, zero, "")
            .or_err()?;
        let (narrow_block, wide_block, done) = (
            self.ctx.append_basic_block(self.f, "divide_narrow"),
            self.ctx.append_basic_block(self.f, "divide_wide"),
            self.ctx.append_basic_block(self.f, "divide_done"),
        );
        let any_wide = self.any_lane(wide)?;
        self.b
            .build_conditional_branch(any_wide, wide_block, narrow_block)
            .or_err()?;
        let mut incoming = Vec::with_capacity(2);
        for (block, bits) in [(narrow_block, 32), (wide_block, 64)] {
            self.b.position_at_end(block);
            let q = self.divide_with(x, Magic::of(d, bits), bits)?;
            // The block the quotient is computed in ends here (no blocks inside).
            incoming.push((q, self.b.get_insert_block().unwrap_or(block)));
            self.b.build_unconditional_branch(done).or_err()?;
        }
        self.b.position_at_end(done);
        let phi = self.b.build_phi(x.get_type(), "").or_err()?;
        for (q, block) in &incoming {
            phi.add_incoming(&[(q, *block)]);
        }
        Ok(phi.as_basic_value().into_vector_value())
    }

    /// `v` in every lane of a vector shaped as `like`.
    fn splat_u64(&self, v: u64, like: VectorValue<'ctx>) -> Result<VectorValue<'ctx>> {
        let c = self.ctx.i64_type().const_int(v, false);
        Ok(self
            .splat(c.into(), like.get_type().get_size())?
            .into_vector_value())
    }

    /// True (an `i1`) when any lane of `mask` is set.
    pub(super) fn any_lane(&self, mask: VectorValue<'ctx>) -> Result<IntValue<'ctx>> {
        let lanes = mask.get_type().get_size();
        let width = std::num::NonZeroU32::new(lanes)
            .ok_or_else(|| internal("llvm mask", "a mask of no lanes"))?;
        let bits = self
            .ctx
            .custom_width_int_type(width)
            .map_err(|e| internal("llvm mask", e))?;
        let word = self.b.build_bit_cast(mask, bits, "").or_err()?;
        self.b
            .build_int_compare(
                IntPredicate::NE,
                word.into_int_value(),
                bits.const_zero(),
                "",
            )
            .or_err()
    }

    /// `x / d` with `d`'s magic for dividends of `bits` bits (every lane of `x` below `2^bits`).
    fn divide_with(
        &self,
        x: VectorValue<'ctx>,
        magic: Magic,
        bits: u32,
    ) -> Result<VectorValue<'ctx>> {
        let b = &self.b;
        let shift = |v: VectorValue<'ctx>, by: u32| -> Result<VectorValue<'ctx>> {
            b.build_right_shift(v, self.splat_u64(by as u64, x)?, false, "")
                .or_err()
        };
        if magic.magic == 0 {
            return shift(x, magic.shift);
        }
        let t = if bits == 32 {
            // Both factors below 2^32 (the `and` tells LLVM so): one `vpmuludq`.
            let low = b
                .build_and(x, self.splat_u64(0xffff_ffff, x)?, "")
                .or_err()?;
            let product = b
                .build_int_mul(low, self.splat_u64(magic.magic, x)?, "")
                .or_err()?;
            shift(product, 32)?
        } else {
            self.mulhi_u64(x, magic.magic)?
        };
        let q = if magic.add {
            let half = shift(b.build_int_sub(x, t, "").or_err()?, 1)?;
            b.build_int_add(half, t, "").or_err()?
        } else {
            t
        };
        shift(q, magic.shift)
    }

    /// The high 64 bits of `x · m` per lane, from the four 32-bit halves' products (each an
    /// `and`/`lshr` to 32 bits, then a 64-bit `mul` that LLVM selects as `vpmuludq`).
    fn mulhi_u64(&self, x: VectorValue<'ctx>, m: u64) -> Result<VectorValue<'ctx>> {
        let b = &self.b;
        let splat = |v: u64| self.splat_u64(v, x);
        let low = splat(0xffff_ffff)?;
        let thirty_two = splat(32)?;
        let lo = |v: VectorValue<'ctx>| b.build_and(v, low, "").or_err();
        let hi = |v: VectorValue<'ctx>| b.build_right_shift(v, thirty_two, false, "").or_err();
        let mul = |p: VectorValue<'ctx>, q: VectorValue<'ctx>| b.build_int_mul(p, q, "").or_err();
        let add = |p: VectorValue<'ctx>, q: VectorValue<'ctx>| b.build_int_add(p, q, "").or_err();
        let (xl, xh) = (lo(x)?, hi(x)?);
        let (ml, mh) = (splat(m & 0xffff_ffff)?, splat(m >> 32)?);
        let ll = mul(xl, ml)?;
        let lh = mul(xl, mh)?;
        let hl = mul(xh, ml)?;
        let hh = mul(xh, mh)?;
        // The middle column: below 3 · 2^32, so it cannot overflow.
        let middle = add(add(hi(ll)?, lo(lh)?)?, lo(hl)?)?;
        add(add(add(hh, hi(lh)?)?, hi(hl)?)?, hi(middle)?)
    }
}

#[cfg(test)]
mod tests {
    use super::Magic;

    #[test]
    fn magic_numbers_divide_exactly() {
        let mut divisors: Vec<u64> = (1..=1000).collect();
        divisors.extend([
            (1 << 31) - 1,
            (1 << 31) + 1,
            u32::MAX as u64 - 1,
            641,
            6700417,
            (1 << 32) - 1,
            (1 << 32) + 1,
            (1 << 63) - 1,
            (1 << 63) + 1,
            u64::MAX - 1,
            u64::MAX,
            1 << 40,
            1 << 63,
        ]);
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        assert_eq!(Magic::of(10, 64).magic, 0xcccc_cccc_cccc_cccd);
        assert_eq!(Magic::of(10, 32).magic, 0xcccc_cccd);
        for d in divisors {
            let m = Magic::of(d, 64);
            let mut xs = vec![0, 1, d - 1, d, d.wrapping_add(1), u64::MAX, u64::MAX - 1];
            xs.extend((0..200).map(|_| next()));
            xs.extend((0..50).map(|_| next() >> (next() % 64)));
            xs.extend(
                (1..20)
                    .map(|k| d.wrapping_mul(k))
                    .map(|x| x.wrapping_sub(1)),
            );
            for &x in &xs {
                assert_eq!(m.divide(x, 64), x / d, "{x} / {d} with {m:?}");
            }
            if d <= u32::MAX as u64 {
                let m = Magic::of(d, 32);
                for x in xs
                    .into_iter()
                    .map(|x| x & 0xffff_ffff)
                    .chain([u32::MAX as u64])
                {
                    assert_eq!(m.divide(x, 32), x / d, "{x} / {d} with {m:?} (32 bits)");
                }
            }
        }
    }
}
