//! WAV reading/writing. Integer files are produced by `hound` (an independent encoder) and read
//! back with our reader; our float writer's output is also decoded by `hound`.

use std::fs;
use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sphear_core::CoreError;
use sphear_core::wav::{
    LARGEST_F32_BELOW_ONE, WavReader, WavWriter, ensure_distinct, read_wav, write_wav,
};

const EM32_WAV: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/em32_micarraylib/3d-marco/+90deg_065_Eigenmike_Raw_32ch.wav"
);

/// Writes interleaved integer samples with hound.
fn hound_write_int(path: &Path, bits: u16, channels: u16, planar: &[Vec<i32>]) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: 48_000,
        bits_per_sample: bits,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("hound create");
    for f in 0..planar[0].len() {
        for c in planar {
            if bits == 8 {
                w.write_sample(c[f] as i8).expect("write");
            } else {
                w.write_sample(c[f]).expect("write");
            }
        }
    }
    w.finalize().expect("finalize");
}

/// Writes interleaved float samples with hound.
fn hound_write_f32(path: &Path, channels: u16, planar: &[Vec<f32>]) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: 44_100,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("hound create");
    for f in 0..planar[0].len() {
        for c in planar {
            w.write_sample(c[f]).expect("write");
        }
    }
    w.finalize().expect("finalize");
}

fn random_ints(rng: &mut ChaCha8Rng, bits: u16, channels: usize, frames: usize) -> Vec<Vec<i32>> {
    let max = ((1i64 << (bits - 1)) - 1) as i32;
    let min = (-(1i64 << (bits - 1))) as i32;
    (0..channels)
        .map(|c| {
            let mut v: Vec<i32> = (0..frames).map(|_| rng.random_range(min..=max)).collect();
            // Extremes and zero on every channel.
            v[0] = min;
            v[1] = max;
            v[2] = 0;
            v[3] = if c % 2 == 0 { -1 } else { 1 };
            v
        })
        .collect()
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").path())
        .collect();
    v.sort();
    v
}

#[test]
fn integer_pcm_round_trips_exactly() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let dir = tempfile::tempdir().expect("tempdir");
    for &bits in &[8u16, 16, 24, 32] {
        for &channels in &[1usize, 2, 25, 32] {
            let frames = 257;
            let data = random_ints(&mut rng, bits, channels, frames);
            let path = dir.path().join(format!("int{bits}_{channels}.wav"));
            hound_write_int(&path, bits, channels as u16, &data);
            let (info, got) = read_wav(&path).expect("read_wav");
            assert_eq!(info.sample_rate_hz, 48_000);
            assert_eq!(info.channels, channels);
            assert_eq!(info.frames, frames as u64);
            assert_eq!(info.sample_format, format!("PCM {bits}-bit"));
            let scale = 2f64.powi(i32::from(bits) - 1);
            for c in 0..channels {
                // Correctly rounded quotient, kept below 1 (only 2^31 − 1 … 2^31 − 64 round up to 1.0).
                let expected: Vec<f32> = data[c]
                    .iter()
                    .map(|&v| ((f64::from(v) / scale) as f32).min(LARGEST_F32_BELOW_ONE))
                    .collect();
                assert_eq!(got[c], expected, "{bits}-bit, {channels} ch, channel {c}");
                assert!(got[c].iter().all(|&v| (-1.0..1.0).contains(&v)));
            }
        }
    }
}

#[test]
fn float_round_trips_through_our_writer_and_hound() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let dir = tempfile::tempdir().expect("tempdir");
    for &channels in &[1usize, 2, 25, 32] {
        let frames = 1001;
        let data: Vec<Vec<f32>> = (0..channels)
            .map(|_| {
                (0..frames)
                    .map(|_| rng.random_range(-4.0f32..4.0))
                    .collect()
            })
            .collect();
        // Ours → ours.
        let path = dir.path().join(format!("f32_{channels}.wav"));
        write_wav(&path, 96_000, &data).expect("write_wav");
        let (info, got) = read_wav(&path).expect("read_wav");
        assert_eq!(info.sample_rate_hz, 96_000);
        assert_eq!(info.channels, channels);
        assert_eq!(info.frames, frames as u64);
        assert_eq!(info.sample_format, "float 32-bit");
        assert_eq!(got, data);
        // Ours → hound (another decoder accepts our header and reads the same samples).
        let mut r = hound::WavReader::open(&path).expect("hound open");
        let spec = r.spec();
        assert_eq!(
            (
                spec.channels as usize,
                spec.sample_rate,
                spec.bits_per_sample
            ),
            (channels, 96_000, 32)
        );
        assert_eq!(spec.sample_format, hound::SampleFormat::Float);
        let inter: Vec<f32> = r.samples::<f32>().map(|s| s.expect("sample")).collect();
        for (i, v) in inter.iter().enumerate() {
            assert_eq!(*v, data[i % channels][i / channels]);
        }
        // Hound → ours.
        let path2 = dir.path().join(format!("hound_f32_{channels}.wav"));
        hound_write_f32(&path2, channels as u16, &data);
        let (info2, got2) = read_wav(&path2).expect("read_wav");
        assert_eq!(info2.sample_rate_hz, 44_100);
        assert_eq!(got2, data);
    }
}

#[test]
fn streaming_reads_in_odd_blocks_equal_whole_file() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("s.wav");
    let data = random_ints(&mut rng, 24, 3, 1000);
    hound_write_int(&path, 24, 3, &data);
    let (_, whole) = read_wav(&path).expect("read_wav");
    let mut r = WavReader::open(&path).expect("open");
    let mut buf = vec![Vec::new(); 3];
    let mut acc = vec![Vec::new(); 3];
    let mut calls = 0;
    loop {
        let n = r.read_planar(&mut buf, 7).expect("read");
        if n == 0 {
            break;
        }
        calls += 1;
        assert!(n <= 7);
        for c in 0..3 {
            assert_eq!(buf[c].len(), n);
            acc[c].extend_from_slice(&buf[c]);
        }
    }
    assert_eq!(calls, 1000usize.div_ceil(7));
    assert_eq!(acc, whole);
    assert_eq!(r.read_planar(&mut buf, 7).expect("read at end"), 0);
    // Wrong number of channel buffers.
    let mut two = vec![Vec::new(); 2];
    assert!(matches!(
        r.read_planar(&mut two, 7),
        Err(CoreError::ChannelCount { got: 2, .. })
    ));
}

#[test]
fn truncated_file_is_reported() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("t.wav");
    let data = random_ints(&mut rng, 24, 32, 4800);
    hound_write_int(&path, 24, 32, &data);
    let bytes = fs::read(&path).expect("read");
    // Frame = 32 × 3 = 96 bytes; cut 9 frames minus 10 bytes → 8 whole frames and a partial one missing.
    let cut = &bytes[..bytes.len() - (9 * 96 - 10)];
    fs::write(&path, cut).expect("write");
    match WavReader::open(&path) {
        Err(CoreError::WavFormat { reason, .. }) => {
            assert!(reason.contains("truncated"), "{reason}");
            assert!(
                reason.contains("header announces 4800 frames, file holds 4791"),
                "{reason}"
            );
        }
        other => panic!("expected WavFormat, got {other:?}"),
    }
    assert!(matches!(read_wav(&path), Err(CoreError::WavFormat { .. })));
    // Cut inside the header.
    fs::write(&path, &bytes[..30]).expect("write");
    assert!(matches!(read_wav(&path), Err(CoreError::WavFormat { .. })));
}

#[test]
fn garbage_is_rejected() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("g.wav");
    for len in [0usize, 5, 12, 44, 4096] {
        let junk: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        fs::write(&path, &junk).expect("write");
        assert!(
            matches!(read_wav(&path), Err(CoreError::WavFormat { .. })),
            "{len} random bytes"
        );
    }
    // A RIFF/WAVE signature followed by garbage chunks.
    let mut riff = b"RIFF\0\0\0\0WAVE".to_vec();
    riff.extend((0..200).map(|_| rng.random::<u8>()));
    fs::write(&path, &riff).expect("write");
    assert!(matches!(read_wav(&path), Err(CoreError::WavFormat { .. })));
    // Missing file is an I/O error, not a format error.
    assert!(matches!(
        read_wav(&dir.path().join("missing.wav")),
        Err(CoreError::Io { .. })
    ));
}

#[test]
fn non_finite_samples_are_located() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nan.wav");
    let mut data = vec![vec![0.25f32; 5000]; 3];
    data[1][123] = f32::NAN;
    data[0][200] = f32::INFINITY;
    data[2][4000] = f32::NEG_INFINITY;
    hound_write_f32(&path, 3, &data);
    match read_wav(&path) {
        Err(CoreError::NonFinite {
            frame,
            channel,
            value,
            ..
        }) => {
            assert_eq!((frame, channel), (123, 1));
            assert!(value.is_nan());
        }
        other => panic!("expected NonFinite, got {other:?}"),
    }
    // Streaming: the block containing frame 200 reports it with its absolute index, and a later
    // block the −∞ at frame 4000, channel 2.
    let mut r = WavReader::open(&path).expect("open");
    let mut buf = vec![Vec::new(); 3];
    assert_eq!(r.read_planar(&mut buf, 100).expect("clean block"), 100);
    let mut found = Vec::new();
    loop {
        match r.read_planar(&mut buf, 50) {
            Ok(0) => break,
            Ok(_) => {}
            Err(CoreError::NonFinite {
                frame,
                channel,
                value,
                ..
            }) => found.push((frame, channel, value)),
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(found.len(), 3);
    assert_eq!((found[0].0, found[0].1), (123, 1));
    assert_eq!(found[1], (200, 0, f32::INFINITY));
    assert_eq!(found[2], (4000, 2, f32::NEG_INFINITY));
}

#[test]
fn writer_is_atomic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("out.wav");
    // Dropped before finish: nothing remains.
    {
        let mut w = WavWriter::create(&path, 48_000, 2).expect("create");
        w.write_planar(&[&[0.1, 0.2], &[0.3, 0.4]]).expect("write");
        assert_eq!(
            files_in(dir.path()).len(),
            1,
            "temporary file exists while writing"
        );
        assert!(!path.exists());
    }
    assert!(
        files_in(dir.path()).is_empty(),
        "left behind: {:?}",
        files_in(dir.path())
    );
    // A non-finite sample is refused before anything is written; nothing remains.
    let mut bad = vec![vec![0.0f32; 10]; 2];
    bad[1][7] = f32::NAN;
    match write_wav(&path, 48_000, &bad) {
        Err(CoreError::NonFinite {
            frame: 7,
            channel: 1,
            ..
        }) => {}
        other => panic!("expected NonFinite, got {other:?}"),
    }
    assert!(files_in(dir.path()).is_empty());
    // Mismatched shapes are errors.
    let mut w = WavWriter::create(&path, 48_000, 2).expect("create");
    assert!(matches!(
        w.write_planar(&[&[0.0]]),
        Err(CoreError::ChannelCount { .. })
    ));
    assert!(matches!(
        w.write_planar(&[&[0.0], &[0.0, 1.0]]),
        Err(CoreError::InvalidArgument(_))
    ));
    // Several blocks, then finish: exactly one file, the destination.
    w.write_planar(&[&[0.5; 3], &[-0.5; 3]]).expect("write");
    w.write_planar(&[&[0.25; 2], &[-0.25; 2]]).expect("write");
    assert_eq!(w.frames_written(), 5);
    w.finish().expect("finish");
    assert_eq!(files_in(dir.path()), vec![path.clone()]);
    let (info, got) = read_wav(&path).expect("read");
    assert_eq!(info.frames, 5);
    assert_eq!(
        got,
        vec![
            vec![0.5, 0.5, 0.5, 0.25, 0.25],
            vec![-0.5, -0.5, -0.5, -0.25, -0.25]
        ]
    );
    // Invalid arguments.
    assert!(WavWriter::create(&path, 0, 1).is_err());
    assert!(WavWriter::create(&path, 48_000, 0).is_err());
    assert!(matches!(
        WavWriter::create(&dir.path().join("no/such/dir/x.wav"), 48_000, 1),
        Err(CoreError::Io { .. })
    ));
}

#[test]
fn ensure_distinct_detects_same_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let input = d.join("in.wav");
    write_wav(&input, 48_000, &[vec![0.0; 4]]).expect("write");
    fs::create_dir(d.join("sub")).expect("mkdir");
    let same_err = |o: &Path| {
        matches!(
            ensure_distinct(&input, o),
            Err(CoreError::WouldOverwriteInput(_))
        )
    };
    assert!(same_err(&input));
    // Same file through `.` and `..` components.
    assert!(same_err(&d.join("sub/../in.wav")));
    assert!(same_err(&d.join("./in.wav")));
    // Through a symbolic link, and through a hard link.
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(&input, d.join("link.wav")).expect("symlink");
        assert!(same_err(&d.join("link.wav")));
        std::os::unix::fs::symlink(d, d.join("sub/dirlink")).expect("symlink");
        assert!(same_err(&d.join("sub/dirlink/in.wav")));
        fs::hard_link(&input, d.join("hard.wav")).expect("hard link");
        assert!(same_err(&d.join("hard.wav")));
    }
    // Different files, existing or not.
    let other = d.join("other.wav");
    write_wav(&other, 48_000, &[vec![0.0; 4]]).expect("write");
    ensure_distinct(&input, &other).expect("distinct existing");
    ensure_distinct(&input, &d.join("new.wav")).expect("distinct new");
    ensure_distinct(&input, &d.join("sub/in.wav")).expect("same name, other directory");
    // Missing input or missing output directory are I/O errors.
    assert!(matches!(
        ensure_distinct(&d.join("nope.wav"), &other),
        Err(CoreError::Io { .. })
    ));
    assert!(matches!(
        ensure_distinct(&input, &d.join("nope/x.wav")),
        Err(CoreError::Io { .. })
    ));
}

#[test]
fn reads_real_em32_recording() {
    let path = Path::new(EM32_WAV);
    assert!(
        path.exists(),
        "test data missing: {EM32_WAV} (the shared/ data directory must sit beside the repository)"
    );
    let mut r = WavReader::open(path).expect("open em32 file");
    let info = r.info().clone();
    assert_eq!(info.sample_rate_hz, 48_000);
    assert_eq!(info.channels, 32);
    assert_eq!(info.frames, 4800);
    assert_eq!(info.sample_format, "PCM 24-bit");
    let mut buf = vec![Vec::new(); 32];
    assert_eq!(r.read_planar(&mut buf, 10_000).expect("read"), 4800);
    // Compare every sample with hound's independent decoder.
    let mut h = hound::WavReader::open(path).expect("hound open");
    assert_eq!(h.spec().bits_per_sample, 24);
    for (i, s) in h.samples::<i32>().enumerate() {
        let expected = (f64::from(s.expect("sample")) / f64::from(1u32 << 23)) as f32;
        assert_eq!(buf[i % 32][i / 32], expected, "sample {i}");
    }
    // A real recording is not silent.
    assert!(buf.iter().all(|c| c.iter().any(|&v| v != 0.0)));
}
