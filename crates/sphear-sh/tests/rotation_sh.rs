//! SH rotation matrices and 3-D rotation semantics.

use std::f64::consts::{FRAC_PI_2, PI};

use nalgebra::{DMatrix, DVector};
use proptest::prelude::*;
use sphear_core::Direction;
use sphear_sh::rotation::{
    Mat3, mat3_mul, mat3_transpose, rotate_direction, rotate_vec, rotation_from_quaternion,
    rotation_from_ypr, sh_rotation_matrix,
};
use sphear_sh::sh::{Norm, num_channels, real_sh};

/// Orthogonality / homomorphism error of SH rotation matrices.
const ORTHO_TOL: f64 = 1e-10;
/// `M·y(u)` vs `y(R·u)` (orthonormal SH values are O(√((2n+1)/4π)) ≤ 1.3 at order 10).
const EQUIV_TOL: f64 = 1e-9;
/// 3×3 matrix identities.
const MAT3_TOL: f64 = 1e-14;

fn close3(a: [f64; 3], b: [f64; 3], tol: f64) -> bool {
    a.iter().zip(&b).all(|(x, y)| (x - y).abs() <= tol)
}

/// Random rotation from a uniformly random unit quaternion (4 normal deviates, normalised).
fn quat_strategy() -> impl Strategy<Value = Mat3> {
    (-1.0f64..1.0, -1.0f64..1.0, -1.0f64..1.0, -1.0f64..1.0)
        .prop_filter("non-degenerate", |(w, x, y, z)| {
            w * w + x * x + y * y + z * z > 1e-3
        })
        .prop_map(|(w, x, y, z)| rotation_from_quaternion(w, x, y, z))
}

fn dir_strategy() -> impl Strategy<Value = Direction> {
    (-PI..PI, -1.0f64..1.0).prop_map(|(az, z)| Direction::new(az, z.asin()))
}

#[test]
fn ypr_semantics() {
    let x = [1.0, 0.0, 0.0];
    let y = [0.0, 1.0, 0.0];
    let z = [0.0, 0.0, 1.0];
    // Yaw +90°: nose (+x) turns left (+y).
    assert!(close3(
        rotate_vec(&rotation_from_ypr(FRAC_PI_2, 0.0, 0.0), x),
        y,
        MAT3_TOL
    ));
    // Pitch +90°: nose goes up (+z).
    assert!(close3(
        rotate_vec(&rotation_from_ypr(0.0, FRAC_PI_2, 0.0), x),
        z,
        MAT3_TOL
    ));
    // Roll +90°: left side (+y) goes up (+z).
    assert!(close3(
        rotate_vec(&rotation_from_ypr(0.0, 0.0, FRAC_PI_2), y),
        z,
        MAT3_TOL
    ));
    // Composition order: roll first (about the nose), then pitch, then yaw about the vertical.
    // Pitch up 90° then yaw 90°: the nose points up regardless of yaw.
    assert!(close3(
        rotate_vec(&rotation_from_ypr(FRAC_PI_2, FRAC_PI_2, 0.0), x),
        z,
        MAT3_TOL
    ));
    // Yaw 90° with roll 90°: the left side first goes up, stays up after yaw.
    assert!(close3(
        rotate_vec(&rotation_from_ypr(FRAC_PI_2, 0.0, FRAC_PI_2), y),
        z,
        MAT3_TOL
    ));
}

#[test]
fn quaternion_matches_ypr_for_single_axes() {
    let a: f64 = 0.7;
    let (s, c) = (a / 2.0).sin_cos();
    let pairs = [
        (
            rotation_from_quaternion(c, 0.0, 0.0, s),
            rotation_from_ypr(a, 0.0, 0.0),
        ),
        // Pitch is a rotation about -y.
        (
            rotation_from_quaternion(c, 0.0, -s, 0.0),
            rotation_from_ypr(0.0, a, 0.0),
        ),
        (
            rotation_from_quaternion(c, s, 0.0, 0.0),
            rotation_from_ypr(0.0, 0.0, a),
        ),
        // Un-normalised input is normalised.
        (
            rotation_from_quaternion(3.0 * c, 3.0 * s, 0.0, 0.0),
            rotation_from_ypr(0.0, 0.0, a),
        ),
    ];
    for (q, e) in pairs {
        for i in 0..3 {
            assert!(close3(q[i], e[i], MAT3_TOL), "{q:?} vs {e:?}");
        }
    }
}

#[test]
fn yaw_90_moves_front_source_to_left_in_sh_domain() {
    let order = 5;
    let m = sh_rotation_matrix(order, &rotation_from_ypr(FRAC_PI_2, 0.0, 0.0));
    let front = DVector::from_vec(real_sh(order, &Direction::from_deg(0.0, 0.0), Norm::Sn3d));
    let left = real_sh(order, &Direction::from_deg(90.0, 0.0), Norm::Sn3d);
    let rotated = &m * front;
    for k in 0..num_channels(order) {
        assert!((rotated[k] - left[k]).abs() <= EQUIV_TOL, "acn {k}");
    }
}

#[test]
fn order_1_block_is_permuted_rotation() {
    let r = rotation_from_ypr(0.3, -0.4, 1.1);
    let m = sh_rotation_matrix(1, &r);
    let ax = [1usize, 2, 0]; // ACN 1, 2, 3 ↔ y, z, x
    for i in 0..3 {
        for j in 0..3 {
            assert!((m[(i + 1, j + 1)] - r[ax[i]][ax[j]]).abs() <= MAT3_TOL);
        }
    }
    assert!((m[(0, 0)] - 1.0).abs() <= MAT3_TOL);
}

#[test]
fn high_order_stays_orthogonal_and_equivariant() {
    let r = rotation_from_quaternion(0.3, -0.5, 0.7, 0.2);
    for order in [20usize, 30] {
        let m = sh_rotation_matrix(order, &r);
        let n = num_channels(order);
        let err = (&m * m.transpose() - DMatrix::<f64>::identity(n, n))
            .abs()
            .max();
        assert!(err <= ORTHO_TOL, "order {order}: |MMᵀ - I| = {err:e}");
        let u = Direction::from_deg(-37.0, 12.0);
        let lhs = &m * DVector::from_vec(real_sh(order, &u, Norm::Orthonormal));
        let rhs = real_sh(order, &rotate_direction(&r, &u), Norm::Orthonormal);
        for k in 0..n {
            assert!(
                (lhs[k] - rhs[k]).abs() <= EQUIV_TOL,
                "order {order} acn {k}"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn orthogonal(r in quat_strategy()) {
        let m = sh_rotation_matrix(10, &r);
        let n = num_channels(10);
        let err = (&m * m.transpose() - DMatrix::<f64>::identity(n, n)).abs().max();
        prop_assert!(err <= ORTHO_TOL, "{err:e}");
    }

    #[test]
    fn rotates_plane_waves(r in quat_strategy(), u in dir_strategy()) {
        let order = 10;
        let m = sh_rotation_matrix(order, &r);
        for norm in [Norm::Orthonormal, Norm::N3d, Norm::Sn3d] {
            let lhs = &m * DVector::from_vec(real_sh(order, &u, norm));
            let rhs = real_sh(order, &rotate_direction(&r, &u), norm);
            for k in 0..num_channels(order) {
                prop_assert!((lhs[k] - rhs[k]).abs() <= EQUIV_TOL * 4.0, "{norm:?} acn {k}: {} vs {}", lhs[k], rhs[k]);
            }
        }
    }

    #[test]
    fn homomorphism(r1 in quat_strategy(), r2 in quat_strategy()) {
        let order = 8;
        let lhs = sh_rotation_matrix(order, &mat3_mul(&r1, &r2));
        let rhs = sh_rotation_matrix(order, &r1) * sh_rotation_matrix(order, &r2);
        prop_assert!((lhs - rhs).abs().max() <= ORTHO_TOL);
    }

    #[test]
    fn inverse_is_transpose(r in quat_strategy()) {
        let order = 6;
        let m = sh_rotation_matrix(order, &r);
        let mi = sh_rotation_matrix(order, &mat3_transpose(&r));
        prop_assert!((mi - m.transpose()).abs().max() <= ORTHO_TOL);
    }

    #[test]
    fn energy_preserved(r in quat_strategy(), coeffs in proptest::collection::vec(-1.0f64..1.0, 49)) {
        let m = sh_rotation_matrix(6, &r);
        let a = DVector::from_vec(coeffs);
        let b = &m * &a;
        prop_assert!((a.norm_squared() - b.norm_squared()).abs() <= 1e-12 * a.norm_squared().max(1.0));
    }

    #[test]
    fn ypr_is_a_rotation(yaw in -PI..PI, pitch in -FRAC_PI_2..FRAC_PI_2, roll in -PI..PI) {
        let r = rotation_from_ypr(yaw, pitch, roll);
        let rrt = mat3_mul(&r, &mat3_transpose(&r));
        for (i, row) in rrt.iter().enumerate() {
            for (j, v) in row.iter().enumerate() {
                let e = if i == j { 1.0 } else { 0.0 };
                prop_assert!((v - e).abs() <= 1e-13);
            }
        }
        // det = +1 (proper rotation)
        let det = r[0][0] * (r[1][1] * r[2][2] - r[1][2] * r[2][1])
            - r[0][1] * (r[1][0] * r[2][2] - r[1][2] * r[2][0])
            + r[0][2] * (r[1][0] * r[2][1] - r[1][1] * r[2][0]);
        prop_assert!((det - 1.0).abs() <= 1e-13);
        // The nose direction has the yaw as azimuth and the pitch as elevation.
        let nose = Direction::from_cartesian(rotate_vec(&r, [1.0, 0.0, 0.0]));
        prop_assert!((nose.elevation_rad - pitch).abs() <= 1e-9);
        if pitch.abs() < 1.5 {
            let daz = (nose.azimuth_rad - yaw + PI).rem_euclid(2.0 * PI) - PI;
            prop_assert!(daz.abs() <= 1e-9);
        }
    }
}
