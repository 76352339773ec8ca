"""Benchmark of one canonical stationary T_eff point at the default precision (issue 8).

The UNSAT point of docs/effective-temperature.md (alpha = 4, delta = 0.5, sgd b = 0.5, dt = 0.1,
t_max = 125, tw = (50, 75)), solved with the default ``DMFTMethod()`` (16384 paths x 4
replicates, extrapolated in n_paths with 4 replicates of a 1250-path companion since
2026-12-07) and then measured by ``fit_teff``.  Target: under 2 minutes on 2 cores.

Usage: python benchmarks/bench_teff.py [--n-paths N] [--replicates K] [--record]

``--record`` (at the default precision) writes ``benchmarks/results/bench_teff.json`` with the date,
commit and load, which the README and docs/precision-defaults.md quote (``python -m
dmft.app.reference --parts docs``).

Runs in a fresh subprocess (so that the peak memory, ru_maxrss, is its own) after a numba
warm-up; prints the wall time of the solve and of the measurement, the peak RSS and T_eff with
its error.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from record import conditions, record

CHILD = r"""
import json, resource, sys, time, warnings
import dmft
from dmft import DMFTMethod, Params
from dmft.app.demo import DEMO_POINTS
n, k = int(sys.argv[1]), int(sys.argv[2])
dmft.solve(Params(dynamics="sgd", t_max=1.0), n_paths=64, replicates=1)   # compile / load cache
p = Params(**DEMO_POINTS["unsat"])
method = DMFTMethod(**({} if n <= 0 else {"n_paths": n}), **({} if k <= 0 else {"replicates": k}))
t0 = time.perf_counter()
r = dmft.run(p, method)
solve = time.perf_counter() - t0
t0 = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    est = dmft.fit_teff(r, warn=False)
fit = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
print(json.dumps({"n_paths": method.n_paths, "replicates": method.replicates, "steps": len(r.t) - 1,
                  "companion_paths": int(r.meta.get("companion_paths", 0)),
                  "solve_s": solve, "fit_s": fit, "peak_rss_mb": rss, "T_eff": est.T_eff,
                  "T_eff_err": est.T_eff_err, "stationary": est.stationary}))
"""


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n-paths", type=int, default=0, help="default: DMFTMethod's")
    ap.add_argument("--replicates", type=int, default=0, help="default: DMFTMethod's")
    ap.add_argument("--record", action="store_true", help="write benchmarks/results/bench_teff.json")
    args = ap.parse_args(argv)
    start = conditions()
    out = subprocess.run([sys.executable, "-c", CHILD, str(args.n_paths), str(args.replicates)],
                         capture_output=True, text=True, check=True)
    row = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"canonical UNSAT T_eff point, {row['steps']} steps, {row['n_paths']} paths x {row['replicates']} "
          f"replicates, {os.cpu_count()} cores:")
    print(f"  solve {row['solve_s']:.1f} s + fit_teff {row['fit_s']:.2f} s = {row['solve_s'] + row['fit_s']:.1f} s"
          f"   peak RSS {row['peak_rss_mb']:.0f} MB")
    print(f"  T_eff = {row['T_eff']:.5g} +/- {row['T_eff_err']:.2g} (stationary: {row['stationary']})")
    if args.record:
        print("recorded in", record("bench_teff", start, [row]))


if __name__ == "__main__":
    main()
