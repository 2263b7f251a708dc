#!/usr/bin/env bash
# Score the neural renderer next to eMagLS, MagLS and DirAC (issue 6).
#   scripts/eval_neural.sh [MODEL_DIR] [OUT_DIR] [SUITE_ARGS...]
# MODEL_DIR: a model directory (config.json + model.bpk); "embedded" (default) uses the model
# compiled into the binary (crates/sphear-neural/model/). SUITE_ARGS default to the full
# bench-v1 suite; pass --quick for the CI-sized one. The neural method is scored on the full
# em32 only, so the capsule-count study is limited to 32 here.
set -euo pipefail
model="${1:-embedded}"
out="${2:-target/eval-neural}"
shift $(( $# > 2 ? 2 : $# ))
suite_args=("$@")
[ ${#suite_args[@]} -eq 0 ] && suite_args=(--suite bench-v1)
model_args=()
[ "$model" != "embedded" ] && model_args=(--model "$model")
cargo build --release -p sphear
./target/release/sphear eval "${suite_args[@]}" \
  --methods emagls,magls,dirac,neural --channels 32 "${model_args[@]}" -o "$out"
echo "tables: $out/summary.md"
