//! WAV I/O (placeholder, being written).
