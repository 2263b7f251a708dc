//! Image sources: closed-form count, positions/orders/gains against a naive mirror-sequence
//! construction, delay pruning, sorting, errors and speed.

// Index loops over axes/bands read more clearly in these numeric checks.
#![allow(clippy::needless_range_loop)]

use std::collections::HashMap;

use proptest::prelude::*;
use sphear_sim::bands::{NUM_BANDS, PerBand};
use sphear_sim::room::{ImageSource, Room, image_count_up_to_order, image_sources};

const C: f64 = 343.0;
/// Positions/distances: sums of a few multiples of room lengths in f64.
const POS_TOL_M: f64 = 1e-9;
/// Gains: products of ≤ 12 reflection coefficients divided by a distance, f64.
const GAIN_REL_TOL: f64 = 1e-12;

fn test_room() -> Room {
    let mut absorption = [[0.0; NUM_BANDS]; 6];
    for (w, row) in absorption.iter_mut().enumerate() {
        for (b, a) in row.iter_mut().enumerate() {
            *a = 0.05 + 0.1 * w as f64 + 0.02 * b as f64;
        }
    }
    Room::new([6.0, 4.0, 3.0], absorption).expect("valid room")
}

/// Mirror of `p` in wall `w` (`[x_min, x_max, y_min, y_max, floor, ceiling]`).
fn mirror(p: [f64; 3], w: usize, dims: [f64; 3]) -> [f64; 3] {
    let axis = w / 2;
    let mut q = p;
    q[axis] = if w % 2 == 0 {
        -p[axis]
    } else {
        2.0 * dims[axis] - p[axis]
    };
    q
}

/// Naive reference: all sequences of ≤ n wall reflections with no wall repeated twice in a row,
/// applied to the source; images are deduplicated by position (sequences that differ only by the
/// order of reflections on different axes give the same image), keeping the shortest sequence.
/// Value: (order, per-band product of √(1 − α) over the walls of the sequence).
fn naive_images(
    room: &Room,
    src: [f64; 3],
    n: usize,
) -> HashMap<[i64; 3], (usize, [f64; 3], PerBand)> {
    let beta = room.reflection_coefficients();
    let mut out = HashMap::new();
    let key = |p: [f64; 3]| p.map(|v| (v * 1e6).round() as i64);
    let mut frontier: Vec<([f64; 3], Option<usize>, PerBand)> = vec![(src, None, [1.0; NUM_BANDS])];
    out.insert(key(src), (0, src, [1.0; NUM_BANDS]));
    for order in 1..=n {
        let mut next = Vec::new();
        for (p, last, g) in &frontier {
            for w in 0..6 {
                if Some(w) == *last {
                    continue;
                }
                let q = mirror(*p, w, room.dims_m);
                let gq: PerBand = std::array::from_fn(|b| g[b] * beta[w][b]);
                out.entry(key(q)).or_insert((order, q, gq));
                next.push((q, Some(w), gq));
            }
        }
        frontier = next;
    }
    out
}

#[test]
fn count_matches_closed_form() {
    let room = test_room();
    for n in 0..=14 {
        let images =
            image_sources(&room, [1.5, 1.2, 1.4], [4.3, 2.7, 1.6], n, None, C).expect("images");
        let expected = (2 * n + 1) * (2 * n * n + 2 * n + 3) / 3;
        assert_eq!(images.len(), expected, "order {n}");
        assert_eq!(image_count_up_to_order(n), expected as u128);
        let per_order = images.iter().filter(|im| im.order == n).count();
        // Lattice points with |i|+|j|+|k| = n: 4n² + 2 (n ≥ 1).
        assert_eq!(
            per_order,
            if n == 0 { 1 } else { 4 * n * n + 2 },
            "order {n}"
        );
    }
}

#[test]
fn positions_orders_and_gains_match_naive_mirroring() {
    let room = test_room();
    let src = [1.5, 1.2, 1.4];
    let rcv = [4.3, 2.7, 1.6];
    let n = 5;
    let reference = naive_images(&room, src, n);
    let images = image_sources(&room, src, rcv, n, None, C).expect("images");
    assert_eq!(images.len(), reference.len());
    for im in &images {
        let k = im.position_m.map(|v| (v * 1e6).round() as i64);
        let (order, pos, g) = reference
            .get(&k)
            .unwrap_or_else(|| panic!("image {:?} not in reference", im.position_m));
        assert_eq!(im.order, *order);
        for a in 0..3 {
            assert!((im.position_m[a] - pos[a]).abs() < POS_TOL_M);
        }
        let d = ((pos[0] - rcv[0]).powi(2) + (pos[1] - rcv[1]).powi(2) + (pos[2] - rcv[2]).powi(2))
            .sqrt();
        assert!((im.distance_m - d).abs() < POS_TOL_M);
        assert!((im.delay_s - d / C).abs() < POS_TOL_M / C);
        for b in 0..NUM_BANDS {
            let want = g[b] / d;
            assert!(
                (im.band_gains[b] - want).abs() <= GAIN_REL_TOL * want,
                "band {b}"
            );
        }
        // Direction of arrival: from the receiver toward the image.
        let u = im.direction.to_cartesian();
        for a in 0..3 {
            assert!((u[a] - (pos[a] - rcv[a]) / d).abs() < 1e-12);
        }
        // Lattice index consistent with the order.
        assert_eq!(
            im.lattice_index
                .iter()
                .map(|v| v.unsigned_abs() as usize)
                .sum::<usize>(),
            im.order
        );
    }
}

#[test]
fn first_order_images_are_the_six_mirrors() {
    let room = Room::uniform([5.0, 4.0, 3.0], [0.19; NUM_BANDS]).expect("room");
    let src = [1.0, 1.5, 2.0];
    let rcv = [3.0, 2.0, 1.0];
    let images = image_sources(&room, src, rcv, 1, None, C).expect("images");
    let expected = [
        [-1.0, 1.5, 2.0],
        [9.0, 1.5, 2.0],
        [1.0, -1.5, 2.0],
        [1.0, 6.5, 2.0],
        [1.0, 1.5, -2.0],
        [1.0, 1.5, 4.0],
    ];
    let beta = (1.0f64 - 0.19).sqrt();
    assert_eq!(images[0].order, 0);
    assert_eq!(images[0].position_m, src);
    for e in expected {
        let im = images.iter().find(|im| {
            im.position_m
                .iter()
                .zip(&e)
                .all(|(a, b)| (a - b).abs() < 1e-12)
        });
        let im = im.unwrap_or_else(|| panic!("missing mirror {e:?}"));
        assert_eq!(im.order, 1);
        assert!((im.band_gains[3] * im.distance_m - beta).abs() < 1e-15);
    }
}

fn check_sorted_direct_first(images: &[ImageSource]) {
    assert_eq!(images[0].order, 0);
    for w in images.windows(2) {
        assert!(w[0].delay_s <= w[1].delay_s);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// Pruning by delay returns exactly the images of the unpruned list with delay ≤ the limit.
    #[test]
    fn delay_pruning_equals_filtering(
        lx in 2.0f64..12.0, ly in 2.0f64..12.0, lz in 2.0f64..6.0,
        s in prop::array::uniform3(0.0f64..1.0), r in prop::array::uniform3(0.0f64..1.0),
        t_max in 0.0f64..0.06, order in 0usize..9,
    ) {
        let room = Room::uniform([lx, ly, lz], [0.3; NUM_BANDS]).expect("room");
        let src = [s[0] * lx, s[1] * ly, s[2] * lz];
        let rcv = [r[0] * lx, r[1] * ly, r[2] * lz];
        prop_assume!(((src[0]-rcv[0]).powi(2) + (src[1]-rcv[1]).powi(2) + (src[2]-rcv[2]).powi(2)).sqrt() > 0.01);
        let all = image_sources(&room, src, rcv, order, None, C).expect("images");
        check_sorted_direct_first(&all);
        let pruned = image_sources(&room, src, rcv, order, Some(t_max), C).expect("images");
        let want: Vec<_> = all.iter().filter(|im| im.delay_s <= t_max).collect();
        prop_assert_eq!(pruned.len(), want.len());
        for (a, b) in pruned.iter().zip(want) {
            prop_assert_eq!(a.lattice_index, b.lattice_index);
            prop_assert_eq!(a.position_m, b.position_m);
        }
    }
}

#[test]
fn high_orders_are_fast() {
    let room = test_room();
    let src = [1.5, 1.2, 1.4];
    let rcv = [4.3, 2.7, 1.6];
    let t = std::time::Instant::now();
    let images = image_sources(&room, src, rcv, 30, None, C).expect("images");
    let dt_full = t.elapsed().as_secs_f64();
    assert_eq!(images.len(), 61 * (2 * 900 + 60 + 3) / 3);
    // Realistic dataset use: a high order bounded by a delay limit.
    let t = std::time::Instant::now();
    let pruned = image_sources(&room, src, rcv, 200, Some(0.3), C).expect("images");
    let dt_pruned = t.elapsed().as_secs_f64();
    check_sorted_direct_first(&pruned);
    eprintln!(
        "order 30: {} images in {dt_full:.4} s; order 200 ≤ 0.3 s: {} images in {dt_pruned:.4} s",
        images.len(),
        pruned.len()
    );
    // "well under a second" (generous for a loaded 2-core CI runner).
    assert!(dt_full < 1.0 && dt_pruned < 1.0);
}

#[test]
fn errors() {
    let room = test_room();
    let ok = [1.0, 1.0, 1.0];
    assert!(
        image_sources(&room, [7.0, 1.0, 1.0], ok, 3, None, C).is_err(),
        "source outside"
    );
    assert!(
        image_sources(&room, ok, [1.0, -0.1, 1.0], 3, None, C).is_err(),
        "receiver outside"
    );
    assert!(
        image_sources(&room, ok, [1.0, 1.0, f64::NAN], 3, None, C).is_err(),
        "NaN receiver"
    );
    assert!(
        image_sources(&room, ok, ok, 3, None, C).is_err(),
        "coincident"
    );
    assert!(
        image_sources(&room, ok, [2.0, 1.0, 1.0], 3, None, 0.0).is_err(),
        "speed"
    );
    assert!(
        image_sources(&room, ok, [2.0, 1.0, 1.0], 3, Some(-1.0), C).is_err(),
        "negative delay"
    );
    assert!(
        image_sources(&room, ok, [2.0, 1.0, 1.0], 1000, None, C).is_err(),
        "too many images"
    );
    let mut bad = room.clone();
    bad.absorption[2][3] = 1.5;
    assert!(
        image_sources(&bad, ok, [2.0, 1.0, 1.0], 3, None, C).is_err(),
        "invalid public fields"
    );
    // Boundary positions are inside.
    assert!(image_sources(&room, [0.0, 0.0, 0.0], [6.0, 4.0, 3.0], 2, None, C).is_ok());
}
