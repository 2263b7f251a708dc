//! Built-in deterministic test signals (for the demo, benchmarks and tests).
//!
//! All generators are seeded and reproducible across platforms (a 64-bit xorshift generator,
//! no external RNG).

/// Deterministic uniform noise generator (xorshift64*), values in `[-1, 1)`.
#[derive(Debug, Clone)]
pub struct NoiseGen {
    state: u64,
}

impl NoiseGen {
    /// New generator; `seed` 0 is mapped to a fixed non-zero state.
    pub fn new(seed: u64) -> Self {
        Self {
            state: if seed == 0 {
                0x9E37_79B9_7F4A_7C15
            } else {
                seed
            },
        }
    }
    /// Next uniform sample in `[-1, 1)`.
    pub fn next_uniform(&mut self) -> f64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        let v = x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11; // 53 bits
        (v as f64 / (1u64 << 52) as f64) - 1.0
    }
}

/// White noise, uniform in `[-amp, amp)`.
pub fn white_noise(len: usize, amp: f64, seed: u64) -> Vec<f32> {
    let mut g = NoiseGen::new(seed);
    (0..len).map(|_| (amp * g.next_uniform()) as f32).collect()
}

/// Pink (1/f) noise by Paul Kellet's refined filter of white noise, normalised to RMS `rms`.
///
/// # References
/// P. Kellet, "Filter to make pink noise from white", music-dsp archive, 1999 (±0.05 dB above 9.2 Hz at 44.1 kHz).
pub fn pink_noise(len: usize, rms: f64, seed: u64) -> Vec<f32> {
    let mut g = NoiseGen::new(seed);
    let mut b = [0.0f64; 7];
    let mut y: Vec<f64> = (0..len)
        .map(|_| {
            let w = g.next_uniform();
            b[0] = 0.99886 * b[0] + w * 0.0555179;
            b[1] = 0.99332 * b[1] + w * 0.0750759;
            b[2] = 0.96900 * b[2] + w * 0.1538520;
            b[3] = 0.86650 * b[3] + w * 0.3104856;
            b[4] = 0.55000 * b[4] + w * 0.5329522;
            b[5] = -0.7616 * b[5] - w * 0.0168980;
            let out = b[0] + b[1] + b[2] + b[3] + b[4] + b[5] + b[6] + w * 0.5362;
            b[6] = w * 0.115926;
            out
        })
        .collect();
    normalise_rms(&mut y, rms);
    y.into_iter().map(|v| v as f32).collect()
}

/// Harmonic complex tone (a crude voiced-speech stand-in): fundamental `f0_hz` with 5 % vibrato
/// at 5 Hz, harmonics up to `fs/2` with −6 dB/octave roll-off and formant-like emphasis around
/// 700 Hz and 1.2 kHz, syllable-like 4 Hz amplitude envelope. RMS normalised to `rms`.
pub fn harmonic_complex(len: usize, fs_hz: f64, f0_hz: f64, rms: f64) -> Vec<f32> {
    let mut phase = 0.0f64;
    let mut y = Vec::with_capacity(len);
    let n_harm = ((fs_hz / 2.0) / (f0_hz * 1.06)).floor() as usize;
    for t in 0..len {
        let ts = t as f64 / fs_hz;
        let f0 = f0_hz * (1.0 + 0.05 * (2.0 * std::f64::consts::PI * 5.0 * ts).sin());
        phase += 2.0 * std::f64::consts::PI * f0 / fs_hz;
        let mut v = 0.0;
        for h in 1..=n_harm {
            let fh = h as f64 * f0_hz;
            let formant = 1.0
                + 3.0 * (-((fh - 700.0) / 250.0).powi(2)).exp()
                + 2.0 * (-((fh - 1200.0) / 300.0).powi(2)).exp();
            v += formant / h as f64 * (h as f64 * phase).sin();
        }
        let env = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * 4.0 * ts).cos();
        y.push(v * env);
    }
    normalise_rms(&mut y, rms);
    y.into_iter().map(|v| v as f32).collect()
}

/// Click train: band-limited (Hann-windowed, 1 ms) clicks every `period_s`, peak `amp`.
pub fn click_train(len: usize, fs_hz: f64, period_s: f64, amp: f64) -> Vec<f32> {
    let mut y = vec![0.0f32; len];
    let period = (period_s * fs_hz).round().max(1.0) as usize;
    let w = ((0.001 * fs_hz) as usize).max(3);
    let mut start = period / 4;
    while start + w < len {
        for i in 0..w {
            let win = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / (w - 1) as f64).cos();
            let carrier = (2.0 * std::f64::consts::PI * 3000.0 * i as f64 / fs_hz).cos();
            y[start + i] += (amp * win * carrier) as f32;
        }
        start += period;
    }
    y
}

/// Exponential sine sweep from `f0_hz` to `f1_hz` (Farina 2000), amplitude `amp`.
pub fn exp_sweep(len: usize, fs_hz: f64, f0_hz: f64, f1_hz: f64, amp: f64) -> Vec<f32> {
    let t_total = len as f64 / fs_hz;
    let k = (f1_hz / f0_hz).ln();
    (0..len)
        .map(|n| {
            let t = n as f64 / fs_hz;
            let ph =
                2.0 * std::f64::consts::PI * f0_hz * t_total / k * ((t / t_total * k).exp() - 1.0);
            (amp * ph.sin()) as f32
        })
        .collect()
}

fn normalise_rms(y: &mut [f64], rms: f64) {
    let cur = (y.iter().map(|v| v * v).sum::<f64>() / y.len().max(1) as f64).sqrt();
    if cur > 0.0 {
        for v in y.iter_mut() {
            *v *= rms / cur;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_scaled() {
        assert_eq!(white_noise(100, 1.0, 7), white_noise(100, 1.0, 7));
        let p = pink_noise(48000, 0.1, 3);
        let rms = (p.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / p.len() as f64).sqrt();
        assert!((rms - 0.1).abs() < 1e-6);
        let w = white_noise(10000, 1.0, 1);
        assert!(w.iter().all(|v| (-1.0..1.0).contains(v)));
        let mean = w.iter().map(|&v| v as f64).sum::<f64>() / w.len() as f64;
        assert!(mean.abs() < 0.03);
    }

    #[test]
    fn pink_noise_slope_is_minus_3db_per_octave() {
        // Compare band powers one octave apart via a crude DFT on a few bins.
        let fs = 48000.0;
        let x = pink_noise(1 << 16, 1.0, 11);
        let band_power = |f: f64| {
            // average |X(f)|^2 over 40 neighbouring bins around f
            let n = x.len();
            let k0 = (f / fs * n as f64) as usize;
            let mut acc = 0.0;
            for k in k0..k0 + 40 {
                let (mut re, mut im) = (0.0, 0.0);
                for (t, &v) in x.iter().enumerate() {
                    let ph = -2.0 * std::f64::consts::PI * (k * t % n) as f64 / n as f64;
                    re += v as f64 * ph.cos();
                    im += v as f64 * ph.sin();
                }
                acc += re * re + im * im;
            }
            acc / 40.0
        };
        let slope_db = 10.0 * (band_power(4000.0) / band_power(2000.0)).log10();
        assert!((slope_db + 3.0).abs() < 1.5, "slope {slope_db} dB/oct");
    }
}
