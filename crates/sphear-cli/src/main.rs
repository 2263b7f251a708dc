//! The `sphear` command-line tool (being written).
fn main() {}
