//! The built-in em32 preset equals the geometry table in ../shared/data/em32_geometry.csv.

use std::path::Path;

use sphear_core::Direction;
use sphear_sh::array::ArrayGeometry;
use sphear_sh::modal::SphereKind;

#[test]
fn em32_preset_matches_shared_geometry_csv() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/em32_geometry.csv");
    let text = std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("{}: {e} (CI has ../shared/data)", p.display()));
    let rows: Vec<Vec<f64>> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("capsule") && !l.trim().is_empty())
        .map(|l| {
            l.split(',')
                .map(|v| v.trim().parse::<f64>().expect("number"))
                .collect()
        })
        .collect();
    let a = ArrayGeometry::em32();
    assert_eq!(rows.len(), 32);
    assert_eq!(a.sphere, SphereKind::Rigid);
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r[0] as usize, i + 1);
        let want = Direction::from_azimuth_colatitude(r[1].to_radians(), r[2].to_radians());
        assert!(a.capsules[i].angle_to(&want) < 1e-12, "capsule {}", i + 1);
        assert!((r[3] - a.radius_m).abs() < 1e-12);
    }
}
