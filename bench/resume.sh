#!/usr/bin/env bash
# Work saved by resuming trials from checkpoints (issue 21): a study of 16 command trials of 12
# epochs each (0.25 s an epoch, a checkpoint after each, resumed through SWEEP_CHECKPOINT_DIR and
# the `resumed_from_epoch` line) runs once uninterrupted and once with its daemon killed with
# SIGKILL 10 times (a new daemon started each time). Every epoch begun and every epoch finished
# appends a line to a log, so the totals are exact (an epoch cut short by a kill is begun, not
# finished): the target is at most 5% more epochs begun than the uninterrupted run.
#   bench/resume.sh [KILLS]        (default 10)       Release build.
set -euo pipefail
cd "$(dirname "$0")/.."
KILLS="${1:-10}"
swift build -c release --product sweep 2>&1 | tail -n 1
SWEEP="$PWD/.build/release/sweep"
T="$(mktemp -d)"
trap 'for db in "$T"/*.db; do "$SWEEP" shutdown --db "$db" >/dev/null 2>&1 || true; done; rm -rf "$T"' EXIT
cat > "$T/train.py" <<'PY'
import json, os, sys, time
p = json.load(sys.stdin)
ckpt = os.path.join(os.environ["SWEEP_CHECKPOINT_DIR"], "state.json")
state = {"epoch": 0, "history": []}
if os.path.exists(ckpt):
    with open(ckpt) as f:
        state = json.load(f)
    print(json.dumps({"resumed_from_epoch": state["epoch"]}), flush=True)
    for e, v in enumerate(state["history"], 1):
        print(json.dumps({"step": e, "value": v}), flush=True)
for e in range(state["epoch"] + 1, 13):
    with open(os.environ["EPOCH_LOG"], "a") as log:    # every epoch begun, by any attempt
        log.write(f"begin {os.environ['SWEEP_TRIAL_NUMBER']} {e} {os.environ['SWEEP_ATTEMPT']}\n")
    time.sleep(0.25)                                   # one epoch of "training"
    v = (p["x"] - 0.3) ** 2 + 1.0 / e
    with open(os.environ["EPOCH_LOG"], "a") as log:    # every epoch trained to its end
        log.write(f"end {os.environ['SWEEP_TRIAL_NUMBER']} {e} {os.environ['SWEEP_ATTEMPT']}\n")
    state = {"epoch": e, "history": state["history"] + [v]}
    os.makedirs(os.path.dirname(ckpt), exist_ok=True)
    with open(ckpt + ".tmp", "w") as f:
        json.dump(state, f)
    os.replace(ckpt + ".tmp", ckpt)
    print(json.dumps({"step": e, "value": v}), flush=True)
print(json.dumps({"value": state["history"][-1]}))
PY
space() {
  cat > "$T/$1.yaml" <<YAML
name: $1
seed: 1
objective: {metric: loss, direction: minimize}
budget: {trials: 16, max_epochs: 12}
sampler: random
command: [python3, $T/train.py]
env_keep: [EPOCH_LOG]
params:
  x: {float: [0.0, 1.0]}
YAML
}
epochs() { grep -c "^$2 " "$1"; }

space calm
EPOCH_LOG="$T/calm.log" "$SWEEP" start "$T/calm.yaml" --foreground --workers 2 --db "$T/calm.db" > /dev/null
base=$(epochs "$T/calm.log" begin)

space killed
export EPOCH_LOG="$T/killed.log"
"$SWEEP" start "$T/killed.yaml" --detach --workers 2 --db "$T/killed.db" > /dev/null
lock="$T/killed.daemon.lock"
for i in $(seq 1 "$KILLS"); do
  sleep "$(python3 -c "import random; random.seed($i); print(round(random.uniform(1.0, 2.5), 2))")"
  pid=$(cat "$lock" 2>/dev/null || true)
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  sleep 0.3
  (cd "$T" && setsid -f "$SWEEP" serve --db "$T/killed.db" --workers 2 --idle-timeout 5 > /dev/null 2>&1)
  sleep 0.5
done
for _ in $(seq 1 240); do
  st=$("$SWEEP" status killed --db "$T/killed.db" --json | python3 -c "import json,sys; s = json.load(sys.stdin); print((s[0] if isinstance(s, list) else s)['state'])")
  [ "$st" = finished ] && break
  sleep 0.5
done
"$SWEEP" status killed --db "$T/killed.db" --json | python3 -c "
import json, sys
s = json.load(sys.stdin)
s = s[0] if isinstance(s, list) else s
assert s['state'] == 'finished' and s['trials'] == {'COMPLETE': 16}, s
"
killed=$(epochs "$T/killed.log" begin)
finished=$(epochs "$T/killed.log" end)
resumed=$(python3 - "$T/killed.db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
print(c.execute("select count(*) from trial_system_attributes where key = 'sweep:resumed_from_epoch'").fetchone()[0])
PY
)
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs) (family $(grep -m1 'cpu family' /proc/cpuinfo | cut -d: -f2 | xargs))"
echo "uninterrupted: $base epochs trained for 16 trials x 12 epochs"
echo "daemon killed $KILLS times: $killed epochs begun ($(python3 -c "print(f'{100*($killed-$base)/$base:+.1f}%')") vs uninterrupted), $finished finished; trials that resumed from a checkpoint at their last attempt: $resumed"
