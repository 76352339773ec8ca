"""The dt -> 0 extrapolation, checked at three points: sgd and psgd, SAT and UNSAT (issue 22, item 4).

The solver is exact for the discrete algorithm; the continuous-time limit is an extrapolation.
At each point the DMFT is solved at several ``dt`` (:data:`DTS`) and a straight line in ``dt``
(weighted least squares) through every ``dt`` but the finest predicts the finest, which is
compared with the value measured there in combined errors (:func:`~.common.predict_finest`); the
line through all ``dt`` gives the reported ``dt -> 0`` value.  The points (:data:`POINTS`):

* ``sat-sgd`` -- the canonical SAT point (``alpha = 0.5, delta = 0.5``, sgd ``b = 0.5``, ``t_max =
  40``, two replicas), number ``d_inf``.  Here the limit is known exactly: at fixed ``b`` the
  selection noise per unit time vanishes as ``dt -> 0`` (its variance per step is ``O(dt^2)``,
  over ``O(1/dt)`` steps), sgd becomes gradient descent, and two replicas from the same start on
  the same data stay together: ``d_inf -> 0``.  Two lines are drawn: through ``d_inf`` itself (the
  naive extrapolation, whose intercept must be the exact 0) and through ``d_inf / dt`` (the
  leading order ``d_inf = c0 dt`` taken as known: the line's intercept is ``c0``).
* ``sat-psgd`` -- the same point with psgd at fixed ``tau = 0.5`` (``d(t)`` freezes within ``t_max =
  40``), number ``d_inf``: at fixed ``tau`` psgd tends to a stochastic flow with a finite
  ``d_inf``.
* ``unsat-psgd`` -- the canonical UNSAT point (``alpha = 4, delta = 0.5``, ``t_max = 125``) with
  psgd at ``tau = 2``, number ``T_eff`` (the headline of :func:`~dmft.analysis.teff.fit_teff`).

These are the psgd points of the effective-noise study's ``dt`` part (``DT_POINT``), DMFT only
(their simulations at the finest ``dt`` are that study's).  Writes ``dt_limit_runs.csv`` (one row
per point and ``dt``), ``dt_limit.csv`` (the lines) and ``dt_limit.md``.  Run::

    python -m dmft.app.studies.dt_limit -o docs/dt-limit [--workers 1] [--parts sat-sgd,...]
"""

from __future__ import annotations

import math
import os

from ...core.methods import DMFTMethod
from ...core.outputs import write_atomic
from ...core.params import Params
from ..runner import Task, load_task
from . import common
from .common import PINNED_DMFT, number, pm, predict_finest, run_into, study_main, write_csv
from .effective_noise import DT_POINT, base, measure

PARTS = ("sat-sgd", "sat-psgd", "unsat-psgd")
#: part -> (phase of the base point, changes to it)
POINTS = {"sat-sgd": ("sat", {}), "sat-psgd": ("sat", DT_POINT["sat"]), "unsat-psgd": ("unsat", DT_POINT["unsat"])}
DTS = {"sat": (0.2, 0.1, 0.05, 0.025), "unsat": (0.2, 0.1, 0.05)}
QUICK_DTS = (0.2, 0.1, 0.05)   # psgd at tau = 0.5 needs dt <= b tau = 0.25
#: the DMFT of one dt: sgd with 8 replicates, psgd with 4 (the effective-noise study's 8192 x 4;
#: its finest dt are the expensive runs: 1600 steps with two replicas, 2500 steps in UNSAT)
METHODS = {"sat-sgd": DMFTMethod(n_paths=8192, replicates=8, **PINNED_DMFT),
           "sat-psgd": DMFTMethod(n_paths=8192, replicates=4, **PINNED_DMFT),
           "unsat-psgd": DMFTMethod(n_paths=8192, replicates=4, **PINNED_DMFT)}
QUICK_METHOD = DMFTMethod(n_paths=256, replicates=4, **PINNED_DMFT)
#: the number of each phase, and its exact dt -> 0 value where one is known (sgd in SAT: the
#: replicas coincide)
QUANTITY = {"sat": "d_inf", "unsat": "T_eff"}
EXACT_LIMIT = {"sat-sgd": 0.0}


def tasks(quick: bool, parts=PARTS) -> list:
    out = []
    for part in parts:
        phase, changes = POINTS[part]
        point = {**base(phase, quick), **changes}
        if quick:   # a smoke test: short runs, same structure
            point.update(t_max=4.0) if phase == "sat" else point.update(t_max=10.0, tw=(4.0, 6.0))
        method = QUICK_METHOD if quick else METHODS[part]
        out += [Task(Params(**{**point, "dt": dt}), method, f"{part} dt={dt:g}")
                for dt in (QUICK_DTS if quick else DTS[phase])]
    return out


def kept_rows(path: str, new: list) -> list:
    """The rows of ``dt_limit_runs.csv`` at ``path`` (if any) whose point and ``dt`` have no row in
    ``new``: a run of some parts, or one whose cache lacks some runs (``--no-compute`` on another
    machine), keeps the others' rows (and the lines are drawn again from all of them)."""
    made = {(r["point"], r["dt"]) for r in new}
    return common.kept_rows(path, lambda r: (r["point"], r["dt"]) in made)


def _fit(part: str, quantity: str, rows: list, scale: bool = False) -> dict:
    """The checked line through ``quantity`` (``/ dt`` with ``scale``) of the rows of one part."""
    dt = [r["dt"] for r in rows]
    k = [1.0 / r["dt"] if scale else 1.0 for r in rows]
    fit = predict_finest(dt, [r["value"] * f for r, f in zip(rows, k)], [r["error"] * f for r, f in zip(rows, k)])
    exact = EXACT_LIMIT.get(part, math.nan) if not scale else math.nan
    return {"point": part, "quantity": quantity + ("/dt" if scale else ""), "kind": "dmft", **fit,
            "exact_dt0": exact, "dt0_vs_exact_sigma": (fit["dt0"] - exact) / fit["dt0_err"]}


def run(output: str, quick: bool = False, workers=None, parts=PARTS, compute: bool = True) -> dict:
    todo = tasks(quick, parts)
    cache = run_into(output, todo, workers=workers, compute=compute)
    rows = []
    for task in todo:
        if not os.path.exists(os.path.join(cache, task.filename)):
            continue
        r = load_task(cache, task)
        part = task.label.split()[0]
        phase = POINTS[part][0]
        name = QUANTITY[phase]
        m = measure(r)
        band = task.method.band_at(task.params)
        rows.append({"point": part, "dt": task.params.dt, "replicates": task.method.replicates,
                     "band": band, "band_time": band * task.params.dt, "quantity": name,
                     "value": number(m.get(name)), "error": number(m.get(name + "_err")),
                     "d_final": float(r.distance[-1]) if r.distance is not None else math.nan,
                     "d_final_err": float(r.sem["distance"][-1]) if r.distance is not None else math.nan,
                     "note": m.get("distance_note") or m.get("teff_notes", "")})
    runs_csv = os.path.join(output, "dt_limit_runs.csv")
    rows = sorted(kept_rows(runs_csv, rows) + rows, key=lambda r: (PARTS.index(r["point"]), -r["dt"]))
    fits = []
    for part in dict.fromkeys(r["point"] for r in rows):
        ok = [r for r in rows if r["point"] == part and math.isfinite(r["value"]) and math.isfinite(r["error"])
              and r["error"] > 0]
        if len(ok) < 3:
            continue
        fits.append(_fit(part, ok[0]["quantity"], ok))
        if part in EXACT_LIMIT:
            # the leading order is known: d_inf = dt (c0 + c1 dt + ...), so d_inf / dt is the number
            # with a finite limit, c0, and the straight line is drawn through it
            fits.append(_fit(part, ok[0]["quantity"], ok, scale=True))
    write_csv(rows, runs_csv)
    write_csv(fits, os.path.join(output, "dt_limit.csv"))
    if rows:
        write_atomic(os.path.join(output, "dt_limit.md"), ("\n".join(_tables(rows, fits)) + "\n").encode())
    return {"runs": rows, "fits": fits}


def _tables(rows: list, fits: list) -> list:
    lines = ["| point | dt | replicates | exact band: steps (time) | number | value | d at t_max |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['point']} | {r['dt']:g} | {r['replicates']} | {r['band']} ({r['band_time']:g}) | {r['quantity']} | "
              f"{pm(r['value'], r['error'])} | {pm(r['d_final'], r['d_final_err'])} |" for r in rows]
    if fits:
        lines += ["", "| point | straight line in dt through | finest dt | measured | predicted from the coarser dt "
                  "| check | dt -> 0 (all dt) | exact | check |", "|---|---|---|---|---|---|---|---|---|"]
        for f in fits:
            exact = (f"{f['exact_dt0']:g} | {f['dt0_vs_exact_sigma']:+.2f}" if math.isfinite(f["exact_dt0"])
                     else "| ")
            lines.append(f"| {f['point']} | {f['quantity']} | {f['finest_dt']:g} | {pm(f['finest'], f['finest_err'])} | "
                         f"{pm(f['predicted_at_finest'], f['predicted_err'])} | {f['check_sigma']:+.2f} | "
                         f"{pm(f['dt0'], f['dt0_err'])} | {exact} |")
    return lines


def main(argv=None) -> None:
    study_main(run, __doc__, "docs/dt-limit", PARTS, argv)


if __name__ == "__main__":
    main()
