#!/usr/bin/env bash
# Records the tabular landscapes of bench/landscapes: every configuration of each study file's
# grid trained once with Sweep's engine (its seed, its epochs, one BLAS thread), written to
# bench/landscapes/NAME.json. Tuned on: digits-mlp, wine-mlp. Held out: digits-cnn, fashion-mlp.
# Several objectives (sweep-bench pareto --landscapes): digits-mlp-mo (tuned on), fashion-mlp-mo
# (held out).
#
#   bench/landscapes/record.sh [NAME ...]     (default: all four)
#
# Runs ${SWEEP_BENCH:-.build/release/sweep-bench}; Fashion-MNIST is read from
# ${SWEEP_DATA_DIR:-../shared/datasets}.
set -euo pipefail
cd "$(dirname "$0")/../.."
bench="${SWEEP_BENCH:-.build/release/sweep-bench}"
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(digits-mlp wine-mlp digits-cnn fashion-mlp)
for n in "${names[@]}"; do
  start=$(date +%s)
  OPENBLAS_NUM_THREADS=1 "$bench" record-landscape "bench/landscapes/$n.yaml" --out "bench/landscapes/$n.json" \
    --data-dir "${SWEEP_DATA_DIR:-../shared/datasets}"
  echo "$n: $(( $(date +%s) - start )) s"
done
