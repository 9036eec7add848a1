#!/usr/bin/env bash
# Where a shared run's time per trial goes, on a private PostgreSQL server with pg_stat_statements:
#   bench/shared-breakdown.sh [TRIALS] [DAEMON COUNTS]   (default: 300 "1 4")
# 1. `sweep-bench storage --db URL --shared`: the client's milliseconds per store call of a
#    shared trial (create WAITING, claim, worker pid, finish, change read), one client, no reports.
# 2. K daemons (1 worker each, a working directory each) run TRIALS trials of
#    bench/spaces/trivial-command.yaml with TPE, as bench/many-daemons.sh does; then per trial:
#    transactions committed (pg_stat_database.xact_commit), statements by kind (pg_stat_statements:
#    calls per trial, server milliseconds per call), and each daemon's trials and next-trial time.
# Release build (SWEEP_SCRATCH: the build folder, default .build); SWEEP_BIN: a built `sweep` to run
# instead, without building (step 1 then needs SWEEP_BENCH_BIN, a `sweep-bench` with --shared, or is left out).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
N="${1:-300}"
COUNTS="${2:-1 4}"
source bench/lib/private-postgres.sh
choose_sweep sweep-bench
if [ -n "${SWEEP_BIN:-}" ]; then BENCH="${SWEEP_BENCH_BIN:-}"; else BENCH="$PWD/${SWEEP_SCRATCH:-.build}/release/sweep-bench"; fi
bench_daemons_setup
PG_SERVER_OPTIONS="-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all"
private_postgres_start
psql_su() { "${PG_AS[@]}" "$PG_BIN/psql" -h "$PG_DIR" -p "$PG_PORT" -U postgres -X -q -v ON_ERROR_STOP=1 "$@" sweep; }
psql_su -c "CREATE EXTENSION pg_stat_statements"
echo "CPU: $(lscpu | grep 'Model name' | cut -d: -f2 | sed 's/^ *//'), $(nproc) cores; load: $(uptime | sed 's/.*load average: //'); PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}')"
export OPENBLAS_NUM_THREADS=1

if [ -n "$BENCH" ]; then
  "$BENCH" storage --db "$PG_URL" --shared --trials 500 --reports 0
  "$BENCH" storage --db "$PG_URL" --shared --trials 200 --reports 10
fi

for k in $COUNTS; do
  start_daemons "$k"
  sleep 2
  psql_su -c "SELECT pg_stat_statements_reset()" -c "SELECT pg_stat_reset()" > /dev/null
  start=$(date +%s.%N)
  (cd "$T/host-$k-1" && "$SWEEP" start "$ROOT/bench/spaces/trivial-command.yaml" --study "breakdown-$k" --sampler tpe --trials "$N" \
      --db "$PG_URL" > start.log 2>&1)
  end=$(date +%s.%N)
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  PIDS=()
  sleep 1
  echo "== $k daemons: $N trials in $(python3 -c "print(f'{$end-$start:.2f} s, {$N/($end-$start):.1f} trials/s')")"
  psql_su -A -F ' ' -t -c "SELECT 'transactions per trial: ' || round(xact_commit / $N.0, 1) || ' committed, ' || round(xact_rollback / $N.0, 2) || ' rolled back'
      FROM pg_stat_database WHERE datname = 'sweep'"
  psql_su -A -F ' | ' -c "SELECT round(sum(calls) / $N.0, 1) AS statements_per_trial, round(sum(total_exec_time)::numeric / $N, 3) AS server_ms_per_trial
      FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'sweep')"
  psql_su -A -F ' | ' -c "SELECT round(calls / $N.0, 2) AS per_trial, round(mean_exec_time::numeric, 3) AS ms, regexp_replace(left(query, 110), '\s+', ' ', 'g') AS statement
      FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'sweep') ORDER BY calls DESC, query LIMIT 30"
  for i in $(seq 1 "$k"); do
    grep -h "study run ended" "$T/host-$k-$i"/results/logs/*.log 2>/dev/null | grep -o "next_trial_ms_median=[0-9.]* next_trial_ms_p90=[0-9.]*.*trials_started=[0-9]*" \
      | sed "s/^/  daemon $i: /" || true
  done
done
