//! # sphear-render (placeholder, being written)
