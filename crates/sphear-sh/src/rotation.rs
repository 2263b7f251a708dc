//! 3-D rotations and real-SH rotation matrices.
//!
//! All rotations are **active**: `R` maps a vector (a source direction, the nose of a rigid
//! body) to its rotated position, `v' = R v`. Axes are +x front, +y left, +z up (right-handed).
//! [`Mat3`] is row-major and acts on column vectors.
//!
//! To compensate a listener's head rotation `H` (head-tracking), rotate the sound field by
//! `Hᵀ`, i.e. use `sh_rotation_matrix(order, &mat3_transpose(&h))`.

use nalgebra::DMatrix;
use sphear_core::Direction;

use crate::sh::num_channels;

/// 3×3 matrix, row-major (`m[row][col]`), acting on column vectors `[x, y, z]`.
pub type Mat3 = [[f64; 3]; 3];

/// Identity rotation.
pub const IDENTITY: Mat3 = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];

fn rot_x(a: f64) -> Mat3 {
    let (s, c) = a.sin_cos();
    [[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]]
}

fn rot_y(a: f64) -> Mat3 {
    let (s, c) = a.sin_cos();
    [[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]]
}

fn rot_z(a: f64) -> Mat3 {
    let (s, c) = a.sin_cos();
    [[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]
}

/// Rotation from yaw, pitch, roll (radians): `R = Rz(yaw) · Ry(-pitch) · Rx(roll)`.
///
/// Intrinsic z–y′–x″ (Tait–Bryan) sequence; `Rz`, `Ry`, `Rx` are right-handed active rotations
/// about +z, +y, +x. Applied to a rigid body whose nose points to +x and whose left side points
/// to +y:
/// * positive **yaw** turns the nose to the left (+x → +y);
/// * positive **pitch** raises the nose (+x → +z) — hence the minus sign, since a right-handed
///   rotation about +y lowers +x;
/// * positive **roll** raises the left side (+y → +z), right-hand rule about +x.
///
/// Yaw is applied last (about the world's vertical), roll first (about the body's nose).
///
/// # References
/// J. Diebel, "Representing attitude: Euler angles, unit quaternions, and rotation vectors",
/// Stanford, 2006 (z-y-x sequence).
pub fn rotation_from_ypr(yaw_rad: f64, pitch_rad: f64, roll_rad: f64) -> Mat3 {
    mat3_mul(
        &rot_z(yaw_rad),
        &mat3_mul(&rot_y(-pitch_rad), &rot_x(roll_rad)),
    )
}

/// Matrix product `a · b`.
pub fn mat3_mul(a: &Mat3, b: &Mat3) -> Mat3 {
    let mut c = [[0.0; 3]; 3];
    for (i, row) in c.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = (0..3).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    c
}

/// Transpose (the inverse of a rotation).
pub fn mat3_transpose(a: &Mat3) -> Mat3 {
    let mut t = [[0.0; 3]; 3];
    for (i, row) in a.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            t[j][i] = *v;
        }
    }
    t
}

/// `r · v` for a column vector `v = [x, y, z]`.
pub fn rotate_vec(r: &Mat3, v: [f64; 3]) -> [f64; 3] {
    [
        r[0][0] * v[0] + r[0][1] * v[1] + r[0][2] * v[2],
        r[1][0] * v[0] + r[1][1] * v[1] + r[1][2] * v[2],
        r[2][0] * v[0] + r[2][1] * v[1] + r[2][2] * v[2],
    ]
}

/// Rotated direction `R · u`.
pub fn rotate_direction(r: &Mat3, dir: &Direction) -> Direction {
    let v = rotate_vec(r, dir.to_cartesian());
    // atan2 form keeps full precision near the poles.
    let el = v[2].atan2((v[0] * v[0] + v[1] * v[1]).sqrt());
    let az = v[1].atan2(v[0]);
    Direction::new(az, el)
}

/// Active rotation matrix of the unit quaternion `q = w + x i + y j + z k` (Hamilton
/// convention, `v' = q v q*`). The input is normalised first; a zero quaternion gives the
/// identity.
///
/// `R = [[1-2(y²+z²), 2(xy-wz), 2(xz+wy)], [2(xy+wz), 1-2(x²+z²), 2(yz-wx)],
///       [2(xz-wy), 2(yz+wx), 1-2(x²+y²)]]`.
///
/// # References
/// J. Diebel, "Representing attitude", 2006, eq. 125 (transposed for active rotations);
/// J. Solà, "Quaternion kinematics for the error-state Kalman filter", 2017, eq. 115.
pub fn rotation_from_quaternion(w: f64, x: f64, y: f64, z: f64) -> Mat3 {
    let norm = (w * w + x * x + y * y + z * z).sqrt();
    if norm == 0.0 || !norm.is_finite() {
        return IDENTITY;
    }
    let (w, x, y, z) = (w / norm, x / norm, y / norm, z / norm);
    [
        [
            1.0 - 2.0 * (y * y + z * z),
            2.0 * (x * y - w * z),
            2.0 * (x * z + w * y),
        ],
        [
            2.0 * (x * y + w * z),
            1.0 - 2.0 * (x * x + z * z),
            2.0 * (y * z - w * x),
        ],
        [
            2.0 * (x * z - w * y),
            2.0 * (y * z + w * x),
            1.0 - 2.0 * (x * x + y * y),
        ],
    ]
}

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

/// Real-SH rotation matrix `M` (`(N+1)² × (N+1)²`, block diagonal by order, ACN, no
/// Condon–Shortley phase) with **`M · y(u) = y(R · u)`** for every direction `u`, where `y` is
/// [`crate::sh::real_sh`]. Because `M` does not mix orders it is the same for orthonormal,
/// N3D and SN3D harmonics. Rotating an SH-domain sound field `a` (plane wave `s·y(u)`) by `R`
/// is `a' = M a`.
///
/// Computed by [`ShRotator`] (which fills preallocated blocks without allocating, for the
/// audio thread). Method: the order-1 block is `R` with rows/columns permuted to ACN order `(y, z, x)`;
/// higher orders follow the recursion of Ivanic & Ruedenberg with the published errata
/// (functions `u, v, w` and `U, V, W` built from `P(i, a, b)`). Orthogonal to ~1e-13 at order 30.
///
/// # References
/// J. Ivanic, K. Ruedenberg, "Rotation matrices for real spherical harmonics. Direct
/// determination by recursion", J. Phys. Chem. 100 (1996) 6342–6347; Additions and
/// corrections, J. Phys. Chem. A 102 (1998) 9099–9100.
pub fn sh_rotation_matrix(order: usize, r: &Mat3) -> DMatrix<f64> {
    let mut rot = ShRotator::new(order);
    rot.compute(r);
    let nch = num_channels(order);
    DMatrix::from_fn(nch, nch, |i, j| rot.get(i, j))
}
