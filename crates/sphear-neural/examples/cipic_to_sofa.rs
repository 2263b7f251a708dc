//! Write CIPIC subjects as SOFA files (SimpleFreeFieldHRIR, 44.1 kHz, 200 taps) to a folder
//! outside the repository, with each subject's standardised 12-D anthropometry (the CIN
//! conditioning of the neural renderer) in `anthropometry.json`.
//!
//! ```text
//! cargo run --release -p sphear-neural --example cipic_to_sofa -- CIPIC_DIR OUT_DIR [ID ...]
//! ```
//! Without IDs every subject with complete anthropometry is written. The z-scores use the mean
//! and standard deviation of each feature over all complete subjects (both ears pooled), and a
//! listener's value is the mean of its two ears (the network has one 12-D vector per listener).
//! The CIPIC licence allows derived work with its notice kept: the notice goes into each file's
//! `License` attribute and next to the files as `LICENSE_CIPIC.txt`.

use std::path::PathBuf;

use sphear_hrtf::sofa_write::{SimpleFreeFieldHrir, write_sofa};
use sphear_personalize::data::{
    CIPIC_RATE_HZ, CIPIC_TAPS, N_DIRS, N_FEATURES, cipic_directions, load_cipic,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!("usage: cipic_to_sofa CIPIC_DIR OUT_DIR [ID ...]");
        std::process::exit(2);
    }
    let (cipic, out) = (PathBuf::from(&args[0]), PathBuf::from(&args[1]));
    let ids: Vec<u32> = args[2..]
        .iter()
        .map(|s| s.parse())
        .collect::<Result<_, _>>()?;
    let (subjects, _) = load_cipic(&cipic)?;
    // Standardiser over all complete subjects, both ears.
    let rows: Vec<[f64; N_FEATURES]> = subjects
        .iter()
        .flat_map(|s| s.features.iter().flatten().copied())
        .collect();
    let n = rows.len() as f64;
    let mut mean = [0.0f64; N_FEATURES];
    let mut sd = [0.0f64; N_FEATURES];
    for r in &rows {
        for i in 0..N_FEATURES {
            mean[i] += r[i] / n;
        }
    }
    for r in &rows {
        for i in 0..N_FEATURES {
            sd[i] += (r[i] - mean[i]).powi(2) / (n - 1.0);
        }
    }
    for s in &mut sd {
        *s = s.sqrt().max(1e-9);
    }
    std::fs::create_dir_all(&out)?;
    let notice = std::fs::read_to_string(cipic.join("LICENSE_CIPIC.txt")).unwrap_or_default();
    std::fs::write(out.join("LICENSE_CIPIC.txt"), &notice)?;
    let dirs = cipic_directions();
    let positions: Vec<[f64; 3]> = dirs
        .iter()
        .map(|d| {
            [
                d.direction.azimuth_rad.to_degrees(),
                d.direction.elevation_rad.to_degrees(),
                1.0,
            ]
        })
        .collect();
    let mut anthro = serde_json::Map::new();
    for s in subjects
        .iter()
        .filter(|s| ids.is_empty() || ids.contains(&s.id))
    {
        let mut irs = Vec::with_capacity(N_DIRS * 2 * CIPIC_TAPS);
        for m in 0..N_DIRS {
            for ear in 0..2 {
                irs.extend(s.ir(m, ear).iter().map(|&v| f64::from(v)));
            }
        }
        let mut h = SimpleFreeFieldHrir::new(CIPIC_RATE_HZ, positions.clone(), CIPIC_TAPS, irs);
        h.metadata.title = format!("CIPIC subject {:03}", s.id);
        h.metadata.database_name = "CIPIC".into();
        h.metadata.listener_short_name = format!("subject_{:03}", s.id);
        h.metadata.license = notice.trim().to_string();
        let name = format!("cipic_{:03}.sofa", s.id);
        write_sofa(&out.join(&name), &h)?;
        let mut z = [0.0f64; N_FEATURES];
        for ear in s.features.iter().flatten() {
            for i in 0..N_FEATURES {
                z[i] += 0.5 * (ear[i] - mean[i]) / sd[i];
            }
        }
        let z: Vec<f32> = z.iter().map(|&v| v as f32).collect();
        anthro.insert(name.clone(), serde_json::json!(z));
        println!("{}", out.join(&name).display());
    }
    anthro.insert(
        "anthropometry_standardizer".into(),
        serde_json::json!({ "mean": mean.to_vec(), "std": sd.to_vec() }),
    );
    std::fs::write(
        out.join("anthropometry.json"),
        serde_json::to_string_pretty(&serde_json::Value::Object(anthro))?,
    )?;
    Ok(())
}
