#!/usr/bin/env python3
"""Benchmark peer: Optuna 5's multi-objective samplers on the problems of `sweep-bench pareto`.

Same budget and rules as Sweep's side: sequential trials (each suggestion evaluated before the
next is asked), study seeds F..<F+N, in-memory storage, every objective minimised, Optuna's
defaults:
  optuna_nsga2   NSGAIISampler(seed=seed)           (population 50)
  optuna_tpe     TPESampler(seed=seed)              (MOTPE: Optuna's TPE with several objectives)
  optuna_random  RandomSampler(seed=seed)

Recorded landscapes (--landscapes, sweep-tabular-landscape/1 tables with model_bytes and the
deployed accuracies): one CategoricalDistribution per parameter with the table's choice list, the
objectives (1 - deployed_val_accuracy, model_bytes / 1e6) looked up (no accuracy: error 1), as
MultiObjectiveProblem.landscape defines them on Sweep's side.

Writes {"runs": [{"problem", "sampler", "seed", "values": [[f1, f2, ...], ...]}]} to --out (for a
landscape also "choices": each trial's choice indices, from which sweep-bench looks up the test
objectives and checks the values); the hypervolumes are computed by sweep-bench with the same code
for every sampler.
"""
import os

for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import warnings  # noqa: E402

import optuna  # noqa: E402
from optuna_samplers import landscape_choices  # noqa: E402  (the same directory)


def zdt(x, concave):
    g = 1 + 9 * sum(x[1:]) / (len(x) - 1)
    f1 = x[0]
    return [f1, g * (1 - (f1 / g) ** 2)] if concave else [f1, g * (1 - math.sqrt(f1 / g))]


def dtlz2(x):
    g = sum((v - 0.5) ** 2 for v in x[2:])
    a, b = x[0] * math.pi / 2, x[1] * math.pi / 2
    return [(1 + g) * math.cos(a) * math.cos(b), (1 + g) * math.cos(a) * math.sin(b), (1 + g) * math.sin(a)]


def problem(pid):
    name, dims = pid.rsplit("-", 1)
    d = int(dims.rstrip("d"))
    f = {"zdt1": lambda x: zdt(x, False), "zdt2": lambda x: zdt(x, True), "dtlz2": dtlz2}[name]
    return d, f, 3 if name == "dtlz2" else 2


def landscape(path):
    """(name, {parameter: choice list}, {choice values tuple: (error, MB)}) of a recorded table."""
    with open(path) as fh:
        doc = json.load(fh)
    assert doc.get("format") == "sweep-tabular-landscape/1", f"{path}: not a sweep-tabular-landscape/1 table"
    space = landscape_choices(doc)
    cols = doc["columns"]
    for c in ("deployed_val_accuracy", "model_bytes"):
        assert c in cols, f"{path}: no column {c}; re-record it with sweep-bench record-landscape"
    acc, size = cols.index("deployed_val_accuracy"), cols.index("model_bytes")
    n = len(space)
    table = {tuple(r[:n]): [1 - r[acc] if r[acc] is not None else 1.0, r[size] / 1e6] for r in doc["rows"]}
    return doc["name"], space, table


def make(name, seed):
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed)
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise SystemExit(f"unknown sampler {name}; accepted: nsga2, tpe, random")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--problems", default="")
    ap.add_argument("--landscapes", default="")
    ap.add_argument("--samplers", required=True)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    runs = []
    for path in filter(None, a.landscapes.split(",")):
        lid, space, table = landscape(path)
        for name in a.samplers.split(","):
            for seed in range(a.first_seed, a.first_seed + a.seeds):
                study = optuna.create_study(directions=["minimize", "minimize"], sampler=make(name, seed))
                values, choices = [], []

                def objective(trial):
                    picked = [trial.suggest_categorical(p, c) for p, c in space.items()]
                    choices.append([c.index(x) for x, c in zip(picked, space.values())])
                    v = table[tuple(picked)]
                    values.append(v)
                    return v

                study.optimize(objective, n_trials=a.trials)
                runs.append({"problem": lid, "sampler": f"optuna_{name}", "seed": seed, "values": values, "choices": choices})
    for pid in filter(None, a.problems.split(",")):
        d, f, m = problem(pid)
        for name in a.samplers.split(","):
            for seed in range(a.first_seed, a.first_seed + a.seeds):
                study = optuna.create_study(directions=["minimize"] * m, sampler=make(name, seed))
                values = []

                def objective(trial):
                    x = [trial.suggest_float(f"x{i}", 0, 1) for i in range(d)]
                    v = f(x)
                    values.append(v)
                    return v

                study.optimize(objective, n_trials=a.trials)
                runs.append({"problem": pid, "sampler": f"optuna_{name}", "seed": seed, "values": values})
    with open(a.out, "w") as fh:
        json.dump({"runs": runs, "optuna": optuna.__version__}, fh)


if __name__ == "__main__":
    main()
