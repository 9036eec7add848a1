"""Reads a study Sweep wrote with Optuna itself and prints what Optuna sees, as JSON, for
SweepStorageTests to compare with what Sweep wrote.

usage: check_optuna_store.py DB STUDY

Prints one JSON object:
  direction, metric_names, best {number, value, params}, trials [{number, state, value, params,
  intermediate, user_attrs, has_start, has_complete}], schema_differences (Optuna's tables and indices in DB against a file
  Optuna 5 creates; empty when identical), versions (version_info and alembic_version rows),
  rerun {number, state, params} (the first WAITING trial, run by Optuna's own optimize on a copy),
  appended_number (the number Optuna gives the next new trial on that copy).
Non-finite floats are written as the strings "nan", "inf", "-inf".
"""
import json
import math
import os
import sqlite3
import sys
import tempfile

import optuna

optuna.logging.set_verbosity(optuna.logging.WARNING)
db, name = sys.argv[1], sys.argv[2]


def num(x):
    if x is None:
        return None
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def trial_json(t):
    return {
        "number": t.number,
        "state": t.state.name,
        "value": num(t.value),
        "params": t.params,
        "intermediate": {str(k): num(v) for k, v in t.intermediate_values.items()},
        "user_attrs": t.user_attrs,
        "has_start": t.datetime_start is not None,
        "has_complete": t.datetime_complete is not None,
    }


def schema(path):
    con = sqlite3.connect(path)
    rows = con.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
    ).fetchall()
    versions = {
        "version_info": [list(r) for r in con.execute("SELECT * FROM version_info")],
        "alembic_version": [list(r) for r in con.execute("SELECT * FROM alembic_version")],
    }
    con.close()
    return {(t, n): (tbl, sql) for t, n, tbl, sql in rows}, versions


study = optuna.load_study(study_name=name, storage=f"sqlite:///{db}")
out = {
    "direction": study.direction.name,
    "metric_names": study.metric_names,
    "trials": [trial_json(t) for t in study.get_trials(deepcopy=False)],
}
try:
    best = study.best_trial
    out["best"] = {"number": best.number, "value": num(best.value), "params": best.params}
except ValueError:
    out["best"] = None

with tempfile.TemporaryDirectory() as tmp:
    # Optuna's own schema, from a file it creates.
    reference = os.path.join(tmp, "reference.db")
    optuna.create_study(study_name="reference", storage=f"sqlite:///{reference}")
    theirs, their_versions = schema(reference)
    ours, our_versions = schema(db)
    out["schema_differences"] = [
        f"{kind} {obj}: Optuna has {theirs[(kind, obj)]!r}, Sweep has {ours.get((kind, obj))!r}"
        for kind, obj in sorted(theirs)
        if ours.get((kind, obj)) != theirs[(kind, obj)]
    ]
    out["versions"] = {"sweep": our_versions, "optuna": their_versions}

    # Optuna writing to Sweep's file (on a copy): it runs the WAITING trial, then a new one.
    copy = os.path.join(tmp, "copy.db")
    src, dst = sqlite3.connect(db), sqlite3.connect(copy)
    src.backup(dst)
    src.close()
    dst.close()
    on_copy = optuna.load_study(study_name=name, storage=f"sqlite:///{copy}")

    def objective(trial):
        return trial.suggest_float("lr", 1e-4, 1e-1, log=True)

    waiting = [t.number for t in on_copy.get_trials() if t.state.name == "WAITING"]
    if waiting:
        on_copy.optimize(objective, n_trials=1)
        rerun = on_copy.trials[waiting[0]]
        out["rerun"] = {"number": rerun.number, "state": rerun.state.name, "params": rerun.params}
    on_copy.optimize(objective, n_trials=1)
    out["appended_number"] = on_copy.trials[-1].number

print(json.dumps(out, sort_keys=True))
