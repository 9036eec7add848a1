#!/usr/bin/env bash
# int8 against fp32 on the seed models: each model trains once (release build, its seed model
# file, seed 0) with `--set compression.quantize=int8`; the final report gives, for the same
# trained weights, the fp32 model's test accuracy, safetensors bytes and one-sample latency
# (test_accuracy, fp32_model_bytes, fp32_latency_ms) and the int8 model's (int8_test_accuracy,
# model_bytes, latency_ms, on the best int8 path the CPU has: int8_kernel). Then the same trained
# model is quantized and measured again on each int8 path (SWEEP_INT8_KERNEL=PATH, `--resume`
# from the checkpoint of the last epoch, so nothing trains again): every path must give the same
# int8 accuracy (the same int32 sums), and each run measures fp32 and int8 latency back to back.
# Latency: median of up to 201 one-sample forward passes on one thread within a quarter of a second.
# Targets (issue 19): int8 accuracy within 0.5 points of fp32, int8 bytes <= 0.3x.
# Prints the CPU model, its int8 features, the load, the commands and a table; raw final reports
# go to bench/results/.
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
paths=(avx512-vnni avx-vnni avx2 scalar)
mkdir -p bench/results
cpu=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
family=$(grep -m1 '^cpu family' /proc/cpuinfo | cut -d: -f2 | tr -d ' ')
model=$(grep -m1 '^model[[:space:]]*:' /proc/cpuinfo | cut -d: -f2 | tr -d ' ')
flags=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -xE 'avx2|fma|avx512f|avx512bw|avx512vl|avx512_vnni|avx_vnni' | tr '\n' ' ' || true)
echo "CPU: $cpu (family $family model $model), flags: $flags"
echo "load: $(uptime)"
for m in "${models[@]}"; do
  ckpt="bench/results/compression-$m.checkpoint"
  cmd="$bin train search-spaces/seeds/$m.yaml --data-dir $data --set compression.quantize=int8 --json"
  echo "\$ $cmd --checkpoint $ckpt"
  $cmd --checkpoint "$ckpt" | tail -1 > "bench/results/compression-$m.json"
  for p in "${paths[@]}"; do
    echo "\$ SWEEP_INT8_KERNEL=$p $cmd --resume $ckpt"
    if ! SWEEP_INT8_KERNEL=$p $cmd --resume "$ckpt" > "bench/results/compression-$m-$p.out" 2> "bench/results/compression-$m-$p.err"; then
      echo "  $p: $(head -1 "bench/results/compression-$m-$p.err")"
      rm -f "bench/results/compression-$m-$p.out"
    fi
  done
done
echo "load: $(uptime)"
python3 - "${models[@]}" <<'PY'
import json, os, sys
paths = ["avx512-vnni", "avx-vnni", "avx2", "scalar"]
print(f"{'model':<10} {'fp32 acc':>9} {'int8 acc':>9} {'diff pts':>9} {'fp32 bytes':>11} {'int8 bytes':>11} {'ratio':>6} {'fp32 ms':>8} {'int8 ms':>8} {'speedup':>8} path")
for m in sys.argv[1:]:
    r = json.load(open(f"bench/results/compression-{m}.json"))
    fa, ia = r["test_accuracy"] * 100, r["int8_test_accuracy"] * 100
    fb, ib, fl, il = r["fp32_model_bytes"], r["model_bytes"], r["fp32_latency_ms"], r["latency_ms"]
    print(f"{m:<10} {fa:>8.2f}% {ia:>8.2f}% {ia - fa:>+9.2f} {fb:>11} {ib:>11} {ib / fb:>6.3f} {fl:>8.4f} {il:>8.4f} {fl / il:>7.2f}x {r['int8_kernel']} (training run)")
    for p in paths:
        f = f"bench/results/compression-{m}-{p}.out"
        if not os.path.exists(f):
            print(f"{m:<10} {p}: not on this CPU")
            continue
        s = json.loads(open(f).read().strip().splitlines()[-1])
        assert s["int8_kernel"] == p, (p, s["int8_kernel"])
        same = s["int8_test_accuracy"] == r["int8_test_accuracy"] and s["int8_test_loss"] == r["int8_test_loss"]
        fl, il = s["fp32_latency_ms"], s["latency_ms"]
        print(f"{m:<10} {'':>9} {s['int8_test_accuracy'] * 100:>8.2f}% {'':>9} {'':>11} {'':>11} {'':>6} {fl:>8.4f} {il:>8.4f} {fl / il:>7.2f}x {p}"
              + ("" if same else "  DIFFERENT int8 results"))
PY
