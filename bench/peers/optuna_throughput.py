"""Optuna's end-to-end throughput with a trivial objective on an SQLite file, the peer of
bench/throughput.sh. Same parameters as bench/spaces/trivial-command.yaml; one process.

usage: optuna_throughput.py SAMPLER(random|tpe) TRIALS DB
"""
import sys
import time

import optuna

optuna.logging.set_verbosity(optuna.logging.WARNING)
name, n, db = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sampler = optuna.samplers.RandomSampler(seed=0) if name == "random" else optuna.samplers.TPESampler(seed=0)
study = optuna.create_study(study_name="trivial", storage=f"sqlite:///{db}", sampler=sampler)


def objective(trial):
    x = trial.suggest_float("x", -10, 10)
    trial.suggest_float("y", 1e-4, 1, log=True)
    trial.suggest_int("z", 1, 64)
    trial.suggest_categorical("kind", ["a", "b", "c"])
    return x


start = time.perf_counter()
study.optimize(objective, n_trials=n)
elapsed = time.perf_counter() - start
print(f"optuna {name}: {n} trials in {elapsed:.2f} s, {n / elapsed:.1f} trials/s")
