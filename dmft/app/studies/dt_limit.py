"""The dt -> 0 extrapolation of sgd, checked against its exact limit and its finest dt (issue 22, item 4).

The solver is exact for the discrete algorithm; the continuous-time limit is an extrapolation.
The effective-noise study checks it for psgd at fixed ``tau`` (UNSAT ``T_eff``, SAT ``d_inf``;
``docs/study/dt_limit.csv``): a straight line in ``dt`` through the coarser values predicts the
finest.  This study adds the third point, sgd in the SAT phase (the canonical SAT point:
``alpha = 0.5, delta = 0.5``, sgd ``b = 0.5``, ``t_max = 40``, two replicas), where the limit is
also known exactly: as ``dt -> 0`` at fixed ``b`` the selection noise per unit time vanishes
(its variance per step is ``O(dt^2)``, over ``O(1/dt)`` steps), sgd becomes gradient descent, and
two replicas from the same start on the same data stay together: ``d_inf -> 0``.  For
``d_inf`` at ``dt`` in :data:`DTS` (DMFT, :data:`METHOD`) it writes ``dt_limit_runs.csv`` and
``dt_limit.csv``: for two straight lines in ``dt`` -- through ``d_inf`` itself (the naive
extrapolation, whose intercept must be the exact 0) and through ``d_inf / dt`` (the leading order
``d_inf = c0 dt`` taken as known: the line's intercept is ``c0``) -- the prediction of the finest
``dt`` from the coarser ones against the value measured there, in combined errors
(:func:`~.common.predict_finest`); and ``dt_limit.md``.  Run::

    python -m dmft.app.studies.dt_limit -o docs/dt-limit [--workers 1]
"""

from __future__ import annotations

import math
import os

from ...analysis import long_time_distance
from ...core.methods import DMFTMethod
from ...core.outputs import write_atomic
from ...core.params import Params
from ..demo import DEMO_POINTS
from ..runner import Task, load_task
from .common import pm, predict_finest, run_into, study_main, write_csv

PARTS = ("sat-sgd",)
POINT = DEMO_POINTS["sat"]
DTS = (0.2, 0.1, 0.05, 0.025)
QUICK_DTS = (0.4, 0.2, 0.1)
METHOD = DMFTMethod(n_paths=8192, replicates=8)
QUICK_METHOD = DMFTMethod(n_paths=256, replicates=4)
#: the exact dt -> 0 value of d_inf (sgd becomes gradient descent: the replicas coincide)
EXACT_LIMIT = 0.0


def tasks(quick: bool) -> list:
    point = dict(POINT, t_max=8.0) if quick else POINT
    method = QUICK_METHOD if quick else METHOD
    return [Task(Params(**{**point, "dt": dt}), method, f"sat-sgd dt={dt:g}") for dt in (QUICK_DTS if quick else DTS)]


def run(output: str, quick: bool = False, workers=None, parts=PARTS, compute: bool = True) -> dict:
    todo = tasks(quick)
    cache = run_into(output, todo, workers=workers, compute=compute)
    rows = []
    for task in todo:
        if not os.path.exists(os.path.join(cache, task.filename)):
            continue
        r = load_task(cache, task)
        d = long_time_distance(r, warn=False)
        band = task.method.band(task.params.n_steps, task.params.dt)
        rows.append({"point": "sat-sgd", "dt": task.params.dt, "replicates": task.method.replicates,
                     "band": band, "band_time": band * task.params.dt,
                     "d_inf": d.d_inf, "d_inf_err": d.d_inf_err, "d_final": float(r.distance[-1]),
                     "d_final_err": float(r.sem["distance"][-1]), "sat": d.sat, "note": d.note})
    fits = []
    ok = [r for r in rows if math.isfinite(r["d_inf"]) and math.isfinite(r["d_inf_err"]) and r["d_inf_err"] > 0]
    if len(ok) >= 3:
        dt = [r["dt"] for r in ok]
        fit = predict_finest(dt, [r["d_inf"] for r in ok], [r["d_inf_err"] for r in ok])
        fit["exact_dt0"] = EXACT_LIMIT
        fit["dt0_vs_exact_sigma"] = (fit["dt0"] - EXACT_LIMIT) / fit["dt0_err"]
        fits.append({"point": "sat-sgd", "quantity": "d_inf", "kind": "dmft", **fit})
        # the leading order is known: d_inf = dt (c0 + c1 dt + ...), so d_inf / dt is the number
        # with a finite limit, c0, and the straight line is drawn through it
        per = predict_finest(dt, [r["d_inf"] / r["dt"] for r in ok], [r["d_inf_err"] / r["dt"] for r in ok])
        fits.append({"point": "sat-sgd", "quantity": "d_inf/dt", "kind": "dmft", **per,
                     "exact_dt0": math.nan, "dt0_vs_exact_sigma": math.nan})
    write_csv(rows, os.path.join(output, "dt_limit_runs.csv"))
    write_csv(fits, os.path.join(output, "dt_limit.csv"))
    if rows:
        write_atomic(os.path.join(output, "dt_limit.md"), ("\n".join(_tables(rows, fits)) + "\n").encode())
    return {"runs": rows, "fits": fits}


def _tables(rows: list, fits: list) -> list:
    lines = ["| dt | replicates | exact band: steps (time) | d_inf | d at t_max |", "|---|---|---|---|---|"]
    lines += [f"| {r['dt']:g} | {r['replicates']} | {r['band']} ({r['band_time']:g}) | "
              f"{pm(r['d_inf'], r['d_inf_err'])} | {pm(r['d_final'], r['d_final_err'])} |" for r in rows]
    if fits:
        lines += ["", "| straight line in dt through | finest dt | measured | predicted from the coarser dt | check "
                  "| dt -> 0 (all dt) | exact | check |", "|---|---|---|---|---|---|---|---|"]
        for f in fits:
            exact = (f"{f['exact_dt0']:g} | {f['dt0_vs_exact_sigma']:+.2f}" if math.isfinite(f["exact_dt0"])
                     else "| ")
            lines.append(f"| {f['quantity']} | {f['finest_dt']:g} | {pm(f['finest'], f['finest_err'])} | "
                         f"{pm(f['predicted_at_finest'], f['predicted_err'])} | {f['check_sigma']:+.2f} | "
                         f"{pm(f['dt0'], f['dt0_err'])} | {exact} |")
    return lines


def main(argv=None) -> None:
    study_main(run, __doc__, "docs/dt-limit", PARTS, argv)


if __name__ == "__main__":
    main()
