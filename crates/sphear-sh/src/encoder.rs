//! encoder (placeholder, being written).
