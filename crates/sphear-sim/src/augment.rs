//! SpecAugment-style time/frequency masking for training (Park et al., Interspeech 2019), as in
//! the paper's frequency-domain augmentation. Masks are drawn deterministically from a seed so a
//! training loader can reproduce them; they are applied to STFT tensors at training time (the
//! dataset stores clean signals).
//!
//! # References
//! D. S. Park et al., "SpecAugment: a simple data augmentation method for automatic speech
//! recognition", Interspeech 2019.

use std::ops::Range;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Mask settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpecAugmentConfig {
    /// Number of frequency masks.
    pub freq_masks: usize,
    /// Maximum width of a frequency mask in bins (`F`).
    pub max_freq_width: usize,
    /// Number of time masks.
    pub time_masks: usize,
    /// Maximum width of a time mask in frames (`T`).
    pub max_time_width: usize,
    /// Upper bound of a time mask's width as a fraction of all frames (`p`).
    pub max_time_fraction: f64,
}

impl Default for SpecAugmentConfig {
    fn default() -> Self {
        Self {
            freq_masks: 2,
            max_freq_width: 27,
            time_masks: 2,
            max_time_width: 40,
            max_time_fraction: 0.2,
        }
    }
}

/// Masks drawn for one example: bin ranges and frame ranges to zero.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecAugmentMasks {
    /// Frequency-bin ranges.
    pub freq: Vec<Range<usize>>,
    /// Frame ranges.
    pub time: Vec<Range<usize>>,
}

/// Draw masks for a `[n_freq × n_time]` spectrogram (widths uniform in `0..=max`).
pub fn draw_masks(
    cfg: &SpecAugmentConfig,
    n_freq: usize,
    n_time: usize,
    seed: u64,
) -> SpecAugmentMasks {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut freq = Vec::new();
    for _ in 0..cfg.freq_masks {
        let w = rng.random_range(0..=cfg.max_freq_width.min(n_freq));
        let f0 = rng.random_range(0..=n_freq - w);
        freq.push(f0..f0 + w);
    }
    let t_max = cfg
        .max_time_width
        .min((cfg.max_time_fraction * n_time as f64).floor() as usize);
    let mut time = Vec::new();
    for _ in 0..cfg.time_masks {
        let w = rng.random_range(0..=t_max);
        let t0 = rng.random_range(0..=n_time - w);
        time.push(t0..t0 + w);
    }
    SpecAugmentMasks { freq, time }
}

/// Zero the masked cells of a spectrogram stored row-major `[n_freq][n_time]` (any element type
/// with a zero, e.g. `f32` magnitudes or complex values).
pub fn apply_masks<T: Copy + Default>(
    spec: &mut [T],
    n_freq: usize,
    n_time: usize,
    masks: &SpecAugmentMasks,
) {
    debug_assert_eq!(spec.len(), n_freq * n_time);
    for r in &masks.freq {
        for f in r.clone() {
            spec[f * n_time..(f + 1) * n_time].fill(T::default());
        }
    }
    for r in &masks.time {
        for f in 0..n_freq {
            spec[f * n_time + r.start..f * n_time + r.end].fill(T::default());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_are_deterministic_bounded_and_applied() {
        let cfg = SpecAugmentConfig::default();
        let a = draw_masks(&cfg, 513, 100, 42);
        assert_eq!(a, draw_masks(&cfg, 513, 100, 42));
        assert_eq!(a.freq.len(), 2);
        for r in &a.freq {
            assert!(r.end <= 513 && r.len() <= 27);
        }
        for r in &a.time {
            assert!(
                r.end <= 100 && r.len() <= 20,
                "time mask wider than p·T: {r:?}"
            );
        }
        let mut s = vec![1.0f32; 513 * 100];
        apply_masks(&mut s, 513, 100, &a);
        let zeros = s.iter().filter(|v| **v == 0.0).count();
        // Count expected zeros independently.
        let mut expect = 0;
        for f in 0..513 {
            for t in 0..100 {
                if a.freq.iter().any(|r| r.contains(&f)) || a.time.iter().any(|r| r.contains(&t)) {
                    expect += 1;
                }
            }
        }
        assert_eq!(zeros, expect);
    }
}
