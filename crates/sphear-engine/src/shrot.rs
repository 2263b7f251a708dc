//! Allocation-free real-SH rotation matrices for the audio thread.
//!
//! [`ShRotator`] holds one dense `(2l+1)²` block per order `l ≤ N`, allocated once in
//! [`ShRotator::new`]; [`ShRotator::compute`] fills them for a 3×3 rotation without allocating,
//! with the same Ivanic–Ruedenberg recursion (and the same conventions) as
//! [`sphear_sh::rotation::sh_rotation_matrix`]: real SH, ACN, no Condon–Shortley phase,
//! `M · y(u) = y(R · u)`. Because `M` is block diagonal by order, only the blocks are stored.

use sphear_sh::rotation::Mat3;

/// Preallocated real-SH rotation matrix of order `N` (block diagonal, one block per order).
///
/// # References
/// J. Ivanic, K. Ruedenberg, "Rotation matrices for real spherical harmonics. Direct
/// determination by recursion", J. Phys. Chem. 100 (1996) 6342–6347; Additions and
/// corrections, J. Phys. Chem. A 102 (1998) 9099–9100.
#[derive(Debug, Clone)]
pub struct ShRotator {
    order: usize,
    /// `blocks[l]`: row-major `(2l+1) × (2l+1)`, rows/cols indexed by `m + l`.
    blocks: Vec<Vec<f64>>,
}

#[inline]
fn get(block: &[f64], l: i64, a: i64, b: i64) -> f64 {
    let w = (2 * l + 1) as usize;
    block[(a + l) as usize * w + (b + l) as usize]
}

/// Ivanic–Ruedenberg helper `P(i, a, b)` for band `l` from band `l-1` (`prev`) and band 1 (`r1`).
#[inline]
fn ir_p(i: i64, a: i64, b: i64, l: i64, r1: &[f64], prev: &[f64]) -> f64 {
    let ri1 = get(r1, 1, i, 1);
    let rim1 = get(r1, 1, i, -1);
    let ri0 = get(r1, 1, i, 0);
    if b == -l {
        ri1 * get(prev, l - 1, a, -l + 1) + rim1 * get(prev, l - 1, a, l - 1)
    } else if b == l {
        ri1 * get(prev, l - 1, a, l - 1) - rim1 * get(prev, l - 1, a, -l + 1)
    } else {
        ri0 * get(prev, l - 1, a, b)
    }
}

impl ShRotator {
    /// Allocates the blocks for order `order` and sets the identity.
    pub fn new(order: usize) -> Self {
        let blocks = (0..=order)
            .map(|l| {
                let w = 2 * l + 1;
                let mut b = vec![0.0; w * w];
                for i in 0..w {
                    b[i * w + i] = 1.0;
                }
                b
            })
            .collect();
        Self { order, blocks }
    }

    /// SH order `N`.
    pub fn order(&self) -> usize {
        self.order
    }

    /// Block of order `l`: row-major `(2l+1)²`, entry `(m+l, m'+l)` = `M[l²+l+m, l²+l+m']`.
    pub fn block(&self, l: usize) -> &[f64] {
        &self.blocks[l]
    }

    /// Entry `M[row, col]` of the full `(N+1)² × (N+1)²` matrix (ACN indices); 0 off the blocks.
    pub fn get(&self, row: usize, col: usize) -> f64 {
        let lr = row.isqrt();
        let lc = col.isqrt();
        if lr != lc || lr > self.order {
            return 0.0;
        }
        let w = 2 * lr + 1;
        let off = lr * lr;
        self.blocks[lr][(row - off) * w + (col - off)]
    }

    /// Fills the matrix for rotation `r` (`M · y(u) = y(r · u)`); no allocation.
    pub fn compute(&mut self, r: &Mat3) {
        if self.order == 0 {
            return;
        }
        // ACN order of first-order harmonics: m = -1 ↔ y, 0 ↔ z, +1 ↔ x.
        let axis = |m: i64| -> usize {
            match m {
                -1 => 1,
                0 => 2,
                _ => 0,
            }
        };
        {
            let b1 = &mut self.blocks[1];
            for a in -1..=1_i64 {
                for b in -1..=1_i64 {
                    b1[((a + 1) * 3 + (b + 1)) as usize] = r[axis(a)][axis(b)];
                }
            }
        }
        for l in 2..=self.order as i64 {
            let (lo, hi) = self.blocks.split_at_mut(l as usize);
            let r1: &[f64] = &lo[1];
            let prev: &[f64] = &lo[l as usize - 1];
            let cur: &mut [f64] = &mut hi[0];
            let w = (2 * l + 1) as usize;
            for m in -l..=l {
                let am = m.abs();
                let d = if m == 0 { 1.0 } else { 0.0 };
                for n in -l..=l {
                    let denom = if n.abs() < l {
                        ((l + n) * (l - n)) as f64
                    } else {
                        ((2 * l) * (2 * l - 1)) as f64
                    };
                    let u = (((l + m) * (l - m)) as f64 / denom).sqrt();
                    let v = 0.5
                        * ((1.0 + d) * ((l + am - 1) * (l + am)) as f64 / denom).sqrt()
                        * (1.0 - 2.0 * d);
                    let wgt = -0.5 * (((l - am - 1) * (l - am)) as f64 / denom).sqrt() * (1.0 - d);
                    let mut val = 0.0;
                    if u != 0.0 {
                        val += u * ir_p(0, m, n, l, r1, prev);
                    }
                    if v != 0.0 {
                        let vv = if m == 0 {
                            ir_p(1, 1, n, l, r1, prev) + ir_p(-1, -1, n, l, r1, prev)
                        } else if m > 0 {
                            let d1: f64 = if m == 1 { 1.0 } else { 0.0 };
                            ir_p(1, m - 1, n, l, r1, prev) * (1.0 + d1).sqrt()
                                - ir_p(-1, -m + 1, n, l, r1, prev) * (1.0 - d1)
                        } else {
                            let d1: f64 = if m == -1 { 1.0 } else { 0.0 };
                            ir_p(1, m + 1, n, l, r1, prev) * (1.0 - d1)
                                + ir_p(-1, -m - 1, n, l, r1, prev) * (1.0 + d1).sqrt()
                        };
                        val += v * vv;
                    }
                    if wgt != 0.0 {
                        let ww = if m > 0 {
                            ir_p(1, m + 1, n, l, r1, prev) + ir_p(-1, -m - 1, n, l, r1, prev)
                        } else {
                            ir_p(1, m - 1, n, l, r1, prev) - ir_p(-1, -m + 1, n, l, r1, prev)
                        };
                        val += wgt * ww;
                    }
                    cur[(m + l) as usize * w + (n + l) as usize] = val;
                }
            }
        }
    }
}
