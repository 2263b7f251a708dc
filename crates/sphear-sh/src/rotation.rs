//! rotation (placeholder, being written).
