//! `render_images` against the slow definition: for every image, its plane-wave response
//! (`plane_wave_ir` at the image's direction and full delay) convolved with the image's band
//! FIR `h_i = Σ_b a_b F_b` (`a_b` = band_gains, 1/r included) (octave filters, delay removed), summed.
//!
//! The images are those of a small shoebox with frequency-dependent absorption (explicit
//! Allen–Berkley lattice written here, independent of `room.rs`), so directions, delays and
//! per-band gains are realistic.

#![allow(clippy::needless_range_loop)] // index loops mirror the formulas

use std::sync::Arc;

use sphear_core::Direction;
use sphear_render::head::SphericalHead;
use sphear_sh::array::ArrayGeometry;
use sphear_sh::rotation::rotation_from_ypr;
use sphear_sim::bands::{NUM_BANDS, PerBand, default_filterbank_taps, octave_filterbank};
use sphear_sim::receiver::Receiver;
use sphear_sim::room::ImageSource;

const FS: f64 = 48_000.0;
const C: f64 = sphear_core::SPEED_OF_SOUND_M_S;

/// Images of order ≤ `max_order` of a shoebox (Allen & Berkley 1979), wall order
/// x_min, x_max, y_min, y_max, floor, ceiling; reflection coefficient sqrt(1 − α).
fn shoebox_images(
    dims: [f64; 3],
    alpha: [PerBand; 6],
    src: [f64; 3],
    rcv: [f64; 3],
    max_order: i64,
) -> Vec<ImageSource> {
    let mut out = Vec::new();
    for ix in -max_order..=max_order {
        for iy in -max_order..=max_order {
            for iz in -max_order..=max_order {
                let mut pos = [0.0; 3];
                let mut g = [1.0; NUM_BANDS];
                let mut order = 0;
                for (ax, &i) in [ix, iy, iz].iter().enumerate() {
                    let l = dims[ax];
                    // Image i along an axis: even i → src + i·L, odd i → (i+1)·L − src.
                    pos[ax] = if i.rem_euclid(2) == 0 {
                        i as f64 * l + src[ax]
                    } else {
                        (i + 1) as f64 * l - src[ax]
                    };
                    // Reflections on the min / max wall of this axis.
                    let (n_min, n_max) = if i >= 0 {
                        (i / 2, (i + 1) / 2)
                    } else {
                        ((1 - i) / 2, (-i) / 2)
                    };
                    order += n_min + n_max;
                    for b in 0..NUM_BANDS {
                        g[b] *= (1.0 - alpha[2 * ax][b]).sqrt().powi(n_min as i32)
                            * (1.0 - alpha[2 * ax + 1][b]).sqrt().powi(n_max as i32);
                    }
                }
                if order > max_order {
                    continue;
                }
                let d = [pos[0] - rcv[0], pos[1] - rcv[1], pos[2] - rcv[2]];
                let r = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
                out.push(ImageSource {
                    position_m: pos,
                    order: order as usize,
                    distance_m: r,
                    delay_s: r / C,
                    band_gains: g.map(|v| v / r),
                    direction: Direction::from_cartesian(d),
                    lattice_index: [ix, iy, iz],
                });
            }
        }
    }
    out
}

fn slow_reference(rx: &Receiver, images: &[ImageSource], len: usize) -> Vec<Vec<f64>> {
    let taps = default_filterbank_taps(FS);
    let bank = octave_filterbank(FS, taps);
    let delay = (taps - 1) / 2;
    let mut out = vec![vec![0.0f64; len]; rx.num_channels()];
    for img in images {
        let h: Vec<f64> = (0..taps)
            .map(|t| (0..NUM_BANDS).map(|b| img.band_gains[b] * bank[b][t]).sum())
            .collect();
        let p = rx.plane_wave_ir(&img.direction, FS, len, img.delay_s * FS);
        for (o, pc) in out.iter_mut().zip(&p) {
            // Naive convolution, output index n = m + t − delay.
            for (m, &x) in pc.iter().enumerate() {
                if x == 0.0 {
                    continue;
                }
                for (t, &hv) in h.iter().enumerate() {
                    let n = m as i64 + t as i64 - delay as i64;
                    if n >= 0 && (n as usize) < len {
                        o[n as usize] += f64::from(x) * hv;
                    }
                }
            }
        }
    }
    out
}

fn rel_error(got: &[Vec<f32>], want: &[Vec<f64>]) -> f64 {
    let mut e = 0.0f64;
    let mut peak = 0.0f64;
    for (g, w) in got.iter().zip(want) {
        for (a, b) in g.iter().zip(w) {
            e = e.max((f64::from(*a) - b).abs());
            peak = peak.max(b.abs());
        }
    }
    e / peak
}

#[test]
fn render_images_matches_slow_reference() {
    let dims = [3.1, 2.6, 2.3];
    let a =
        |lo: f64, hi: f64| -> PerBand { std::array::from_fn(|b| lo + (hi - lo) * b as f64 / 6.0) };
    let alpha = [
        a(0.05, 0.4),
        a(0.1, 0.2),
        a(0.3, 0.05),
        a(0.02, 0.6),
        a(0.2, 0.2),
        a(0.5, 0.1),
    ];
    let images = shoebox_images(dims, alpha, [0.8, 1.9, 1.2], [2.2, 1.1, 1.5], 2);
    assert!(images.len() > 20);
    let len = 1400;
    let hrtf = Arc::new(SphericalHead::default().build(FS).expect("head"));
    let receivers = [
        (Receiver::Omni, 1e-6),
        (Receiver::Ambisonic { order: 2 }, 1e-6),
        (
            Receiver::Binaural {
                hrtf,
                orientation: rotation_from_ypr(0.4, 0.1, 0.0),
            },
            1e-6,
        ),
        // The fast array path truncates each modal response to its 512-sample window (tails
        // below 1e-5 of the peak, see receiver_plane_wave.rs); the reference is full length.
        (Receiver::Array(ArrayGeometry::em32()), 1e-5),
    ];
    for (rx, tol) in receivers {
        let t0 = std::time::Instant::now();
        let got = rx.render_images(&images, FS, len);
        let fast_s = t0.elapsed().as_secs_f64();
        let want = slow_reference(&rx, &images, len);
        let e = rel_error(&got, &want);
        println!(
            "{} channels, {} images: rel. error {e:.2e}, fast {fast_s:.3} s",
            rx.num_channels(),
            images.len()
        );
        assert!(e <= tol, "{e:e} > {tol:e}");
    }
}

/// The omni receiver is the room module's omnidirectional RIR (same kernel, same filters).
#[test]
fn omni_receiver_equals_room_omni_rir() {
    use sphear_sim::room::{Room, image_sources, omni_rir};
    let a =
        |lo: f64, hi: f64| -> PerBand { std::array::from_fn(|b| lo + (hi - lo) * b as f64 / 6.0) };
    let room = Room::new(
        [5.2, 4.1, 2.9],
        [
            a(0.05, 0.4),
            a(0.1, 0.2),
            a(0.3, 0.05),
            a(0.02, 0.6),
            a(0.2, 0.2),
            a(0.5, 0.1),
        ],
    )
    .expect("room");
    let images =
        image_sources(&room, [1.1, 3.0, 1.4], [3.9, 1.2, 1.6], 6, Some(0.06), C).expect("images");
    let len = 4000;
    let want: Vec<f64> = omni_rir(&images, FS, len)
        .iter()
        .map(|&v| f64::from(v))
        .collect();
    let got = Receiver::Omni.render_images(&images, FS, len);
    let e = rel_error(&got, &[want]);
    println!(
        "{} images: omni receiver vs omni_rir rel. error {e:.2e}",
        images.len()
    );
    // Both are f64 sums rounded to f32 once.
    assert!(e <= 1e-6, "{e:e}");
}
