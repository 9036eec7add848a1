#!/usr/bin/env bash
# The two waits around a study shared by several daemons on one PostgreSQL, measured directly:
#   bench/study-latency.sh [DAEMONS] [RUNS] [TRIALS]   (default 4 5 20)
# K daemons (`sweep serve --workers 1`, each in its own working directory, as hosts), then RUNS
# studies of TRIALS trials of bench/spaces/trivial-command.yaml submitted one after the other to
# the first with `sweep start` (following each to its end). Per study:
# - join: each other daemon's delay from the first daemon's "study started" log line to its own
#   "runs the study" line (both clocks are this machine's);
# - follower: from the last trial's completion (the latest `datetime_complete`, the server's
#   clock, this machine) to `sweep start`'s exit: the leader's end of the study plus the follower's
#   own delay, what a user waits after the last result.
# Release build (SWEEP_SCRATCH, default .build); SWEEP_BIN: a built `sweep` to run instead.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
K="${1:-4}"
RUNS="${2:-5}"
N="${3:-20}"
source bench/lib/private-postgres.sh
choose_sweep
bench_daemons_setup
private_postgres_start
echo "CPU: $(lscpu | grep 'Model name' | cut -d: -f2 | sed 's/^ *//'), $(nproc) cores; PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}'); load $(uptime | sed 's/.*load average: //')"
start_daemons "$K"
sleep 2
for r in $(seq 1 "$RUNS"); do
  name="latency-$r"
  (cd "$T/host-$K-1" && "$SWEEP" start "$ROOT/bench/spaces/trivial-command.yaml" --study "$name" --sampler random --trials "$N" \
      --db "$PG_URL" > "start-$r.log" 2>&1)
  returned=$(date +%s.%N)
  last=$("${PG_AS[@]}" "$PG_BIN/psql" -h "$PG_DIR" -p "$PG_PORT" -U postgres -X -q -A -t sweep -c \
      "SELECT extract(epoch FROM max(t.datetime_complete)) FROM trials t JOIN studies s ON s.study_id = t.study_id WHERE s.study_name = '$name'")
  python3 - "$T" "$K" "$name" "$returned" "$last" <<'PY'
import datetime, glob, sys
folder, k, name, returned, last = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), float(sys.argv[5])
def when(i, message):
    for path in glob.glob(f"{folder}/host-{k}-{i}/results/logs/*.daemon.log"):
        for line in open(path):
            if message in line and (line.rstrip().endswith(f" study={name}") or f" study={name} " in line):
                return datetime.datetime.strptime(line.split()[0], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()
started = when(1, "study started")
joins = [when(i, "runs the study") for i in range(2, k + 1)]
shown = ", ".join("never" if j is None else f"{(j - started) * 1000:.0f}" for j in joins)
print(f"{name}: others joined after [{shown}] ms; sweep start returned {(returned - last) * 1000:.0f} ms after the last trial ended")
PY
done
