"""The error of the memory window (issue 20): windowed against full marches at the same seeds.

``DMFTMethod(memory_window=W)`` sums the steps older than ``W`` through block means
(``docs/dmft-derivation.md`` section 10).  Its error is measured here, not assumed: at the
canonical UNSAT point (``alpha = 4, delta = 0.5``, sgd ``b = 0.5``, ``t_max = 125``, 8 waiting
times over ``[0.35, 0.55] t_max``) and at the canonical SAT point (``alpha = 0.5``, two replicas,
``t_max = 40``) each seed is solved with the full memory and with windows of ``WINDOWS`` steps
(one replicate of ``N_PATHS`` paths each).  The windowed march draws the same innovations but
turns them into other fields, so a paired difference carries sampling noise of its own; its mean
over the seeds and the standard error of that mean say whether a bias is visible, and the
relative bias is compared with the relative standard error of the default ``DMFTMethod()``
(16384 paths x 4 replicates), estimated from the seed spread of one full run scaled by
``sqrt(N_PATHS / (16384 x 4))``.  Numbers: the final energy, x(s) and chi(s) from the average over
the waiting times at lags 5, 20 and 50 and the far ratio ``x/chi`` at lag 50 (UNSAT); ``d(t_max)``
and the final energy (SAT).  Every solve is cached under ``<output>/runs``.  Run::

    python -m dmft.app.studies.memory_window -o docs/long-horizons [--workers 1]
"""

from __future__ import annotations

import math
import os

import numpy as np

from ...analysis.teff import fdt_curve
from ...core.methods import DMFTMethod
from ...core.outputs import write_atomic
from ...core.params import Params
from ..runner import Task
from .common import finished, mean_err, pm, run_into, study_main, write_csv

PARTS = ("unsat", "sat")
POINTS = {
    "unsat": dict(alpha=4.0, delta=0.5, dynamics="sgd", b=0.5, dt=0.1, t_max=125.0),
    "sat": dict(alpha=0.5, delta=0.5, dynamics="sgd", b=0.5, dt=0.1, t_max=40.0, replicas=2),
}
WINDOWS = (100, 200, 400)
N_PATHS, SEEDS = 4096, 16
QUICK = dict(n_paths=256, seeds=2, t_max=8.0, windows=(20,), exact_lags=8)
#: the default's paths (16384 x 4): the standard error a bias is compared with
DEFAULT_PATHS = 16384 * 4
LAGS = (5.0, 20.0, 50.0)


def _point(name: str, quick: bool, seed: int) -> Params:
    kw = dict(POINTS[name])
    if quick:
        kw["t_max"] = QUICK["t_max"]
    t = kw["t_max"]
    tw = tuple(float(x) for x in np.round(np.linspace(0.35, 0.55, 8) * t, 1)) if name == "unsat" else (0.5 * t,)
    return Params(**kw, tw=tw, seed=seed)


def tasks(parts, quick: bool) -> list:
    n = QUICK["n_paths"] if quick else N_PATHS
    seeds = QUICK["seeds"] if quick else SEEDS
    windows = QUICK["windows"] if quick else WINDOWS
    out = []
    for name in parts:
        for seed in range(1, seeds + 1):
            p = _point(name, quick, seed)
            for w in (0,) + windows:
                method = DMFTMethod(n_paths=n, replicates=1, memory_window=w, extrapolation_paths=0,
                                    exact_lags=QUICK["exact_lags"] if quick else -1)
                out.append(Task(p, method, f"{name} window={w} seed={seed}"))
    return out


def numbers(name: str, result) -> dict:
    """The compared numbers of one run."""
    out = {"energy": float(result.energy[-1])}
    if name == "sat":
        out["d_final"] = float(result.distance[-1])
        return out
    c = fdt_curve(result, tw="window")
    for s in LAGS:
        i = int(np.argmin(np.abs(c.lags - s)))
        out[f"x_{s:g}"], out[f"chi_{s:g}"] = float(c.x[i]), float(c.chi[i])
    out["x/chi_far"] = out[f"x_{LAGS[-1]:g}"] / out[f"chi_{LAGS[-1]:g}"]
    return out


def run(output: str, quick: bool = False, workers=None, parts=PARTS, compute: bool = True) -> list:
    todo = tasks(parts, quick)
    cache = run_into(output, todo, workers=workers, compute=compute)
    values, walls = {}, {}
    for task, result in finished(cache, todo):
        name, window, seed = (x.split("=")[-1] for x in task.label.split())
        values[(name, int(window), int(seed))] = numbers(name, result)
        walls[(name, int(window), int(seed))] = float(result.meta.get("wall_time_s", math.nan))
    n = QUICK["n_paths"] if quick else N_PATHS
    rows = []
    for name in parts:
        seeds = sorted({k[2] for k in values if k[0] == name and k[1] == 0})
        for window in sorted({k[1] for k in values if k[0] == name and k[1] > 0}):
            have = [s for s in seeds if (name, window, s) in values]
            if len(have) < 2:
                continue
            for q in values[(name, 0, have[0])]:
                full = np.array([values[(name, 0, s)][q] for s in have])
                diff = np.array([values[(name, window, s)][q] for s in have]) - full
                value, spread = float(full.mean()), float(full.std(ddof=1))
                bias, bias_err = mean_err(diff)
                default_err = spread * math.sqrt(n / DEFAULT_PATHS)
                rows.append({"point": name, "window": window, "quantity": q, "seeds": len(have),
                             "full": value, "bias": bias, "bias_err": bias_err,
                             "z": bias / bias_err if bias_err > 0 else math.nan,
                             "bias_rel": bias / value if value else math.nan,
                             "default_err_rel": default_err / abs(value) if value else math.nan,
                             "wall_full_s": float(np.nanmean([walls[(name, 0, s)] for s in have])),
                             "wall_window_s": float(np.nanmean([walls[(name, window, s)] for s in have]))})
    write_csv(rows, os.path.join(output, "memory_window.csv"))
    if rows:
        write_atomic(os.path.join(output, "memory_window.md"), ("\n".join(_table(rows)) + "\n").encode())
    return rows


def _table(rows) -> list:
    lines = ["| point | window (steps) | quantity | full march | windowed - full (z) | relative | "
             "default's relative error | wall full / windowed (s) |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['point']} ({r['seeds']} seeds) | {r['window']} | {r['quantity']} | {r['full']:.6g} | "
                     f"{pm(r['bias'], r['bias_err'], 3)} ({r['z']:+.1f}) | {100 * r['bias_rel']:+.2f}% | "
                     f"{100 * r['default_err_rel']:.2f}% | {r['wall_full_s']:.1f} / {r['wall_window_s']:.1f} |")
    return lines


def main(argv=None) -> None:
    study_main(run, __doc__, "docs/long-horizons", PARTS, argv)


if __name__ == "__main__":
    main()
