//! # sphear-hrtf (placeholder, being written)
