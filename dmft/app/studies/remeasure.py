"""The cells of the effective-noise study without a number, measured by ``dmft measure`` (issue 19).

The study (:mod:`dmft.app.studies.effective_noise`, ``docs/effective-noise.md``) ran every
point at a fixed horizon (UNSAT ``t_max = 125``, ``tw = (50, 75)``; SAT ``t_max = 40``) and
statistics (DMFT 8192 paths x 4 replicates, simulations N = 2000 x 6 systems), and printed n/a
where ``x``/``chi`` (or ``d``) still moved at the end of the run or the late-lag noise hid the
plateau.  This script reads its tables (``results.csv``, ``map.csv`` in the study folder), and
measures each such cell with :func:`dmft.app.measure.measure` -- same point, same method, the
study's horizon as the first one -- to a relative error of 3% (``teff``, the headline
``T_static``; ``distance``, ``d_inf``) within a budget per cell.  Run::

    python -m dmft.app.studies.remeasure -o docs/study [--workers 2] [--parts scans,map] [--budget 20m] [--sim-n 2000]

Every measurement is a resumable task (:class:`~dmft.app.measure.MeasureTask`) cached in
``<output>/measured``; it writes ``remeasured.csv`` (one row per cell: the old value, the new
value or status, the horizon and repetitions reached) and ``remeasured.md``.
"""

from __future__ import annotations

import csv
import math
import os

from ...core.methods import DMFTMethod, ParticleMethod
from ...core.params import Params
from ..measure import MeasureSettings, MeasureTask, parse_budget
from ..runner import load_task, run_tasks
from .common import write_csv
from .effective_noise import SAT, SIM_SEED, UNSAT

PARTS = ("scans", "map")
#: target relative error of every cell
REL_ERROR = 0.03


def _float(text) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def _rows(path: str) -> list:
    if not os.path.exists(path):
        raise FileNotFoundError(f"'{path}' is missing: run python -m dmft.app.studies.effective_noise first")
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def missing_cells(output: str, parts) -> list:
    """(label, phase, kind, Params, old note) of every cell of the study's tables without a value:
    ``T_static`` in UNSAT, ``d_inf`` in SAT."""
    cells = []
    if "scans" in parts:
        for r in _rows(os.path.join(output, "results.csv")):
            name = "T_static" if r["phase"] == "unsat" else "d_inf"
            if math.isfinite(_float(r[name])):
                continue
            point = dict(UNSAT if r["phase"] == "unsat" else SAT)
            point.update(alpha=_float(r["alpha"]), delta=_float(r["delta"]), dynamics=r["dynamics"],
                         b=_float(r["b"]), noise_class=r["noise_class"])
            if r["dynamics"] == "psgd":
                point["tau"] = _float(r["tau"])
            if r["kind"] == "simulation":
                point["seed"] = SIM_SEED
            note = r["teff_notes"] if r["phase"] == "unsat" else r["distance_note"]
            label = f"{r['phase']} {r['scan']}={r['x']} {r['noise_class']}"
            cells.append((label, r["phase"], r["kind"], Params(**point), note))
    if "map" in parts:
        for r in _rows(os.path.join(output, "map.csv")):
            name = "T_eff" if r["phase"] == "unsat" else "d_inf"
            if math.isfinite(_float(r[name])):
                continue
            point = dict(UNSAT if r["phase"] == "unsat" else SAT)
            point.update(alpha=_float(r["alpha"]), b=_float(r["b"]))
            note = r["teff_notes"] if r["phase"] == "unsat" else r["distance_note"]
            cells.append((f"map alpha={r['alpha']} b={r['b']}", r["phase"], "dmft", Params(**point), note))
    return cells


def tasks(output: str, parts, budget: float, sim_n: int = 2000) -> list:
    """One measurement per missing cell, with the study's methods (DMFT 8192 paths, simulations
    of size ``sim_n``; the study's N = 2000 by default) and its horizon as the first one."""
    out = []
    for label, phase, kind, p, _ in missing_cells(output, parts):
        quantity = "teff" if phase == "unsat" else "distance"
        if quantity == "teff":
            p = p.replace(tw=())    # the waiting times follow the horizon
        method = DMFTMethod(n_paths=8192) if kind == "dmft" else ParticleMethod(n=sim_n)
        settings = MeasureSettings(quantity, rel_error=REL_ERROR, budget=budget).resolved(method.kind)
        out.append(MeasureTask(p, method, f"{label} {kind}", settings))
    return out


def run(output: str, workers: int | None = None, parts=PARTS, budget="20m", compute: bool = True,
        sim_n: int = 2000) -> list:
    todo = tasks(output, parts, parse_budget(budget), sim_n)
    cache = os.path.join(output, "measured")
    if compute:
        run_tasks(todo, cache, workers=workers)
    old = {label: note for label, _, kind, _, note in missing_cells(output, parts) for label in [f"{label} {kind}"]}
    rows = []
    for task in todo:
        path = os.path.join(cache, task.filename)
        if not os.path.exists(path):
            continue
        r = load_task(cache, task)
        m = r.measurement
        rows.append({"cell": task.label, "quantity": m["quantity"], "status": m["status"],
                     "value": _num(m["value"]), "error": _num(m["error"]), "rel_error": _num(m["rel_error"]),
                     "t_max": m["t_max"], "repetitions": m["repetitions"], "tries": len(m["tries"]),
                     "wall_s": m["wall_s"], "reason": "" if m["status"] == "ok" else m["reason"],
                     "old_note": old.get(task.label, ""), "file": task.filename})
    write_csv(rows, os.path.join(output, "remeasured.csv"))
    lines = ["| cell | quantity | status | value | t_max | repetitions |", "|---|---|---|---|---|---|"]
    for row in rows:
        value = (f"{row['value']:.4g} ± {row['error']:.2g}" if math.isfinite(row["value"]) and row["status"] == "ok"
                 else row["status"])
        lines.append(f"| {row['cell']} | {row['quantity']} | {row['status']} | {value} | {row['t_max']:g} | "
                     f"{row['repetitions']} |")
    with open(os.path.join(output, "remeasured.md"), "w") as fh:
        fh.write("\n".join(lines) + "\n")
    return rows


def _num(x) -> float:
    return math.nan if x is None else float(x)


def main(argv=None) -> None:
    import argparse
    import logging

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default="docs/study")
    parser.add_argument("--workers", type=int, default=None, help="local worker processes (default: cores)")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated subset of {','.join(PARTS)}")
    parser.add_argument("--budget", default="20m", help="budget of each measurement (default 20m)")
    parser.add_argument("--sim-n", type=int, default=2000, help="N of the simulations (default 2000, the study's)")
    parser.add_argument("--no-compute", action="store_true", help="only the tables from finished measurements")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parts = tuple(p for p in args.parts.split(",") if p)
    run(args.output, workers=args.workers, parts=parts, budget=args.budget, compute=not args.no_compute,
        sim_n=args.sim_n)


if __name__ == "__main__":
    main()
