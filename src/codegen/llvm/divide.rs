//! Unsigned division of 64-bit integer vectors by a constant, as a multiply-high by a "magic"
//! number and shifts (libdivide's unsigned algorithm; Granlund and Montgomery 1994).
//!
//! LLVM lowers `udiv <N x i64> x, splat(d)` the same way, but x86 has no 64-bit vector
//! multiply-high, so it then splits the vector into N scalar `mulx`es with extracts and inserts
//! around each (P8's digit loop ran 1.5× slower than on scalars that way). Here the high half of
//! `x · m` is built from four 32 × 32 → 64-bit products, which LLVM selects as `vpmuludq` on
//! whole vectors. The quotient is exact for every `x`: the same value as the hardware's `div`.

use inkwell::values::VectorValue;

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
    /// The magic number of `d` (≥ 1), as libdivide's `libdivide_internal_u64_gen` finds it.
    pub fn of(d: u64) -> Magic {
        assert!(d > 0, "division by zero has no magic number");
        let log2 = 63 - d.leading_zeros();
        if d.is_power_of_two() {
            return Magic {
                magic: 0,
                shift: log2,
                add: false,
            };
        }
        let numerator = 1u128 << (64 + log2);
        let (mut m, rem) = (
            (numerator / d as u128) as u64,
            (numerator % d as u128) as u64,
        );
        let e = d - rem;
        let add = e >= 1u64 << log2;
        if add {
            // 2^(64 + log2) / d does not fit: use 2^(65 + log2) / d, one bit too wide, whose top
            // bit the `add` step restores.
            m = m.wrapping_add(m);
            let twice = rem.wrapping_add(rem);
            if twice >= d || twice < rem {
                m = m.wrapping_add(1);
            }
        }
        Magic {
            magic: m.wrapping_add(1),
            shift: log2,
            add,
        }
    }

    /// `x / d` computed as the vector code computes it (for tests).
    #[cfg(test)]
    pub fn divide(self, x: u64) -> u64 {
        if self.magic == 0 {
            return x >> self.shift;
        }
        let t = ((x as u128 * self.magic as u128) >> 64) as u64;
        if self.add {
            (((x - t) >> 1) + t) >> self.shift
        } else {
            t >> self.shift
        }
    }
}

impl<'ctx> Translator<'_, 'ctx> {
    /// `x / d` on a vector of unsigned 64-bit integers.
    pub(super) fn divide_u64_vector(
        &self,
        x: VectorValue<'ctx>,
        d: u64,
    ) -> Result<VectorValue<'ctx>> {
        let magic = Magic::of(d);
        let b = &self.b;
        let splat = |v: u64| -> Result<VectorValue<'ctx>> {
            let c = self.ctx.i64_type().const_int(v, false);
            Ok(self
                .splat(c.into(), x.get_type().get_size())?
                .into_vector_value())
        };
        let shift = |v: VectorValue<'ctx>, by: u32| -> Result<VectorValue<'ctx>> {
            b.build_right_shift(v, splat(by as u64)?, false, "")
                .or_err()
        };
        if magic.magic == 0 {
            return shift(x, magic.shift);
        }
        let t = self.mulhi_u64(x, magic.magic)?;
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
        let lanes = x.get_type().get_size();
        let splat = |v: u64| -> Result<VectorValue<'ctx>> {
            let c = self.ctx.i64_type().const_int(v, false);
            Ok(self.splat(c.into(), lanes)?.into_vector_value())
        };
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
        assert_eq!(Magic::of(10).magic, 0xcccc_cccc_cccc_cccd);
        for d in divisors {
            let m = Magic::of(d);
            let mut xs = vec![0, 1, d - 1, d, d.wrapping_add(1), u64::MAX, u64::MAX - 1];
            xs.extend((0..200).map(|_| next()));
            xs.extend((0..50).map(|_| next() >> (next() % 64)));
            xs.extend(
                (1..20)
                    .map(|k| d.wrapping_mul(k))
                    .map(|x| x.wrapping_sub(1)),
            );
            for x in xs {
                assert_eq!(m.divide(x), x / d, "{x} / {d} with {m:?}");
            }
        }
    }
}
