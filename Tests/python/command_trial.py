"""A user-command trial for the end-to-end tests: reads its parameters as JSON on stdin, checks
that SWEEP_PARAMS and the {name} placeholders agree, and then behaves as its mode says: the
comma-separated list SWEEP_TEST_MODES, indexed by the trial number.

modes: ok (reports `steps` values of x * step / steps, then the final value), crash (exit 3),
segv (dies of SIGSEGV), hang (sleeps past any timeout), garbage (prints a non-protocol line),
nan (final value NaN, the way json.dumps writes it), memory (allocates far more than the limit),
slow (like ok, but sleeps between steps so early stopping can act), linger (like slow, and takes a
second to exit after SIGTERM), sleep (like ok, with short sleeps of a length fixed by the trial
number). The final value is exactly x.
"""
import json
import os
import signal
import sys
import time

params = json.load(sys.stdin)
assert params == json.loads(os.environ["SWEEP_PARAMS"]), "stdin and SWEEP_PARAMS differ"
args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
trial = int(os.environ["SWEEP_TRIAL_NUMBER"])
modes = os.environ.get("SWEEP_TEST_MODES", "ok").split(",")
mode = modes[trial % len(modes)]
x = float(params.get("x", 0.5))
assert "--x" not in args or float(args["--x"]) == x, f"placeholder {args} vs {params}"
steps = int(os.environ.get("SWEEP_MAX_EPOCHS", "3"))

print(f"trial {os.environ['SWEEP_TRIAL_NUMBER']} mode {mode}", file=sys.stderr)
if mode == "crash":
    print("boom: the user's script failed", file=sys.stderr)
    sys.exit(3)
if mode == "segv":
    os.kill(os.getpid(), signal.SIGSEGV)
if mode == "hang":
    time.sleep(3600)
if mode == "garbage":
    print("epoch 1 accuracy 0.5", flush=True)
    time.sleep(0.2)
    sys.exit(0)
if mode == "nan":
    print(json.dumps({"step": 1, "value": 0.5}), flush=True)
    print(json.dumps({"value": float("nan")}), flush=True)
    sys.exit(0)
if mode == "memory":
    hog = bytearray(2 << 30)
    print(json.dumps({"value": len(hog)}))
    sys.exit(0)

if mode == "linger":
    def linger(*_):
        time.sleep(1.0)
        sys.exit(143)
    signal.signal(signal.SIGTERM, linger)

value = 0.0
for step in range(1, steps + 1):
    if mode in ("slow", "linger"):
        time.sleep(0.15)
    if mode == "sleep":
        time.sleep(0.02 + 0.06 * ((trial * 7919) % 10) / 10)
    value = x if step == steps else x * step / steps
    print(json.dumps({"step": step, "value": value}), flush=True)
print(json.dumps({"value": value}), flush=True)
