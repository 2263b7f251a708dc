//! Link arguments for the `gpu` feature: keep libtorch_cuda as a dependency of the binary (the
//! linker drops it with --as-needed because no symbol of it is referenced directly, and LibTorch
//! then reports CUDA as unavailable). The library folder comes from LIBTORCH; at run time
//! LD_LIBRARY_PATH must hold LibTorch's `lib` and the CUDA runtime libraries.
fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    if std::env::var_os("CARGO_FEATURE_GPU").is_some() {
        if let Some(dir) = std::env::var_os("LIBTORCH") {
            let lib = std::path::Path::new(&dir).join("lib");
            println!("cargo:rustc-link-search=native={}", lib.display());
        }
        println!("cargo:rustc-link-arg-bins=-Wl,--no-as-needed,-ltorch_cuda,-ltorch,--as-needed");
    }
}
