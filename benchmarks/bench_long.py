"""Long horizons with a memory window (issue 20): wall time, peak memory and their growth with T.

The stationary UNSAT point of the issue (``alpha = 4, delta = 0.5``, sgd ``b = 0.3``, ``dt = 0.1``),
one replicate, solved to the horizons ``--horizons`` with today's full memory and with a memory
window of ``--window`` steps (``DMFTMethod(memory_window=W)``), each size in a fresh subprocess
(so that its peak memory is its own) after a numba warm-up, the two methods alternating at each
size (the same machine load for both).  Prints and records wall time, peak RSS, the fitted
exponent of wall time in the number of steps for each method and the ratio full/window at each
size; ``--reach T --reach-paths N`` adds one windowed run to ``t_max = T`` with ``N`` paths (the
issue's target: ``t = 1000`` at 16384 paths in 10 minutes and 6 GB), ``--reach-full`` the same
with the full memory.

Usage: python benchmarks/bench_long.py [--n-paths 4096] [--horizons 125,250,500] [--window 200]
                                       [--reach 1000 --reach-paths 16384] [--reach-only] [--record]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import numpy as np
from record import RESULTS, conditions, record

CHILD = r"""
import json, resource, sys, time
import dmft
from dmft import DMFTMethod, Params
n, t_max, window = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
dmft.solve(Params(t_max=30.0, tw=()), method=DMFTMethod(n_paths=64, replicates=1, memory_window=window, extrapolation_paths=0))  # compile
p = Params(alpha=4.0, delta=0.5, dynamics="sgd", b=0.3, dt=0.1, t_max=t_max, seed=0, tw=(0.4 * t_max, 0.6 * t_max))
t0 = time.perf_counter()
r = dmft.solve(p, method=DMFTMethod(n_paths=n, replicates=1, memory_window=window, extrapolation_paths=0))
wall = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
print(json.dumps({"t_max": t_max, "steps": p.n_steps, "n_paths": n, "window": window, "wall_s": wall,
                  "peak_rss_mb": rss, "status": r.status.value, "energy_end": float(r.energy[-1])}))
"""


def run_one(n: int, t_max: float, window: int) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(n), str(t_max), str(window)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def exponent(rows) -> float:
    """Least-squares slope of log(wall) against log(steps)."""
    if len(rows) < 2:
        return float("nan")
    return float(np.polyfit(np.log([r["steps"] for r in rows]), np.log([r["wall_s"] for r in rows]), 1)[0])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n-paths", type=int, default=4096)
    ap.add_argument("--horizons", default="125,250,500")
    ap.add_argument("--window", type=int, default=200)
    ap.add_argument("--reach", type=float, default=0.0, help="t_max of one more windowed run (0: none)")
    ap.add_argument("--reach-paths", type=int, default=16384)
    ap.add_argument("--reach-full", action="store_true", help="the reach run with the full memory too")
    ap.add_argument("--reach-only", action="store_true",
                    help="only the reach run(s); the recorded horizons are kept and the reach replaced")
    ap.add_argument("--record", action="store_true", help="write benchmarks/results/bench_long.json")
    args = ap.parse_args(argv)
    start = conditions()
    if args.reach_only:
        return reach_only(args, start)
    rows = []
    for t_max in [float(x) for x in args.horizons.split(",")]:
        for window in (0, args.window):
            row = run_one(args.n_paths, t_max, window)
            rows.append(row)
            print(f"t_max {t_max:g} ({row['steps']} steps) {'window ' + str(window) if window else 'full memory'}: "
                  f"{row['wall_s']:.1f} s, peak {row['peak_rss_mb']:.0f} MB, energy {row['energy_end']:.5g}",
                  flush=True)
    full = [r for r in rows if not r["window"]]
    win = [r for r in rows if r["window"]]
    ratios = [f["wall_s"] / w["wall_s"] for f, w in zip(full, win)]
    summary = {"exponent_full": exponent(full), "exponent_window": exponent(win), "ratios": ratios,
               "n_paths": args.n_paths, "window": args.window}
    print(f"wall ~ steps^{summary['exponent_full']:.2f} (full) and ^{summary['exponent_window']:.2f} (window); "
          "full/window: " + ", ".join(f"{x:.2f}" for x in ratios))
    summary["reach"] = reach_runs(args)
    if args.record:
        print("recorded in", record("bench_long", start, rows, **summary))


def reach_runs(args) -> list:
    reach = []
    if args.reach:
        for window in ((0,) if args.reach_full else ()) + (args.window,):
            row = run_one(args.reach_paths, args.reach, window)
            row["load"] = conditions()["load"]
            reach.append(row)
            print(f"reach: t_max {args.reach:g} at {args.reach_paths} paths, "
                  f"{'window ' + str(window) if window else 'full memory'}: {row['wall_s']:.1f} s, "
                  f"peak {row['peak_rss_mb']:.0f} MB, status {row['status']}", flush=True)
    return reach


def reach_only(args, start: dict) -> None:
    """The reach run(s) again (e.g. on a quieter machine), the recorded horizons kept; the reach
    rows carry their own date, commit and load."""
    with open(os.path.join(RESULTS, "bench_long.json")) as fh:
        rec = json.load(fh)
    reach = reach_runs(args)
    for row in reach:
        row.update(date=start["date"], commit=start["commit"], start_load=start["load"])
    rec["reach"] = reach
    if args.record:
        keep = {k: v for k, v in rec.items() if k not in ("rows",)}
        print("recorded in", record("bench_long", {k: keep.pop(k) for k in ("date", "commit", "cores", "load")},
                                    rec["rows"], **keep))


if __name__ == "__main__":
    main()
