#!/usr/bin/env python3
"""Benchmark peer: Optuna 5's multi-objective samplers on the Fashion-MNIST command trials of
bench/spaces/fashion-mo-command.yaml (the same parameters, the same trial script
bench/peers/fashion_trial.py, the same budget, 2 trials at once as Sweep's 2 workers).

usage: optuna_fashion_mo.py SAMPLER TRIALS SEED OUT.json     (SAMPLER: nsga2 | tpe; defaults)
Writes {"sampler", "seed", "trials": [{"number", "params", "values": [val_accuracy, model_bytes],
"test_accuracy"}]}.
"""
import json, os, sys, warnings

import optuna

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fashion_trial import run  # noqa: E402

name, trials, seed, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
warnings.simplefilter("ignore")
optuna.logging.set_verbosity(optuna.logging.WARNING)
sampler = {"nsga2": optuna.samplers.NSGAIISampler, "tpe": optuna.samplers.TPESampler}[name](seed=seed)
study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)


def objective(trial):
    p = {"layers": trial.suggest_int("layers", 1, 2), "units0": trial.suggest_int("units0", 8, 512, log=True)}
    if p["layers"] == 2:
        p["units1"] = trial.suggest_int("units1", 8, 512, log=True)
    p["lr"] = trial.suggest_float("lr", 3.0e-4, 1.0e-2, log=True)
    p["quantize"] = trial.suggest_categorical("quantize", ["none", "int8"])
    final = list(run(p, seed * 1000 + trial.number))[-1]
    trial.set_user_attr("test_accuracy", final["test_accuracy"])
    return final["values"]["val_accuracy"], final["values"]["model_bytes"]


study.optimize(objective, n_trials=trials, n_jobs=2)
json.dump({"sampler": name, "seed": seed, "trials": [
    {"number": t.number, "params": t.params, "values": t.values, "test_accuracy": t.user_attrs.get("test_accuracy")}
    for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]}, open(out, "w"), indent=1)
