//! Time to personalise one listener with the committed model: prediction (CVAE decoder, 2 × 1250
//! directions, z = 0) + minimum-phase synthesis at 48 kHz. Single-threaded run:
//! `RAYON_NUM_THREADS=1 cargo bench -p sphear-personalize`.

use criterion::{Criterion, criterion_group, criterion_main};
use sphear_personalize::listener::{embedded_model, parse_listener, personalize};

const ME: &str = include_str!("../examples/ME.toml");

fn bench(c: &mut Criterion) {
    let listener = match parse_listener(ME) {
        Ok(l) => l,
        Err(e) => panic!("example listener: {e}"),
    };
    let model = match embedded_model() {
        Ok(m) => m,
        Err(e) => panic!("embedded model: {e}"),
    };
    let mut g = c.benchmark_group("personalize");
    g.sample_size(10);
    g.bench_function("load_model", |b| b.iter(|| embedded_model().map(|_| ())));
    g.bench_function("predict_spectra_itd", |b| {
        b.iter(|| model.predict(&listener.features).map(|p| p.itd_s.len()))
    });
    g.bench_function("personalize_48k", |b| {
        b.iter(|| personalize(&model, &listener, 48_000.0).map(|h| h.irs[0].len()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
