"""The response estimators side by side: the block response (the default) against the probes.

At the two canonical points -- UNSAT (``alpha = 4, delta = 0.5``, sgd ``b = 0.5``, ``t_max = 125``,
``tw = 50, 75``) and SAT (``alpha = 0.5, delta = 0.5``, sgd ``b = 0.5``, two replicas,
``t_max = 40``) -- each seed is solved with ``response = "probe"`` and ``response = "blocks"``
(``--n-paths`` paths, one replicate, each run in a fresh subprocess, the two estimators
alternating so that they see the same load).  Prints and records per run the wall time, the peak
memory and the headline numbers (UNSAT: the far FDT ratio ``(1 - C)/chi`` at the lag 20 after the
later waiting time and the final energy; SAT: ``d(t_max)`` and the final ``frac_unsat``), and per
point the ratio of the wall times and the paired difference blocks - probe over the seeds (mean
and standard error; the two estimators make different paths of the same seed, so the difference
has noise of its own).

Usage: python benchmarks/bench_response.py [--n-paths 4096] [--seeds 2] [--record]
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys

import numpy as np
from record import conditions, record

CHILD = r"""
import json, resource, sys, time
import numpy as np
import dmft
point, response, n, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
dmft.solve(dmft.Params(dynamics="sgd", t_max=2.0), n_paths=64, replicates=1, response=response)  # compile
if point == "unsat":
    p = dmft.Params(alpha=4.0, delta=0.5, dynamics="sgd", b=0.5, t_max=125.0, tw=(50.0, 75.0), seed=seed)
else:
    p = dmft.Params(alpha=0.5, delta=0.5, dynamics="sgd", b=0.5, t_max=40.0, replicas=2, seed=seed)
t0 = time.perf_counter()
r = dmft.solve(p, n_paths=n, replicates=1, response=response)
wall = time.perf_counter() - t0
out = {"point": point, "response": response, "seed": seed, "n_paths": n, "wall_s": wall,
       "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, "status": r.status,
       "energy": float(r.energy[-1]), "frac_unsat": float(r.frac_unsat[-1])}
if point == "unsat":
    i = int(round((75.0 + 20.0) / p.dt))
    out["x_chi_20"] = float((1.0 - r.C[-1, i]) / r.chi[-1, i])
else:
    out["d_tmax"] = float(r.distance[-1])
print(json.dumps(out))
"""

#: headline numbers of each point
NUMBERS = {"unsat": ("x_chi_20", "energy"), "sat": ("d_tmax", "frac_unsat")}


def paired(rows: list, point: str, name: str) -> tuple:
    """Mean and standard error over the seeds of (blocks - probe) / probe of ``name`` at ``point``."""
    by = {(r["response"], r["seed"]): r[name] for r in rows if r["point"] == point}
    seeds = sorted({s for _, s in by})
    rel = np.array([by[("blocks", s)] / by[("probe", s)] - 1.0 for s in seeds])
    err = rel.std(ddof=1) / math.sqrt(len(rel)) if len(rel) > 1 else math.nan
    return float(rel.mean()), float(err)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-paths", type=int, default=4096)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--record", action="store_true", help="write benchmarks/results/bench_response.json")
    args = ap.parse_args(argv)
    start = conditions()
    rows = []
    for point in NUMBERS:
        for seed in range(1, args.seeds + 1):
            for response in ("probe", "blocks"):
                out = subprocess.run([sys.executable, "-c", CHILD, point, response, str(args.n_paths), str(seed)],
                                     capture_output=True, text=True, check=True)
                row = json.loads(out.stdout.strip().splitlines()[-1])
                rows.append(row)
                values = "  ".join(f"{k} {row[k]:.6g}" for k in NUMBERS[point])
                print(f"{point:5s} seed {seed} {response:6s}: wall {row['wall_s']:6.1f} s  peak {row['peak_rss_mb']:6.0f} MB"
                      f"  {values}", flush=True)
    summary = {}
    for point, names in NUMBERS.items():
        walls = {r["response"]: [] for r in rows}
        for r in rows:
            if r["point"] == point:
                walls[r["response"]].append(r["wall_s"])
        ratio = float(np.sum(walls["blocks"]) / np.sum(walls["probe"]))
        summary[point] = {"wall_ratio": ratio, **{name: paired(rows, point, name) for name in names}}
        diffs = ", ".join(f"{name} {100 * m:+.3f} +- {100 * e:.3f}%" for name, (m, e) in
                          ((n, summary[point][n]) for n in names))
        print(f"{point}: blocks / probe wall time {ratio:.2f}; blocks - probe: {diffs}")
    if args.record:
        print("recorded in", record("bench_response", start, rows, summary=summary, n_paths=args.n_paths,
                                    seeds=args.seeds))


if __name__ == "__main__":
    main()
