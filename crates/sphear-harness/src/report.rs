//! Rows (one per scene × method × capsule count × metric [× band]), CSV/JSON and the Markdown
//! summary.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde_json::{Value, json};

use crate::error::file_err;
use crate::methods::MethodId;
use crate::score::{BROADBAND_METRICS, higher_is_better};
use crate::suite::SceneMeta;
use crate::{HarnessError, Result};

/// One result row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Scene metadata.
    pub scene: SceneMeta,
    /// Method.
    pub method: MethodId,
    /// Number of capsules used (32, 16, 8).
    pub channels: usize,
    /// Metric name.
    pub metric: String,
    /// Band centre (Hz) for per-band metrics.
    pub band_hz: Option<f64>,
    /// Value.
    pub value: f64,
}

fn fmt_num(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.6}")
    } else if v > 0.0 {
        "inf".into()
    } else if v < 0.0 {
        "-inf".into()
    } else {
        "nan".into()
    }
}

fn json_num(v: f64) -> Value {
    if v.is_finite() {
        json!(v)
    } else {
        json!(fmt_num(v))
    }
}

fn join(v: &[f64]) -> String {
    v.iter()
        .map(|x| format!("{x:.2}"))
        .collect::<Vec<_>>()
        .join(";")
}

/// CSV header of `rows.csv`.
pub const CSV_HEADER: &str = "scene,method,channels,metric,band_hz,value,rt60_s,t30_1k_s,sources,snr_db,azimuths_deg,elevations_deg";

/// Write `rows.csv` (header [`CSV_HEADER`]; directions `;`-separated; infinite SNR as `inf`).
///
/// # Errors
/// I/O.
pub fn write_csv(path: &Path, rows: &[Row]) -> Result<()> {
    let mut s = String::from(CSV_HEADER);
    s.push('\n');
    for r in rows {
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{},{},{},{},{},{}",
            r.scene.id,
            r.method.name(),
            r.channels,
            r.metric,
            r.band_hz.map_or(String::new(), |b| format!("{b}")),
            fmt_num(r.value),
            r.scene.rt60_s,
            r.scene
                .t30_1k_s
                .map_or(String::new(), |t| format!("{t:.4}")),
            r.scene.sources,
            r.scene.snr_db.map_or(String::new(), |t| format!("{t}")),
            join(&r.scene.azimuths_deg),
            join(&r.scene.elevations_deg),
        );
    }
    std::fs::write(path, s).map_err(|e| file_err(path, e))
}

/// Write `rows.json`: `{ "rows": [...], "failures": [...], "info": {...} }`.
///
/// # Errors
/// I/O.
pub fn write_json(path: &Path, rows: &[Row], failures: &[String], info: Value) -> Result<()> {
    let rows: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "scene": r.scene.id,
                "method": r.method.name(),
                "channels": r.channels,
                "metric": r.metric,
                "band_hz": r.band_hz,
                "value": json_num(r.value),
                "rt60_s": r.scene.rt60_s,
                "t30_1k_s": r.scene.t30_1k_s,
                "sources": r.scene.sources,
                "snr_db": r.scene.snr_db,
                "azimuths_deg": r.scene.azimuths_deg,
                "elevations_deg": r.scene.elevations_deg,
                "sample_rate_hz": r.scene.sample_rate_hz,
            })
        })
        .collect();
    let v = json!({ "rows": rows, "failures": failures, "info": info });
    let text = serde_json::to_string_pretty(&v).map_err(|e| HarnessError::Config(e.to_string()))?;
    std::fs::write(path, text).map_err(|e| file_err(path, e))
}

/// Mean of values (+∞ if any is +∞).
pub fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// Median of values.
pub fn median(v: &[f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    Some(if n % 2 == 1 {
        s[n / 2]
    } else {
        0.5 * (s[n / 2 - 1] + s[n / 2])
    })
}

/// Broadband values of `metric` for `method` at `channels`, grouped by `key` (BTreeMap over the
/// key's total order via its string form and a numeric sort value).
pub fn group<F: Fn(&Row) -> f64>(
    rows: &[Row],
    method: MethodId,
    channels: Option<usize>,
    metric: &str,
    key: F,
) -> BTreeMap<OrdF64, Vec<f64>> {
    let mut m: BTreeMap<OrdF64, Vec<f64>> = BTreeMap::new();
    for r in rows.iter().filter(|r| {
        r.method == method
            && channels.is_none_or(|c| r.channels == c)
            && r.metric == metric
            && r.band_hz.is_none()
    }) {
        m.entry(OrdF64(key(r))).or_default().push(r.value);
    }
    m
}

/// `f64` with a total order (for grouping keys).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OrdF64(pub f64);
impl Eq for OrdF64 {}
impl PartialOrd for OrdF64 {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for OrdF64 {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

fn cell(v: Option<f64>) -> String {
    match v {
        Some(x) if x.is_finite() => format!("{x:.2}"),
        Some(x) if x > 0.0 => "∞".into(),
        Some(_) => "−∞".into(),
        None => "–".into(),
    }
}

fn unit(metric: &str) -> &'static str {
    match metric {
        "itd_err_us" => "ΔITD µs",
        "ild_err_db" => "ΔILD dB",
        "lsd_db" => "LSD dB",
        "snr_db" => "SNR dB",
        "iacc_err" => "ΔIACC",
        "segsnr_db" => "segSNR dB",
        "mfcc_dist" => "MFCC dist",
        "mrstft" => "MR-STFT",
        "lateral_err_deg" => "lateral err ° (1 src)",
        _ => "",
    }
}

/// Most distinct key values a summary table shows as columns of their own; beyond it (scenes
/// drawn from continuous ranges, as `sphear dataset` makes them) the values are binned.
pub const MAX_KEY_COLUMNS: usize = 8;

/// Number of ranges the key values are binned into beyond [`MAX_KEY_COLUMNS`].
pub const KEY_BINS: usize = 4;

/// The columns of a grouped table: each distinct key on its own (up to [`MAX_KEY_COLUMNS`]),
/// else [`KEY_BINS`] contiguous ranges holding near-equal numbers of distinct values, labelled
/// `lo–hi`. `keys` sorted ascending.
fn key_columns(keys: &[OrdF64]) -> Vec<(String, Vec<OrdF64>)> {
    if keys.len() <= MAX_KEY_COLUMNS {
        return keys
            .iter()
            .map(|k| (format!("{}", k.0), vec![*k]))
            .collect();
    }
    (0..KEY_BINS)
        .map(|b| {
            let ks = keys[b * keys.len() / KEY_BINS..(b + 1) * keys.len() / KEY_BINS].to_vec();
            let (lo, hi) = (ks[0].0, ks[ks.len() - 1].0);
            (format!("{lo:.2}–{hi:.2}"), ks)
        })
        .collect()
}

/// A grouped section of the summary: title, key name, key, capsule count filter.
type Section = (
    &'static str,
    &'static str,
    Box<dyn Fn(&Row) -> f64>,
    Option<usize>,
);

/// The Markdown summary: per method (full array), then per RT60, per source count, per sensor
/// SNR and per capsule count for each broadband metric (means over scenes).
pub fn summary_markdown(
    rows: &[Row],
    methods: &[MethodId],
    channels: &[usize],
    failures: &[String],
    header: &str,
) -> String {
    let full = channels.first().copied().unwrap_or(32);
    let mut s = String::new();
    let _ = writeln!(s, "# sphear eval summary\n\n{header}\n");
    let _ = writeln!(
        s,
        "Metric definitions: `sphear_harness::score` (ITD GCC-PHAT 100–1500 Hz, ILD third octaves 1–8 kHz, \
         LSD third octaves 0.1–16 kHz, waveform SNR both ears, broadband IACC, segmental SNR, MFCC distance, \
         MR-STFT distance, lateral angle of the ITD/ILD cue-lookup localisation vs the reference's, single-source scenes). Δ = absolute difference to the reference. Arrows: ↓ lower is better, \
         ↑ higher is better. Values are means over scenes (medians in parentheses in the first table).\n"
    );
    let _ = writeln!(s, "## Per method ({full} capsules, all scenes)\n");
    let mut head = String::from("| method |");
    let mut sep = String::from("|---|");
    for m in BROADBAND_METRICS {
        let arrow = if higher_is_better(m) { "↑" } else { "↓" };
        let _ = write!(head, " {} {arrow} |", unit(m));
        sep.push_str("---|");
    }
    let _ = writeln!(s, "{head}\n{sep}");
    for &m in methods {
        let _ = write!(s, "| {} |", m.name());
        for metric in BROADBAND_METRICS {
            let v: Vec<f64> = group(rows, m, Some(full), metric, |_| 0.0)
                .into_values()
                .flatten()
                .collect();
            let _ = write!(s, " {} ({}) |", cell(mean(&v)), cell(median(&v)));
        }
        s.push('\n');
    }
    let sections: [Section; 4] = [
        (
            "RT60",
            "RT60 s",
            Box::new(|r: &Row| r.scene.rt60_s),
            Some(full),
        ),
        (
            "source count",
            "sources",
            Box::new(|r: &Row| r.scene.sources as f64),
            Some(full),
        ),
        (
            "sensor SNR",
            "SNR dB",
            Box::new(|r: &Row| r.scene.snr_db.unwrap_or(f64::INFINITY)),
            Some(full),
        ),
        (
            "capsule count",
            "capsules",
            Box::new(|r: &Row| r.channels as f64),
            None,
        ),
    ];
    for (title, key_name, key, ch) in &sections {
        let _ = writeln!(s, "\n## Per {title}\n");
        for metric in BROADBAND_METRICS {
            let mut keys: Vec<OrdF64> = Vec::new();
            let per: Vec<(MethodId, BTreeMap<OrdF64, Vec<f64>>)> = methods
                .iter()
                .map(|&m| (m, group(rows, m, *ch, metric, key)))
                .collect();
            for (_, g) in &per {
                for k in g.keys() {
                    if !keys.contains(k) {
                        keys.push(*k);
                    }
                }
            }
            keys.sort();
            if keys.is_empty() {
                continue;
            }
            let _ = write!(s, "**{}**", unit(metric));
            let columns = key_columns(&keys);
            let mut head = String::new();
            for (label, _) in &columns {
                let _ = write!(head, " {label} |");
            }
            let _ = writeln!(s, "\n\n| method \\ {key_name} |{head}");
            let _ = writeln!(s, "|---|{}", "---|".repeat(columns.len()));
            for (m, g) in &per {
                let _ = write!(s, "| {} |", m.name());
                for (_, ks) in &columns {
                    let v: Vec<f64> = ks
                        .iter()
                        .filter_map(|k| g.get(k))
                        .flatten()
                        .copied()
                        .collect();
                    let _ = write!(s, " {} |", cell(mean(&v)));
                }
                s.push('\n');
            }
            s.push('\n');
        }
    }
    let _ = writeln!(
        s,
        "\n## Failures\n\n{} metric evaluations failed.",
        failures.len()
    );
    for f in failures.iter().take(50) {
        let _ = writeln!(s, "* {f}");
    }
    if failures.len() > 50 {
        let _ = writeln!(s, "* … ({} more in rows.json)", failures.len() - 50);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(rt60_s: f64, sources: usize, value: f64) -> Row {
        Row {
            scene: SceneMeta {
                id: format!("item-{rt60_s}"),
                rt60_s,
                t30_1k_s: None,
                sources,
                snr_db: Some(20.0),
                azimuths_deg: vec![0.0; sources],
                elevations_deg: vec![0.0; sources],
                sample_rate_hz: 48_000.0,
            },
            method: MethodId::EMagLs,
            channels: 32,
            metric: "lsd_db".into(),
            band_hz: None,
            value,
        }
    }

    /// The line after the `**LSD dB**` heading of section `title`: its column labels.
    fn lsd_table<'a>(md: &'a str, title: &str) -> Vec<&'a str> {
        let sec = &md[md.find(&format!("## Per {title}")).expect("section")..];
        let t = &sec[sec.find("**LSD dB**").expect("table")..];
        t.lines().skip(2).take(3).collect()
    }

    #[test]
    fn continuous_keys_are_binned_and_discrete_keys_are_not() {
        // 20 scenes with distinct RT60s 0.20, 0.30, ... 2.10 s and value = 10·RT60; 1 or 2 sources.
        let rows: Vec<Row> = (0..20)
            .map(|i| {
                let rt = 0.2 + 0.1 * f64::from(i);
                row(rt, 1 + (i as usize % 2), 10.0 * rt)
            })
            .collect();
        let md = summary_markdown(&rows, &[MethodId::EMagLs], &[32], &[], "test");
        let rt = lsd_table(&md, "RT60");
        assert_eq!(
            rt[0], "| method \\ RT60 s | 0.20–0.60 | 0.70–1.10 | 1.20–1.60 | 1.70–2.10 |",
            "{md}"
        );
        // Each bin's mean: 10 × the mean RT60 of its five scenes.
        assert_eq!(rt[2], "| emagls | 4.00 | 9.00 | 14.00 | 19.00 |", "{md}");
        let src = lsd_table(&md, "source count");
        assert_eq!(src[0], "| method \\ sources | 1 | 2 |", "{md}");
        // Odd-indexed scenes (2 sources) have RT60 0.3, 0.5, ... 2.1: mean 1.2 s.
        assert_eq!(src[2], "| emagls | 11.00 | 12.00 |", "{md}");
    }
}
