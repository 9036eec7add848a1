#!/usr/bin/env python3
"""The MLP targets of issue 20 with their spread: rounds of the numpy peer (its best kernel), sweep
fp32 and sweep bf16, interleaved, each training bench-mlp (784-256-128-10, batch 128, Adam, one
thread, Fashion-MNIST) for 2 epochs; the second epoch of each run is compared within its round.

Prints every round (seconds, numpy's time over sweep's: above 1, sweep is faster), then the
median and the range of each ratio over the rounds, and sweep's phases of the second epoch
(`SWEEP_PHASES=1`: thread CPU seconds of batch gathering with the shuffle, forward, loss, backward,
optimizer), medians over the rounds. Each ratio twice: of wall-clock seconds (the issue's measure,
which needs an idle host) and of the training loop's thread CPU seconds (numpy's `cpu_seconds`,
sweep's phases' total), which time-sharing with other processes does not inflate (their use of the
shared caches and memory still does). Writes the same to bench/results/mlp-rounds-latest.json.

usage: python3 bench/mlp_rounds.py [--rounds 5] [--sweep .build/release/sweep] [--data-dir ../shared/datasets]
Sweep holds out a tiny validation split (bench-mlp.yaml: validation 0.0011): its seconds are
scaled to 60,000 samples, as bench/engine.sh does. numpy runs with OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE unset (its OpenBLAS picks its best kernel); everything else as the environment is.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
YAML = os.path.join(REPO, "search-spaces/seeds/bench-mlp.yaml")
SAMPLES = 60000
PHASES = ("gather", "forward", "loss", "backward", "optimizer", "total")


def cpu():
    info = {}
    for line in open("/proc/cpuinfo"):
        key, _, value = line.partition(":")
        key = key.strip()
        if key in ("model name", "cpu family", "model") and key not in info:
            info[key] = value.strip()
    return f"{info.get('model name', '?')} (family {info.get('cpu family', '?')}, model {info.get('model', '?')})"


def train_count(sweep, data_dir):
    """The training-set size sweep uses for bench-mlp: the first line of a human-readable run."""
    p = subprocess.Popen([sweep, "train", YAML, "--data-dir", data_dir, "--epochs", "1"], stdout=subprocess.PIPE, text=True)
    for line in p.stdout:
        m = re.match(r"training [^:]*: (\d+) train", line)
        if m:
            p.kill()
            p.wait()
            return int(m.group(1))
    p.wait()
    sys.exit(f"mlp_rounds.py: {sweep} train {YAML} printed no 'training ...' line (exit {p.returncode})")


def epoch2(lines):
    """The second epoch's JSON line."""
    epochs = sorted((json.loads(l) for l in lines if l.startswith("{") and '"epoch"' in l and '"seconds"' in l),
                    key=lambda e: e["epoch"])
    if len(epochs) < 2:
        sys.exit("mlp_rounds.py: a run reported fewer than 2 epochs:\n" + "\n".join(lines))
    return epochs[1]


def run_numpy(data_dir):
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    out = subprocess.run([sys.executable, os.path.join(HERE, "peers/numpy_mlp.py"), "--data-dir", data_dir, "--epochs", "2"],
                         env=env, check=True, capture_output=True, text=True).stdout
    e = epoch2(out.splitlines())
    return e["seconds"], e["cpu_seconds"]


def run_sweep(sweep, data_dir, precision, scale):
    env = dict(os.environ, SWEEP_PHASES="1")
    r = subprocess.run([sweep, "train", YAML, "--data-dir", data_dir, "--json", "--epochs", "2",
                        "--set", f"training.precision={precision}"], env=env, check=True, capture_output=True, text=True)
    phases = None
    for line in r.stderr.splitlines():
        m = re.match(r"sweep phases: epoch 2: (.*) \(thread CPU seconds\)", line)
        if m:
            words = m.group(1).split()
            phases = {words[i]: float(words[i + 1]) * scale for i in range(0, len(words), 2)}
    if phases is None:
        sys.exit(f"mlp_rounds.py: {sweep} printed no 'sweep phases: epoch 2' line (a binary without SWEEP_PHASES?)")
    return epoch2(r.stdout.splitlines())["seconds"] * scale, phases


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--sweep", default=os.path.join(REPO, ".build/release/sweep"))
    ap.add_argument("--data-dir", default=os.path.join(REPO, "../shared/datasets"))
    args = ap.parse_args()
    if args.rounds < 1:
        sys.exit("mlp_rounds.py: --rounds must be at least 1")
    if not os.access(args.sweep, os.X_OK):
        sys.exit(f"mlp_rounds.py: no sweep binary at {args.sweep}; build it first: swift build -c release")
    os.environ.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    scale = SAMPLES / train_count(args.sweep, args.data_dir)
    print(f"CPU: {cpu()}; load average before: {open('/proc/loadavg').read().split()[:3]}", flush=True)
    rounds = []
    for i in range(args.rounds):
        numpy_s, numpy_cpu = run_numpy(args.data_dir)
        fp32_s, fp32_phases = run_sweep(args.sweep, args.data_dir, "fp32", scale)
        bf16_s, bf16_phases = run_sweep(args.sweep, args.data_dir, "bf16", scale)
        fp32_cpu, bf16_cpu = fp32_phases["total"], bf16_phases["total"]
        r = {"numpy": numpy_s, "fp32": fp32_s, "bf16": bf16_s, "fp32_speedup": numpy_s / fp32_s, "bf16_speedup": numpy_s / bf16_s,
             "numpy_cpu": numpy_cpu, "fp32_cpu": fp32_cpu, "bf16_cpu": bf16_cpu,
             "fp32_cpu_speedup": numpy_cpu / fp32_cpu, "bf16_cpu_speedup": numpy_cpu / bf16_cpu,
             "fp32_phases": fp32_phases, "bf16_phases": bf16_phases}
        rounds.append(r)
        print(f"round {i + 1}: wall numpy {numpy_s:.3f} s, sweep fp32 {fp32_s:.3f} s ({r['fp32_speedup']:.2f}x), "
              f"bf16 {bf16_s:.3f} s ({r['bf16_speedup']:.2f}x); thread CPU numpy {numpy_cpu:.3f} s, fp32 {fp32_cpu:.3f} s "
              f"({r['fp32_cpu_speedup']:.2f}x), bf16 {bf16_cpu:.3f} s ({r['bf16_cpu_speedup']:.2f}x)", flush=True)

    def spread(key):
        v = [r[key] for r in rounds]
        return statistics.median(v), min(v), max(v)
    print()
    for key, target in (("fp32_speedup", 1.25), ("bf16_speedup", 2.5), ("fp32_cpu_speedup", 1.25), ("bf16_cpu_speedup", 2.5)):
        med, lo, hi = spread(key)
        print(f"{key}: median {med:.2f}x (range {lo:.2f}-{hi:.2f}x over {len(rounds)} rounds; target >= {target}x: "
              f"{'met in every round' if lo >= target else 'met by the median' if med >= target else 'not met'})")
    for key in ("numpy", "fp32", "bf16", "numpy_cpu", "fp32_cpu", "bf16_cpu"):
        med, lo, hi = spread(key)
        print(f"{key} epoch 2: median {med:.3f} s (range {lo:.3f}-{hi:.3f})")
    for precision in ("fp32", "bf16"):
        ph = [r[f"{precision}_phases"] for r in rounds]
        print(f"sweep {precision} phases, epoch 2, medians (thread CPU seconds, scaled to 60,000 samples): " +
              " ".join(f"{k} {statistics.median(p[k] for p in ph):.3f}" for k in PHASES))
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results/mlp-rounds-latest.json"), "w") as f:
        json.dump({"cpu": cpu(), "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "rounds": rounds}, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
