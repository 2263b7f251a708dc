//! Helpers shared by the CLI integration tests that use all of them (`cli.rs`, `train.rs`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Run the `sphear` binary under test.
pub fn sphear(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sphear"))
        .args(args)
        .output()
        .expect("run sphear")
}

/// A command's standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A file of `../shared/data` (beside the checkout; CI has it there too).
pub fn shared(rel: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(rel);
    assert!(
        p.exists(),
        "test data missing: {} (CI has ../shared/data beside the checkout)",
        p.display()
    );
    p
}
