"""Warm start on a shifted space, through the `sweep` binary (bench/README.md, "Warm start").

For each seed: study `early` searches the recorded fashion-mlp landscape with learning rates
0.0001-0.003 (40 trials); then the shifted space, learning rates 0.001-0.03, is searched for 20
trials twice: `cold` from nothing, `warm` with `--warm-start early` (the early trials with a
learning rate of 0.001 or 0.003 are its priors). Prints the median regret (best val_loss after k
trials minus the best of the shifted space) over the seeds.

    python3 bench/warmstart/warmstart.py [--sweep .build/release/sweep] [--seeds 10] [--sampler tpe]
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
repo = os.path.dirname(os.path.dirname(here))
landscape = os.path.join(repo, "bench/landscapes/fashion-mlp.json")

p = argparse.ArgumentParser()
p.add_argument("--sweep", default=os.path.join(repo, ".build/release/sweep"))
p.add_argument("--seeds", type=int, default=10)
p.add_argument("--sampler", default="tpe")
p.add_argument("--early-trials", type=int, default=40)
p.add_argument("--trials", type=int, default=20)
args = p.parse_args()

table = json.load(open(landscape))
lr_col = table["columns"].index("training.learning_rate")
loss_col = table["columns"].index("val_loss")
shifted = [0.001, 0.003, 0.01, 0.03]
optimum = min(r[loss_col] for r in table["rows"] if r[lr_col] in shifted and r[loss_col] is not None)


def space(name, lrs, trials, seed):
    return f"""name: {name}
seed: {seed}
objective: {{metric: val_loss, direction: minimize}}
budget: {{trials: {trials}}}
sampler: {args.sampler}
command: [python3, {here}/landscape_trial.py]
env: {{LANDSCAPE: {landscape}}}
params:
  model_layers_0_units: {{choice: [32, 64, 128, 256]}}
  model_layers_0_activation: {{choice: [relu, tanh, gelu]}}
  model_layers_0_dropout: {{choice: [0.0, 0.2, 0.4]}}
  model_layers_1_units: {{choice: [16, 64, 256]}}
  training_batch_size: {{choice: [16, 64, 256]}}
  training_optimizer: {{choice: [adam, momentum, rmsprop]}}
  training_learning_rate: {{choice: {json.dumps(lrs)}}}
"""


def sweep(*a):
    r = subprocess.run([args.sweep, *a], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"sweep {' '.join(a)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r.stdout


def curve(db, study):
    rows = json.loads(sweep("leaderboard", study, "--json", "--db", db))
    values = {r["trial"]: r["value"] for r in rows if r["state"] == "COMPLETE"}
    best, out = float("inf"), []
    for n in range(args.trials):
        best = min(best, values.get(n, float("inf")))
        out.append(best - optimum)
    return out


cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
print(f"CPU: {cpu}; sweep: {args.sweep}; sampler {args.sampler}; fashion-mlp landscape, best val_loss of the shifted space {optimum:.4f}")
ks = [k for k in (1, 3, 5, 10, 20) if k <= args.trials]
cold, warm, priors = [], [], []
with tempfile.TemporaryDirectory() as d:
    db = os.path.join(d, "results/sweep.db")
    for seed in range(args.seeds):
        for name, lrs, n in [("early", [0.0001, 0.0003, 0.001, 0.003], args.early_trials), ("shifted", shifted, args.trials)]:
            with open(os.path.join(d, f"{name}.yaml"), "w") as f:
                f.write(space(name, lrs, n, seed))
        common = ["--foreground", "--workers", "1", "--db", db]
        sweep("start", os.path.join(d, "early.yaml"), "--study", f"early-{seed}", *common)
        sweep("start", os.path.join(d, "shifted.yaml"), "--study", f"cold-{seed}", *common)
        out = sweep("start", os.path.join(d, "shifted.yaml"), "--study", f"warm-{seed}", "--warm-start", f"early-{seed}", *common)
        priors.append(int(out.split("warm start: ")[1].split(" ")[0]))
        cold.append(curve(db, f"cold-{seed}"))
        warm.append(curve(db, f"warm-{seed}"))
        print(f"seed {seed}: {priors[-1]} priors; regret after {args.trials}: cold {cold[-1][-1]:.4f}, warm {warm[-1][-1]:.4f}", flush=True)

print(f"\nmedian regret (val_loss above the shifted space's best) over seeds 0-{args.seeds - 1}, median {statistics.median(priors):.0f} priors")
print("| trials | " + " | ".join(str(k) for k in ks) + " |")
print("| --- |" + " --- |" * len(ks))
for label, runs in [("cold", cold), ("--warm-start", warm)]:
    print(f"| {label} | " + " | ".join(f"{statistics.median(r[k - 1] for r in runs):.4f}" for k in ks) + " |")
wins = sum(w[-1] < c[-1] for w, c in zip(warm, cold))
ties = sum(w[-1] == c[-1] for w, c in zip(warm, cold))
print(f"warm better after {args.trials} trials in {wins} of {args.seeds} seeds ({ties} ties)")
