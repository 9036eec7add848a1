# A private PostgreSQL server for a benchmark script (source this file): initdb into a temporary
# folder (as the `postgres` user when run as root), a free port on 127.0.0.1, password auth over
# TCP, database `sweep` owned by user `sweep`. After `private_postgres_start`:
#   $PG_URL   postgresql://sweep:PASSWORD@127.0.0.1:PORT/sweep   (Sweep's --db)
#   $PG_SQLA  postgresql+psycopg://sweep:PASSWORD@127.0.0.1:PORT/sweep   (Optuna's storage)
# `private_postgres_restart` restarts the server; `private_postgres_stop` stops it and removes the
# folder (the caller's EXIT trap should call it). `PG_SERVER_OPTIONS`, when set before the start:
# more server options (e.g. `-c shared_preload_libraries=pg_stat_statements`).
private_postgres_start() {
  local bin
  bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  [ -x "$bin/initdb" ] || { echo "PostgreSQL's server programs are missing (apt-get install postgresql)" >&2; return 1; }
  PG_BIN="$bin"
  PG_DIR="$(mktemp -d /tmp/sweep-bench-pg-XXXXXX)"
  PG_AS=()
  if [ "$(id -u)" = 0 ]; then chown postgres "$PG_DIR"; PG_AS=(runuser -u postgres --); fi
  PG_PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  local pw="bench-$RANDOM$RANDOM"
  "${PG_AS[@]}" "$bin/initdb" -D "$PG_DIR/data" -U postgres -E UTF8 --no-sync --auth-local=trust --auth-host=scram-sha-256 > "$PG_DIR/initdb.log"
  "${PG_AS[@]}" "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w \
      -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off ${PG_SERVER_OPTIONS:-}" start > /dev/null
  "${PG_AS[@]}" "$bin/psql" -h "$PG_DIR" -p "$PG_PORT" -U postgres -q -c "CREATE USER sweep PASSWORD '$pw'" -c "CREATE DATABASE sweep OWNER sweep" postgres
  PG_URL="postgresql://sweep:$pw@127.0.0.1:$PG_PORT/sweep"
  PG_SQLA="postgresql+psycopg://sweep:$pw@127.0.0.1:$PG_PORT/sweep"
}

# Settles the database before a timed run: VACUUM ANALYZE (what autovacuum would otherwise do
# during the next run, for the writes of the one before, on whichever peer runs then) and a
# CHECKPOINT (dirty buffers written now, not in the next run's window).
private_postgres_settle() {
  (cd / && "${PG_AS[@]}" "$PG_BIN/psql" -h "$PG_DIR" -p "$PG_PORT" -U postgres -X -q -c "VACUUM ANALYZE" -c "CHECKPOINT" sweep)
}

private_postgres_restart() {
  "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -w -m fast restart \
      -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off ${PG_SERVER_OPTIONS:-}" > /dev/null
}

private_postgres_stop() {
  [ -n "${PG_DIR:-}" ] || return 0
  "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -w -m immediate stop > /dev/null 2>&1 || true
  rm -rf "$PG_DIR"
  PG_DIR=""
}

# SWEEP: the `sweep` a script runs: $SWEEP_BIN made absolute (the daemons run in folders of their
# own), else a release build in $SWEEP_SCRATCH (default .build), built now; products named as
# arguments (e.g. sweep-bench) are built beside it. Called from the repository's root.
choose_sweep() {
  if [ -n "${SWEEP_BIN:-}" ]; then
    SWEEP="$(realpath "$SWEEP_BIN")"
    return
  fi
  local p
  for p in sweep "$@"; do
    swift build -c release --product "$p" --scratch-path "${SWEEP_SCRATCH:-.build}" 2>&1 | tail -n 1
  done
  SWEEP="$PWD/${SWEEP_SCRATCH:-.build}/release/sweep"
}

# For scripts that start daemons on the server: a temporary folder $T, the daemons' pids in
# PIDS (`start_daemons`), and an EXIT trap that stops them, the server and removes $T.
bench_daemons_setup() {
  T="$(mktemp -d)"
  PIDS=()
  trap bench_daemons_cleanup EXIT
}
bench_daemons_cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  private_postgres_stop
  rm -rf "$T"
}

# K daemons (`sweep serve --db $PG_URL --workers 1`, binary $SWEEP), each in $T/PREFIX-K-I
# (PREFIX: the second argument, default host); their pids replace PIDS.
start_daemons() {
  local k="$1" prefix="${2:-host}"
  PIDS=()
  for i in $(seq 1 "$k"); do
    mkdir -p "$T/$prefix-$k-$i"
    (cd "$T/$prefix-$k-$i" && exec "$SWEEP" serve --db "$PG_URL" --workers 1 > serve.log 2>&1) &
    PIDS+=("$!")
  done
}

# Where the CPU went, from /proc (clock ticks): `cpu_sample` prints "busy daemons trials postgres"
# (the machine's busy time; the daemons' own, PIDS; their trial processes', the children they
# reaped; the server's: the postmaster, the backends it reaped and those alive). `cpu_per_trial
# BEFORE AFTER N SECONDS` prints them in ms per trial, with the rest (the CLI, the kernel's
# threads) and the machine's idle share over SECONDS.
cpu_sample() {
  python3 - "$(head -n 1 "$PG_DIR/data/postmaster.pid")" "${PIDS[@]}" <<'PY'
import os, sys
def stat(pid):
    try:
        with open(f"/proc/{pid}/stat") as f: s = f.read()
    except OSError: return None
    return s[s.rindex(")") + 2:].split()
def ticks(pid, first, last):
    v = stat(pid)
    return sum(int(x) for x in v[first:last]) if v else 0
pm, daemons = sys.argv[1], sys.argv[2:]
with open("/proc/stat") as f: cpu = [int(x) for x in f.readline().split()[1:]]
busy = sum(cpu) - cpu[3] - cpu[4]
own = sum(ticks(p, 11, 13) for p in daemons)          # utime stime
trials = sum(ticks(p, 13, 15) for p in daemons)       # cutime cstime
backends = [p for p in os.listdir("/proc") if p.isdigit() and (stat(p) or ["", ""])[1] == pm]
pg = ticks(pm, 11, 15) + sum(ticks(p, 11, 13) for p in backends)
print(busy, own, trials, pg)
PY
}
cpu_per_trial() {
  python3 - "$1" "$2" "$3" "$4" "$(getconf CLK_TCK)" "$(nproc)" <<'PY'
import sys
b, a, n, seconds, tick, cores = sys.argv[1].split(), sys.argv[2].split(), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
busy, own, trials, pg = [(int(y) - int(x)) * 1000 / tick / n for x, y in zip(b, a)]
idle = 1 - busy * n / 1000 / (cores * seconds)
print(f"  CPU per trial: daemons {own:.2f} ms, their trial processes {trials:.2f} ms, PostgreSQL {pg:.2f} ms, "
      f"the rest {busy - own - trials - pg:.2f} ms; the machine {busy:.2f} ms busy, {100 * idle:.0f}% idle")
PY
}
