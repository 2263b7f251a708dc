//! Which HRTF to use: `--hrtf FILE.sofa` wins; otherwise the system's default SOFA file
//! (libmysofa's `/usr/share/libmysofa/default.sofa`, MIT KEMAR) if installed; otherwise the
//! embedded spherical-head model ([`crate::head::SphericalHead`]). The set is always returned at
//! the processing rate.

use std::path::Path;

use sphear_hrtf::HrtfSet;

use crate::Result;
use crate::head::SphericalHead;

/// A resolved HRTF set and what was done to get it (lines for the log).
#[derive(Debug, Clone)]
pub struct ResolvedHrtf {
    /// The set, at the requested rate.
    pub set: HrtfSet,
    /// Where it came from, for the log ("HRTF: …").
    pub origin: String,
    /// Notes (resampling, delays applied, …).
    pub notes: Vec<String>,
}

/// Resolve the HRTF for processing at `fs_hz` (see module docs for the order).
///
/// # Errors
/// The explicit file cannot be loaded (a system default that fails to load is skipped with a
/// note instead).
pub fn resolve_hrtf(explicit: Option<&Path>, fs_hz: f64) -> Result<ResolvedHrtf> {
    if let Some(p) = explicit {
        let loaded = HrtfSet::from_sofa(p, Some(fs_hz))?;
        return Ok(ResolvedHrtf {
            origin: format!("{} ({})", p.display(), loaded.set.name()),
            set: loaded.set,
            notes: loaded.notes,
        });
    }
    let mut notes = Vec::new();
    if let Some(p) = sphear_hrtf::system_default_sofa() {
        match HrtfSet::from_sofa(&p, Some(fs_hz)) {
            Ok(loaded) => {
                return Ok(ResolvedHrtf {
                    origin: format!("system default {} ({})", p.display(), loaded.set.name()),
                    set: loaded.set,
                    notes: loaded.notes,
                });
            }
            Err(e) => notes.push(format!(
                "system default {} not usable ({e}); using the embedded model",
                p.display()
            )),
        }
    }
    let head = SphericalHead::default();
    Ok(ResolvedHrtf {
        origin: head.name(),
        set: head.build(fs_hz)?,
        notes,
    })
}
