"""Benchmark of the DMFT solver: sgd, alpha=3, Delta=0, b=0.5, dt=0.1, n_paths=10^4, one replicate.

Usage: python benchmarks/bench_solver.py [--n-paths N] [--steps 250,500,1000] [--response auto]
                                         [--probes P] [--record]

``--response`` (default ``auto``: the block response here) and ``--probes`` (with ``--response
probe``) choose the response estimator of ``DMFTMethod``.

``--record`` writes ``benchmarks/results/bench_solver.json`` with the date, commit and load, which
the README quotes (``python -m dmft.app.reference --parts docs``).

Each size runs in a fresh subprocess (so that its peak memory, ru_maxrss, is its own) after a
numba warm-up; prints wall time, peak RSS and the fitted exponent of wall time in T.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import numpy as np
from record import conditions, record

CHILD = r"""
import json, resource, sys, time
import dmft
n, steps, probes, response = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
dmft.solve(dmft.Params(dynamics="sgd", t_max=1.0), n_paths=64, n_probes=probes, replicates=1,
           response=response)  # compile / load cache
p = dmft.Params(alpha=3.0, delta=0.0, dynamics="sgd", b=0.5, dt=0.1, t_max=steps * 0.1, seed=0,
                tw=(steps * 0.05,))
t0 = time.perf_counter()
r = dmft.solve(p, n_paths=n, n_probes=probes, replicates=1, response=response)
wall = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
print(json.dumps({"T": steps, "wall_s": wall, "peak_rss_mb": rss, "status": r.status,
                  "energy_end": float(r.energy[-1])}))
"""


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n-paths", type=int, default=10_000)
    ap.add_argument("--steps", default="250,500,1000")
    ap.add_argument("--probes", type=int, default=4)
    ap.add_argument("--response", default="auto", choices=("auto", "blocks", "probe"))
    ap.add_argument("--record", action="store_true", help="write benchmarks/results/bench_solver.json")
    args = ap.parse_args(argv)
    start = conditions()
    rows = []
    for steps in [int(x) for x in args.steps.split(",")]:
        out = subprocess.run([sys.executable, "-c", CHILD, str(args.n_paths), str(steps), str(args.probes),
                              args.response],
                             capture_output=True, text=True, check=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(f"T = {row['T']:5d} steps  n_paths = {args.n_paths}  response = {args.response}:  "
              f"wall {row['wall_s']:7.2f} s   peak RSS {row['peak_rss_mb']:7.0f} MB   "
              f"status {row['status']}  e(t_max) = {row['energy_end']:.4f}", flush=True)
    if len(rows) >= 2:
        T = np.array([r["T"] for r in rows], float)
        w = np.array([r["wall_s"] for r in rows])
        slope = np.polyfit(np.log(T), np.log(w), 1)[0]
        print(f"fitted exponent: wall ~ T^{slope:.2f}")
        if args.record:
            print("recorded in", record("bench_solver", start, rows, exponent=slope, n_paths=args.n_paths,
                                        probes=args.probes, response=args.response))


if __name__ == "__main__":
    main()
