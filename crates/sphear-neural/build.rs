//! Embeds the default model when `model/config.json` and `model/model.bpk` exist (sets
//! `cfg(sphear_embedded_model)`; see `src/infer.rs`).

use std::path::Path;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(sphear_embedded_model)");
    println!("cargo::rerun-if-changed=build.rs");
    let dir = Path::new("model");
    if dir.is_dir() {
        // A directory is scanned for changes of any file in it.
        println!("cargo::rerun-if-changed=model");
    } else {
        // The crate directory changes when `model/` is created.
        println!("cargo::rerun-if-changed=.");
    }
    if dir.join("config.json").is_file() && dir.join("model.bpk").is_file() {
        println!("cargo::rustc-cfg=sphear_embedded_model");
    }
}
