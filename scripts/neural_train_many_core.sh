#!/usr/bin/env bash
# Train the lean neural renderer and its ablation variants side by side (one process per variant,
# all on one CUDA GPU through LibTorch when GPU_BIN is given, else on burn's pure-Rust CPU backend),
# then score every variant on the quick bench-v1 suite. This is the script that produced
# crates/sphear-neural/model/ (see its MODEL_CARD.md).
#
#   scripts/neural_train_many_core.sh BIN SOURCES_DIR HRTF_DIR WORK_DIR OUT_DIR
#
# BIN          a release `sphear` binary
# SOURCES_DIR  scripts/make_training_sources.sh output (train/ and val/; CC0 / CC BY / PD only)
# HRTF_DIR     cipic_to_sofa example output (cipic_NNN.sofa + anthropometry.json) plus the
#              evaluation HRTF EVAL_SOFA (default HRTF_DIR/eval.sofa, never used for training)
# WORK_DIR     scratch (datasets, runs)
# OUT_DIR      results: one tarball of every run (config.json, model.bpk, optim.bpk, loss/val CSVs),
#              the eval summaries, and the log
#
# Environment (defaults in brackets):
#   TRAIN_IDS [3 8 10 11]   CIPIC subjects whose HRTFs render the training targets
#   HELDOUT_IDS [12 15]     CIPIC subjects for validation only (never trained on)
#   SCENES [60]             training scenes per training subject
#   VAL_SCENES [6]          validation scenes per training subject
#   HELDOUT_SCENES [12]     validation scenes per held-out subject
#   DURATION_S [1.5]        scene length
#   TRAIN_WALL_S [300]      wall-clock training budget per variant (runs stop at the last checkpoint)
#   STEPS [1000000]         optimiser steps per variant (set it, with a large TRAIN_WALL_S, for
#                           ablations that compare variants at the same step rather than the same
#                           wall time)
#   PARALLEL [all]          variants trained at once on the CPU (the rest wait in queues)
#   VARIANTS [main noskip noattn nocin direct]  also: nocbam, lowlat (256/128 STFT), paperloss
#                           (complex term on all bins), absdw, standard (the ~10 M model), and
#                           VARIANT_sN = VARIANT with seed N (seed spread; default seed 7)
#   THREADS [cores / variants]
#   EVAL [1]                score each variant with `sphear eval --suite bench-v1 --quick`
#   EVAL_WALL_S [120]       scoring budget per variant
#   DATA_WALL_S [150]       dataset generation budget (unfinished items are skipped by training)
#   GPU_BIN []              a `sphear` built with `--features gpu`: variants train with --device cuda
#                           (LD_LIBRARY_PATH must reach LibTorch and CUDA); a variant whose GPU run
#                           dies within the first minute is restarted on the CPU
#   CPU_REFERENCE [1]       with GPU_BIN: also train `main` on the CPU (throughput reference)
#   STAGES [data train eval] which stages to run (e.g. "data" now and "train eval" later; "" = only
#                           write the configs)
#   BATCH [4]               scenes per batch
#   SEGMENT_S [0.75]        random crop per scene
#   LR [1e-3]               Adam learning rate
#   RESIDUAL_SCALE [0.1]    residual head: correction relative to the per-bin eMagLS RMS
#                           ("none": the absolute correction of the first shipped model)
#   COMPLEX_MAX_HZ [2000]   complex reconstruction term only up to this frequency ("none": all bins,
#                           the paper's loss)
#   VAL_EVERY [40]          steps between validations (and checkpoints)
# Variants: main (lean, residual head, 1024/512 STFT), noskip, noattn, nocin, nocbam (ablation
# switches), direct (the paper's direct STFT head), lowlat (256/128 STFT), paperloss (complex term on
# all bins), absdw (absolute weight correction).
set -uo pipefail
[ $# -eq 5 ] || { echo "usage: $0 BIN SOURCES_DIR HRTF_DIR WORK_DIR OUT_DIR" >&2; exit 2; }
BIN=$(realpath "$1"); SRC=$(realpath "$2"); HRTF=$(realpath "$3"); mkdir -p "$4" "$5"
W=$(realpath "$4"); OUT=$(realpath "$5")
TRAIN_IDS=${TRAIN_IDS:-"3 8 10 11"}; HELDOUT_IDS=${HELDOUT_IDS:-"12 15"}
SCENES=${SCENES:-60}; VAL_SCENES=${VAL_SCENES:-6}; HELDOUT_SCENES=${HELDOUT_SCENES:-12}; DURATION_S=${DURATION_S:-1.5}
TRAIN_WALL_S=${TRAIN_WALL_S:-300}; VARIANTS=${VARIANTS:-"main noskip noattn nocin direct"}
DATA_WALL_S=${DATA_WALL_S:-150}; EVAL_WALL_S=${EVAL_WALL_S:-120}; GPU_BIN=${GPU_BIN:-}; CPU_REFERENCE=${CPU_REFERENCE:-1}; BATCH=${BATCH:-4}; SEGMENT_S=${SEGMENT_S:-0.75}
STEPS=${STEPS:-1000000}; PARALLEL=${PARALLEL:-0}; LR=${LR:-1e-3}; RESIDUAL_SCALE=${RESIDUAL_SCALE:-0.1}; COMPLEX_MAX_HZ=${COMPLEX_MAX_HZ:-2000}; VAL_EVERY=${VAL_EVERY:-40}
EVAL=${EVAL:-1}; STAGES=${STAGES-"data train eval"}; EVAL_SOFA=${EVAL_SOFA:-$HRTF/eval.sofa}
NCPU=$(nproc); NV=$(echo $VARIANTS | wc -w); NP=$(( ${PARALLEL:-0} > 0 ? ${PARALLEL:-0} : NV ))
THREADS=${THREADS:-$(( NCPU / NP > 0 ? NCPU / NP : 1 ))}
T0=$(date +%s)
log() { echo "[$(date +%T) +$(( $(date +%s) - T0 ))s] $*" | tee -a "$OUT/log.txt"; }
log "cores $NCPU, variants $NV x $THREADS threads, train $TRAIN_IDS, held out $HELDOUT_IDS"

spec() { # spec ID SPLIT(train|val)
  cat > "$W/spec_$1_$2.toml" <<EOF
sample_rate_hz = 48000
duration_s = $DURATION_S
[room]
rt60_s = [0.2, 2.0]
[sources]
count = [1, 5]
signals_dir = "$SRC/$2"
[noise]
snr_db = [10.0, 30.0]
[augment]
gain_db = [-6.0, 6.0]
rotate_scene = true
[output]
ambix_order = 0
hrtf = "$HRTF/cipic_$(printf %03d "$1").sofa"
EOF
}

stage() { [[ " $STAGES " == *" $1 "* ]]; }
# 1. Datasets: every subject's train and val sets in parallel (item seeds differ per subject).
if stage data; then
  jobs=()
  for id in $TRAIN_IDS; do jobs+=("$id train $SCENES"); jobs+=("$id val $VAL_SCENES"); done
  for id in $HELDOUT_IDS; do jobs+=("$id val $HELDOUT_SCENES"); done
  NJ=${#jobs[@]}; TJ=$(( NCPU / NJ > 0 ? NCPU / NJ : 1 ))
  for j in "${jobs[@]}"; do
    set -- $j
    spec "$1" "$2"
    [ "$2" = val ] && seed=$(( $1 * 1000 + 1 )) || seed=$(( $1 * 1000 ))
    timeout -s TERM "$DATA_WALL_S" "$BIN" dataset "$W/spec_$1_$2.toml" -o "$W/data/$2_$1" --count "$3" \
      --seed "$seed" --threads "$TJ" > "$W/data_$1_$2.log" 2>&1 &
  done
  wait
  for j in "${jobs[@]}"; do
    set -- $j
    log "dataset $2 subject $1: $(find "$W/data/$2_$1" -name meta.json | wc -l) scenes"
  done
fi

# 2. Configs (python only formats TOML from anthropometry.json).
python3 - "$HRTF" "$W" "$TRAIN_IDS" "$HELDOUT_IDS" "$VARIANTS main_cpu" "$BATCH" "$SEGMENT_S" \
  "$LR" "$RESIDUAL_SCALE" "$COMPLEX_MAX_HZ" "$VAL_EVERY" "$STEPS" <<'PY'
import json, sys
hrtf, w, train, held, variants = sys.argv[1], sys.argv[2], sys.argv[3].split(), sys.argv[4].split(), sys.argv[5].split()
batch = int(sys.argv[6])
seg = float(sys.argv[7])
lr, rscale, cmax, val_every = sys.argv[8], sys.argv[9], sys.argv[10], int(sys.argv[11])
steps = int(sys.argv[12])
a = json.load(open(f"{hrtf}/anthropometry.json"))
st = a["anthropometry_standardizer"]
fmt = lambda v: "[" + ", ".join(f"{x:.6g}" for x in v) + "]"
sofa = lambda i: f"{hrtf}/cipic_{int(i):03d}.sofa"
extra = {"main": "", "main_cpu": "", "noskip": "skip_connections = false\n", "noattn": "attention = false\n",
         "nocin": "cin = false\n", "lowlat": "", "nocbam": "cbam = false\n", "direct": 'head = "Direct"\n',
         "paperloss": "", "absdw": "", "standard": ""}
import re
for v in variants:
    t0 = train[0]
    # VARIANT_sN: the same variant with seed N (initialisation and batch order), for seed spread.
    m = re.fullmatch(r"(.+)_s(\d+)", v)
    base, seed = (m.group(1), int(m.group(2))) if m else (v, 7)
    rs = "" if rscale == "none" or base in ("absdw", "direct") else f"residual_scale = {rscale}\n"
    cm = cmax if base != "paperloss" else "none"
    losses = "" if cm == "none" else f"""
[loss_weights]
recon = 1.0
doa = 0.3
cues = 0.5
mrstft = 0.2
complex_max_hz = {cm}
"""
    s = f'''dataset_dir = "{w}/data/train_{t0}"
val_dataset_dir = "{w}/data/val_{t0}"
output_dir = "{w}/runs/{v}"
model = "{"standard" if base == "standard" else "lean"}"
steps = {steps}
batch_size = {batch}
segment_s = {seg}
learning_rate = {lr}
seed = {seed}
checkpoint_every = {val_every}
val_every = {val_every}
val_max_scenes = 6
hrtf_sofa = "{sofa(t0)}"
anthropometry = {fmt(a[f"cipic_{int(t0):03d}.sofa"])}
{extra[base]}{rs}
[anthropometry_standardizer]
mean = {fmt(st["mean"])}
std = {fmt(st["std"])}
'''
    for i in train[1:]:
        s += f'''
[[listeners]]
name = "cipic_{int(i):03d}"
dataset_dir = "{w}/data/train_{i}"
val_dataset_dir = "{w}/data/val_{i}"
hrtf_sofa = "{sofa(i)}"
anthropometry = {fmt(a[f"cipic_{int(i):03d}.sofa"])}
'''
    for i in held:
        s += f'''
[[listeners]]
name = "cipic_{int(i):03d}_held_out"
val_dataset_dir = "{w}/data/val_{i}"
hrtf_sofa = "{sofa(i)}"
anthropometry = {fmt(a[f"cipic_{int(i):03d}.sofa"])}
'''
    # Features: the paper's 1024/512 STFT (the residual head then starts at the time-domain
    # eMagLS to -44 dB); variant "lowlat" uses the low-latency 256/128 STFT.
    n_fft, hop = (256, 128) if base == "lowlat" else (1024, 512)
    s += f'''
[features]
sample_rate_hz = 48000.0
n_fft = {n_fft}
hop = {hop}
ref_capsule = 0
ipd = true
gcc_phat = false
gcc_max_lag_samples = 12
mag_floor = 1e-5
compress = 0.3
sh_band_hz = [200.0, 5000.0]
''' + losses
    open(f"{w}/train_{v}.toml", "w").write(s)
PY

# 3. Train every variant for the same wall time (each stops with a checkpoint at the step reached).
train_variant() { # VARIANT DEVICE THREADS WALL_S
  RAYON_NUM_THREADS=$3 timeout -s KILL $(( $4 + 120 )) "${5:-$BIN}" train "$W/train_$1.toml" \
    --device "$2" --max-wall-s "$4" > "$W/train_$1.log" 2>&1
}
declare -A PID
if ! stage train; then
  :
elif [ -n "$GPU_BIN" ]; then
  log "GPU: $(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null)"
  for v in $VARIANTS; do train_variant "$v" cuda 1 "$TRAIN_WALL_S" "$GPU_BIN" & PID[$v]=$!; done
  CPU_T=$(( NCPU - NV > 1 ? NCPU - NV : 1 ))
  [ "$CPU_REFERENCE" = 1 ] && { train_variant main_cpu cpu "$CPU_T" "$TRAIN_WALL_S" & PID[main_cpu]=$!; }
  sleep 60
  for v in $VARIANTS; do
    if ! kill -0 "${PID[$v]}" 2>/dev/null; then
      log "variant $v died on the GPU: $(tail -3 "$W/train_$v.log" | tr '\n' ' ')"
      mv "$W/train_$v.log" "$W/train_${v}_gpu_failed.log"; rm -rf "$W/runs/$v"
      train_variant "$v" cpu "$THREADS" $(( TRAIN_WALL_S - 60 )) & PID[$v]=$!
    fi
  done
elif [ "$PARALLEL" -gt 0 ]; then
  # PARALLEL queues, variants dealt round robin; each queue trains its variants one after another.
  q=0; declare -A QUEUE
  for v in $VARIANTS; do QUEUE[$q]="${QUEUE[$q]:-} $v"; q=$(( (q + 1) % PARALLEL )); done
  for q in "${!QUEUE[@]}"; do
    ( for v in ${QUEUE[$q]}; do log "train $v"; train_variant "$v" cpu "$THREADS" "$TRAIN_WALL_S"; done ) &
  done
else
  for v in $VARIANTS; do train_variant "$v" cpu "$THREADS" "$TRAIN_WALL_S" & PID[$v]=$!; done
fi
wait
for v in $VARIANTS main_cpu; do
  [ -d "$W/runs/$v" ] || continue
  ck=$(ls -d "$W/runs/$v"/checkpoint-* 2>/dev/null | sort | tail -1)
  log "variant $v: last checkpoint ${ck##*/}, last loss: $(tail -1 "$W/runs/$v/loss.csv" 2>/dev/null), last val: $(tail -1 "$W/runs/$v/val.csv" 2>/dev/null)"
  grep -E "^(trained|error|Error)" "$W/train_$v.log" | tail -3
done

# 4. Pack the runs (before scoring, so that a time limit during scoring loses nothing): every variant's last checkpoint (config.json, model.bpk, optim.bpk, state.json)
#    and its logs.
( cd "$W" && for v in $VARIANTS main_cpu; do
    [ -d "runs/$v" ] || continue
    ck=$(ls -d "runs/$v"/checkpoint-* 2>/dev/null | sort | tail -1)
    echo "runs/$v/loss.csv runs/$v/val.csv runs/$v/val_listeners.csv runs/$v/config.json runs/$v/loss.png $ck"
  done | xargs tar czf "$OUT/runs.tar.gz" train_*.toml train_*.log data_*.log 2>/dev/null )
# 5. Score every variant on the quick suite with an HRTF no variant saw.
if [ "$EVAL" = 1 ] && stage eval; then
  ET=$(( NCPU / (NV + 1) > 0 ? NCPU / (NV + 1) : 1 ))
  for v in $VARIANTS main_cpu; do
    ck=$(ls -d "$W/runs/$v"/checkpoint-* 2>/dev/null | sort | tail -1)
    [ -n "$ck" ] || continue
    RAYON_NUM_THREADS=$ET timeout -s KILL "$EVAL_WALL_S" "$BIN" eval --suite bench-v1 --quick --methods emagls,neural --model "$ck" \
      --hrtf "$EVAL_SOFA" --threads "$ET" -o "$W/eval/$v" > "$W/eval_$v.log" 2>&1 &
    # and on the first held-out subject's validation scenes (real sources, that subject's HRTF)
    h=${HELDOUT_IDS%% *}
    [ -n "$h" ] && RAYON_NUM_THREADS=$ET timeout -s KILL "$EVAL_WALL_S" "$BIN" eval --scenes "$W/data/val_$h" \
      --methods emagls,neural --model "$ck" --hrtf "$HRTF/cipic_$(printf %03d "$h").sofa" --threads "$ET" \
      -o "$W/eval_heldout/$v" > "$W/eval_heldout_$v.log" 2>&1 &
  done
  wait
  ( cd "$W" && tar czf "$OUT/eval.tar.gz" eval_*.log eval/*/summary.md eval/*/rows.csv eval_heldout/*/summary.md \
    eval_heldout/*/rows.csv 2>/dev/null )
  for v in $VARIANTS main_cpu; do
    for e in eval eval_heldout; do
      [ -f "$W/$e/$v/summary.md" ] && log "$e $v: $(grep -E '^\| (emagls|neural) \|' "$W/$e/$v/summary.md" | head -2 | tr '\n' ' ')"
    done
  done
fi
log "done: $(ls "$OUT" | tr '\n' ' ')"

