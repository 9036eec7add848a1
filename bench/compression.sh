#!/usr/bin/env bash
# int8 against fp32 on the seed models: each model trains once (release build, its seed model
# file, seed 0) with `--set compression.quantize=int8`; the final report gives, for the same
# trained weights, the fp32 model's test accuracy, safetensors bytes and one-sample latency
# (test_accuracy, fp32_model_bytes, fp32_latency_ms) and the int8 model's (int8_test_accuracy,
# model_bytes, latency_ms; AVX512-VNNI where the CPU has it). Latency: median of up to 201
# one-sample forward passes on one thread within a quarter of a second, after training.
# Targets (issue 19): int8 accuracy within 0.5 points of fp32, int8 bytes <= 0.3x.
# Prints the CPU model, the commands and a table; raw final reports go to bench/results/.
#
# usage: bench/compression.sh [MODEL ...]     (default: mnist-mlp mnist-cnn; search-spaces/seeds/MODEL.yaml)
#   SWEEP_BIN       the sweep binary (default .build/release/sweep)
#   SWEEP_DATA_DIR  the directory holding mnist/ (default ../shared/datasets)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${SWEEP_BIN:-.build/release/sweep}
data=${SWEEP_DATA_DIR:-../shared/datasets}
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(mnist-mlp mnist-cnn)
mkdir -p bench/results
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), int8 path: $( [ "${SWEEP_INT8_KERNEL:-}" = scalar ] && echo scalar || (grep -qw avx512_vnni /proc/cpuinfo && echo AVX512-VNNI || echo scalar))"
for m in "${models[@]}"; do
  cmd="$bin train search-spaces/seeds/$m.yaml --data-dir $data --set compression.quantize=int8 --json"
  echo "\$ $cmd"
  $cmd | tail -1 > "bench/results/compression-$m.json"
done
python3 - "${models[@]}" <<'PY'
import json, sys
print(f"{'model':<12} {'fp32 acc':>9} {'int8 acc':>9} {'diff pts':>9} {'fp32 bytes':>11} {'int8 bytes':>11} {'ratio':>6} {'fp32 ms':>8} {'int8 ms':>8} {'speedup':>8}")
for m in sys.argv[1:]:
    r = json.load(open(f"bench/results/compression-{m}.json"))
    fa, ia = r["test_accuracy"] * 100, r["int8_test_accuracy"] * 100
    fb, ib, fl, il = r["fp32_model_bytes"], r["model_bytes"], r["fp32_latency_ms"], r["latency_ms"]
    print(f"{m:<12} {fa:>8.2f}% {ia:>8.2f}% {ia - fa:>+9.2f} {fb:>11} {ib:>11} {ib / fb:>6.3f} {fl:>8.4f} {il:>8.4f} {fl / il:>7.2f}x")
PY
