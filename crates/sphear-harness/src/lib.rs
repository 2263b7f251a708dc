//! # sphear-harness
//!
//! The evaluation harness behind `sphear eval`: renders every scene of a suite (the seeded
//! `bench-v1` on the reserved test split, or an existing dataset folder) with every method
//! (LS, MagLS, eMagLS2, eMagLS-SH, FOA, DirAC, plus the sanity anchors `reference` and
//! `swapped-ears`) on the full em32 and on well-spread 16- and 8-capsule subsets, scores each
//! rendering against the scene's binaural reference with one metric set
//! ([`score`]), and writes `rows.csv`, `rows.json`, `summary.md` and PNG plots ([`plots`]).
//!
//! Every decoder is designed once per (method, capsule subset) for the run's HRTF set
//! ([`methods::DecoderBank`]); scenes are simulated and scored in parallel (rayon).
//! Depends on render/sim/eval/hrtf, never on the engine.

pub mod error;
pub mod methods;
pub mod plots;
pub mod report;
pub mod run;
pub mod score;
pub mod suite;

pub use error::{HarnessError, Result};
pub use methods::MethodId;
pub use run::{EvalConfig, EvalOutcome, run_eval};
pub use suite::SceneSource;
