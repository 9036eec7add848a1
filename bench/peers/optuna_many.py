"""Optuna 5 with several processes on one PostgreSQL database (psycopg), the peer of
bench/many-daemons.sh. Same parameters and trivial objective as bench/spaces/trivial-command.yaml.

usage:
  optuna_many.py throughput PROCS TRIALS URL SAMPLER [command]
                                                       # PROCS processes share one study until
                                                       # TRIALS are complete; prints trials/s.
                                                       # `command`: the objective runs Sweep's
                                                       # command (/bin/echo, its JSON line read
                                                       # back), as an Optuna user would run it;
                                                       # else it returns x in the process
  optuna_many.py latency PROCS[,PROCS...] HISTORY URL SAMPLER
                                                       # a study holding HISTORY complete trials
                                                       # (written once); for each PROCS, that many
                                                       # processes ask+suggest+tell for 10 s; prints
                                                       # the median ask+suggest time
URL is a SQLAlchemy URL (postgresql+psycopg://user:password@host:port/db).
"""
import json
import multiprocessing as mp
import statistics
import subprocess
import sys
import time

import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

optuna.logging.set_verbosity(optuna.logging.WARNING)
DISTRIBUTIONS = {
    "x": FloatDistribution(-10, 10),
    "y": FloatDistribution(1e-4, 1, log=True),
    "z": IntDistribution(1, 64),
    "kind": CategoricalDistribution(["a", "b", "c"]),
}


def sampler(name, seed):
    return optuna.samplers.RandomSampler(seed=seed) if name == "random" else optuna.samplers.TPESampler(seed=seed)


def suggest(trial):
    x = trial.suggest_float("x", -10, 10)
    trial.suggest_float("y", 1e-4, 1, log=True)
    trial.suggest_int("z", 1, 64)
    trial.suggest_categorical("kind", ["a", "b", "c"])
    return x


def run_command(trial):
    """bench/spaces/trivial-command.yaml's objective: /bin/echo prints the value as a JSON line."""
    x = suggest(trial)
    out = subprocess.run(["/bin/echo", json.dumps({"value": x})], capture_output=True, text=True, check=True).stdout
    return json.loads(out)["value"]


def throughput_worker(url, study_name, sampler_name, seed, total, command):
    study = optuna.load_study(study_name=study_name, storage=url, sampler=sampler(sampler_name, seed))
    callback = optuna.study.MaxTrialsCallback(total, states=(optuna.trial.TrialState.COMPLETE,))
    study.optimize(run_command if command else suggest, n_trials=total, callbacks=[callback])


def latency_worker(url, study_name, sampler_name, seed, seconds, out):
    study = optuna.load_study(study_name=study_name, storage=url, sampler=sampler(sampler_name, seed))
    times = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end or len(times) < 3:
        start = time.perf_counter()
        trial = study.ask()
        value = suggest(trial)
        times.append(time.perf_counter() - start)
        study.tell(trial, value)
    out.put(times)


def seed_history(url, study_id, count):
    """Writes `count` COMPLETE trials (random parameters, value = x) with SQL in one transaction
    (`add_trials` writes them one by one: minutes for 10k), as bench/many-daemons.sh does for Sweep."""
    import psycopg
    from optuna.distributions import distribution_to_json

    internal = {"x": "random() * 20 - 10", "y": "exp(ln(1e-4) + random() * ln(1e4))", "z": "floor(random() * 64) + 1",
                "kind": "floor(random() * 3)"}
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as con:
        con.execute("INSERT INTO trials (number, study_id, state, datetime_start, datetime_complete) "
                    "SELECT g, %s, 'COMPLETE', LOCALTIMESTAMP, LOCALTIMESTAMP FROM generate_series(0, %s - 1) g", (study_id, count))
        for name, d in DISTRIBUTIONS.items():
            con.execute(f"INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json) "
                        f"SELECT trial_id, %s, {internal[name]}, %s FROM trials WHERE study_id = %s",
                        (name, distribution_to_json(d), study_id))
        con.execute("INSERT INTO trial_values (trial_id, objective, value, value_type) SELECT t.trial_id, 0, p.param_value, 'FINITE' "
                    "FROM trials t JOIN trial_params p ON p.trial_id = t.trial_id AND p.param_name = 'x' WHERE t.study_id = %s",
                    (study_id,))


def main():
    mode, procs_list, count, url, sampler_name = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
    command = sys.argv[6:] == ["command"]
    name = f"{mode}-{procs_list}-{count}-{time.time_ns()}"
    study = optuna.create_study(study_name=name, storage=url)
    ctx = mp.get_context("spawn")
    if mode == "throughput":
        procs = int(procs_list)
        start = time.perf_counter()
        ps = [ctx.Process(target=throughput_worker, args=(url, name, sampler_name, i, count, command)) for i in range(procs)]
        for p in ps:
            p.start()
        for p in ps:
            p.join()
        elapsed = time.perf_counter() - start
        done = sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.get_trials(deepcopy=False))
        objective = "the command /bin/echo" if command else "in the process"
        print(f"optuna {sampler_name}, {procs} processes, objective {objective}: {done} trials in {elapsed:.2f} s, {done / elapsed:.1f} trials/s")
    else:
        seed_history(url, study._study_id, count)
        for procs in map(int, procs_list.split(",")):
            stored = len(study.get_trials(deepcopy=False))
            out = ctx.Queue()
            ps = [ctx.Process(target=latency_worker, args=(url, name, sampler_name, i, 10.0, out)) for i in range(procs)]
            for p in ps:
                p.start()
            times = [t for _ in ps for t in out.get()]
            for p in ps:
                p.join()
            print(f"optuna {sampler_name}, {procs} processes, {stored} trials stored: one suggestion (ask + 4 suggests) "
                  f"median {statistics.median(times) * 1000:.1f} ms over {len(times)}")


if __name__ == "__main__":
    main()
