//! Source audio decoding (WAV, FLAC, Ogg Vorbis) against the manifests of ../shared/data/sources.

use std::path::{Path, PathBuf};

use sphear_sim::audio_in::{decode_mono, list_audio_files, load_mono_at};

fn sources() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/sources");
    assert!(
        p.exists(),
        "test data missing: {} (CI has ../shared/data)",
        p.display()
    );
    p
}

/// (file, seconds, rate) rows of a MANIFEST.csv.
fn manifest(dir: &Path) -> Vec<(PathBuf, f64, u32)> {
    std::fs::read_to_string(dir.join("MANIFEST.csv"))
        .expect("manifest")
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Some((
                dir.join(f.first()?),
                f.get(1)?.parse().ok()?,
                f.get(2)?.parse().ok()?,
            ))
        })
        .collect()
}

#[test]
fn decodes_wav_flac_and_vorbis_with_manifest_rates_and_lengths() {
    for folder in [
        "github_emodb",
        "debian_gcin-voice",
        "github_siplabiith_voicebank-clean",
    ] {
        let dir = sources().join(folder);
        for (path, seconds, rate) in manifest(&dir).into_iter().take(3) {
            let (x, r) = decode_mono(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(r, rate, "{}", path.display());
            let dur = x.len() as f64 / r as f64;
            // Manifest durations are rounded to 1 ms.
            assert!(
                (dur - seconds).abs() <= 0.0015,
                "{}: {dur} s vs {seconds} s",
                path.display()
            );
            assert!(
                x.iter().any(|v| v.abs() > 1e-4),
                "{} is silent",
                path.display()
            );
        }
    }
}

#[test]
fn resamples_to_the_scene_rate_and_lists_folders() {
    let dir = sources().join("github_siplabiith_voicebank-clean");
    let files = list_audio_files(&dir).expect("list");
    assert!(files.len() >= 2);
    let (x16, _) = decode_mono(&files[0]).expect("decode");
    let x48 = load_mono_at(&files[0], 48000.0).expect("resample");
    let ratio = x48.len() as f64 / x16.len() as f64;
    assert!((ratio - 3.0).abs() < 0.01, "{ratio}");
    let rms =
        |v: &[f32]| (v.iter().map(|s| (*s as f64).powi(2)).sum::<f64>() / v.len() as f64).sqrt();
    // Band-limited resampling keeps the RMS of band-limited speech (within 0.2 dB).
    assert!((20.0 * (rms(&x48) / rms(&x16)).log10()).abs() < 0.2);
    assert!(list_audio_files(&sources().join("github_emodb").join("does-not-exist")).is_err());
}
