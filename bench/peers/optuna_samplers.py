#!/usr/bin/env python3
"""Benchmark peer: Optuna 5 samplers on the seven test functions of bench/functions.json and on
the tabular landscapes of bench/landscapes (--landscapes: recorded real training results, each
parameter a CategoricalDistribution of its choice list, as `sweep` declares it).

Same budget and rules as `sweep-bench samplers` (RESULTS-FORMAT.md): sequential trials (each
suggestion evaluated before the next is asked), study seeds 0..<--seeds, in-memory storage,
Optuna's defaults:
  optuna_tpe     TPESampler(seed=seed): in Optuna 5, multivariate=None means multivariate TPE for
                 a single objective, the README's "Optuna TPE (default, multivariate)"; the script
                 checks that the study really uses it.
  optuna_random  RandomSampler(seed=seed)
  optuna_gp      GPSampler(seed=seed) (needs torch)

Each run also counts `repeats`: trials whose parameters equal an earlier trial's.

suggest_s[i] is the wall time of `study.ask(distributions)` for trial i: Optuna's whole sampler
time (relative and independent sampling plus storage bookkeeping); the objective and `tell` are
not timed. Also measured: the median cost of one such ask on hartmann6 after k random COMPLETE
trials (k = --cost-sizes), stored in meta.suggest_cost_ms.

Writes every run to --out in the `hpo-bench-results/1` format. The functions are checked against
function-test-vectors.json first when it can be found (../shared/bench beside the repository, or
$SWEEP_SHARED_BENCH).
"""
import os

for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import optuna  # noqa: E402
from optuna.distributions import FloatDistribution  # noqa: E402
from optuna.trial import TrialState, create_trial  # noqa: E402

# --- The seven functions (constants copied from functions.json) ---------------------------------

HARTMANN_ALPHA = [1.0, 1.2, 3.0, 3.2]
HARTMANN3_A = [[3.0, 10.0, 30.0], [0.1, 10.0, 35.0], [3.0, 10.0, 30.0], [0.1, 10.0, 35.0]]
HARTMANN3_P = [[0.3689, 0.117, 0.2673], [0.4699, 0.4387, 0.747],
               [0.1091, 0.8732, 0.5547], [0.0381, 0.5743, 0.8828]]
HARTMANN6_A = [[10.0, 3.0, 17.0, 3.5, 1.7, 8.0], [0.05, 10.0, 17.0, 0.1, 8.0, 14.0],
               [3.0, 3.5, 1.7, 10.0, 17.0, 8.0], [17.0, 8.0, 0.05, 10.0, 0.1, 14.0]]
HARTMANN6_P = [[0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
               [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
               [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.665],
               [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381]]


def branin(x):
    b, c, t = 5.1 / (4 * math.pi ** 2), 5 / math.pi, 1 / (8 * math.pi)
    return (x[1] - b * x[0] ** 2 + c * x[0] - 6) ** 2 + 10 * (1 - t) * math.cos(x[0]) + 10


def hartmann(a, p):
    def f(x):
        return -sum(HARTMANN_ALPHA[i] * math.exp(-sum(a[i][j] * (x[j] - p[i][j]) ** 2 for j in range(len(x))))
                    for i in range(4))
    return f


def rosenbrock(x):
    return sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (x[i] - 1) ** 2 for i in range(len(x) - 1))


def levy(x):
    w = [1 + (v - 1) / 4 for v in x]
    f = math.sin(math.pi * w[0]) ** 2
    f += sum((wi - 1) ** 2 * (1 + 10 * math.sin(math.pi * wi + 1) ** 2) for wi in w[:-1])
    return f + (w[-1] - 1) ** 2 * (1 + math.sin(2 * math.pi * w[-1]) ** 2)


def ackley(x):
    d = len(x)
    return (-20 * math.exp(-0.2 * math.sqrt(sum(v * v for v in x) / d))
            - math.exp(sum(math.cos(2 * math.pi * v) for v in x) / d) + 20 + math.e)


def styblinski_tang(x):
    return 0.5 * sum(v ** 4 - 16 * v ** 2 + 5 * v for v in x)


# id -> (formula, bounds, f_opt)
FUNCTIONS = {
    "branin": (branin, [(-5.0, 10.0), (0.0, 15.0)], 0.3978873577297384),
    "hartmann3": (hartmann(HARTMANN3_A, HARTMANN3_P), [(0.0, 1.0)] * 3, -3.862779787332663),
    "hartmann6": (hartmann(HARTMANN6_A, HARTMANN6_P), [(0.0, 1.0)] * 6, -3.3223680114155147),
    "rosenbrock5": (rosenbrock, [(-5.0, 10.0)] * 5, 0.0),
    "levy10": (levy, [(-10.0, 10.0)] * 10, 0.0),
    "ackley5": (ackley, [(-5.0, 10.0)] * 5, 0.0),
    "styblinski_tang8": (styblinski_tang, [(-5.0, 5.0)] * 8, -313.3293256301713),
}

SAMPLERS = {
    "tpe": lambda seed: optuna.samplers.TPESampler(seed=seed),
    "random": lambda seed: optuna.samplers.RandomSampler(seed=seed),
    "gp": lambda seed: optuna.samplers.GPSampler(seed=seed),
}

# id -> (distributions, {values tuple: loss}, f_opt), filled by load_landscape
LANDSCAPES = {}


def landscape_choices(doc):
    """{parameter: choice list} of a sweep-tabular-landscape/1 table's space, in its order."""
    space = {}
    for line in doc["space"].splitlines():
        name, rest = line.split(": ", 1)
        assert rest.startswith("{choice: ") and rest.endswith("}"), line
        space[name] = json.loads(rest[len("{choice: "):-1])
    return space


def load_landscape(path):
    """A sweep-tabular-landscape/1 table: the space's choice lists, and the val_loss of every row
    (null, a diverged run, scores the worst finite loss, as in Sweep's TabularLandscape)."""
    from optuna.distributions import CategoricalDistribution
    with open(path) as fh:
        doc = json.load(fh)
    assert doc.get("format") == "sweep-tabular-landscape/1", f"{path}: not a sweep-tabular-landscape/1 table"
    dists = {name: CategoricalDistribution(c) for name, c in landscape_choices(doc).items()}
    names = list(dists)
    assert doc["columns"][:len(names)] == names, doc["columns"]
    col = doc["columns"].index("val_loss")
    finite = [r[col] for r in doc["rows"] if r[col] is not None]
    worst = max(finite)
    table = {tuple(r[:len(names)]): (r[col] if r[col] is not None else worst) for r in doc["rows"]}
    LANDSCAPES[doc["name"]] = (dists, table, min(finite))
    return doc["name"]


def distributions(fid):
    return {f"x{i}": FloatDistribution(lo, hi) for i, (lo, hi) in enumerate(FUNCTIONS[fid][1])}


def point(fid, params):
    return [params[f"x{i}"] for i in range(len(FUNCTIONS[fid][1]))]


def check_vectors(path):
    """Rule 1 of RESULTS-FORMAT.md: the functions match function-test-vectors.json."""
    with open(path) as fh:
        vectors = json.load(fh)["vectors"]
    assert set(vectors) == set(FUNCTIONS), f"functions differ: {sorted(vectors)}"
    for fid, points in vectors.items():
        for v in points:
            got = FUNCTIONS[fid][0](point(fid, v["params"]))
            assert abs(got - v["value"]) <= max(1e-9 * abs(v["value"]), 1e-12), (fid, v, got)
    return sum(len(p) for p in vectors.values())


# --- Measurements -------------------------------------------------------------------------------

def new_study(sampler_name, seed):
    study = optuna.create_study(direction="minimize", sampler=SAMPLERS[sampler_name](seed))
    if sampler_name == "tpe":
        assert study.sampler._is_multivariate(study), "Optuna's default TPE is expected to be multivariate"
    return study


def run(fid, sampler_name, seed, n_trials):
    if fid in LANDSCAPES:
        dists, table, _ = LANDSCAPES[fid]
        names = list(dists)
        objective = lambda params: table[tuple(params[n] for n in names)]  # noqa: E731
    else:
        formula, _, _ = FUNCTIONS[fid]
        dists = distributions(fid)
        objective = lambda params: formula(point(fid, params))  # noqa: E731
    study = new_study(sampler_name, seed)
    values, best, suggest_s, seen, repeats = [], [], [], set(), 0
    for _ in range(n_trials):
        t0 = time.perf_counter()
        trial = study.ask(dists)
        suggest_s.append(time.perf_counter() - t0)
        key = tuple(sorted(trial.params.items()))
        repeats += key in seen
        seen.add(key)
        value = objective(trial.params)
        study.tell(trial, value)
        values.append(value)
        best.append(min(value, best[-1]) if best else value)
    return {"function": fid, "sampler": f"optuna_{sampler_name}", "seed": seed, "n_trials": n_trials,
            "best_so_far": best, "values": values, "suggest_s": suggest_s, "repeats": repeats}


def suggestion_cost(sampler_name, k, repeats=5, seed=0):
    """Median seconds of one ask on hartmann6 after k random COMPLETE trials. Each timed trial is
    then told FAIL, which both samplers ignore, so the repeats see the same history."""
    fid = "hartmann6"
    formula, bounds, _ = FUNCTIONS[fid]
    dists = distributions(fid)
    rng = random.Random(seed)
    study = new_study(sampler_name, seed)
    for _ in range(k):
        params = {f"x{i}": rng.uniform(lo, hi) for i, (lo, hi) in enumerate(bounds)}
        study.add_trial(create_trial(params=params, distributions=dists, value=formula(point(fid, params))))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        trial = study.ask(dists)
        times.append(time.perf_counter() - t0)
        study.tell(trial, state=TrialState.FAIL)
    return statistics.median(times)


def median_regret(runs, fid, sampler, k):
    f_opt = LANDSCAPES[fid][2] if fid in LANDSCAPES else FUNCTIONS[fid][2]
    return statistics.median(max(r["best_so_far"][k - 1] - f_opt, 0.0) for r in runs
                             if r["function"] == fid and r["sampler"] == sampler)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--functions", default=",".join(FUNCTIONS), help="'' for none")
    ap.add_argument("--landscapes", default="", help="comma-separated sweep-tabular-landscape/1 files")
    ap.add_argument("--samplers", default="random,tpe")
    ap.add_argument("--seeds", type=int, default=10, help="study seeds F..<F+N")
    ap.add_argument("--first-seed", type=int, default=0, help="F, the first study seed (other values give held-out seeds)")
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--cost-sizes", default="100,500,1000", help="history sizes for the ask cost ('' to skip)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--vectors", default=None, help="function-test-vectors.json (default: found if present)")
    args = ap.parse_args()

    fids = [f for f in args.functions.split(",") if f]
    samplers = [s for s in args.samplers.split(",") if s]
    for f in fids:
        if f not in FUNCTIONS:
            ap.error(f"unknown function '{f}'; known: {', '.join(FUNCTIONS)}")
    fids += [load_landscape(p) for p in args.landscapes.split(",") if p]
    for s in samplers:
        if s not in SAMPLERS:
            ap.error(f"unknown sampler '{s}'; known: {', '.join(SAMPLERS)}")

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)

    here = os.path.dirname(os.path.abspath(__file__))
    shared = os.environ.get("SWEEP_SHARED_BENCH", os.path.join(here, "..", "..", "..", "shared", "bench"))
    vectors = args.vectors or os.path.join(shared, "function-test-vectors.json")
    if os.path.exists(vectors):
        print(f"optuna {optuna.__version__}: {check_vectors(vectors)} test vectors match", file=sys.stderr)
    else:
        print(f"note: {vectors} not found; the functions were not checked against the test vectors",
              file=sys.stderr)

    runs = []
    for fid in fids:
        for s in samplers:
            t0 = time.perf_counter()
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                runs.append(run(fid, s, seed, args.trials))
            reg = median_regret(runs, fid, f"optuna_{s}", args.trials)
            print(f"{fid} optuna_{s}: median regret {reg:.3g} after {args.trials} trials "
                  f"({time.perf_counter() - t0:.1f} s)", file=sys.stderr)

    costs = {}
    for s in samplers:
        for k in [int(k) for k in args.cost_sizes.split(",") if k]:
            costs.setdefault(f"optuna_{s}", {})[str(k)] = suggestion_cost(s, k) * 1000
            print(f"ask cost optuna_{s} at k={k}: {costs[f'optuna_{s}'][str(k)]:.3g} ms", file=sys.stderr)

    meta = {
        "system": "optuna", "version": optuna.__version__, "python": platform.python_version(),
        "samplers": {"optuna_tpe": "TPESampler(seed=seed), defaults (multivariate TPE)",
                     "optuna_random": "RandomSampler(seed=seed)", "optuna_gp": "GPSampler(seed=seed)"},
        "storage": "in memory", "functions": fids, "seeds": args.seeds, "first_seed": args.first_seed, "n_trials": args.trials,
        "suggest_s": "study.ask(distributions)",
        "suggest_cost_ms": costs, "suggest_cost_function": "hartmann6",
        "machine": f"{platform.platform()}, {os.cpu_count()} cores",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    with open(args.out, "w") as fh:
        fh.write('{"format": "hpo-bench-results/1",\n "meta": ' + json.dumps(meta, sort_keys=True) + ',\n "runs": [')
        fh.write(",".join("\n  " + json.dumps(r) for r in runs))
        fh.write("\n ]}\n")
    print(f"wrote {len(runs)} runs to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
