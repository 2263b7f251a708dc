//! Figures of `sphear train-hrtf --cv`: LSD per direction (plotters, the harness's embedded font
//! and colours).
//!
//! * `lsd_vs_lateral.png`: LSD (mean over the test subjects, both ears and the polar angles of
//!   each CIPIC lateral angle) against lateral angle, one line per method.
//! * `lsd_map_cvae.png`: the CVAE's LSD per direction on an azimuth × elevation map (project
//!   convention: azimuth counter-clockwise from the front, 90° = left; elevation up).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, anyhow};
use plotters::prelude::*;
use sphear_harness::plots::{COLOURS, ensure_font};
use sphear_personalize::data::CipicDirection;

/// File name of the LSD-vs-lateral-angle figure.
pub const LATERAL_PNG: &str = "lsd_vs_lateral.png";
/// File name of the CVAE's direction map.
pub const MAP_PNG: &str = "lsd_map_cvae.png";

fn plot_err(path: &Path) -> impl Fn(String) -> anyhow::Error + '_ {
    move |e| anyhow!("drawing {}: {e}", path.display())
}

/// Mean of `per_dir` over the directions of each lateral angle (rounded to 0.1°), ascending.
pub fn by_lateral(dirs: &[CipicDirection], per_dir: &[f64]) -> Vec<(f64, f64)> {
    let mut g: BTreeMap<i64, (f64, usize)> = BTreeMap::new();
    for (d, &v) in dirs.iter().zip(per_dir) {
        let key = (d.lateral_rad.to_degrees() * 10.0).round() as i64;
        let e = g.entry(key).or_insert((0.0, 0));
        e.0 += v;
        e.1 += 1;
    }
    g.into_iter()
        .map(|(k, (s, n))| (k as f64 / 10.0, s / n as f64))
        .collect()
}

/// `lsd_vs_lateral.png`: one line per `(method, per-direction LSD)`.
///
/// # Errors
/// Font or drawing failures.
pub fn lateral_figure(
    path: &Path,
    dirs: &[CipicDirection],
    methods: &[(&str, &[f64])],
    subtitle: &str,
) -> Result<()> {
    ensure_font().context("font")?;
    let series: Vec<(&str, Vec<(f64, f64)>)> = methods
        .iter()
        .map(|(m, v)| (*m, by_lateral(dirs, v)))
        .collect();
    let ys = series.iter().flat_map(|(_, p)| p.iter().map(|q| q.1));
    let (lo, hi) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), y| {
        (a.min(y), b.max(y))
    });
    if !(lo.is_finite() && hi.is_finite()) {
        return Err(anyhow!("no finite LSD values to plot"));
    }
    let pad = ((hi - lo) * 0.1).max(0.1);
    let err = plot_err(path);
    let root = BitMapBackend::new(path, (900, 520)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("LSD per lateral angle ({subtitle})"),
            ("sans-serif", 20),
        )
        .margin(14)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(-85.0..85.0, (lo - pad)..(hi + pad))
        .map_err(|e| err(e.to_string()))?;
    chart
        .configure_mesh()
        .x_desc("CIPIC lateral angle (°, positive = right)")
        .y_desc("LSD 200 Hz–16 kHz (dB)")
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(|e| err(e.to_string()))?;
    for (i, (m, pts)) in series.iter().enumerate() {
        let c = COLOURS[i % COLOURS.len()];
        chart
            .draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)))
            .map_err(|e| err(e.to_string()))?
            .label(*m)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
        chart
            .draw_series(pts.iter().map(|&p| Circle::new(p, 3, c.filled())))
            .map_err(|e| err(e.to_string()))?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 13))
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(|e| err(e.to_string()))?;
    root.present().map_err(|e| err(e.to_string()))?;
    Ok(())
}

/// Viridis-like colour for `t` in `[0, 1]` (piecewise linear through five viridis stops).
pub fn colour_map(t: f64) -> RGBColor {
    const STOPS: [(f64, f64, f64); 5] = [
        (68.0, 1.0, 84.0),
        (59.0, 82.0, 139.0),
        (33.0, 145.0, 140.0),
        (94.0, 201.0, 98.0),
        (253.0, 231.0, 37.0),
    ];
    let x = t.clamp(0.0, 1.0) * (STOPS.len() - 1) as f64;
    let i = (x.floor() as usize).min(STOPS.len() - 2);
    let f = x - i as f64;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    let mix = |p: f64, q: f64| (p + (q - p) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// `lsd_map_cvae.png`: `per_dir` on azimuth (−180…180°, left = positive) × elevation, with a
/// colour bar.
///
/// # Errors
/// Font or drawing failures.
pub fn map_figure(
    path: &Path,
    dirs: &[CipicDirection],
    per_dir: &[f64],
    title: &str,
) -> Result<()> {
    ensure_font().context("font")?;
    let (lo, hi) = per_dir
        .iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &y| {
            (a.min(y), b.max(y))
        });
    if !(lo.is_finite() && hi > lo) {
        return Err(anyhow!("no LSD range to map"));
    }
    let err = plot_err(path);
    let root = BitMapBackend::new(path, (1000, 520)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
    let (main, bar) = root.split_horizontally(880);
    let mut chart = ChartBuilder::on(&main)
        .caption(title, ("sans-serif", 20))
        .margin(14)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(185.0..-185.0, -50.0..95.0)
        .map_err(|e| err(e.to_string()))?;
    chart
        .configure_mesh()
        .x_desc("azimuth (°, 90 = left, 0 = front)")
        .y_desc("elevation (°)")
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(|e| err(e.to_string()))?;
    let pts: Vec<(f64, f64, f64)> = dirs
        .iter()
        .zip(per_dir)
        .filter(|(_, v)| v.is_finite())
        .map(|(d, &v)| {
            let mut az = d.direction.azimuth_rad.to_degrees();
            if az > 180.0 {
                az -= 360.0;
            }
            (az, d.direction.elevation_rad.to_degrees(), v)
        })
        .collect();
    chart
        .draw_series(
            pts.iter().map(|&(a, e, v)| {
                Circle::new((a, e), 4, colour_map((v - lo) / (hi - lo)).filled())
            }),
        )
        .map_err(|e| err(e.to_string()))?;
    // colour bar
    let mut cb = ChartBuilder::on(&bar)
        .margin_top(50)
        .margin_bottom(54)
        .margin_right(10)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..1.0, lo..hi)
        .map_err(|e| err(e.to_string()))?;
    cb.configure_mesh()
        .disable_x_mesh()
        .disable_x_axis()
        .y_desc("LSD (dB)")
        .label_style(("sans-serif", 12))
        .draw()
        .map_err(|e| err(e.to_string()))?;
    let n = 64;
    cb.draw_series((0..n).map(|i| {
        let (a, b) = (
            lo + (hi - lo) * i as f64 / n as f64,
            lo + (hi - lo) * (i + 1) as f64 / n as f64,
        );
        Rectangle::new(
            [(0.0, a), (1.0, b)],
            colour_map((i as f64 + 0.5) / n as f64).filled(),
        )
    }))
    .map_err(|e| err(e.to_string()))?;
    root.present().map_err(|e| err(e.to_string()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sphear_personalize::data::cipic_directions;

    #[test]
    fn lateral_means_group_the_grid() {
        let dirs = cipic_directions();
        // value = lateral angle in degrees: every group's mean is its own angle
        let v: Vec<f64> = dirs.iter().map(|d| d.lateral_rad.to_degrees()).collect();
        let g = by_lateral(&dirs, &v);
        assert_eq!(g.len(), 25);
        for (lat, mean) in g {
            assert!((lat - mean).abs() < 0.06, "{lat} vs {mean}");
        }
    }

    #[test]
    fn figures_are_valid_pngs_of_the_stated_size() {
        let dirs = cipic_directions();
        let a: Vec<f64> = dirs.iter().map(|d| 5.0 + d.lateral_rad.sin()).collect();
        let b: Vec<f64> = dirs.iter().map(|d| 6.0 + d.polar_rad.cos()).collect();
        let dir = tempfile::tempdir().expect("tempdir");
        let p1 = dir.path().join(LATERAL_PNG);
        lateral_figure(&p1, &dirs, &[("a", &a), ("b", &b)], "test").expect("lateral figure");
        let p2 = dir.path().join(MAP_PNG);
        map_figure(&p2, &dirs, &a, "test").expect("map figure");
        for (p, w) in [(p1, 900), (p2, 1000)] {
            let dec = png::Decoder::new(std::io::BufReader::new(
                std::fs::File::open(&p).expect("open"),
            ));
            let reader = dec.read_info().expect("png header");
            assert_eq!(reader.info().width, w);
            assert_eq!(reader.info().height, 520);
        }
    }

    #[test]
    fn colour_map_ends_are_viridis_ends() {
        assert_eq!(colour_map(0.0), RGBColor(68, 1, 84));
        assert_eq!(colour_map(1.0), RGBColor(253, 231, 37));
        assert_eq!(colour_map(2.0), RGBColor(253, 231, 37));
    }
}
