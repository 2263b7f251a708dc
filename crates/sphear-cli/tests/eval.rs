//! `sphear eval --suite bench-v1 --quick` end to end: files, CSV, JSON, every method × metric,
//! valid PNGs.

use std::collections::BTreeSet;
use std::process::Command;

const METHODS: [&str; 5] = ["ls", "magls", "emagls", "foa", "dirac"];
const METRICS: [&str; 9] = [
    "itd_err_us",
    "ild_err_db",
    "lsd_db",
    "snr_db",
    "iacc_err",
    "segsnr_db",
    "mfcc_dist",
    "mrstft",
    "lateral_err_deg",
];
const PNGS: [&str; 8] = [
    "polar_itd_err_us.png",
    "polar_ild_err_db.png",
    "polar_lsd_db.png",
    "band_errors.png",
    "vs_rt60.png",
    "vs_sources.png",
    "vs_channels.png",
    "summary.png",
];

#[test]
fn eval_quick_suite_end_to_end() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("report");
    let st = Command::new(env!("CARGO_BIN_EXE_sphear"))
        .args(["eval", "--suite", "bench-v1", "--quick", "--methods"])
        .arg(METHODS.join(","))
        .arg("-o")
        .arg(&out)
        .output()
        .expect("run sphear");
    assert!(
        st.status.success(),
        "sphear eval failed: {}",
        String::from_utf8_lossy(&st.stderr)
    );
    // rows.csv: header, 12 fields per row, numeric values, every method x metric x capsule count.
    let csv = std::fs::read_to_string(out.join("rows.csv")).expect("rows.csv");
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    assert_eq!(
        header[..6],
        ["scene", "method", "channels", "metric", "band_hz", "value"]
    );
    let mut seen = BTreeSet::new();
    let mut scenes = BTreeSet::new();
    let mut n = 0;
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        assert_eq!(f.len(), header.len(), "{l}");
        let v: f64 = if f[5] == "inf" {
            f64::INFINITY
        } else {
            f[5].parse().expect("value")
        };
        assert!(!v.is_nan(), "{l}");
        let ch: usize = f[2].parse().expect("channels");
        if f[4].is_empty() {
            seen.insert((f[1].to_string(), f[3].to_string(), ch));
        }
        scenes.insert(f[0].to_string());
        n += 1;
    }
    assert!(n > 0);
    assert!(scenes.len() >= 4, "{scenes:?}");
    for m in METHODS {
        for metric in METRICS {
            for ch in [32, 16, 8] {
                assert!(
                    seen.contains(&(m.to_string(), metric.to_string(), ch)),
                    "missing {m} {metric} {ch}"
                );
            }
        }
    }
    // rows.json parses and has as many rows.
    let js: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("rows.json")).expect("json"))
            .expect("valid JSON");
    assert_eq!(js["rows"].as_array().map(Vec::len), Some(n));
    let md = std::fs::read_to_string(out.join("summary.md")).expect("summary.md");
    for m in METHODS {
        assert!(md.contains(&format!("| {m} |")), "summary lacks {m}");
    }
    assert!(
        md.contains("## Per RT60")
            && md.contains("## Per source count")
            && md.contains("## Per capsule count")
    );
    // PNGs: signature, IHDR with nonzero size.
    for p in PNGS {
        let b = std::fs::read(out.join(p)).expect(p);
        assert!(b.len() > 1000, "{p}: {} bytes", b.len());
        assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n", "{p}");
        assert_eq!(&b[12..16], b"IHDR", "{p}");
        let w = u32::from_be_bytes([b[16], b[17], b[18], b[19]]);
        let h = u32::from_be_bytes([b[20], b[21], b[22], b[23]]);
        assert!(w > 100 && h > 100, "{p}: {w}x{h}");
        // Full decode (checksums, all image data).
        let mut reader = png::Decoder::new(std::io::Cursor::new(&b))
            .read_info()
            .expect("PNG header");
        let mut buf = vec![0u8; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).expect("PNG data");
        assert_eq!((info.width, info.height), (w, h));
        // Not blank: some pixels differ from the first one.
        assert!(
            buf[..info.buffer_size()].iter().any(|&v| v != buf[0]),
            "{p} is blank"
        );
    }
}

/// `sphear render --method foa|dirac` on em32 and AmbiX input of a simulated free-field scene with
/// one source on the left: 2 channels, input length, left ear louder (as in the reference).
#[test]
fn render_foa_and_dirac_from_em32_and_ambix() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = dir.path().join("spec.toml");
    std::fs::write(
        &spec,
        "duration_s = 1.0\n[room]\nfree_field = true\n[sources]\ncount = 1\npositions = [{ azimuth_deg = 70.0, elevation_deg = 0.0, distance_m = 2.0 }]\n[output]\nambix_order = 2\n",
    )
    .expect("spec");
    let scene = dir.path().join("scene");
    let bin = env!("CARGO_BIN_EXE_sphear");
    let st = Command::new(bin)
        .arg("simulate")
        .arg(&spec)
        .arg("-o")
        .arg(&scene)
        .output()
        .expect("simulate");
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let energy = |p: &std::path::Path| -> (usize, usize, f64, f64) {
        let mut r = hound::WavReader::open(p).expect("wav");
        let ch = r.spec().channels as usize;
        let s: Vec<f32> = r.samples::<f32>().map(|v| v.expect("sample")).collect();
        let (mut el, mut er) = (0.0, 0.0);
        for f in s.chunks(ch) {
            el += f64::from(f[0]).powi(2);
            er += f64::from(f[1]).powi(2);
        }
        (ch, s.len() / ch, el, er)
    };
    let (_, n_ref, rl, rr) = energy(&scene.join("binaural.wav"));
    assert!(rl > rr);
    for input in ["em32.wav", "ambix.wav"] {
        for method in ["foa", "dirac"] {
            let out = dir.path().join(format!("{method}-{input}"));
            let st = Command::new(bin)
                .arg("render")
                .arg(scene.join(input))
                .args(["-o"])
                .arg(&out)
                .args(["--method", method])
                .output()
                .expect("render");
            assert!(
                st.status.success(),
                "{method} {input}: {}",
                String::from_utf8_lossy(&st.stderr)
            );
            let (ch, n, el, er) = energy(&out);
            assert_eq!((ch, n), (2, n_ref), "{method} {input}");
            let ild = 10.0 * (el / er).log10();
            println!(
                "{method} from {input}: ILD {ild:.2} dB (reference {:.2} dB)",
                10.0 * (rl / rr).log10()
            );
            assert!(
                ild > 1.0,
                "{method} {input}: ILD {ild} dB, left must be louder"
            );
        }
    }
}
