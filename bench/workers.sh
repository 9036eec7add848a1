#!/usr/bin/env bash
# Training trials per hour with 1 and with 2 workers (release build): the same 8 fixed-size
# Fashion-MNIST MLP trials (bench/spaces/workers-mlp.yaml, 2 epochs each, random sampler) run
# with --workers 1 and then --workers 2; prints trials per hour and the ratio.
#   bench/workers.sh [DATA_DIR]   (default ../shared/datasets)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${1:-../shared/datasets}"
swift build -c release --product sweep 2>&1 | tail -n 1
T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT
declare -A rate
for w in 1 2; do
  start=$(date +%s.%N)
  .build/release/sweep start --foreground bench/spaces/workers-mlp.yaml --workers "$w" --data-dir "$DATA" --db "$T/w$w.db" > "$T/out$w.txt"
  end=$(date +%s.%N)
  rate[$w]=$(python3 -c "print(8 * 3600 / ($end - $start))")
  python3 -c "print(f'workers $w: 8 trials in {$end - $start:.1f} s, {${rate[$w]}:.0f} trials per hour')"
done
python3 -c "print(f'2 workers / 1 worker: {${rate[2]} / ${rate[1]}:.2f}x')"
