#!/usr/bin/env bash
# A real search of several objectives: Fashion-MNIST MLPs, validation accuracy against
# model_bytes (float or int8 export), as command trials (bench/peers/fashion_trial.py, training
# with `sweep train`), searched by Sweep (bench/spaces/fashion-mo-command.yaml: auto = its
# multi-objective TPE) and by Optuna 5's NSGA-II and TPE (bench/peers/optuna_fashion_mo.py) on the
# same budget, 2 trials at once each, one after the other. Prints the CPU model, the commands, each
# sampler's hypervolume (losses 1 - val_accuracy and model_bytes / 1e6, reference point (0.3, 3.0):
# trials under 70% or over 3 MB add nothing) and the fronts with each trial's test accuracy (the
# int8 model's for int8 trials).
#
# usage: bench/pareto-fashion.sh [TRIALS] [SEED]      (default 16 trials, seed 0; 2 epochs a trial)
#   SWEEP_BIN        the sweep that runs the search (default .build/release/sweep)
#   SWEEP_TRAIN_BIN  the sweep that trains each trial (default SWEEP_BIN)
#   SWEEP_DATA_DIR   the directory holding fashion-mnist/ (default ../shared/datasets)
set -euo pipefail
cd "$(dirname "$0")/.."
trials=${1:-16}
seed=${2:-0}
bin=${SWEEP_BIN:-.build/release/sweep}
export SWEEP_TRAIN_BIN=$(realpath "${SWEEP_TRAIN_BIN:-$bin}")
export SWEEP_DATA_DIR=$(realpath "${SWEEP_DATA_DIR:-../shared/datasets}")
out=bench/results/pareto-fashion
mkdir -p "$out"
rm -f "$out"/sweep.db*
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
cmd="$bin start bench/spaces/fashion-mo-command.yaml --foreground --workers 2 --trials $trials --seed $seed --db $out/sweep.db"
echo "\$ $cmd"; s=$(date +%s)
$cmd > "$out/sweep.log"
echo "sweep: $(( $(date +%s) - s )) s"
$bin leaderboard --db "$out/sweep.db" --json > "$out/sweep.json"
for sampler in nsga2 tpe; do
  cmd="python3 bench/peers/optuna_fashion_mo.py $sampler $trials $seed $out/optuna-$sampler.json"
  echo "\$ $cmd"; s=$(date +%s)
  $cmd
  echo "optuna $sampler: $(( $(date +%s) - s )) s"
done
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
runs = {"sweep auto (MOTPE)": [(r["trial"], r["params"], [r["values"]["val_accuracy"], r["values"]["model_bytes"]], r["metrics"].get("test_accuracy"))
                               for r in json.load(open(f"{out}/sweep.json")) if r["state"] == "COMPLETE"]}
for s in ["nsga2", "tpe"]:
    runs[f"optuna {s}"] = [(t["number"], t["params"], t["values"], t["test_accuracy"]) for t in json.load(open(f"{out}/optuna-{s}.json"))["trials"]]
ref = (0.3, 3.0)
def losses(v): return (1 - v[0], v[1] / 1e6)
def front(rows):
    pts = [(losses(r[2]), r) for r in rows]
    return sorted([(l, r) for l, r in pts if not any(m[0] <= l[0] and m[1] <= l[1] and m != l for m, _ in pts)], key=lambda x: x[0][1])
def hv(f):
    area, prev = 0.0, ref[0]
    for (e, b), _ in f:   # by bytes ascending: error descending along the front
        if e < prev and b < ref[1]:
            area += (prev - e) * (ref[1] - b); prev = e
    return area
for name, rows in runs.items():
    f = front(rows)
    print(f"\n{name}: {len(rows)} trials, hypervolume {hv(f):.4f}, front of {len(f)}")
    print(f"  {'trial':>5} {'layers':<9} {'quantize':<8} {'val acc':>8} {'test acc':>8} {'model_bytes':>11}")
    for (e, b), r in f:
        p = r[1]
        layers = "x".join(str(p[k]) for k in ["units0", "units1"] if k in p)
        print(f"  {r[0]:>5} {layers:<9} {p['quantize']:<8} {r[2][0]*100:>7.2f}% {r[3]*100:>7.2f}% {int(r[2][1]):>11,}")
PY
