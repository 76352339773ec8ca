"""The late-time drift of the probe response estimator in converged SAT runs (issue 22, item 2).

Once a SAT run has (nearly) converged, the gaps of the contacts sit just below zero, ``h -> 0-``,
held there by their own force, and the other gaps are frozen at ``h > 0``, where the force and
its derivative ``a = v''`` vanish.  A zero-mean error of the memory kernel ``M_R`` kicks every
path; a contact kicked up crosses to ``h > 0`` and stays there (nothing pulls it back), one kicked
down is pushed back to ``0-``: the estimator's noise acts as a *ratchet* that empties the contacts
into the satisfied side, raising the mean gap, narrowing the distribution and lowering
``frac_unsat`` (the fraction of gaps below 0), although each entry of ``M_R`` is unbiased.

This study measures that drift where it matters, where it comes from and that the block response
removes it: the same seeds solved with the probe estimator (``response = "probe"``: the exact band
of ``K // 8`` lags and probes beyond, the default before 2026-12-06), with the probes and the
exact band over half the horizon (``exact_lags = K // 2``), with the block response (the default,
``response = "blocks"``: the same band and exact block sums beyond it, no estimator noise) and
with the exact response (``exact_lags = K``),
at the SAT point of the generalisation study (teacher data, ``alpha = 3, delta = 0``) and at a
SAT point with random data (``alpha = 0.5, delta = 0.5``), gd, ``dt = 0.2``, to ``t_max = 40``
and (random data) ``80``.  For each estimator it tabulates the paired difference from the exact
response over the seeds (mean and standard error) of the final gap mean, gap standard deviation,
``frac_unsat`` and ``log10`` of the final energy.  Every solve is cached under ``<output>/runs``.
Run::

    python -m dmft.app.studies.sat_drift -o docs/sat-drift [--workers 1]
"""

from __future__ import annotations

import math
import os

import numpy as np

from ...core.methods import DMFTMethod
from ...core.outputs import write_atomic
from ...core.params import Params
from ..runner import Task
from .common import PINNED_DMFT, finished, mean_err, pm, run_into, study_main, write_csv
from .generalisation import gap_moments

PARTS = ("teacher", "random")
#: (name, point) of the SAT points, and their horizons
POINTS = {
    "teacher": dict(alpha=3.0, delta=0.0, data="teacher", normalization="mean", dynamics="gd", dt=0.2),
    "random": dict(alpha=0.5, delta=0.5, data="random", normalization="mean", dynamics="gd", dt=0.2),
}
HORIZONS = {"teacher": (40.0,), "random": (40.0, 80.0)}
QUICK_HORIZONS = {"teacher": (6.0,), "random": (6.0,)}
N_PATHS, SEEDS, FIRST_SEED = 2048, 8, 100
QUICK_N_PATHS, QUICK_SEEDS = 256, 2
#: estimator name -> (response, exact band as a fraction of the steps; None: the automatic band)
ESTIMATORS = {"probe": ("probe", None), "band K/2": ("probe", 0.5), "blocks": ("blocks", None),
              "exact": ("probe", 1.0)}
#: the numbers compared, from one result
NUMBERS = ("gap_mean", "gap_mean_0", "gap_std", "frac_unsat", "log10_energy")


def method(estimator: str, n_steps: int, n_paths: int) -> DMFTMethod:
    response, fraction = ESTIMATORS[estimator]
    lags = -1 if fraction is None else max(1, int(round(fraction * n_steps)))
    return DMFTMethod(n_paths=n_paths, replicates=1, exact_lags=lags, response=response,
                      **PINNED_DMFT)


def tasks(parts, quick: bool) -> list:
    horizons = QUICK_HORIZONS if quick else HORIZONS
    n_paths, seeds = (QUICK_N_PATHS, QUICK_SEEDS) if quick else (N_PATHS, SEEDS)
    out = []
    for name in parts:
        for t_max in horizons[name]:
            for s in range(seeds):
                p = Params(**POINTS[name], t_max=t_max, seed=FIRST_SEED + s)
                for est in ESTIMATORS:
                    out.append(Task(p, method(est, p.n_steps, n_paths), f"{name} t_max={t_max:g} {est} seed={p.seed}"))
    return out


def numbers(result) -> dict:
    """The final gap mean (from the bin centres, and with the two bins next to 0 counted at 0:
    ``gap_mean_0``) and standard deviation, ``frac_unsat`` and ``log10`` energy of a run."""
    mean, std, _ = gap_moments(result)
    energy = float(result.energy[-1])
    return {"gap_mean": mean, "gap_mean_0": gap_moments(result, contacts_at_zero=True)[0], "gap_std": std,
            "frac_unsat": float(result.frac_unsat[-1]), "log10_energy": math.log10(energy) if energy > 0 else -20.0}


def run(output: str, quick: bool = False, workers=None, parts=PARTS, compute: bool = True) -> list:
    todo = tasks(parts, quick)
    cache = run_into(output, todo, workers=workers, compute=compute)
    values = {}
    for task, result in finished(cache, todo):
        name, horizon, *est, _ = task.label.split()
        values[(name, horizon, " ".join(est), task.params.seed)] = numbers(result)
    rows = []
    for name, horizon in dict.fromkeys((k[0], k[1]) for k in values):
        seeds = sorted({k[3] for k in values if k[:2] == (name, horizon) and k[2] == "exact"})
        for est in ESTIMATORS:
            have = [s for s in seeds if (name, horizon, est, s) in values]
            if not have:
                continue
            for q in NUMBERS:
                x = np.array([values[(name, horizon, est, s)][q] for s in have])
                value, error = mean_err(x)
                diff, err = mean_err(x - np.array([values[(name, horizon, "exact", s)][q] for s in have]))
                rows.append({"point": name, "horizon": horizon, "estimator": est, "quantity": q, "seeds": len(x),
                             "value": value, "error": error, "minus_exact": diff, "minus_exact_err": err,
                             "z": diff / err if err and err > 0 else math.nan})
    write_csv(rows, os.path.join(output, "sat_drift.csv"))
    if rows:
        write_atomic(os.path.join(output, "sat_drift.md"), ("\n".join(_table(rows)) + "\n").encode())
    return rows


def _table(rows) -> list:
    lines = ["| point | estimator | " + " | ".join(f"{q}: value, minus exact (z)" for q in NUMBERS) + " |",
             "|---|---|" + "---|" * len(NUMBERS)]
    keys = list(dict.fromkeys((r["point"], r["horizon"], r["estimator"]) for r in rows))
    for key in keys:
        cells = {r["quantity"]: r for r in rows if (r["point"], r["horizon"], r["estimator"]) == key}
        parts = []
        for q in NUMBERS:
            r = cells[q]
            diff = "" if key[2] == "exact" else (f", {r['minus_exact']:+.4g} ± {r['minus_exact_err']:.2g}"
                                                   f" ({r['z']:+.1f})" if math.isfinite(r["z"]) else ", 0")
            parts.append(pm(r["value"], r["error"], 4) + diff)
        lines.append(f"| {key[0]} {key[1]} ({cells[NUMBERS[0]]['seeds']} seeds) | {key[2]} | " + " | ".join(parts) + " |")
    return lines


def main(argv=None) -> None:
    study_main(run, __doc__, "docs/sat-drift", PARTS, argv)


if __name__ == "__main__":
    main()
