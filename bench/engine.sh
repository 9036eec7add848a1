#!/usr/bin/env bash
# Engine speed benchmark: wall-clock seconds per training epoch on Fashion-MNIST (60,000
# training samples, batch 128, Adam lr 1e-3), one thread each, for sweep and its peers:
#   MLP 784-256-128-10:  numpy (hand-written, bench/peers/numpy_mlp.py), PyTorch, sweep, and the
#                        MLP's matrix products alone (sweep-bench gemm-floor: the engine's GEMM floor)
#   CNN (bench-cnn.yaml): PyTorch, sweep                      (skipped with --quick)
# and each model again in mixed precision (bfloat16 products, fp32 sums and weights): PyTorch under
# torch.autocast("cpu", bfloat16) as "torch-bf16", sweep with training.precision=bf16 as "sweep-bf16".
# Each one trains 2 epochs; only the training loop of each epoch is timed (shuffle, batch
# gathering, forward, backward, optimizer step; not data loading nor validation). Sweep holds out
# a tiny validation split (bench-*.yaml: validation 0.0011), so its seconds are scaled to 60,000
# samples. The second (warm) epoch is the one compared: "sweep vs best peer" is sweep's time
# divided by the fastest peer's (below 1: sweep is faster); each sweep row is compared with the
# fastest peer row of its model, in either precision.
# Then the fp32 GEMM kernels on the engine's product shapes (bench/gemm-shapes.txt): sweep-bench
# gemm-shapes (Sweep's own kernels and OpenBLAS) against numpy's sgemm (bench/peers/numpy_gemm.py).
# numpy runs with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (its OpenBLAS picks its best kernel
# for this CPU); everything else runs in the environment as it is. The CPU's model and family are
# printed with the figures. Prints a table and writes the same figures to bench/results/engine-latest.json.
#
# usage: bench/engine.sh [--quick]
#   SWEEP_BIN       the sweep binary (default .build/release/sweep: `swift build -c release`)
#   SWEEP_DATA_DIR  the directory holding fashion-mnist/ (default ../shared/datasets)
# Run it on an otherwise idle machine: the figures are single-thread wall times.
set -euo pipefail
caller=$PWD
cd "$(dirname "$0")/.."

quick=false
for arg in "$@"; do
  case $arg in
    --quick) quick=true ;;
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) echo "bench/engine.sh: unknown argument '$arg' (accepted: --quick)" >&2; exit 2 ;;
  esac
done

# Paths given in the environment are relative to where the script was started; defaults to the repo.
absolute() { case $1 in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$caller/$1" ;; esac; }
if [ -n "${SWEEP_BIN:-}" ]; then SWEEP_BIN=$(absolute "$SWEEP_BIN"); else SWEEP_BIN=.build/release/sweep; fi
if [ -n "${SWEEP_DATA_DIR:-}" ]; then DATA_DIR=$(absolute "$SWEEP_DATA_DIR"); else DATA_DIR=../shared/datasets; fi

if [ ! -x "$SWEEP_BIN" ]; then
  echo "bench/engine.sh: no sweep binary at $SWEEP_BIN; build it first: swift build -c release" >&2
  exit 1
fi
if [ ! -d "$DATA_DIR/fashion-mnist" ]; then
  echo "bench/engine.sh: no $DATA_DIR/fashion-mnist; fetch it: $SWEEP_BIN data fetch fashion-mnist --dest $DATA_DIR" >&2
  exit 1
fi

export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
EPOCHS=2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
loadavg_before=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || true)
: >"$work/runs.tsv"   # one row per run: model, peer, JSON-lines file, training samples (sweep only)

# A Python peer: its JSON lines already count all 60,000 samples.
run_peer() {  # model peer command...
  local model=$1 peer=$2; shift 2
  echo "== $model / $peer" >&2
  "$@" --data-dir "$DATA_DIR" --epochs "$EPOCHS" | tee "$work/$model-$peer.jsonl"
  printf '%s\t%s\t%s\t\n' "$model" "$peer" "$work/$model-$peer.jsonl" >>"$work/runs.tsv"
}

# The training-set size sweep uses for a model file: N from the first line of a human-readable run
# ("training NAME: N train / M validation / ..."), which is printed before training starts, so
# the probe is stopped as soon as that line appears.
sweep_train_count() {  # yaml
  local log=$work/probe.log line pid
  "$SWEEP_BIN" train "$1" --data-dir "$DATA_DIR" --epochs 1 >"$log" 2>&1 &
  pid=$!
  while ! line=$(grep -m1 '^training ' "$log"); do
    if ! kill -0 "$pid" 2>/dev/null; then
      line=$(grep -m1 '^training ' "$log") && break
      echo "bench/engine.sh: sweep train $1 failed:" >&2; cat "$log" >&2; return 1
    fi
    sleep 0.1
  done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  [[ $line =~ ^training\ [^:]*:\ ([0-9]+)\ train ]] || { echo "bench/engine.sh: unexpected line: $line" >&2; return 1; }
  printf '%s\n' "${BASH_REMATCH[1]}"
}

run_sweep() {  # model yaml [precision]
  local model=$1 yaml=$2 precision=${3:-fp32} count peer=sweep
  [ "$precision" = fp32 ] || peer=sweep-$precision
  count=$(sweep_train_count "$yaml")
  echo "== $model / $peer ($yaml: $count training samples, seconds scaled to 60,000)" >&2
  "$SWEEP_BIN" train "$yaml" --data-dir "$DATA_DIR" --json --epochs "$EPOCHS" --set "training.precision=$precision" \
    | tee "$work/$model-$peer.jsonl"
  printf '%s\t%s\t%s\t%s\n' "$model" "$peer" "$work/$model-$peer.jsonl" "$count" >>"$work/runs.tsv"
}

cpu_model=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //' || true)
cpu_family=$(grep -m1 '^cpu family' /proc/cpuinfo | cut -d: -f2 | tr -d ' ' || true)
cpu_modelno=$(grep -m1 '^model[[:space:]]*:' /proc/cpuinfo | cut -d: -f2 | tr -d ' ' || true)
cpu_flags=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -xE 'avx2|fma|avx512f|avx512bw|avx512_bf16|avx512_vnni' | tr '\n' ' ' || true)
echo "CPU: $cpu_model (family $cpu_family, model $cpu_modelno; $cpu_flags)" >&2

# numpy's own OpenBLAS, free to pick its best kernel: the machine's OpenBLAS settings unset for it alone
run_peer mlp numpy env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 bench/peers/numpy_mlp.py
run_peer mlp torch python3 bench/peers/torch_engine.py --model mlp
run_peer mlp torch-bf16 python3 bench/peers/torch_engine.py --model mlp --precision bf16
run_sweep mlp search-spaces/seeds/bench-mlp.yaml
run_sweep mlp search-spaces/seeds/bench-mlp.yaml bf16
# The MLP's matrix products alone (no engine around them): the floor of the engine's fp32 GEMM here.
BENCH_BIN=$(dirname "$SWEEP_BIN")/sweep-bench
: >"$work/floor.json"; : >"$work/floor-bf16.json"
if [ -x "$BENCH_BIN" ]; then
  echo "== mlp / fp32 GEMM floor" >&2
  "$BENCH_BIN" gemm-floor --widths 784,256,128,10 --batch 128 --samples 60000 | tee "$work/floor.json"
  echo "== mlp / bf16 GEMM floor" >&2
  "$BENCH_BIN" gemm-floor --widths 784,256,128,10 --batch 128 --samples 60000 --precision bf16 | tee "$work/floor-bf16.json"
  echo "== fp32 GEMM kernels on the engine's shapes (bench/gemm-shapes.txt)" >&2
  "$BENCH_BIN" gemm-shapes --shapes bench/gemm-shapes.txt | tee "$work/shapes.jsonl"
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 bench/peers/numpy_gemm.py --shapes bench/gemm-shapes.txt | tee -a "$work/shapes.jsonl"
else
  : >"$work/shapes.jsonl"
  echo "bench/engine.sh: no $BENCH_BIN (swift build -c release builds it): the GEMM floors and shapes are skipped" >&2
fi
if ! $quick; then
  run_peer cnn torch python3 bench/peers/torch_engine.py --model cnn
  run_peer cnn torch-bf16 python3 bench/peers/torch_engine.py --model cnn --precision bf16
  run_sweep cnn search-spaces/seeds/bench-cnn.yaml
  run_sweep cnn search-spaces/seeds/bench-cnn.yaml bf16
fi

mkdir -p bench/results
QUICK=$quick SWEEP_BIN_USED=$SWEEP_BIN LOADAVG_BEFORE=$loadavg_before \
  CPU_MODEL=$cpu_model CPU_FAMILY=$cpu_family CPU_MODELNO=$cpu_modelno CPU_FLAGS=$cpu_flags \
  GIT_COMMIT=$(git describe --always --dirty 2>/dev/null || echo unknown) \
  python3 - "$work/runs.tsv" bench/results/engine-latest.json "$work/floor.json" "$work/floor-bf16.json" "$work/shapes.jsonl" <<'PY'
"""Reads every run's per-epoch JSON lines, prints the table and writes the JSON file."""
import json, os, platform, sys, time

SAMPLES = 60000
runs_file, out_file, floor_file, floor_bf16_file, shapes_file = sys.argv[1:6]
def last_json(path):
    lines = [l for l in open(path) if l.strip()]
    return json.loads(lines[-1]) if lines else None
floor, floor_bf16 = last_json(floor_file), last_json(floor_bf16_file)
rows = []
for line in open(runs_file):
    model, peer, path, train_count = line.rstrip("\n").split("\t")
    epochs = [json.loads(l) for l in open(path) if l.strip()]
    epochs = sorted((e for e in epochs if "epoch" in e and "seconds" in e), key=lambda e: e["epoch"])
    measured = [e["seconds"] for e in epochs]
    trained = int(train_count) if train_count else SAMPLES
    if len(measured) < 2:
        sys.exit(f"bench/engine.sh: {model}/{peer} reported {len(measured)} epochs, expected 2")
    scale = SAMPLES / trained
    rows.append({"model": model, "peer": peer,
                 "epoch1_seconds": round(measured[0] * scale, 3), "epoch2_seconds": round(measured[1] * scale, 3),
                 "train_samples": trained, "measured_seconds": measured,
                 "train_loss": [e.get("train_loss") for e in epochs],
                 "gemm": next((json.loads(l)["gemm"] for l in open(path) if '"gemm"' in l), None)})

def runs_of(model, sweep):
    """The model's sweep rows (sweep True) or its peers' rows, any precision."""
    return [r for r in rows if r["model"] == model and r["peer"].startswith("sweep") == sweep]

ratios = {}  # "mlp", "cnn" (fp32 sweep), "mlp-bf16", "cnn-bf16"
for model in dict.fromkeys(r["model"] for r in rows):
    peers = runs_of(model, sweep=False)
    if not peers:
        continue
    best = min(peers, key=lambda r: r["epoch2_seconds"])
    for sweep in runs_of(model, sweep=True):
        ratios[model + sweep["peer"][len("sweep"):]] = {
            "sweep": sweep["peer"], "best_peer": best["peer"], "best_peer_seconds": best["epoch2_seconds"],
            "sweep_seconds": sweep["epoch2_seconds"],
            "sweep_over_best_peer": round(sweep["epoch2_seconds"] / best["epoch2_seconds"], 3)}

print()
print(f"Fashion-MNIST, seconds per epoch of {SAMPLES:,} samples (batch 128, Adam 1e-3, one thread)")
print(f"CPU: {os.environ['CPU_MODEL']} (family {os.environ['CPU_FAMILY']}, model {os.environ['CPU_MODELNO']}; {os.environ['CPU_FLAGS'].strip()})")
print(f"{'model':<6} {'peer':<10} {'epoch 1':>8} {'epoch 2':>8}")
for r in rows:
    note = f"  (measured on {r['train_samples']:,} samples, scaled)" if r["train_samples"] != SAMPLES else ""
    if r["gemm"]:
        note += f"  gemm: {r['gemm']}"
    print(f"{r['model']:<6} {r['peer']:<10} {r['epoch1_seconds']:>8.2f} {r['epoch2_seconds']:>8.2f}{note}")
print()
print("sweep vs best peer, epoch 2 (sweep's time / the peer's; below 1: sweep is faster)")
for model, q in ratios.items():
    print(f"{model:<9} {q['sweep_over_best_peer']:.2f}x  ({q['sweep']} {q['sweep_seconds']:.2f} s, "
          f"{q['best_peer']} {q['best_peer_seconds']:.2f} s)")

if floor:
    mlp_peers = runs_of("mlp", sweep=False)
    print(f"\nmlp fp32 GEMM floor (its matrix products alone, sweep-bench gemm-floor): {floor['seconds_per_epoch']:.2f} s "
          f"({floor['gflops']:.0f} GFLOP/s, {floor.get('gemm', '?')})")
    if mlp_peers:
        best = min(mlp_peers, key=lambda r: r["epoch2_seconds"])
        print(f"  an engine at this floor vs {best['peer']}: {best['epoch2_seconds'] / floor['seconds_per_epoch']:.2f}x faster")
if floor_bf16:
    print(f"mlp bf16 GEMM floor (the same products, sweep-bench gemm-floor --precision bf16): "
          f"{floor_bf16['seconds_per_epoch']:.2f} s ({floor_bf16['gflops']:.0f} GFLOP/s)")

# fp32 GEMM per shape: the kernel the rule picks (the engine's) against OpenBLAS and numpy
shapes = {}
for line in open(shapes_file):
    if line.strip():
        g = json.loads(line)
        shapes.setdefault((g["trans"], g["M"], g["N"], g["K"]), {})[g["kernel"]] = g
gemm_rows = []
if shapes:
    print("\nfp32 GEMM, GFLOP/s (one thread, thread CPU time): the engine's choice (rule) vs OpenBLAS (Debian) and numpy")
    print(f"{'shape':<22} {'rule':>14} {'openblas':>9} {'numpy':>7} {'rule/numpy':>11}  note")
    for (t, M, N, K), ks in shapes.items():
        rule = next((g for g in ks.values() if g.get("rule")), None)
        numpy = ks.get("numpy")
        ob = ks.get("openblas")
        if not rule or not numpy:
            continue
        ratio = rule["gflops"] / numpy["gflops"]
        gemm_rows.append({"trans": t, "M": M, "N": N, "K": K, "rule_kernel": rule["kernel"], "rule_gflops": rule["gflops"],
                          "openblas_gflops": ob["gflops"] if ob else None, "numpy_gflops": numpy["gflops"],
                          "rule_over_numpy": round(ratio, 3),
                          "kernels": {k: g["gflops"] for k, g in ks.items()}})
        print(f"{t} {M}x{N}x{K:<12} {rule['kernel']:>7} {rule['gflops']:6.1f} {ob['gflops'] if ob else float('nan'):9.1f} "
              f"{numpy['gflops']:7.1f} {ratio:10.2f}x  {rule.get('note', '')}")
    if gemm_rows:
        # every shape once: total multiply-adds over total time, for the rule's kernels and for numpy
        flops = [2.0 * g["M"] * g["N"] * g["K"] for g in gemm_rows]
        rule_all = sum(flops) / sum(f / g["rule_gflops"] for f, g in zip(flops, gemm_rows))
        numpy_all = sum(flops) / sum(f / g["numpy_gflops"] for f, g in zip(flops, gemm_rows))
        print(f"all shapes, each once: the engine's GEMM {rule_all:.1f} GFLOP/s, numpy {numpy_all:.1f} ({rule_all / numpy_all:.2f}x)")
        best_numpy = max(g["numpy_gflops"] for g in gemm_rows)
        worst = min(gemm_rows, key=lambda g: g["rule_gflops"] / best_numpy)
        print(f"numpy's best on these shapes: {best_numpy:.1f} GFLOP/s; the engine's GEMM at most {max(g['rule_gflops'] for g in gemm_rows):.1f}, "
              f"at least {worst['rule_gflops']:.1f} ({worst['rule_gflops'] / best_numpy:.0%} of numpy's best; "
              f"{worst['trans']} {worst['M']}x{worst['N']}x{worst['K']})")

result = {
    "benchmark": "engine", "dataset": "fashion-mnist", "samples_per_epoch": SAMPLES,
    "batch_size": 128, "optimizer": "adam", "learning_rate": 0.001, "threads": 1,
    "quick": os.environ["QUICK"] == "true",
    "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    "git": os.environ["GIT_COMMIT"], "sweep_bin": os.environ["SWEEP_BIN_USED"],
    "host": {"machine": platform.machine(), "cpus": os.cpu_count(),
             "cpu_model": os.environ["CPU_MODEL"], "cpu_family": os.environ["CPU_FAMILY"], "cpu_model_number": os.environ["CPU_MODELNO"],
             "cpu_flags": os.environ["CPU_FLAGS"].split(), "loadavg_before": os.environ["LOADAVG_BEFORE"]},
    "gemm_shapes": gemm_rows,
    "results": rows, "sweep_vs_best_peer_epoch2": ratios, "mlp_sgemm_floor": floor, "mlp_bf16_gemm_floor": floor_bf16,
}
with open(out_file, "w") as f:
    json.dump(result, f, indent=2)
    f.write("\n")
print(f"\nwrote {out_file}")
PY
