//! sh (placeholder, being written).
