#!/usr/bin/env bash
# The sampler benchmark: Sweep's samplers against Optuna 5's on the seven test functions of
# ../shared/bench/functions.json, 100 sequential trials x seeds 0..9, medians over seeds.
#
#   bench/samplers.sh            full run (Optuna TPE + random, then every sweep-bench sampler)
#   bench/samplers.sh --quick    3 seeds, 3 functions: a fast check
#
# Builds nothing: it runs ${SWEEP_BENCH:-.build/release/sweep-bench}
# (swift build -c release --product sweep-bench). Installs Optuna 5 with pip when missing.
# Results (hpo-bench-results/1 JSON) go to bench/results/, which git ignores.
set -euo pipefail
cd "$(dirname "$0")/.."

seeds=10
functions=branin,hartmann3,hartmann6,rosenbrock5,levy10,ackley5,styblinski_tang8
case "${1:-}" in
  "") ;;
  --quick) seeds=3; functions=branin,hartmann6,rosenbrock5 ;;
  -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "usage: bench/samplers.sh [--quick]" >&2; exit 2 ;;
esac
trials=100

bench="${SWEEP_BENCH:-.build/release/sweep-bench}"
if [ ! -x "$bench" ]; then
  echo "error: $bench not found; build it with: swift build -c release --product sweep-bench" >&2
  exit 2
fi
if ! python3 -c 'import optuna, sys; sys.exit(optuna.__version__.split(".")[0] != "5")' 2>/dev/null; then
  python3 -m pip install -q "optuna>=5,<6"
fi

results=bench/results
mkdir -p "$results"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
optuna_json="$results/samplers-optuna-$stamp.json"
sweep_json="$results/samplers-sweep-$stamp.json"

echo "== Optuna (TPE default = multivariate, random): $trials trials x $seeds seeds"
python3 bench/peers/optuna_samplers.py --functions "$functions" --seeds "$seeds" --trials "$trials" \
  --out "$optuna_json"

echo
echo "== sweep-bench samplers: $trials trials x $seeds seeds"
"$bench" samplers --functions "$functions" --seeds "$seeds" --trials "$trials" --out "$sweep_json"

echo
echo "== Side by side"
python3 bench/compare_samplers.py "$sweep_json" "$optuna_json"
echo
echo "results: $sweep_json $optuna_json"
