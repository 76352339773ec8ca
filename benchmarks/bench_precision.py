"""Precision per second of the DMFT solver at the stationary and the slow point.

Usage: python benchmarks/bench_precision.py [--seeds 4] [--n-paths 16384] [--settings after,before]
       [--points stationary,marginal] [--no-scaling]

For each point of :data:`dmft.app.studies.precision.POINTS` and each estimator setting (``after``
= the default, exact short-lag band; ``before`` = probes at every lag), runs ``--seeds`` single
marches, each in a fresh subprocess after a numba warm-up (so that its peak memory, ru_maxrss, is
its own), and prints the mean wall time, the peak RSS, the seed spread (standard deviation over
seeds) of ``1 - C(tw + s, tw)`` and ``chi`` and the figure of merit ``spread x sqrt(wall)``
(lower is better; at equal wall time the variance ratio of two settings is the squared ratio of
their figures of merit).  Then the T = 250, 500, 1000 timings and the fitted exponent of
``benchmarks/bench_solver.py`` with the default estimator.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import numpy as np

CHILD = r"""
import json, resource, sys, time
from dmft import DMFTMethod, Params, solve
from dmft.app.studies.precision import POINTS, SETTINGS, observables
point, setting, n, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
method = DMFTMethod(n_paths=n, replicates=1, extrapolation_paths=0, memory_window=0, **SETTINGS[setting])
solve(Params(alpha=1.0, dt=0.1, t_max=1.0, tw=(0.5,), replicas=2), method.replace(n_paths=256))
p = Params(seed=seed, **POINTS[point]["params"])
t0 = time.perf_counter()
r = solve(p, method)
wall = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
print(json.dumps({"wall_s": wall, "peak_rss_mb": rss, "status": str(r.status), **observables(r, POINTS[point])}))
"""


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--n-paths", type=int, default=16384)
    ap.add_argument("--settings", default="after,before")
    ap.add_argument("--points", default="stationary,marginal")
    ap.add_argument("--no-scaling", action="store_true", help="skip the T-scaling timings")
    args = ap.parse_args(argv)
    for point in args.points.split(","):
        merits = {}
        for setting in args.settings.split(","):
            rows = []
            for seed in range(args.seeds):
                out = subprocess.run([sys.executable, "-c", CHILD, point, setting, str(args.n_paths),
                                      str(200 + seed)], capture_output=True, text=True, check=True)
                rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
            wall = np.mean([r["wall_s"] for r in rows])
            rss = max(r["peak_rss_mb"] for r in rows)
            print(f"{point:10s} {setting:6s} n_paths = {args.n_paths}, {args.seeds} seeds: "
                  f"wall {wall:6.1f} s  peak RSS {rss:6.0f} MB", flush=True)
            for name in [k for k in rows[0] if k.startswith(("1-C", "chi", "d@"))]:
                v = np.array([r[name] for r in rows])
                spread = v.std(ddof=1) / abs(v.mean())
                merit = spread * np.sqrt(wall)
                merits.setdefault(name, {})[setting] = merit
                print(f"    {name:8s} = {v.mean():.5g}  seed spread {100 * spread:5.2f}%  "
                      f"spread x sqrt(wall) = {merit:.4f}", flush=True)
        if {"after", "before"} <= set(args.settings.split(",")):
            for name, m in merits.items():
                print(f"    {name}: variance ratio at equal wall time (before/after) = "
                      f"{(m['before'] / m['after']) ** 2:.1f}")
    if not args.no_scaling:
        here = os.path.dirname(os.path.abspath(__file__))
        subprocess.run([sys.executable, os.path.join(here, "bench_solver.py")], check=True)


if __name__ == "__main__":
    main()
