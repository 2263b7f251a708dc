//! The SOFA SimpleFreeFieldHRIR writer against independent readers: `sofar`'s HDF5 parser (raw
//! bytes, bit-exact), `sofar`'s SOFA reader, this crate's [`HrtfSet::from_sofa`] and, when it is
//! installed, libmysofa's `mysofa2json -c` (which runs `mysofa_check`).
//!
//! Set `SPHEAR_SOFA_WRITE_OUT=DIR` to keep the written example files in `DIR` (for
//! `scripts/check_sofa_file.py`, `mysofa2json` and `sphear hrtf info`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use proptest::prelude::*;
use sphear_core::Direction;
use sphear_hrtf::sofa_write::{SimpleFreeFieldHrir, SofaDelay, SofaMetadata, write_sofa};
use sphear_hrtf::{Ear, HrtfError, HrtfSet, sofa_info};

const DATA_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data");

/// Longer than 64 bytes on purpose (sofar reads shorter compact attributes only).
const SYNTHETIC_TITLE: &str = "sphear synthetic test set: spiral grid, exponentially decaying \
     cosines, the ear facing the source louder";

/// A deterministic, physically plausible synthetic set: M directions on a spiral, N taps; the
/// ear facing the source is louder and earlier (so the reader's ear-order check agrees).
fn synthetic(m: usize, n: usize, fs: f64) -> SimpleFreeFieldHrir {
    let mut positions = Vec::with_capacity(m);
    let mut left = Vec::with_capacity(m);
    let mut right = Vec::with_capacity(m);
    for i in 0..m {
        let t = (i as f64 + 0.5) / m as f64;
        let el = (1.0 - 2.0 * t).asin().to_degrees();
        let az = (i as f64 * 137.507_764_050_037_85 + 180.0).rem_euclid(360.0) - 180.0;
        positions.push([az, el, 1.5]);
        let y = el.to_radians().cos() * az.to_radians().sin(); // +1 = left
        let gain_l = 1.0 + 0.8 * y;
        let gain_r = 1.0 - 0.8 * y;
        let ir = |g: f64, phase: f64| -> Vec<f64> {
            (0..n)
                .map(|k| {
                    let k = k as f64;
                    g * (-k / 6.0).exp() * (0.7 * k + phase).cos() / (1.0 + 0.01 * i as f64)
                })
                .collect()
        };
        left.push(ir(gain_l, 0.1 * i as f64));
        right.push(ir(gain_r, -0.1 * i as f64));
    }
    let mut h = SimpleFreeFieldHrir::from_ears(fs, positions, &left, &right).expect("shapes");
    h.metadata.title = SYNTHETIC_TITLE.into();
    h.metadata.listener_short_name = "synthetic".into();
    h.metadata.comment = "written by tests/sofa_write.rs".into();
    h.metadata.date_created = Some("2026-12-01 18:00:00".into());
    h.metadata.date_modified = Some("2026-12-01 18:00:01".into());
    h
}

/// Where to write: `SPHEAR_SOFA_WRITE_OUT` (kept) or a temporary directory (removed).
fn out_dir() -> (PathBuf, Option<tempfile::TempDir>) {
    match std::env::var_os("SPHEAR_SOFA_WRITE_OUT") {
        Some(d) => {
            let d = PathBuf::from(d);
            std::fs::create_dir_all(&d).expect("create SPHEAR_SOFA_WRITE_OUT");
            (d, None)
        }
        None => {
            let t = tempfile::tempdir().expect("tempdir");
            (t.path().to_path_buf(), Some(t))
        }
    }
}

/// A variable as sofar's HDF5 parser decodes it: shape, raw f64 values, text attributes.
struct RawVar {
    dims: Vec<u64>,
    values: Vec<f64>,
    attrs: HashMap<String, String>,
}

fn raw_file(
    bytes: &[u8],
) -> (
    HashMap<String, String>,
    HashMap<String, RawVar>,
    Vec<String>,
) {
    let parsed = sofar::hdf::parse_with_children(bytes).expect("sofar parses the HDF5 file");
    let globals = parsed
        .root
        .parsed_attributes
        .iter()
        .map(|a| (a.name.clone(), a.value.clone().unwrap_or_default()))
        .collect();
    let names: Vec<String> = parsed
        .root
        .child_directories
        .iter()
        .map(|d| d.name.clone())
        .collect();
    let mut vars = HashMap::new();
    for name in &names {
        let obj = parsed
            .get_child(name)
            .expect("listed child")
            .expect("child parses");
        let values = obj
            .data
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect();
        let attrs = obj
            .parsed_attributes
            .iter()
            .map(|a| (a.name.clone(), a.value.clone().unwrap_or_default()))
            .collect();
        vars.insert(
            name.clone(),
            RawVar {
                dims: obj.ds.dimension_size.to_vec(),
                values,
                attrs,
            },
        );
    }
    (globals, vars, names)
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Checks every variable, bit for bit, and the attributes, as sofar's HDF5 parser reads them.
fn assert_raw_round_trip(h: &SimpleFreeFieldHrir, bytes: &[u8]) {
    let (globals, vars, names) = raw_file(bytes);
    let m = h.num_measurements() as u64;
    let n = h.ir_len as u64;
    // Dimensions first, in netCDF-4 creation order (libmysofa needs them before the variables).
    assert_eq!(&names[..7], ["I", "C", "M", "R", "E", "N", "S"]);
    for (dim, len) in [
        ("I", 1),
        ("C", 3),
        ("M", m),
        ("R", 2),
        ("E", 1),
        ("N", n),
        ("S", 0),
    ] {
        let v = &vars[dim];
        assert_eq!(v.dims, vec![len], "dimension {dim}");
        assert_eq!(v.attrs["CLASS"], "DIMENSION_SCALE");
        assert_eq!(
            v.attrs["NAME"],
            format!("This is a netCDF dimension but not a netCDF variable.{len:>10}")
        );
        assert!(v.values.is_empty(), "dimension {dim} has no data");
    }
    let ir = &vars["Data.IR"];
    assert_eq!(ir.dims, vec![m, 2, n]);
    assert_eq!(bits(&ir.values), bits(&h.irs));
    let sp = &vars["SourcePosition"];
    assert_eq!(sp.dims, vec![m, 3]);
    let expected: Vec<f64> = h.source_positions.iter().flatten().copied().collect();
    assert_eq!(bits(&sp.values), bits(&expected));
    assert_eq!(sp.attrs["Type"], "spherical");
    assert_eq!(sp.attrs["Units"], "degree, degree, metre");
    let fs = &vars["Data.SamplingRate"];
    assert_eq!(fs.dims, vec![1]);
    assert_eq!(bits(&fs.values), bits(&[h.sample_rate_hz]));
    assert_eq!(fs.attrs["Units"], "hertz");
    let delay = &vars["Data.Delay"];
    match &h.delay_samples {
        SofaDelay::Zero => {
            assert_eq!(delay.dims, vec![1, 2]);
            assert_eq!(bits(&delay.values), bits(&[0.0, 0.0]));
        }
        SofaDelay::Global(d) => {
            assert_eq!(delay.dims, vec![1, 2]);
            assert_eq!(bits(&delay.values), bits(d));
        }
        SofaDelay::PerMeasurement(ds) => {
            assert_eq!(delay.dims, vec![m, 2]);
            let flat: Vec<f64> = ds.iter().flatten().copied().collect();
            assert_eq!(bits(&delay.values), bits(&flat));
        }
    }
    let rp = &vars["ReceiverPosition"];
    assert_eq!(rp.dims, vec![2, 3, 1]);
    let expected: Vec<f64> = h.receiver_positions_m.iter().flatten().copied().collect();
    assert_eq!(bits(&rp.values), bits(&expected));
    for (name, dims, values) in [
        (
            "ListenerPosition",
            vec![1, 3],
            h.listener_position_m.to_vec(),
        ),
        ("ListenerView", vec![1, 3], h.listener_view.to_vec()),
        ("ListenerUp", vec![1, 3], h.listener_up.to_vec()),
        ("EmitterPosition", vec![1, 3, 1], vec![0.0; 3]),
    ] {
        let v = &vars[name];
        assert_eq!(v.dims, dims, "{name}");
        assert_eq!(bits(&v.values), bits(&values), "{name}");
        assert_eq!(v.attrs["Type"], "cartesian", "{name}");
        assert_eq!(v.attrs["Units"], "metre", "{name}");
    }
    for (k, v) in [
        ("Conventions", "SOFA"),
        ("Version", "2.1"),
        ("SOFAConventions", "SimpleFreeFieldHRIR"),
        ("SOFAConventionsVersion", "1.0"),
        ("DataType", "FIR"),
        ("RoomType", "free field"),
    ] {
        assert_eq!(globals[k], v, "global attribute {k}");
    }
    let md = &h.metadata;
    for (k, v) in [
        ("Title", &md.title),
        ("ListenerShortName", &md.listener_short_name),
        ("DatabaseName", &md.database_name),
        ("License", &md.license),
        ("Comment", &md.comment),
        ("History", &md.history),
        ("AuthorContact", &md.author_contact),
        ("Organization", &md.organization),
    ] {
        assert_eq!(&globals[k], v, "global attribute {k}");
    }
    for k in [
        "APIName",
        "APIVersion",
        "DateCreated",
        "DateModified",
        "Origin",
        "References",
        "ApplicationName",
        "ApplicationVersion",
    ] {
        assert!(globals.contains_key(k), "global attribute {k} missing");
    }
}

#[test]
fn synthetic_set_round_trips_bit_exactly_through_sofar_hdf() {
    let h = synthetic(37, 48, 48_000.0);
    let bytes = h.to_sofa_bytes().expect("writes");
    assert_raw_round_trip(&h, &bytes);
}

#[test]
fn written_file_loads_as_hrtf_set() {
    let (dir, _keep) = out_dir();
    let h = synthetic(64, 32, 44_100.0);
    let path = dir.join("synthetic_zero_delay.sofa");
    write_sofa(&path, &h).expect("write");
    let loaded = HrtfSet::from_sofa(&path, None).expect("HrtfSet reads the written file");
    let set = loaded.set;
    assert_eq!(set.sample_rate_hz(), 44_100.0);
    assert_eq!(set.len(), 64);
    assert_eq!(set.ir_len(), 32);
    for i in 0..64 {
        for (r, ear) in [(0, Ear::Left), (1, Ear::Right)] {
            let expected: Vec<f32> = h.ir(i, r).iter().map(|&v| v as f32).collect();
            assert_eq!(
                set.ir(i, ear),
                expected.as_slice(),
                "measurement {i} {ear:?}"
            );
        }
        let [az, el, dist] = h.source_positions[i];
        let d = set.directions()[i];
        let want = Direction::from_deg(az, el).to_cartesian();
        let got = d.to_cartesian();
        for k in 0..3 {
            assert!((want[k] - got[k]).abs() < 1e-12, "direction {i}");
        }
        assert!((set.distances_m()[i] - dist).abs() < 1e-12);
    }
    // `sphear hrtf info` reads the same summary.
    let info = sofa_info(&path).expect("info");
    assert_eq!(info.sofa_conventions, "SimpleFreeFieldHRIR");
    assert_eq!(info.sofa_conventions_version, "1.0");
    assert_eq!(info.data_type, "FIR");
    assert_eq!(
        (info.num_directions, info.num_receivers, info.ir_len),
        (64, 2, 32)
    );
    assert_eq!(info.sample_rate_hz, 44_100.0);
    assert_eq!(info.title, SYNTHETIC_TITLE);
    assert_eq!(info.listener_short_name, "synthetic");
    assert!(!info.has_nonzero_delay);
    assert_eq!(info.receiver_y_m, vec![0.0875, -0.0875]);
    assert!(
        info.remarks.is_empty(),
        "no remarks expected: {:?}",
        info.remarks
    );
}

#[test]
fn sofar_reader_opens_written_file() {
    let mut h = synthetic(50, 64, 48_000.0);
    h.delay_samples = SofaDelay::PerMeasurement((0..50).map(|i| [0.0, i as f64 * 0.5]).collect());
    let bytes = h.to_sofa_bytes().expect("writes");
    let sofa = sofar::reader::OpenOptions::new()
        .sample_rate(48_000.0)
        .normalized(false)
        .open_data(&bytes)
        .expect("sofar opens the written file");
    let hrtf = sofa.hrtf();
    assert_eq!((hrtf.m(), hrtf.r(), hrtf.n()), (50, 2, 64));
    assert_eq!(hrtf.sample_rate(), 48_000.0);
    let expected: Vec<f32> = h.irs.iter().map(|&v| v as f32).collect();
    assert_eq!(hrtf.data_ir.values, expected);
    let delays: Vec<f32> = (0..50).flat_map(|i| [0.0, i as f32 * 0.5]).collect();
    assert_eq!(hrtf.data_delay.values, delays);
    assert_eq!(
        hrtf.get_attribute("SOFAConventions"),
        Some("SimpleFreeFieldHRIR")
    );
    // sofar converts SourcePosition to cartesian; compare with our own conversion.
    for (i, p) in h.source_positions.iter().enumerate() {
        let c = Direction::from_deg(p[0], p[1]).to_cartesian();
        for (k, ck) in c.iter().enumerate() {
            let got = f64::from(hrtf.source_position.values[3 * i + k]);
            assert!((got - p[2] * ck).abs() < 1e-5, "source {i}");
        }
    }
}

#[test]
fn delays_are_written_as_given_and_applied_by_the_reader() {
    let (dir, _keep) = out_dir();
    let m = 12;
    let n = 24;
    // Per measurement (the CVAE's minimum-phase + ITD layout), integer delays.
    let mut h = synthetic(m, n, 48_000.0);
    let delays: Vec<[f64; 2]> = (0..m).map(|i| [(i % 3) as f64, (i % 5) as f64]).collect();
    h.delay_samples = SofaDelay::PerMeasurement(delays.clone());
    let path = dir.join("synthetic_delay_mr.sofa");
    write_sofa(&path, &h).expect("write");
    let bytes = std::fs::read(&path).expect("read back");
    assert_raw_round_trip(&h, &bytes);
    let set = HrtfSet::from_sofa(&path, None).expect("reads").set;
    let max_d = 4;
    assert_eq!(set.ir_len(), n + max_d);
    for (i, d) in delays.iter().enumerate() {
        for (r, ear) in [(0, Ear::Left), (1, Ear::Right)] {
            let shift = d[r] as usize;
            let mut expected = vec![0.0f32; n + max_d];
            for (k, &v) in h.ir(i, r).iter().enumerate() {
                expected[k + shift] = v as f32;
            }
            assert_eq!(
                set.ir(i, ear),
                expected.as_slice(),
                "measurement {i} {ear:?}"
            );
        }
    }
    assert!(sofa_info(&path).expect("info").has_nonzero_delay);

    // One pair for all measurements, [I, R].
    let mut g = synthetic(m, n, 48_000.0);
    g.delay_samples = SofaDelay::Global([2.0, 0.0]);
    let path = dir.join("synthetic_delay_ir.sofa");
    write_sofa(&path, &g).expect("write");
    assert_raw_round_trip(&g, &std::fs::read(&path).expect("read back"));
    let set = HrtfSet::from_sofa(&path, None).expect("reads").set;
    assert_eq!(set.ir_len(), n + 2);
    let mut expected = vec![0.0f32; n + 2];
    for (k, &v) in g.ir(3, 0).iter().enumerate() {
        expected[k + 2] = v as f32;
    }
    assert_eq!(set.ir(3, Ear::Left), expected.as_slice());
}

#[test]
fn large_set_is_split_into_chunks_and_round_trips() {
    // 2702 × 2 × 256 (the KU100 Lebedev grid size) needs several chunks of ≤ 2^18 values.
    let h = synthetic(2702, 256, 48_000.0);
    let bytes = h.to_sofa_bytes().expect("writes");
    assert_raw_round_trip(&h, &bytes);
    let tiny = synthetic(1, 1, 8_000.0);
    assert_raw_round_trip(&tiny, &tiny.to_sofa_bytes().expect("writes"));
}

#[test]
fn real_set_survives_read_write_read() {
    let src = Path::new(DATA_DIR).join("sofa_libmysofa/MIT_KEMAR_normal_pinna.sofa");
    let original = HrtfSet::from_sofa(&src, None)
        .expect("the shared MIT KEMAR file reads")
        .set;
    let (dir, _keep) = out_dir();
    let path = dir.join("mit_kemar_rewritten.sofa");
    let mut h = SimpleFreeFieldHrir::from_hrtf_set(&original);
    h.metadata.database_name = "MIT".into();
    h.metadata.history = "re-written by sphear from MIT_KEMAR_normal_pinna.sofa".into();
    write_sofa(&path, &h).expect("write");
    let again = HrtfSet::from_sofa(&path, None).expect("reads").set;
    assert_eq!(again.sample_rate_hz(), original.sample_rate_hz());
    assert_eq!(again.len(), original.len());
    assert_eq!(again.ir_len(), original.ir_len());
    for i in 0..original.len() {
        for ear in Ear::BOTH {
            assert_eq!(again.ir(i, ear), original.ir(i, ear), "measurement {i}");
        }
        let (a, b) = (
            original.directions()[i].to_cartesian(),
            again.directions()[i].to_cartesian(),
        );
        for k in 0..3 {
            assert!((a[k] - b[k]).abs() < 1e-12, "direction {i}");
        }
        assert!((again.distances_m()[i] - original.distances_m()[i]).abs() < 1e-12);
    }
}

/// libmysofa (Debian `libmysofa-utils`): `mysofa2json -c` loads the file, runs `mysofa_check`
/// through `mysofa_open` and prints JSON. Skipped (loudly) when the tool is not installed.
#[test]
fn libmysofa_accepts_written_files() {
    let available = Command::new("mysofa2json").arg("-s").output().is_ok();
    if !available {
        eprintln!(
            "SKIPPED libmysofa_accepts_written_files: `mysofa2json` not found \
             (apt-get install libmysofa-utils to run this check)"
        );
        return;
    }
    let (dir, _keep) = out_dir();
    let mut cases = vec![("mysofa_zero.sofa", synthetic(40, 64, 48_000.0))];
    let mut d = synthetic(40, 64, 48_000.0);
    d.delay_samples = SofaDelay::PerMeasurement((0..40).map(|i| [0.0, (i % 7) as f64]).collect());
    cases.push(("mysofa_delay_mr.sofa", d));
    cases.push(("mysofa_large.sofa", synthetic(2702, 256, 48_000.0)));
    for (name, h) in cases {
        let path = dir.join(name);
        write_sofa(&path, &h).expect("write");
        let out = Command::new("mysofa2json")
            .arg("-c")
            .arg(&path)
            .output()
            .expect("run mysofa2json");
        assert!(
            out.status.success(),
            "mysofa2json -c {name} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let json: serde_json::Value =
            serde_json::from_slice(&out.stdout).expect("mysofa2json prints JSON");
        let dims = &json["Dimensions"];
        assert_eq!(dims["M"], h.num_measurements() as u64, "{name}");
        assert_eq!(dims["N"], h.ir_len as u64, "{name}");
        assert_eq!(dims["R"], 2, "{name}");
        assert_eq!(json["Attributes"]["SOFAConventions"], "SimpleFreeFieldHRIR");
        let values: Vec<f64> = json["Variables"]["Data.IR"]["Values"]
            .as_array()
            .expect("Data.IR values")
            .iter()
            .map(|v| v.as_f64().expect("number"))
            .collect();
        assert_eq!(values.len(), h.irs.len(), "{name}");
        // mysofa2json prints with %f-like precision: compare to 1e-6.
        let worst = values
            .iter()
            .zip(&h.irs)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f64, f64::max);
        assert!(worst < 1e-6, "{name}: max |Δ| = {worst}");
    }
}

#[test]
fn invalid_sets_are_refused_with_reasons() {
    let good = synthetic(4, 8, 48_000.0);
    let check = |h: &SimpleFreeFieldHrir, needle: &str| match h.validate() {
        Err(HrtfError::InvalidArgument { reason }) => {
            assert!(
                reason.contains(needle),
                "'{reason}' should mention '{needle}'"
            )
        }
        other => panic!("expected InvalidArgument mentioning '{needle}', got {other:?}"),
    };
    let mut h = good.clone();
    h.irs[5] = f64::NAN;
    check(&h, "not finite");
    let mut h = good.clone();
    h.irs.pop();
    check(&h, "Data.IR needs");
    let mut h = good.clone();
    h.sample_rate_hz = 0.0;
    check(&h, "sampling rate");
    let mut h = good.clone();
    h.source_positions[1][2] = 0.0;
    check(&h, "distance");
    let mut h = good.clone();
    h.delay_samples = SofaDelay::PerMeasurement(vec![[0.0, 1.0]; 3]);
    check(&h, "M = 4 pairs");
    let mut h = good.clone();
    h.delay_samples = SofaDelay::Global([-1.0, 0.0]);
    check(&h, "≥ 0");
    let mut h = good.clone();
    h.metadata.title = "a\0b".into();
    check(&h, "NUL");
    let mut h = good.clone();
    h.metadata.history = "x".repeat(sphear_hrtf::sofa_write::MAX_TEXT_BYTES + 1);
    check(&h, "History");
    let mut h = good.clone();
    h.metadata.history = "y".repeat(sphear_hrtf::sofa_write::MAX_TEXT_BYTES);
    h.metadata.comment = "z".repeat(1000);
    assert!(h.validate().is_ok());
    assert_raw_round_trip(&h, &h.to_sofa_bytes().expect("long texts write"));
    let mut h = good.clone();
    h.metadata.date_created = Some("yesterday".into());
    check(&h, "DateCreated");
    assert!(matches!(
        SimpleFreeFieldHrir::from_ears(48_000.0, vec![[0.0, 0.0, 1.0]], &[vec![1.0]], &[]),
        Err(HrtfError::InvalidArgument { .. })
    ));
    let huge = SimpleFreeFieldHrir::new(48_000.0, vec![[0.0, 0.0, 1.0]; 40_000], 512, vec![]);
    let mut huge = huge;
    huge.irs = vec![0.0; 40_000 * 2 * 512];
    assert!(matches!(
        huge.validate(),
        Err(HrtfError::Unsupported { .. })
    ));
    // Writing into a missing directory is a write error, and no file is left behind.
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("no/such/dir/out.sofa");
    assert!(matches!(
        write_sofa(&missing, &good),
        Err(HrtfError::Write { .. })
    ));
    // Defaults are documented values.
    assert_eq!(
        SofaMetadata::default().license,
        "No license provided, ask the author for permission"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Random shapes, positions, IR values (any finite f64, including subnormals and signed
    /// zeros) and delays round-trip bit-exactly through sofar's HDF5 parser.
    #[test]
    fn random_sets_round_trip(
        m in 1usize..40,
        n in 1usize..70,
        seed in any::<u64>(),
        per_measurement in any::<bool>(),
        fs in prop::sample::select(vec![8_000.0, 44_100.0, 48_000.0, 96_000.0, 22_050.5]),
    ) {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let positions: Vec<[f64; 3]> = (0..m)
            .map(|_| [rng.random_range(-180.0..360.0), rng.random_range(-90.0..=90.0), rng.random_range(0.05..5.0)])
            .collect();
        let irs: Vec<f64> = (0..m * 2 * n)
            .map(|k| match k % 7 {
                0 => f64::from_bits(rng.random::<u64>() & 0x000f_ffff_ffff_ffff), // subnormal or 0
                1 => -0.0,
                _ => {
                    let v = f64::from_bits(rng.random::<u64>());
                    if v.is_finite() { v } else { 1.0 }
                }
            })
            .collect();
        let mut h = SimpleFreeFieldHrir::new(fs, positions, n, irs);
        h.delay_samples = if per_measurement {
            SofaDelay::PerMeasurement((0..m).map(|_| [rng.random_range(0.0..100.0), rng.random_range(0.0..100.0)]).collect())
        } else {
            SofaDelay::Global([rng.random_range(0.0..10.0), rng.random_range(0.0..10.0)])
        };
        h.metadata.title = format!("random set {seed}");
        h.metadata.comment = String::new();
        let bytes = h.to_sofa_bytes().expect("writes");
        assert_raw_round_trip(&h, &bytes);
    }
}
