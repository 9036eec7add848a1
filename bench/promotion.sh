#!/usr/bin/env bash
# Compute to reach a validation accuracy with pausing schedulers (issue 21): the same Fashion-MNIST
# MLP search (a 6000-image training subset, 16 trials of up to 9 epochs, random sampler, one
# worker so the order of epochs is the run's) under no scheduler, ASHA stopping, ASHA promoting
# and PBT, for seeds 0-2. The figure is the number of epochs trained (reports, in the order they
# were stored) until some trial first reports val_accuracy >= TARGET, the study's best value, and
# the best value within the first EQUAL epochs trained (equal compute for every scheduler).
#   bench/promotion.sh [TARGET] [SEEDS]      (defaults 0.84, "0 1 2")       Release build.
#   MODEL=cnn: a small CNN (conv 3x3 of 8-32 filters, 2x2 max pool, dense 32-128) instead of the MLP.
#   EQUAL=N: the epoch count of the equal-compute column (default 32).
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET="${1:-0.84}"
SEEDS="${2:-0 1 2}"
SWEEP="${SWEEP_BIN:-$PWD/.build/release/sweep}"
DATA="${SWEEP_TEST_DATA:-/work/shared/datasets}"
T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "load before: $(uptime | sed 's/.*load average: //')"
MODEL="${MODEL:-mlp}"
EQUAL="${EQUAL:-32}"
echo "model: $MODEL"
model_yaml() {
  if [ "$MODEL" = cnn ]; then
    cat <<'YAML'
model:
  layers:
    - {type: conv2d, filters: {int: [8, 32], log: true}, kernel: 3}
    - {type: maxpool2d, size: 2}
    - {type: dense, units: {int: [32, 128], log: true}}
YAML
  else
    cat <<'YAML'
model:
  layers:
    - {type: dense, units: {int: [32, 256], log: true}, activation: relu}
YAML
  fi
}
space() {   # name seed scheduler
  cat > "$T/$1-$2.yaml" <<YAML
name: $1-$2
seed: $2
dataset: {name: fashion-mnist, scaling: unit, validation: 0.1, limit: 6000}
objective: {metric: val_accuracy, direction: maximize}
budget: {trials: 16, max_epochs: 9}
sampler: random
scheduler: $3
$(model_yaml)
training:
  batch_size: 64
  optimizer: adam
  learning_rate: {float: [1.0e-4, 3.0e-2], log: true}
YAML
}
printf "%-14s %4s %8s %8s %8s %8s\n" scheduler seed epochs_to total best "best@$EQUAL"
for seed in $SEEDS; do
  for s in "none|none" "asha-stop|{name: asha, mode: stop, reduction_factor: 3}" \
           "asha-promote|{name: asha, mode: promote, reduction_factor: 3}" \
           "pbt|{name: pbt, interval: 3, quantile: 0.25, min_population: 4}"; do
    name="${s%%|*}"; sched="${s#*|}"
    space "$name" "$seed" "$sched"
    "$SWEEP" start --foreground "$T/$name-$seed.yaml" --workers 1 --data-dir "$DATA" --db "$T/$name-$seed.db" > /dev/null
    python3 - "$T/$name-$seed.db" "$TARGET" "$name" "$seed" "$EQUAL" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1]); target = float(sys.argv[2]); equal = int(sys.argv[5])
vals = [v for (v,) in c.execute("SELECT intermediate_value FROM trial_intermediate_values ORDER BY trial_intermediate_value_id")]
hit = next((i + 1 for i, v in enumerate(vals) if v is not None and v >= target), None)
best = lambda vs: max(v for v in vs if v is not None)
print("%-14s %4s %8s %8d %8.4f %8.4f" % (sys.argv[3], sys.argv[4], hit if hit else "never", len(vals), best(vals), best(vals[:equal])))
PY
  done
done
echo "load after: $(uptime | sed 's/.*load average: //')"
