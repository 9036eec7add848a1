#!/usr/bin/env bash
# The real-landscape sampler benchmark: Sweep's samplers beside Optuna 5's (TPE default, GP,
# random) in one `sweep-bench samplers` run per set, 100 sequential trials, seeds 0..4.
#
#   bench/landscapes/bench.sh             held-out landscapes (digits-cnn, fashion-mlp), then the tuning ones
#   bench/landscapes/bench.sh --tuning    the tuning landscapes only (digits-mlp, wine-mlp), seeds 100..109
#
# Runs ${SWEEP_BENCH:-.build/release/sweep-bench}; results (hpo-bench-results/1) go to bench/results/.
set -euo pipefail
cd "$(dirname "$0")/../.."
bench="${SWEEP_BENCH:-.build/release/sweep-bench}"
mkdir -p bench/results
stamp=$(date -u +%Y%m%dT%H%M%SZ)
run() {  # name, landscapes, seeds, first seed
  echo "== $1: $2, $3 seeds from $4"
  OPENBLAS_NUM_THREADS=1 "$bench" samplers --landscapes "$2" --samplers auto,tpe,gp,random --optuna tpe,gp,random \
    --seeds "$3" --first-seed "$4" --trials 100 --no-cost --out "bench/results/landscapes-$1-$stamp.json"
}
L=bench/landscapes
if [ "${1:-}" != "--tuning" ]; then
  run held-out "$L/digits-cnn.json,$L/fashion-mlp.json" 5 0
fi
run tuning "$L/digits-mlp.json,$L/wine-mlp.json" 10 100
