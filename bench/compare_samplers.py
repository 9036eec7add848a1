#!/usr/bin/env python3
"""Puts sampler benchmark results side by side: any number of `hpo-bench-results/1` files
(RESULTS-FORMAT.md), e.g. Sweep's (`sweep-bench samplers --out`) and Optuna's
(`peers/optuna_samplers.py --out`).

Prints the median simple regret over seeds after 25, 50 and 100 trials for every (function,
sampler), with the geometric mean over functions; then Sweep TPE vs Optuna TPE (regret ratio at
100 trials per function and its geometric mean; suggestion cost at 1000 trials) and the same for
the random samplers as a sanity check (their ratios should be near 1).

  compare_samplers.py sweep.json optuna.json
"""
import json
import math
import statistics
import sys

F_OPT = {
    "branin": 0.3978873577297384, "hartmann3": -3.862779787332663, "hartmann6": -3.3223680114155147,
    "rosenbrock5": 0.0, "levy10": 0.0, "ackley5": 0.0, "styblinski_tang8": -313.3293256301713,
}
CHECKPOINTS = (25, 50, 100)
FLOOR = 1e-12  # a zero regret counts as this in geometric means


def load(paths):
    runs, costs = [], {}
    for path in paths:
        with open(path) as fh:
            doc = json.load(fh)
        if doc.get("format") != "hpo-bench-results/1":
            sys.exit(f"error: {path} is not hpo-bench-results/1")
        runs += doc["runs"]
        costs.update(doc.get("meta", {}).get("suggest_cost_ms", {}))
    return runs, costs


def geomean(xs):
    return math.exp(sum(math.log(max(x, FLOOR)) for x in xs) / len(xs))


def table(header, rows):
    widths = [max(len(r[c]) for r in [header] + rows) for c in range(len(header))]
    for r in [header] + rows:
        print("  ".join(s.ljust(w) if c == 0 else s.rjust(w) for c, (s, w) in enumerate(zip(r, widths))))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    runs, costs = load(sys.argv[1:])
    samplers = list(dict.fromkeys(r["sampler"] for r in runs))
    functions = [f for f in F_OPT if any(r["function"] == f for r in runs)]

    # (function, sampler) -> regret curves, one per seed
    curves = {}
    for r in runs:
        f_opt = F_OPT[r["function"]]
        curves.setdefault((r["function"], r["sampler"]), []).append([max(b - f_opt, 0.0) for b in r["best_so_far"]])

    def median_regret(f, s, k):
        cs = [c for c in curves.get((f, s), []) if len(c) >= k]
        return statistics.median(c[k - 1] for c in cs) if cs else None

    def fmt(x):
        return "-" if x is None else f"{x:.3g}"

    seeds = {s: max(len(curves.get((f, s), [])) for f in functions) for s in samplers}
    print("Median simple regret over seeds (" + ", ".join(f"{s}: {n}" for s, n in seeds.items()) + ")")
    for k in CHECKPOINTS:
        if not any(median_regret(f, s, k) is not None for f in functions for s in samplers):
            continue
        print(f"\nafter {k} trials")
        rows = [[f] + [fmt(median_regret(f, s, k)) for s in samplers] for f in functions]
        geo = []
        for s in samplers:
            xs = [median_regret(f, s, k) for f in functions]
            geo.append(fmt(geomean(xs)) if all(x is not None for x in xs) else "-")
        table(["function"] + samplers, rows + [["geomean"] + geo])

    if costs:
        print("\nCost of one suggestion on hartmann6 after k random trials, ms")
        sizes = sorted({int(k) for c in costs.values() for k in c})
        table(["sampler"] + [f"k={k}" for k in sizes],
              [[s] + [fmt(costs[s].get(str(k))) for k in sizes] for s in costs])

    for kind in ("tpe", "random"):
        mine, peer = f"sweep_{kind}", f"optuna_{kind}"
        if mine not in samplers or peer not in samplers:
            print(f"\n{mine} vs {peer}: n/a ({mine if mine not in samplers else peer} has no runs)")
            continue
        k = min(100, min(len(r["best_so_far"]) for r in runs if r["sampler"] in (mine, peer)))
        print(f"\n{mine} vs {peer}: regret ratio after {k} trials (below 1: Sweep is better)")
        rows, ratios = [], []
        for f in functions:
            a, b = median_regret(f, mine, k), median_regret(f, peer, k)
            if a is None or b is None:
                continue
            ratio = max(a, FLOOR) / max(b, FLOOR)
            ratios.append(ratio)
            rows.append([f, fmt(a), fmt(b), f"{ratio:.2f}"])
        if ratios:
            rows.append(["geomean", "", "", f"{math.exp(sum(map(math.log, ratios)) / len(ratios)):.2f}"])
        table(["function", mine, peer, "ratio"], rows)
        a, b = costs.get(mine, {}).get("1000"), costs.get(peer, {}).get("1000")
        if a is not None and b is not None:
            print(f"suggestion cost at 1000 trials: {a:.3g} ms vs {b:.3g} ms (ratio {a / b:.2f})")


if __name__ == "__main__":
    main()
