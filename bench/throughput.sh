#!/usr/bin/env bash
# End-to-end throughput with a trivial command objective (bench/spaces/trivial-command.yaml):
# Sweep with 2 workers (random and TPE) against Optuna 5 on an SQLite file in the same run, and
# the store's own cost per trial (sweep-bench storage). Release build.
#   bench/throughput.sh [TRIALS]        (default 1000)
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-1000}"
swift build -c release --product sweep 2>&1 | tail -n 1
swift build -c release --product sweep-bench 2>&1 | tail -n 1
python3 -c "import optuna" 2>/dev/null || python3 -m pip install -q "optuna==5.0.0"
T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT
export OPENBLAS_NUM_THREADS=1
for s in random tpe; do
  start=$(date +%s.%N)
  .build/release/sweep start --foreground bench/spaces/trivial-command.yaml --sampler "$s" --trials "$N" --workers 2 \
      --db "$T/sweep-$s.db" > "$T/out-$s.txt"
  end=$(date +%s.%N)
  echo "sweep $s (2 workers): $N trials in $(python3 -c "print(f'{$end-$start:.2f} s, {$N/($end-$start):.1f} trials/s')") (whole command)"
  grep " trials finished in " "$T/out-$s.txt" | sed "s/^/  sweep $s: /"
done
# The same random search submitted to a daemon (started by `sweep start`) and followed to the end.
start=$(date +%s.%N)
.build/release/sweep start bench/spaces/trivial-command.yaml --sampler random --trials "$N" --workers 2 --db "$T/daemon.db" > "$T/out-daemon.txt"
end=$(date +%s.%N)
echo "sweep random through the daemon (2 workers): $N trials in $(python3 -c "print(f'{$end-$start:.2f} s, {$N/($end-$start):.1f} trials/s')") (submit, run, follow)"
.build/release/sweep shutdown --db "$T/daemon.db" > /dev/null
for s in random tpe; do
  python3 bench/peers/optuna_throughput.py "$s" "$N" "$T/optuna-$s.db"
done
.build/release/sweep-bench storage --trials 2000
