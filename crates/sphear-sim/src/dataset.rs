//! Paired datasets: many scenes from one spec, in parallel, deterministic, resumable, sharded.
//!
//! ## Layout
//! ```text
//! DIR/dataset.json                     spec, count, base seed, split (written first)
//! DIR/chunk-0000/item-000000/          one scene: em32.wav, binaural.wav, ambix.wav, meta.json
//! DIR/chunk-0000/item-000001/ …        1000 items per chunk
//! ```
//! An item is complete when its `meta.json` exists (written last, atomically); a rerun skips
//! complete items, so an interrupted run resumes where it stopped. Item `i` is drawn with seed
//! [`item_seed`]`(base_seed, i)`, so the content of item `i` does not depend on the shard, the
//! thread count or the order of generation.
//!
//! ## Sharding on many machines
//! `--shard I/N` makes a process generate only the items with `i % N == I`. Run N processes
//! with the same spec, count, seed and output folder (a shared file system) or separate folders
//! merged afterwards, e.g. a Slurm job array (`--array=0-15`, `--shard $SLURM_ARRAY_TASK_ID/16`)
//! or a Kubernetes indexed Job (`completions: 16`, `--shard $JOB_COMPLETION_INDEX/16`).
//!
//! ## Reserved test split
//! Items of the **test split** use base seed [`TEST_SPLIT_SEED`]; a training dataset may not use
//! it ([`check_train_seed`]), and `dataset.json` records the split so loaders can refuse test data
//! for training.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::scene::{SceneContext, realise, render_scene, write_scene};
use crate::spec::SceneSpec;
use crate::{Result, SimError};

/// Base seed of the reserved test split (documented; never used for training data).
pub const TEST_SPLIT_SEED: u64 = 0x7E57_5EED_0000_0001;

/// Items per chunk folder.
pub const ITEMS_PER_CHUNK: u64 = 1000;

/// Dataset split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// Training data (any seed but the test seed).
    Train,
    /// The reserved test split (seed [`TEST_SPLIT_SEED`]).
    Test,
}

/// SplitMix64 finaliser (Steele et al. 2014): a well-mixed 64-bit hash.
pub fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Seed of item `index` of a dataset with `base_seed`.
pub fn item_seed(base_seed: u64, index: u64) -> u64 {
    splitmix64(base_seed ^ splitmix64(index))
}

/// Refuse the reserved test seed for training data.
///
/// # Errors
/// `seed == TEST_SPLIT_SEED`.
pub fn check_train_seed(seed: u64) -> Result<()> {
    if seed == TEST_SPLIT_SEED {
        return Err(SimError::Invalid(format!(
            "seed {seed:#x} is reserved for the test split; use --split test or another seed"
        )));
    }
    Ok(())
}

/// Folder of item `index`.
pub fn item_dir(root: &Path, index: u64) -> PathBuf {
    root.join(format!("chunk-{:04}", index / ITEMS_PER_CHUNK))
        .join(format!("item-{index:06}"))
}

/// All complete items under a dataset folder, in index order.
///
/// # Errors
/// The folder cannot be read.
pub fn list_items(root: &Path) -> Result<Vec<PathBuf>> {
    let rd = |p: &Path| {
        std::fs::read_dir(p).map_err(|e| SimError::File {
            path: p.display().to_string(),
            reason: e.to_string(),
        })
    };
    let mut out = Vec::new();
    for chunk in rd(root)?.flatten() {
        let cp = chunk.path();
        if !cp.is_dir() || !chunk.file_name().to_string_lossy().starts_with("chunk-") {
            continue;
        }
        for item in rd(&cp)?.flatten() {
            if item.path().join("meta.json").exists() {
                out.push(item.path());
            }
        }
    }
    out.sort();
    Ok(out)
}

/// A dataset run's parameters.
#[derive(Debug, Clone)]
pub struct DatasetJob {
    /// The spec.
    pub spec: SceneSpec,
    /// Output folder.
    pub out_dir: PathBuf,
    /// Total number of items (all shards).
    pub count: u64,
    /// `(I, N)`: this process makes items with `i % N == I`.
    pub shard: (u64, u64),
    /// Base seed.
    pub seed: u64,
    /// Split.
    pub split: Split,
}

/// What a run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DatasetSummary {
    /// Items of this shard.
    pub shard_items: u64,
    /// Items generated now.
    pub generated: u64,
    /// Items already complete (skipped).
    pub skipped: u64,
    /// Wall time in seconds.
    pub wall_s: f64,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct DatasetHeader {
    format: String,
    count: u64,
    seed: u64,
    split: Split,
    spec: SceneSpec,
}

/// Generate (or resume) a dataset shard. `progress(done, total)` is called from worker threads.
///
/// # Errors
/// Invalid job (shard, seed/split mismatch, a different dataset already in the folder), I/O,
/// rendering errors (the first one stops the run; finished items stay).
pub fn run_dataset(
    job: &DatasetJob,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<DatasetSummary> {
    let (si, sn) = job.shard;
    if sn == 0 || si >= sn {
        return Err(SimError::Invalid(format!(
            "--shard must be I/N with 0 ≤ I < N, got {si}/{sn}"
        )));
    }
    match job.split {
        Split::Train => check_train_seed(job.seed)?,
        Split::Test => {
            if job.seed != TEST_SPLIT_SEED {
                return Err(SimError::Invalid(format!(
                    "the test split uses the reserved seed {TEST_SPLIT_SEED:#x}"
                )));
            }
        }
    }
    job.spec.validate()?;
    std::fs::create_dir_all(&job.out_dir).map_err(|e| SimError::File {
        path: job.out_dir.display().to_string(),
        reason: e.to_string(),
    })?;
    let header = DatasetHeader {
        format: "sphear-dataset-v1".into(),
        count: job.count,
        seed: job.seed,
        split: job.split,
        spec: job.spec.clone(),
    };
    let hpath = job.out_dir.join("dataset.json");
    if hpath.exists() {
        let text = std::fs::read_to_string(&hpath).map_err(|e| SimError::File {
            path: hpath.display().to_string(),
            reason: e.to_string(),
        })?;
        let old: DatasetHeader = serde_json::from_str(&text).map_err(|e| SimError::File {
            path: hpath.display().to_string(),
            reason: e.to_string(),
        })?;
        if old != header {
            return Err(SimError::Invalid(format!(
                "{} holds a different dataset (spec, count, seed or split differ); use a new folder",
                job.out_dir.display()
            )));
        }
    } else {
        let text =
            serde_json::to_string_pretty(&header).map_err(|e| SimError::Invalid(e.to_string()))?;
        std::fs::write(&hpath, text).map_err(|e| SimError::File {
            path: hpath.display().to_string(),
            reason: e.to_string(),
        })?;
    }
    let t0 = std::time::Instant::now();
    let ctx = SceneContext::new(
        job.spec.output.hrtf.as_deref(),
        job.spec.sample_rate_hz as f64,
    )?;
    let indices: Vec<u64> = (0..job.count).filter(|i| i % sn == si).collect();
    let total = indices.len() as u64;
    let done = AtomicU64::new(0);
    let skipped = AtomicU64::new(0);
    indices.par_iter().try_for_each(|&i| -> Result<()> {
        let dir = item_dir(&job.out_dir, i);
        if dir.join("meta.json").exists() {
            skipped.fetch_add(1, Ordering::Relaxed);
        } else {
            let seed = item_seed(job.seed, i);
            let cfg = realise(&job.spec, seed)?;
            let out = render_scene(&cfg, &ctx)?;
            write_scene(
                &dir,
                &out,
                serde_json::json!({ "index": i, "split": job.split, "hrtf": ctx.hrtf_origin }),
            )?;
        }
        let d = done.fetch_add(1, Ordering::Relaxed) + 1;
        progress(d, total);
        Ok(())
    })?;
    let skipped = skipped.load(Ordering::Relaxed);
    Ok(DatasetSummary {
        shard_items: total,
        generated: total - skipped,
        skipped,
        wall_s: t0.elapsed().as_secs_f64(),
    })
}
