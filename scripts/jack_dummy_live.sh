#!/usr/bin/env bash
# Runs `sphear live` for 60 s against a JACK dummy backend (48 kHz, 256-frame periods) in full
# duplex (32-channel JACK input -> engine -> 2-channel JACK output) and fails unless it reports
# 0 xruns, 0 underruns and 0 missed callbacks.
#
# Needs (Debian): apt-get install -y --no-install-recommends jackd2 libjack-jackd2-dev libasound2-dev
# Usage: scripts/jack_dummy_live.sh [SECONDS] (default 60). Builds sphear with --features jack.
set -euo pipefail
SECONDS_TO_RUN="${1:-60}"
cd "$(dirname "$0")/.."
command -v jackd >/dev/null || { echo "FAIL: jackd not installed (apt-get install jackd2)" >&2; exit 1; }
command -v jack_wait >/dev/null || { echo "FAIL: jack_wait not installed (package jackd2)" >&2; exit 1; }
cargo build --release -p sphear --features jack
BIN="${CARGO_TARGET_DIR:-target}/release/sphear"
LOG="$(mktemp -d)"
export JACK_DEFAULT_SERVER="sphear-ci-$$"
jackd -n "$JACK_DEFAULT_SERVER" -R -P70 -d dummy -r 48000 -p 256 >"$LOG/jackd.log" 2>&1 &
JACKD_PID=$!
cleanup() { kill "$JACKD_PID" 2>/dev/null || true; wait "$JACKD_PID" 2>/dev/null || true; }
trap cleanup EXIT
if ! jack_wait -w -t 10 >/dev/null; then
    echo "FAIL: jackd (dummy backend) did not start:" >&2
    cat "$LOG/jackd.log" >&2
    exit 1
fi
set +e
timeout $((SECONDS_TO_RUN + 60)) "$BIN" live --host jack --output-device default --input-device default \
    --input-channels 32 --block 256 --seconds "$SECONDS_TO_RUN" 2>&1 | tee "$LOG/live.log"
RC=${PIPESTATUS[0]}
set -e
SERVER_XRUNS=$(grep -c "XRun" "$LOG/jackd.log" || true)
echo "jackd log: $SERVER_XRUNS XRun lines"
echo "load: $(uptime)"
if [ "$RC" -ne 0 ]; then
    echo "FAIL: sphear live exited with $RC" >&2
    exit 1
fi
grep -q "xruns 0 (input stream saw 0), stream errors 0, underruns 0, overruns 0, late callbacks 0, gaps 0" "$LOG/live.log" || {
    echo "FAIL: xruns or missed callbacks reported" >&2
    exit 1
}
echo "OK: ${SECONDS_TO_RUN} s of JACK dummy full duplex at 256-frame blocks, 0 xruns"
