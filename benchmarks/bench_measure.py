"""Benchmark of ``dmft measure`` (issue 19): the points of its "done when", both methods.

* UNSAT, ``alpha = 4, delta = 0.5``, sgd ``b = 0.3`` (sum normalisation): ``teff`` to 3%;
* SAT, ``alpha = 0.5, delta = 0.5``, sgd ``b = 0.3``: ``distance`` to 3%;

each from the DMFT (replicates added: 8192 paths each for ``teff``, the effective-noise study's
setting, which gives 0.5% where 3% is asked, and the default 16384 for ``distance``) and from
simulations (N = 2000, systems added), from the first horizon ``t = 20``; every value from at least
8 repetitions (``MeasureSettings.min_repetitions``).  (At 16384 paths the
``teff`` measurement reaches 0.3% at ``t_max = 160``, where the drift test of ``T_static`` across
the window, sharper at that precision, sends it on to longer horizons with more replicates.)  For every measurement
it prints and writes (``OUT/summary.json``) the outcome, the horizon reached, the repetitions,
the wall time and the cost ratio ``wall_s / final_wall_s`` (all tries over the run at the final
horizon and statistics: at most 4/3 for the DMFT, 3/2 for simulations by construction), and the
agreement of the two methods in combined standard errors.  Each measurement's result file is
written to ``OUT/<name>.h5`` and reused on a re-run (delete it to recompute); the ``teff`` values of
a kept file are analysed again with the current ``fit_teff``.

Usage: python benchmarks/bench_measure.py [-o OUT] [--only NAME ...] [--budget DURATION] [--record]

``--record`` writes ``benchmarks/results/bench_measure.json`` (every measurement of the summary,
each with the load when it started, and the comparisons), which the README quotes
(``python -m dmft.app.reference --parts docs``).

One measurement at a time, in this process (the machine's load is printed with each; time it on
an otherwise idle machine).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import time

import dmft
from dmft import DMFTMethod, Params, ParticleMethod
from dmft.app.measure import measure
from dmft.analysis.teff import fit_teff
from dmft.app.reference import headline
from record import conditions, record

UNSAT = dict(alpha=4.0, delta=0.5, dynamics="sgd", b=0.3, dt=0.1, t_max=20.0, seed=1)
SAT = dict(alpha=0.5, delta=0.5, dynamics="sgd", b=0.3, dt=0.1, t_max=20.0, seed=1)
#: name -> (point, quantity, method)
RUNS = {
    "unsat-dmft": (UNSAT, "teff", DMFTMethod(n_paths=8192)),
    "unsat-sim": (UNSAT, "teff", ParticleMethod(n=2000)),
    "sat-dmft": (SAT, "distance", DMFTMethod()),
    "sat-sim": (SAT, "distance", ParticleMethod(n=2000)),
}
#: (DMFT, simulation) pairs compared
PAIRS = (("unsat-dmft", "unsat-sim"), ("sat-dmft", "sat-sim"))
#: the values compared between the methods, per quantity
COMPARED = {"teff": ("T_static", "T_short", "T_slow"), "distance": ("d_inf",)}


def load_avg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def values(rec: dict) -> dict:
    """name -> (value, error) of the compared values of a measurement record."""
    q = rec["quantity"]
    inner = rec.get(q) or {}
    out = {}
    for name in COMPARED[q]:
        v, e = inner.get(name), inner.get(f"{name}_err")
        out[name] = (math.nan if v is None else v, math.nan if e is None else e)
    return out


def reanalysed(path: str) -> dict:
    """The compared values of a ``teff`` measurement's result file under the current analysis
    (:func:`~dmft.analysis.teff.fit_teff`, as ``dmft teff FILE`` gives them): a kept file is read
    again, so that a change of a definition reaches the record without repeating the run."""
    est = fit_teff(dmft.load(path), warn=False)
    return values({"quantity": "teff", "teff": est.to_dict()})


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-o", "--output", default="docs/measure", help="output folder (default docs/measure)")
    ap.add_argument("--only", nargs="*", choices=sorted(RUNS), help="run only these")
    ap.add_argument("--budget", default="90m", help="budget of each measurement (default 90m)")
    ap.add_argument("--record", action="store_true", help="write benchmarks/results/bench_measure.json")
    args = ap.parse_args(argv)
    start = conditions()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    os.makedirs(args.output, exist_ok=True)
    summary_path = os.path.join(args.output, "summary.json")
    summary = json.load(open(summary_path)) if os.path.exists(summary_path) else {}
    for name in args.only or RUNS:
        point, quantity, method = RUNS[name]
        path = os.path.join(args.output, f"{name}.h5")
        if os.path.exists(path) and name in summary:
            if quantity == "teff":
                summary[name]["values"] = reanalysed(path)
            print(f"{name}: kept from {path}: {json.dumps(summary[name]['values'])}")
            continue
        print(f"{name}: measuring {quantity} at {point} with {method.describe()}, load {load_avg()}", flush=True)
        started = conditions()
        t0 = time.perf_counter()
        m = measure(Params(**point), quantity, rel_error=0.03, budget=args.budget, method=method)
        dmft.save(m.result, path)
        rec = m.to_dict()
        summary[name] = {"status": m.status, "reason": m.reason, "quantity": quantity, "value": rec["value"],
                         "error": rec["error"],
                         "rel_error": rec["rel_error"], "t_max": m.t_max, "repetitions": rec["repetitions"],
                         "wall_s": m.wall_s, "final_wall_s": m.final_wall_s,
                         "cost_ratio": m.wall_s / m.final_wall_s if m.final_wall_s else None,
                         "tries": len(m.tries), "values": values(rec), "confirmed_by": rec.get("confirmed_by"),
                         "load_after": load_avg(),
                         "elapsed_s": time.perf_counter() - t0, "started": started}
        with open(summary_path, "w") as fh:
            json.dump(summary, fh, indent=1)
        print(f"{name}: {json.dumps(summary[name])}", flush=True)
    comparisons = []
    with open(summary_path, "w") as fh:
        json.dump(summary, fh, indent=1)
    for a, b in PAIRS:
        if a in summary and b in summary:
            for key in summary[a]["values"]:
                (va, ea), (vb, eb) = (headline(summary[n], key) for n in (a, b))
                z = (va - vb) / math.hypot(ea, eb) if all(map(math.isfinite, (va, vb, ea, eb))) else math.nan
                comparisons.append({"dmft": a, "simulation": b, "n": RUNS[b][2].n, "value": key, "z": z})
                print(f"{a} vs {b}: {key} = {va:.5g} +/- {ea:.2g} vs {vb:.5g} +/- {eb:.2g}: z = {z:+.2f}")
    if args.record:
        rows = [{"name": name, **row} for name, row in summary.items()]
        print("recorded in", record("bench_measure", start, rows, comparisons=comparisons))


if __name__ == "__main__":
    main()
