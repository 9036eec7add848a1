#!/usr/bin/env bash
# A real search of several objectives: Fashion-MNIST MLPs, validation accuracy against
# model_bytes (float or int8 export), search-spaces/fashion-mo.yaml (24 trials, 3 epochs,
# multi-objective TPE), then the Pareto front it found with each trial's test accuracy (the int8
# model's for int8 trials). Prints the CPU model and the commands.
#
# usage: bench/pareto-fashion.sh [--workers K] [--seed S]   (passed to sweep start)
#   SWEEP_BIN       the sweep binary (default .build/release/sweep)
#   SWEEP_DATA_DIR  the directory holding fashion-mnist/ (default ../shared/datasets)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${SWEEP_BIN:-.build/release/sweep}
data=${SWEEP_DATA_DIR:-../shared/datasets}
db=bench/results/pareto-fashion.db
mkdir -p bench/results
rm -f "$db" "$db"-wal "$db"-shm
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
cmd="$bin start search-spaces/fashion-mo.yaml --foreground --db $db --data-dir $data --workers 2 $*"
echo "\$ $cmd"
start=$(date +%s)
$cmd > bench/results/pareto-fashion.log
echo "search: $(( $(date +%s) - start )) s"
$bin leaderboard --db "$db" --json > bench/results/pareto-fashion.json
python3 - <<'PY'
import json
rows = json.load(open("bench/results/pareto-fashion.json"))
print(f"{'front':>5} {'trial':>5} {'layers':<12} {'quantize':<8} {'val acc':>8} {'test acc':>8} {'model_bytes':>11}")
for r in rows:
    if r.get("front") is None: continue
    p, m, v = r["params"], r.get("metrics", {}), r["values"]
    layers = "x".join(str(p[f"model.layers.{i}.units"]) for i in range(p["model.layers.count"]))
    test = m.get("int8_test_accuracy", m.get("test_accuracy", float("nan")))
    mark = "*" if r["pareto"] else ""
    print(f"{str(r['front']) + mark:>5} {r['trial']:>5} {layers:<12} {p['compression.quantize']:<8} {v['val_accuracy']*100:>7.2f}% {test*100:>7.2f}% {int(v['model_bytes']):>11,}")
PY
