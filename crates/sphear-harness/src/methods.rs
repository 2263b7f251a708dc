//! Methods under test, capsule subsets, and the decoder bank (every decoder designed once).

use std::collections::BTreeMap;
use std::sync::Arc;

use nalgebra::DMatrix;
use rayon::prelude::*;
use sphear_core::stream::process_buffers;
use sphear_eval::localise::{CueConfig, CueTable};
use sphear_hrtf::HrtfSet;
use sphear_render::dirac::{DiracConfig, DiracRenderer, encode_first_order};
use sphear_render::foa::design_foa;
use sphear_render::{BinauralDecoder, BinauralRenderer, DecoderConfig, InputKind, Method};
use sphear_sh::array::ArrayGeometry;
use sphear_sh::rotation::IDENTITY;
use sphear_sh::sh::{Norm, sh_matrix};
use sphear_sim::receiver::Receiver;

use sphear_neural::Anthropometry;
use sphear_neural::infer::{LoadedModel, NeuralBinaural, StreamConfig, cpu_device};

use crate::{HarnessError, Result};

/// A method the harness can score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MethodId {
    /// Encoder + least-squares decoder (order of the array/subset).
    Ls,
    /// Encoder + MagLS decoder.
    MagLs,
    /// eMagLS2: end-to-end MagLS on the capsule signals.
    EMagLs,
    /// eMagLS in the SH domain.
    EMagLsSh,
    /// First-order Ambisonics baseline (order-1 MagLS, [`sphear_render::foa`]).
    Foa,
    /// DirAC ([`sphear_render::dirac`]).
    Dirac,
    /// The neural renderer ([`sphear_neural::infer`]; full em32 only).
    Neural,
    /// Sanity anchor: the binaural reference itself (perfect scores).
    Reference,
    /// Sanity anchor: eMagLS2 with the ears swapped (a known-bad method).
    SwappedEars,
}

impl MethodId {
    /// All methods, in report order.
    pub const ALL: [MethodId; 9] = [
        MethodId::Ls,
        MethodId::MagLs,
        MethodId::EMagLs,
        MethodId::EMagLsSh,
        MethodId::Foa,
        MethodId::Dirac,
        MethodId::Neural,
        MethodId::Reference,
        MethodId::SwappedEars,
    ];

    /// Name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            MethodId::Ls => "ls",
            MethodId::MagLs => "magls",
            MethodId::EMagLs => "emagls",
            MethodId::EMagLsSh => "emagls-sh",
            MethodId::Foa => "foa",
            MethodId::Dirac => "dirac",
            MethodId::Neural => "neural",
            MethodId::Reference => "reference",
            MethodId::SwappedEars => "swapped-ears",
        }
    }

    /// Parse a name.
    ///
    /// # Errors
    /// Unknown name.
    pub fn parse(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|m| m.name() == s.trim())
            .ok_or_else(|| {
                HarnessError::Config(format!(
                    "unknown method '{s}' (known: {})",
                    Self::ALL.map(|m| m.name()).join(", ")
                ))
            })
    }

    /// Parse a comma-separated list (duplicates removed, order kept).
    ///
    /// # Errors
    /// Unknown name or empty list.
    pub fn parse_list(s: &str) -> Result<Vec<Self>> {
        let mut out: Vec<MethodId> = Vec::new();
        for part in s.split(',').filter(|p| !p.trim().is_empty()) {
            let m = Self::parse(part)?;
            if !out.contains(&m) {
                out.push(m);
            }
        }
        if out.is_empty() {
            return Err(HarnessError::Config("no methods given".into()));
        }
        Ok(out)
    }

    fn fir_method(self) -> Option<Method> {
        match self {
            MethodId::Ls => Some(Method::Ls),
            MethodId::MagLs => Some(Method::MagLs),
            MethodId::EMagLs | MethodId::SwappedEars => Some(Method::EMagLs2),
            MethodId::EMagLsSh => Some(Method::EMagLsSh),
            _ => None,
        }
    }
}

/// Capsule counts of the channel-count study (32 = the full em32).
pub const CHANNEL_COUNTS: [usize; 3] = [32, 16, 8];

/// Largest condition number of the orthonormal SH matrix of a subset accepted for its order.
pub const MAX_SUBSET_CONDITION: f64 = 5.0;

/// A capsule subset of the em32 with the SH order used on it.
#[derive(Debug, Clone)]
pub struct CapsuleSubset {
    /// Capsule indices (0-based, ascending) into the em32 channel order.
    pub indices: Vec<usize>,
    /// The subset as an array geometry (same sphere and radius).
    pub geometry: ArrayGeometry,
    /// SH order for LS/MagLS/eMagLS-SH/DirAC encoding on this subset.
    pub order: usize,
}

/// Coulomb energy `Σ_{i<j} 1/|x_i − x_j|` of capsule positions on the unit sphere (lower = better
/// spread; the Thomson problem's objective).
pub fn coulomb_energy(array: &ArrayGeometry, indices: &[usize]) -> f64 {
    let x: Vec<[f64; 3]> = indices
        .iter()
        .map(|&i| array.capsules[i].to_cartesian())
        .collect();
    let mut e = 0.0;
    for a in 0..x.len() {
        for b in a + 1..x.len() {
            let d = ((x[a][0] - x[b][0]).powi(2)
                + (x[a][1] - x[b][1]).powi(2)
                + (x[a][2] - x[b][2]).powi(2))
            .sqrt();
            e += 1.0 / d.max(1e-12);
        }
    }
    e
}

/// Greedy farthest-point start from capsule `first`, then Coulomb-energy swap descent.
fn spread_from(em: &ArrayGeometry, first: usize, count: usize) -> Vec<usize> {
    let m = em.num_capsules();
    let mut chosen = vec![first];
    while chosen.len() < count {
        let mut best = (f64::NEG_INFINITY, 0usize);
        for q in 0..m {
            if chosen.contains(&q) {
                continue;
            }
            let d = chosen
                .iter()
                .map(|&c| em.capsules[c].angle_to(&em.capsules[q]))
                .fold(f64::INFINITY, f64::min);
            if d > best.0 + 1e-12 {
                best = (d, q);
            }
        }
        chosen.push(best.1);
    }
    let mut energy = coulomb_energy(em, &chosen);
    'improve: loop {
        for a in 0..chosen.len() {
            for q in 0..m {
                if chosen.contains(&q) {
                    continue;
                }
                let mut trial = chosen.clone();
                trial[a] = q;
                let e = coulomb_energy(em, &trial);
                if e < energy - 1e-9 {
                    chosen = trial;
                    energy = e;
                    continue 'improve;
                }
            }
        }
        break;
    }
    chosen
}

/// Well-spread subset of `count` em32 capsules: for every start capsule, greedy farthest-point
/// selection (repeatedly add the capsule whose smallest great-circle angle to the chosen ones is
/// largest; ties: lowest index), then single swaps chosen ↔ unchosen while they lower the
/// [`coulomb_energy`] (first improving swap, until none improves); the start with the lowest
/// final energy wins (ties: lowest start). The order is the largest
/// `N ≤ floor(√count) − 1` whose orthonormal SH matrix at the subset has condition number ≤
/// [`MAX_SUBSET_CONDITION`] (full em32: 4; 16 capsules: 3; 8 capsules: 1).
///
/// # Errors
/// `count` is 0 or larger than 32; no order ≥ 1 is well conditioned.
pub fn em32_subset(count: usize) -> Result<CapsuleSubset> {
    let em = ArrayGeometry::em32();
    let m = em.num_capsules();
    if count == 0 || count > m {
        return Err(HarnessError::Config(format!(
            "capsule subset of {count} out of {m} is not possible"
        )));
    }
    let mut best: Option<(f64, Vec<usize>)> = None;
    for first in 0..m {
        let cand = spread_from(&em, first, count);
        let e = coulomb_energy(&em, &cand);
        if best.as_ref().is_none_or(|(be, _)| e < *be - 1e-9) {
            best = Some((e, cand));
        }
    }
    let mut chosen = best.map(|b| b.1).unwrap_or_default();
    chosen.sort_unstable();
    let mut geometry = em.clone();
    geometry.name = format!("em32-subset-{count}");
    geometry.capsules = chosen.iter().map(|&i| em.capsules[i]).collect();
    let mut order = geometry.max_order();
    loop {
        let y = sh_matrix(order, &geometry.capsules, Norm::Orthonormal);
        let sv = y.singular_values();
        let cond = sv.max() / sv.min().max(f64::MIN_POSITIVE);
        if cond <= MAX_SUBSET_CONDITION || order == 1 {
            if cond > MAX_SUBSET_CONDITION {
                return Err(HarnessError::Config(format!(
                    "subset of {count} capsules: order 1 has condition number {cond:.1}"
                )));
            }
            break;
        }
        order -= 1;
    }
    Ok(CapsuleSubset {
        indices: chosen,
        geometry,
        order,
    })
}

/// Every decoder the run needs, designed once per (method, capsule count) for one HRTF set and
/// rate, plus one DirAC renderer. Rendering is `&self` (safe to share across threads).
pub struct DecoderBank {
    subsets: BTreeMap<usize, CapsuleSubset>,
    firs: BTreeMap<(MethodId, usize), BinauralDecoder>,
    dirac: Option<DiracRenderer>,
    neural: Option<std::sync::Mutex<NeuralBinaural>>,
    cues: Option<CueTable>,
}

/// Where the neural method's model comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum NeuralModelSource {
    /// The model embedded at build time ([`LoadedModel::embedded`]).
    #[default]
    Embedded,
    /// A model directory (`config.json` + `model.bpk`).
    Dir(std::path::PathBuf),
}

/// Capsule count the neural method renders (the model's input is the full em32).
pub const NEURAL_CHANNELS: usize = 32;

impl DecoderBank {
    /// Design for `methods` on the capsule counts `channels` (each in [`CHANNEL_COUNTS`] or any
    /// 1…32) from `hrtf` (at the scene rate). Designs run in parallel.
    ///
    /// # Errors
    /// Any design failing.
    pub fn design(hrtf: &Arc<HrtfSet>, methods: &[MethodId], channels: &[usize]) -> Result<Self> {
        Self::design_with_model(
            hrtf,
            methods,
            channels,
            &NeuralModelSource::Embedded,
            Anthropometry::default(),
        )
    }

    /// As [`DecoderBank::design`], with the neural method's model from `model` (its eMagLS base
    /// weights are designed for `hrtf`) conditioned on the listener `anthro`
    /// ([`Anthropometry::default`]: the population-mean listener).
    ///
    /// # Errors
    /// Any design failing; the model missing or not loadable.
    pub fn design_with_model(
        hrtf: &Arc<HrtfSet>,
        methods: &[MethodId],
        channels: &[usize],
        model: &NeuralModelSource,
        anthro: Anthropometry,
    ) -> Result<Self> {
        let mut subsets = BTreeMap::new();
        for &c in channels {
            subsets.insert(c, em32_subset(c)?);
        }
        let mut todo = Vec::new();
        for &m in methods {
            if m.fir_method().is_some() || m == MethodId::Foa {
                for &c in channels {
                    if m == MethodId::SwappedEars && todo.contains(&(MethodId::EMagLs, c)) {
                        continue;
                    }
                    todo.push((m, c));
                }
            }
        }
        // Swapped ears reuse the eMagLS2 decoder.
        let todo: Vec<(MethodId, usize)> = todo
            .into_iter()
            .map(|(m, c)| {
                if m == MethodId::SwappedEars {
                    (MethodId::EMagLs, c)
                } else {
                    (m, c)
                }
            })
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let designed: Vec<((MethodId, usize), BinauralDecoder)> = todo
            .par_iter()
            .map(|&(m, c)| {
                let sub = &subsets[&c];
                let input = InputKind::Array(sub.geometry.clone());
                let base = DecoderConfig {
                    order: sub.order,
                    ..DecoderConfig::default()
                };
                let dec = if m == MethodId::Foa {
                    design_foa(hrtf, &input, &base)?
                } else {
                    let method = m.fir_method().unwrap_or(Method::EMagLs2);
                    BinauralDecoder::design(hrtf, &input, &DecoderConfig { method, ..base })?
                };
                Ok(((m, c), dec))
            })
            .collect::<Result<_>>()?;
        let dirac = if methods.contains(&MethodId::Dirac) {
            Some(dirac_renderer(hrtf, &DiracConfig::default())?)
        } else {
            None
        };
        let neural = if methods.contains(&MethodId::Neural) {
            let dev = cpu_device();
            let neural_err =
                |e: sphear_neural::NeuralError| HarnessError::Config(format!("neural method: {e}"));
            let m = match model {
                NeuralModelSource::Embedded => LoadedModel::embedded(&dev),
                NeuralModelSource::Dir(d) => LoadedModel::from_dir(d, &dev),
            }
            .map_err(neural_err)?;
            let net = NeuralBinaural::new(&m, &ArrayGeometry::em32(), hrtf, anthro, &dev)
                .map_err(neural_err)?;
            Some(std::sync::Mutex::new(net))
        } else {
            None
        };
        // Cue table for the localisation metric; a set whose cues are undefined leaves it out.
        let cues = CueTable::from_hrtf(hrtf, &CueConfig::default()).ok();
        Ok(Self {
            subsets,
            firs: designed.into_iter().collect(),
            dirac,
            neural,
            cues,
        })
    }

    /// ITD/ILD cue table of the run's HRTF set (for `lateral_err_deg`), if the set's cues are
    /// defined.
    pub fn cues(&self) -> Option<&CueTable> {
        self.cues.as_ref()
    }

    /// The subset used for a capsule count.
    pub fn subset(&self, channels: usize) -> Option<&CapsuleSubset> {
        self.subsets.get(&channels)
    }

    /// Render `method` from the em32 capsule signals using the subset of `channels` capsules;
    /// `reference` is returned for [`MethodId::Reference`].
    ///
    /// # Errors
    /// Method or capsule count not prepared; rendering errors.
    pub fn render(
        &self,
        method: MethodId,
        channels: usize,
        em32: &[Vec<f32>],
        reference: &[Vec<f32>],
    ) -> Result<Vec<Vec<f32>>> {
        let sub = self.subsets.get(&channels).ok_or_else(|| {
            HarnessError::Config(format!("capsule count {channels} was not prepared"))
        })?;
        let caps: Vec<Vec<f32>> = sub.indices.iter().map(|&i| em32[i].clone()).collect();
        match method {
            MethodId::Reference => Ok(reference.to_vec()),
            MethodId::Neural => {
                if channels != NEURAL_CHANNELS {
                    return Err(HarnessError::Config(format!(
                        "the neural method renders the full em32 ({NEURAL_CHANNELS} capsules), not {channels}"
                    )));
                }
                let net = self
                    .neural
                    .as_ref()
                    .ok_or_else(|| HarnessError::Config("neural was not prepared".into()))?
                    .lock()
                    .map_err(|_| HarnessError::Config("neural renderer poisoned".into()))?
                    .clone();
                net.render(em32, StreamConfig::default())
                    .map_err(|e| HarnessError::Config(format!("neural method: {e}")))
            }
            MethodId::Dirac => {
                let d = self
                    .dirac
                    .as_ref()
                    .ok_or_else(|| HarnessError::Config("DirAC was not prepared".into()))?;
                let foa = encode_first_order(&sub.geometry, d.sample_rate_hz(), sub.order, &caps)?;
                Ok(d.render(&foa)?)
            }
            _ => {
                let key = if method == MethodId::SwappedEars {
                    (MethodId::EMagLs, channels)
                } else {
                    (method, channels)
                };
                let dec = self.firs.get(&key).ok_or_else(|| {
                    HarnessError::Config(format!(
                        "method {} on {channels} capsules was not prepared",
                        method.name()
                    ))
                })?;
                let mut r = BinauralRenderer::new(dec, 4096)?;
                let mut out = process_buffers(&mut r, &caps)?;
                if method == MethodId::SwappedEars {
                    out.swap(0, 1);
                }
                Ok(out)
            }
        }
    }
}

/// A DirAC renderer for `hrtf` with its diffuse-field binaural cross-PSD computed by
/// `sphear-sim` ([`Receiver::diffuse_cross_psd_bins`], Voronoi quadrature weights).
///
/// # Errors
/// As [`DiracRenderer::new`].
pub fn dirac_renderer(hrtf: &Arc<HrtfSet>, cfg: &DiracConfig) -> Result<DiracRenderer> {
    let rx = Receiver::Binaural {
        hrtf: hrtf.clone(),
        orientation: IDENTITY,
    };
    let psd: Vec<DMatrix<num_complex::Complex64>> =
        rx.diffuse_cross_psd_bins(hrtf.sample_rate_hz(), cfg.fft_len());
    Ok(DiracRenderer::new(hrtf, &psd, cfg)?)
}
