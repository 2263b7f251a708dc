//! PNG figures (plotters, bitmap backend, embedded DejaVu Sans via ab_glyph — no system fonts).
//!
//! * `polar_<metric>.png`: metric vs source azimuth (single-source scenes, full array), one
//!   marker per scene and method; front up, left to the left.
//! * `band_errors.png`: ITD error per octave band and ILD error per third-octave band.
//! * `vs_rt60.png`, `vs_sources.png`, `vs_channels.png`: broadband metrics (mean over scenes)
//!   against RT60, number of sources, capsule count.
//! * `summary.png`: per-method means of the broadband metrics (bars).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use crate::methods::MethodId;
use crate::report::{OrdF64, Row, group, mean};
use crate::score::BROADBAND_METRICS;
use crate::{HarnessError, Result};

/// DejaVu Sans (Bitstream Vera licence, see `assets/DejaVuSans-LICENSE.txt`).
static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// The project's line colours (matplotlib's tab10 order).
pub const COLOURS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

fn colour(m: MethodId) -> RGBColor {
    let i = MethodId::ALL.iter().position(|x| *x == m).unwrap_or(0);
    COLOURS[i % COLOURS.len()]
}

/// Registers the embedded DejaVu Sans as plotters' `"sans-serif"` (once per process), so other
/// crates' figures use the same font without a second copy of the file.
///
/// # Errors
/// [`HarnessError::Config`] if the font cannot be loaded.
pub fn ensure_font() -> Result<()> {
    static OK: OnceLock<bool> = OnceLock::new();
    let ok = *OK.get_or_init(|| register_font("sans-serif", FontStyle::Normal, FONT).is_ok());
    if ok {
        Ok(())
    } else {
        Err(HarnessError::Config(
            "embedded font could not be loaded".into(),
        ))
    }
}

macro_rules! tryp {
    ($p:expr, $e:expr) => {
        $e.map_err(|e| HarnessError::Plot {
            path: $p.display().to_string(),
            reason: e.to_string(),
        })?
    };
}

fn label(metric: &str) -> &'static str {
    match metric {
        "itd_err_us" => "|ΔITD| (µs)",
        "ild_err_db" => "|ΔILD| (dB)",
        "lsd_db" => "LSD (dB)",
        "snr_db" => "SNR (dB)",
        "iacc_err" => "|ΔIACC|",
        "segsnr_db" => "segmental SNR (dB)",
        "mfcc_dist" => "MFCC distance",
        "mrstft" => "MR-STFT distance",
        "lateral_err_deg" => "lateral-angle error (°, 1-source)",
        _ => "value",
    }
}

fn finite_range(vals: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in vals.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.08).max(1e-3);
    (lo.min(0.0) - if lo < 0.0 { pad } else { 0.0 }, hi + pad)
}

/// One "metric vs key" figure: file, title, x label, capsule count filter, key.
type FigSpec = (
    &'static str,
    &'static str,
    &'static str,
    Option<usize>,
    fn(&Row) -> f64,
);

/// One panel of lines: `series[(method, points)]`.
type Series = Vec<(MethodId, Vec<(f64, f64)>)>;

fn line_panels(
    path: &Path,
    title: &str,
    x_desc: &str,
    log_x: bool,
    panels: &[(&str, Series)],
) -> Result<()> {
    ensure_font()?;
    let cols = 2usize;
    let rows = panels.len().div_ceil(cols).max(1);
    let root = BitMapBackend::new(path, (1200, 420 * rows as u32 + 40)).into_drawing_area();
    tryp!(path, root.fill(&WHITE));
    let (top, body) = root.split_vertically(40);
    tryp!(path, top.titled(title, ("sans-serif", 24)).map(|_| ()));
    let areas = body.split_evenly((rows, cols));
    for (area, (metric, series)) in areas.iter().zip(panels) {
        let xs: Vec<f64> = series
            .iter()
            .flat_map(|(_, p)| p.iter().map(|q| q.0))
            .collect();
        let (mut x0, mut x1) = finite_range(xs.iter().copied());
        if log_x {
            x0 = xs
                .iter()
                .copied()
                .filter(|v| *v > 0.0)
                .fold(f64::INFINITY, f64::min)
                / 1.3;
            x1 = xs.iter().copied().fold(0.0, f64::max) * 1.3;
            if !(x0.is_finite() && x1 > x0) {
                (x0, x1) = (100.0, 20000.0);
            }
        } else {
            let xmin = xs.iter().copied().fold(f64::INFINITY, f64::min);
            let xmax = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if xmin.is_finite() {
                let pad = ((xmax - xmin) * 0.08).max(0.5);
                (x0, x1) = (xmin - pad, xmax + pad);
            }
        }
        let (y0, y1) = finite_range(series.iter().flat_map(|(_, p)| p.iter().map(|q| q.1)));
        let mut b = ChartBuilder::on(area);
        b.caption(label(metric), ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56);
        macro_rules! draw {
            ($chart:expr) => {{
                let mut chart = $chart;
                tryp!(
                    path,
                    chart
                        .configure_mesh()
                        .x_desc(x_desc)
                        .y_desc(label(metric))
                        .label_style(("sans-serif", 13))
                        .draw()
                );
                for (m, pts) in series {
                    let c = colour(*m);
                    let pts: Vec<(f64, f64)> =
                        pts.iter().copied().filter(|p| p.1.is_finite()).collect();
                    tryp!(
                        path,
                        chart
                            .draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)))
                            .map(|s| {
                                s.label(m.name()).legend(move |(x, y)| {
                                    PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2))
                                });
                            })
                    );
                    tryp!(
                        path,
                        chart.draw_series(pts.iter().map(|&p| Circle::new(p, 4, c.filled())))
                    );
                }
                tryp!(
                    path,
                    chart
                        .configure_series_labels()
                        .background_style(WHITE.mix(0.85))
                        .border_style(BLACK)
                        .label_font(("sans-serif", 13))
                        .position(SeriesLabelPosition::UpperRight)
                        .draw()
                );
            }};
        }
        if log_x {
            draw!(tryp!(
                path,
                b.build_cartesian_2d((x0..x1).log_scale(), y0..y1)
            ));
        } else {
            draw!(tryp!(path, b.build_cartesian_2d(x0..x1, y0..y1)));
        }
    }
    tryp!(path, root.present());
    Ok(())
}

fn mean_series<F: Fn(&Row) -> f64 + Copy>(
    rows: &[Row],
    methods: &[MethodId],
    channels: Option<usize>,
    metric: &str,
    key: F,
) -> Series {
    methods
        .iter()
        .map(|&m| {
            let g: BTreeMap<OrdF64, Vec<f64>> = group(rows, m, channels, metric, key);
            (
                m,
                g.into_iter()
                    .filter_map(|(k, v)| mean(&v).map(|y| (k.0, y)))
                    .collect(),
            )
        })
        .filter(|(_, p): &(MethodId, Vec<(f64, f64)>)| !p.is_empty())
        .collect()
}

fn per_band_series(rows: &[Row], methods: &[MethodId], channels: usize, metric: &str) -> Series {
    methods
        .iter()
        .map(|&m| {
            let mut g: BTreeMap<OrdF64, Vec<f64>> = BTreeMap::new();
            for r in rows.iter().filter(|r| {
                r.method == m && r.channels == channels && r.metric == metric && r.band_hz.is_some()
            }) {
                if let Some(b) = r.band_hz {
                    g.entry(OrdF64(b)).or_default().push(r.value);
                }
            }
            (
                m,
                g.into_iter()
                    .filter_map(|(k, v)| mean(&v).map(|y| (k.0, y)))
                    .collect::<Vec<_>>(),
            )
        })
        .filter(|(_, p)| !p.is_empty())
        .collect()
}

fn polar(
    path: &Path,
    rows: &[Row],
    methods: &[MethodId],
    channels: usize,
    metric: &str,
) -> Result<()> {
    ensure_font()?;
    let pts: Vec<(MethodId, f64, f64)> = rows
        .iter()
        .filter(|r| {
            r.channels == channels
                && r.metric == metric
                && r.band_hz.is_none()
                && r.scene.sources == 1
                && methods.contains(&r.method)
                && r.value.is_finite()
        })
        .filter_map(|r| {
            r.scene
                .azimuths_deg
                .first()
                .map(|a| (r.method, *a, r.value))
        })
        .collect();
    let rmax = pts.iter().map(|p| p.2.abs()).fold(0.0, f64::max).max(1e-3) * 1.1;
    let root = BitMapBackend::new(path, (900, 900)).into_drawing_area();
    tryp!(path, root.fill(&WHITE));
    let title = format!(
        "{} vs source azimuth (1-source scenes, {channels} capsules)",
        label(metric)
    );
    let mut chart = tryp!(
        path,
        ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 22))
            .margin(20)
            .build_cartesian_2d(-rmax * 1.15..rmax * 1.15, -rmax * 1.15..rmax * 1.15)
    );
    // Plot coordinates: front (az 0) up, left (az 90°) to the left: (−r sin az, r cos az).
    let xy = |az_deg: f64, r: f64| {
        let a = az_deg.to_radians();
        (-r * a.sin(), r * a.cos())
    };
    let grey = RGBColor(200, 200, 200);
    for k in 1..=4 {
        let r = rmax * k as f64 / 4.0;
        let ring: Vec<(f64, f64)> = (0..=180).map(|i| xy(i as f64 * 2.0, r)).collect();
        tryp!(path, chart.draw_series(LineSeries::new(ring, grey)));
        tryp!(
            path,
            chart.draw_series(std::iter::once(Text::new(
                format!("{:.3}", r),
                xy(15.0, r),
                ("sans-serif", 13),
            )))
        );
    }
    for k in 0..12 {
        let az = k as f64 * 30.0;
        tryp!(
            path,
            chart.draw_series(LineSeries::new(vec![(0.0, 0.0), xy(az, rmax)], grey))
        );
        tryp!(
            path,
            chart.draw_series(std::iter::once(Text::new(
                format!("{}°", if az > 180.0 { az - 360.0 } else { az }),
                xy(az, rmax * 1.07),
                ("sans-serif", 14),
            )))
        );
    }
    for &m in methods {
        let c = colour(m);
        let mine: Vec<(f64, f64)> = pts
            .iter()
            .filter(|p| p.0 == m)
            .map(|p| xy(p.1, p.2.abs()))
            .collect();
        if mine.is_empty() {
            continue;
        }
        tryp!(
            path,
            chart
                .draw_series(mine.iter().map(|&p| Circle::new(p, 5, c.filled())))
                .map(|s| {
                    s.label(m.name())
                        .legend(move |(x, y)| Circle::new((x + 8, y), 5, c.filled()));
                })
        );
    }
    tryp!(
        path,
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .position(SeriesLabelPosition::LowerRight)
            .draw()
    );
    tryp!(path, root.present());
    Ok(())
}

fn summary_bars(path: &Path, rows: &[Row], methods: &[MethodId], channels: usize) -> Result<()> {
    ensure_font()?;
    let metrics = &BROADBAND_METRICS;
    let cols = 3usize;
    let nrows = metrics.len().div_ceil(cols);
    let root = BitMapBackend::new(path, (1500, 430 * nrows as u32 + 40)).into_drawing_area();
    tryp!(path, root.fill(&WHITE));
    let (top, body) = root.split_vertically(40);
    tryp!(
        path,
        top.titled(
            &format!("Per-method means over all scenes ({channels} capsules)"),
            ("sans-serif", 24)
        )
        .map(|_| ())
    );
    let areas = body.split_evenly((nrows, cols));
    let names: Vec<&'static str> = methods.iter().map(|m| m.name()).collect();
    for (area, metric) in areas.iter().zip(metrics.iter()) {
        let vals: Vec<(usize, MethodId, f64)> = methods
            .iter()
            .enumerate()
            .filter_map(|(i, &m)| {
                let v: Vec<f64> = group(rows, m, Some(channels), metric, |_| 0.0)
                    .into_values()
                    .flatten()
                    .collect();
                mean(&v).filter(|x| x.is_finite()).map(|x| (i, m, x))
            })
            .collect();
        let (y0, y1) = finite_range(vals.iter().map(|v| v.2));
        let n = methods.len() as f64;
        let names = names.clone();
        let mut chart = tryp!(
            path,
            ChartBuilder::on(area)
                .caption(label(metric), ("sans-serif", 18))
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(56)
                .build_cartesian_2d(-0.5..n - 0.5, y0..y1)
        );
        tryp!(
            path,
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(methods.len())
                .x_label_formatter(&move |x| {
                    let i = x.round();
                    if (x - i).abs() < 0.01 && i >= 0.0 {
                        names
                            .get(i as usize)
                            .map_or(String::new(), |s| s.to_string())
                    } else {
                        String::new()
                    }
                })
                .label_style(("sans-serif", 13))
                .draw()
        );
        tryp!(
            path,
            chart.draw_series(vals.iter().map(|&(i, m, v)| {
                let x = i as f64;
                Rectangle::new([(x - 0.35, 0.0), (x + 0.35, v)], colour(m).filled())
            }))
        );
    }
    tryp!(path, root.present());
    Ok(())
}

/// Draw every figure into `dir`; returns the PNG paths.
///
/// # Errors
/// Drawing or writing fails.
pub fn draw_all(
    dir: &Path,
    rows: &[Row],
    methods: &[MethodId],
    channels: &[usize],
) -> Result<Vec<PathBuf>> {
    let full = channels.first().copied().unwrap_or(32);
    let mut out = Vec::new();
    for metric in ["itd_err_us", "ild_err_db", "lsd_db"] {
        let p = dir.join(format!("polar_{metric}.png"));
        polar(&p, rows, methods, full, metric)?;
        out.push(p);
    }
    let p = dir.join("band_errors.png");
    line_panels(
        &p,
        &format!("Interaural cue errors per frequency band ({full} capsules, mean over scenes)"),
        "band centre (Hz)",
        true,
        &[
            (
                "itd_err_us",
                per_band_series(rows, methods, full, "itd_err_us"),
            ),
            (
                "ild_err_db",
                per_band_series(rows, methods, full, "ild_err_db"),
            ),
        ],
    )?;
    out.push(p);
    let figs: [FigSpec; 3] = [
        (
            "vs_rt60.png",
            "Metrics vs RT60",
            "RT60 (s)",
            Some(full),
            |r| r.scene.rt60_s,
        ),
        (
            "vs_sources.png",
            "Metrics vs number of sources",
            "sources",
            Some(full),
            |r| r.scene.sources as f64,
        ),
        (
            "vs_channels.png",
            "Metrics vs capsule count (em32 subsets)",
            "capsules",
            None,
            |r| r.channels as f64,
        ),
    ];
    for (name, title, xd, ch, key) in figs {
        let p = dir.join(name);
        let panels: Vec<(&str, Series)> = BROADBAND_METRICS
            .iter()
            .map(|&m| (m, mean_series(rows, methods, ch, m, key)))
            .collect();
        line_panels(
            &p,
            &format!("{title} (mean over scenes)"),
            xd,
            false,
            &panels,
        )?;
        out.push(p);
    }
    let p = dir.join("summary.png");
    summary_bars(&p, rows, methods, full)?;
    out.push(p);
    Ok(out)
}
