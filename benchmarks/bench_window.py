"""Precision per second of T_eff at the canonical UNSAT point: the waiting-time window (issue 20).

The canonical point (``alpha = 4, delta = 0.5``, sgd ``b = 0.5``, ``dt = 0.1``, ``t_max = 125``)
measured two ways, on the same machine in the same run:

* **today's protocol**: the default :class:`~dmft.DMFTMethod` (16384 paths x 4 replicates), the
  waiting times ``(50, 75)``, ``T_eff`` at the single waiting time 75 (one run: its wall time and
  reported error; its 10-run spread is in ``docs/precision-defaults.md``);
* **the window**: ``--n-paths`` paths x ``--replicates`` replicates with 16 waiting times over
  ``[0.35, 0.55] t_max`` (what ``dmft measure`` writes), ``T_eff`` from the averages over them;
  ``--runs`` independent runs (seeds 101, 102, ...): their wall time, the error each reports and
  the spread of their values (the check of the reported error).

Prints the wall times, the mean reported relative error, the relative spread over the runs, the
ratio of the two (1 for calibrated errors; a spread over 10 runs is itself uncertain by about
25%), and the mean T_eff of each against the other (the finite-n_paths bias shows here).

Usage: python benchmarks/bench_window.py [--runs 10] [--n-paths 4096] [--replicates 4] [--record]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

from record import conditions, record

CHILD = r"""
import json, resource, sys, time, warnings
import numpy as np
import dmft
from dmft import DMFTMethod, Params
from dmft.app.measure import MeasureSettings, waiting_times
n, k, seed, window = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "window"
dmft.solve(Params(t_max=2.0, tw=()), n_paths=64, replicates=1)   # compile / load the cache
p = Params(alpha=4, delta=0.5, dynamics="sgd", b=0.5, dt=0.1, t_max=125, seed=seed, tw=(50, 75))
if window:
    p = p.replace(tw=waiting_times(p.t_max, p.dt, MeasureSettings("teff").window, 16))
method = DMFTMethod(n_paths=n, replicates=k, extrapolation_paths=0, memory_window=0)
t0 = time.perf_counter()
r = dmft.run(p, method)
wall = time.perf_counter() - t0
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    est = dmft.fit_teff(r, warn=False)
print(json.dumps({"seed": seed, "n_paths": n, "replicates": k, "window": window, "n_tw": len(p.tw), "wall_s": wall,
                  "T_eff": est.T_eff, "T_eff_err": est.T_eff_err,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}))
"""


def child(n: int, k: int, seed: int, window: bool) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(n), str(k), str(seed), "window" if window else "single"],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--n-paths", type=int, default=4096)
    ap.add_argument("--replicates", type=int, default=4)
    ap.add_argument("--record", action="store_true", help="write benchmarks/results/bench_window.json")
    args = ap.parse_args(argv)
    start = conditions()
    print(f"canonical UNSAT point, {os.cpu_count()} cores, load {start['load']:.2f}", flush=True)
    today = child(16384, 4, 101, window=False)
    print(f"today (16384 x 4, tw = 75): {today['wall_s']:.1f} s, T_eff = {today['T_eff']:.5g} +/- "
          f"{today['T_eff_err']:.2g} ({100 * today['T_eff_err'] / today['T_eff']:.2f}%)", flush=True)
    rows = []
    for i in range(args.runs):
        row = child(args.n_paths, args.replicates, 101 + i, window=True)
        rows.append(row)
        print(f"window run {i + 1}: {row['wall_s']:.1f} s, T_eff = {row['T_eff']:.5g} +/- {row['T_eff_err']:.2g}",
              flush=True)
    values = [r["T_eff"] for r in rows]
    mean = statistics.fmean(values)
    spread = statistics.stdev(values) / mean
    reported = statistics.fmean(r["T_eff_err"] for r in rows) / mean
    wall = statistics.fmean(r["wall_s"] for r in rows)
    summary = {"today_wall_s": today["wall_s"], "today_T_eff": today["T_eff"], "today_rel_err": today["T_eff_err"] / today["T_eff"],
               "window_wall_s": wall, "window_mean": mean, "window_mean_err": statistics.stdev(values) / len(values) ** 0.5,
               "window_spread_rel": spread, "window_reported_rel": reported, "ratio_reported_to_spread": reported / spread,
               "speedup": today["wall_s"] / wall, "load_end": os.getloadavg()[0]}
    print(json.dumps(summary, indent=1))
    if args.record:
        print("recorded in", record("bench_window", start, [today] + rows, **summary))


if __name__ == "__main__":
    main()
