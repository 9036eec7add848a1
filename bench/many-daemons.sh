#!/usr/bin/env bash
# One study on several daemons sharing one PostgreSQL database, beside Optuna 5 with the same
# number of processes on the same server (psycopg), in one run on a private server started here.
#   [ROUNDS=R] bench/many-daemons.sh [TRIALS] [DAEMON COUNTS] [STORED] [MORE]
#   (default: 1000 "1 2 4 8" "1000 10000" 200; one round)
# Each daemon has its own working directory (its own results folder, socket and logs), as a
# separate host would, and 1 worker; the objective is bench/spaces/trivial-command.yaml (/bin/echo),
# TPE. Also: the time to get the next trial when the study holds 1k and 10k trials (STORED, written
# with SQL), over MORE trials run by K daemons, beside Optuna's one suggestion on the same history.
# Release build (SWEEP_SCRATCH: the build folder, default .build); SWEEP_BIN: a built `sweep` to run
# instead, without building (another commit's, for a before/after pair on one machine).
# Optuna runs twice for each K: its objective returning x in the process (Optuna's least work per
# trial), and running the same command as Sweep's study (subprocess.run of /bin/echo, the JSON line
# read back), as an Optuna user with a command objective would.
# SWEEP_ONLY=1: Sweep's runs without Optuna's (a quick before/after of Sweep alone).
# Each Sweep run also says where the machine's CPU went per trial (`cpu_per_trial`): the daemons,
# their trial processes (/bin/echo), PostgreSQL, the rest, and the idle share. Before every timed
# run (either peer's) the database is settled (`private_postgres_settle`: VACUUM ANALYZE,
# CHECKPOINT), so no run pays for the maintenance the one before it left.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
N="${1:-1000}"
COUNTS="${2:-1 2 4 8}"
STORED="${3:-1000 10000}"
MORE="${4:-200}"
source bench/lib/private-postgres.sh
choose_sweep
python3 -c "import optuna, psycopg" 2>/dev/null || python3 -m pip install -q "optuna==5.0.0" "psycopg[binary]"
bench_daemons_setup
private_postgres_start
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), family $(grep -m1 'cpu family' /proc/cpuinfo | cut -d: -f2 | tr -d ' '), $(nproc) cores; PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}'); load $(uptime | sed 's/.*load average: //')"
export OPENBLAS_NUM_THREADS=1

# Sweep: K daemons, then one study submitted to the first (from its directory) and followed to the end.
run_sweep() {
  local k="$1" round="$2" name="many-$1-$2" host="host-r$2"
  start_daemons "$k" "$host"
  private_postgres_settle
  sleep 1
  local start end before
  before=$(cpu_sample)
  start=$(date +%s.%N)
  (cd "$T/$host-$k-1" && "$SWEEP" start "$ROOT/bench/spaces/trivial-command.yaml" --study "$name" --sampler tpe --trials "$N" \
      --db "$PG_URL" > start.log 2>&1)
  end=$(date +%s.%N)
  local after done_count
  after=$(cpu_sample)
  done_count=$("$SWEEP" status "$name" --json --db "$PG_URL" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["trials"].get("COMPLETE", 0))')
  echo "sweep tpe, $k daemons: $done_count trials in $(python3 -c "print(f'{$end-$start:.2f} s, {$done_count/($end-$start):.1f} trials/s')")"
  cpu_per_trial "$before" "$after" "$done_count" "$(python3 -c "print($end-$start)")"
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  PIDS=()
  # Each daemon's time to get its next trial (the leader: propose into the queue + claim; the
  # others: claim), median over the run, from the line its log writes when the study's run ends.
  for i in $(seq 1 "$k"); do
    grep -h "study run ended" "$T/$host-$k-$i"/results/logs/*.log 2>/dev/null | grep -o "next_trial_ms_median=[0-9.]* next_trial_ms_p90=[0-9.]*.*trials_started=[0-9]*" \
      | sed "s/^/  daemon $i: /" || true
  done
}

# Sweep's next-trial time on a study holding H trials: a 1-trial run makes the study, SQL adds
# H - 1 COMPLETE trials (random parameters, value = x, as Optuna's peer below), then K daemons run
# MORE trials on (`sweep resume`); each daemon's median time to get its next trial, from its log.
latency_sweep() {
  local k="$1" h="$2" name="stored-$2-$1"
  start_daemons "$k" "lat-$h"
  sleep 1
  (cd "$T/lat-$h-$k-1" && "$SWEEP" start "$ROOT/bench/spaces/trivial-command.yaml" --study "$name" --sampler tpe --trials 1 \
      --db "$PG_URL" > start.log 2>&1)
  "${PG_AS[@]}" "$PG_BIN/psql" -h "$PG_DIR" -p "$PG_PORT" -U postgres -q -v ON_ERROR_STOP=1 sweep > /dev/null <<SQL
BEGIN;
CREATE TEMP TABLE s AS SELECT s.study_id, t.trial_id AS first FROM studies s JOIN trials t ON t.study_id = s.study_id AND t.number = 0
  WHERE s.study_name = '$name';
INSERT INTO trials (number, study_id, state, datetime_start, datetime_complete)
  SELECT g, s.study_id, 'COMPLETE', LOCALTIMESTAMP, LOCALTIMESTAMP FROM s, generate_series(1, $h - 1) g;
INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json)
  SELECT t.trial_id, p.param_name, CASE WHEN p.param_name LIKE '%kind' THEN floor(random() * 3)
      WHEN p.param_name LIKE '%x' THEN random() * 20 - 10 WHEN p.param_name LIKE '%y' THEN exp(ln(1e-4) + random() * ln(1e4))
      ELSE floor(random() * 64) + 1 END, p.distribution_json
  FROM s JOIN trials t ON t.study_id = s.study_id AND t.number > 0 JOIN trial_params p ON p.trial_id = s.first;
INSERT INTO trial_values (trial_id, objective, value, value_type)
  SELECT t.trial_id, 0, p.param_value, 'FINITE' FROM s JOIN trials t ON t.study_id = s.study_id AND t.number > 0
  JOIN trial_params p ON p.trial_id = t.trial_id AND p.param_name LIKE '%x';
UPDATE sweep_studies SET trials_total = $h + $MORE, status = 'stopped' FROM s WHERE sweep_studies.study_id = s.study_id;
COMMIT;
SQL
  local start end
  start=$(date +%s.%N)
  (cd "$T/lat-$h-$k-1" && "$SWEEP" resume "$name" --db "$PG_URL" > resume.log 2>&1) || { echo "sweep resume failed:"; tail -n 5 "$T/lat-$h-$k-1/resume.log"; }
  end=$(date +%s.%N)
  echo "sweep tpe, $k daemons, $h trials stored: $MORE more in $(python3 -c "print(f'{$end-$start:.2f} s')")"
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  PIDS=()
  for i in $(seq 1 "$k"); do
    grep -h "study run ended" "$T/lat-$h-$k-$i"/results/logs/*.log 2>/dev/null | grep "$name" | tail -n 1 \
      | grep -o "next_trial_ms_median=[0-9.]* next_trial_ms_p90=[0-9.]*.*trials_started=[0-9]*" | sed "s/^/  daemon $i: /" || true
  done
}

# ROUNDS > 1: each K runs that many rounds of Sweep, Optuna in the process and Optuna running the
# command, one after the other (so a host that slows down or speeds up meets both peers alike),
# then a line with each peer's median trials/s and the ratios of the medians.
rate() { grep -m1 -o "[0-9.]* trials/s" <<< "$1" | cut -d' ' -f1; }
median() { python3 -c "import statistics, sys; print(statistics.median(map(float, sys.argv[1:])))" "$@"; }
for k in $COUNTS; do
  sweep_rates=(); optuna_rates=(); command_rates=()
  for round in $(seq 1 "${ROUNDS:-1}"); do
    out=$(run_sweep "$k" "$round"); echo "$out"; sweep_rates+=("$(rate "$out")")
    [ "${SWEEP_ONLY:-0}" = 1 ] && continue
    private_postgres_settle
    out=$(python3 bench/peers/optuna_many.py throughput "$k" "$N" "$PG_SQLA" tpe); echo "$out"; optuna_rates+=("$(rate "$out")")
    private_postgres_settle
    out=$(python3 bench/peers/optuna_many.py throughput "$k" "$N" "$PG_SQLA" tpe command); echo "$out"; command_rates+=("$(rate "$out")")
  done
  if [ "${ROUNDS:-1}" -gt 1 ] && [ "${SWEEP_ONLY:-0}" != 1 ]; then
    python3 - "$k" "$(median "${sweep_rates[@]}")" "$(median "${optuna_rates[@]}")" "$(median "${command_rates[@]}")" "${sweep_rates[*]}" \
        "${optuna_rates[*]}" "${command_rates[*]}" <<'PY'
import sys
k, s, o, c = sys.argv[1], *map(float, sys.argv[2:5])
print(f"K = {k}, medians over {len(sys.argv[5].split())} rounds: Sweep {s:.1f}, Optuna in the process {o:.1f} ({s / o:.1f}x), "
      f"Optuna the command {c:.1f} ({s / c:.1f}x) trials/s; rounds: Sweep {sys.argv[5]}; Optuna {sys.argv[6]}; command {sys.argv[7]}")
PY
  fi
done
for h in $STORED; do
  for k in $COUNTS; do latency_sweep "$k" "$h"; done
done
for h in $STORED; do
  [ "${SWEEP_ONLY:-0}" = 1 ] && break
  python3 bench/peers/optuna_many.py latency "$(echo $COUNTS | tr ' ' ,)" "$h" "$PG_SQLA" tpe
done
