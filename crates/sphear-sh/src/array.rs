//! array (placeholder, being written).
