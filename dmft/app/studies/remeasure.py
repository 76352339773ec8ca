"""The cells of the effective-noise study without a number, measured by ``dmft measure`` (issue 19).

The study (:mod:`dmft.app.studies.effective_noise`, ``docs/effective-noise.md``) ran every
point at a fixed horizon (UNSAT ``t_max = 125``, ``tw = (50, 75)``; SAT ``t_max = 40``) and
statistics (DMFT 8192 paths x 4 replicates, simulations N = 2000 x 6 systems), and printed n/a
where ``x``/``chi`` (or ``d``) still moved at the end of the run or the late-lag noise hid the
plateau.  This script reads its tables (``results.csv``, ``fixed_horizon_map.csv`` in the study folder), and
measures each such cell with :func:`dmft.app.measure.measure` -- same point, same method, the
study's horizon as the first one -- to a relative error of 3% (``teff``, the headline
``T_static``; ``distance``, ``d_inf``) within a budget per cell.  Run::

    python -m dmft.app.studies.remeasure -o docs/study [--workers 2] [--parts scans,map] [--budget 20m]
                                         [--budget-teff 30m] [--sim-n 2000]
                                         [--checks-only | --no-checks] [--no-compute]

Every measurement is a resumable task (:class:`~dmft.app.measure.MeasureTask`) cached in
``<output>/measured``.  Where DMFT and simulation then differ by more than :data:`CHECK_Z`
combined errors, :func:`check_tasks` runs the follow-ups (the shorter horizon again at the longer
one, the simulation at twice its ``N``; cached in ``<output>/checks``).  It writes
``remeasured.csv`` (one row per cell: the old note, the new value or status, ``T_short``,
``T_slow``, the horizon and repetitions reached), ``remeasured_checks.csv`` and
``remeasured.md`` (the cells, DMFT against simulation in combined errors, the follow-ups).
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass, replace

from ...core.methods import DMFTMethod, ParticleMethod
from ...core.params import Params
from ...analysis import fit_teff, long_time_distance
from ..measure import MeasureSettings, MeasureTask, parse_budget, point_at
from ..runner import Task, load_task, run_tasks
from .common import PINNED_DMFT, combined_z, kept_rows, number, pm, write_csv
from .effective_noise import SAT, SIM_SEED, UNSAT

PARTS = ("scans", "map")
#: target relative error of every cell
REL_ERROR = 0.03
#: the headline column of a phase in the study's results.csv, and the quantity that measures it
HEADLINE = {"unsat": "T_static", "sat": "d_inf"}
QUANTITY = {"unsat": "teff", "sat": "distance"}
#: the study's methods (docs/effective-noise.md)
STUDY_DMFT = DMFTMethod(n_paths=8192, replicates=4, **PINNED_DMFT)
STUDY_SIMULATION = ParticleMethod(n=2000, n_samples=6)
#: DMFT and simulation differing by more than this many combined errors get the checks of
#: :func:`check_tasks`
CHECK_Z = 2.0
#: fewest systems of a follow-up simulation: the jackknife error of two is meaningless (the
#: delta = 0.25 follow-up at N = 2000 with 2 systems had 4e-7 where 1e-5 was right)
MIN_SYSTEMS = 4
#: systems (replicates) of the run of :func:`matched_tasks`
MATCHED_SYSTEMS = 16


def _rows(path: str) -> list:
    if not os.path.exists(path):
        raise FileNotFoundError(f"'{path}' is missing: run python -m dmft.app.studies.effective_noise first")
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _study_point(r: dict) -> Params:
    """The point of a row of the study's ``results.csv`` (the study's horizon and waiting times)."""
    point = dict(UNSAT if r["phase"] == "unsat" else SAT)
    point.update(alpha=number(r["alpha"]), delta=number(r["delta"]), dynamics=r["dynamics"],
                 b=number(r["b"]), noise_class=r["noise_class"])
    if r["dynamics"] == "psgd":
        point["tau"] = number(r["tau"])
    if r["kind"] == "simulation":
        point["seed"] = SIM_SEED
    return Params(**point)


def _label(r: dict) -> str:
    return f"{r['phase']} {r['scan']}={r['x']} {r['noise_class']}"


def missing_cells(output: str, parts) -> list:
    """(label, phase, kind, Params, old note) of every cell of the study's tables without a value:
    ``T_static`` in UNSAT, ``d_inf`` in SAT."""
    cells = []
    if "scans" in parts:
        for r in _rows(os.path.join(output, "results.csv")):
            name = HEADLINE[r["phase"]]
            if not math.isfinite(number(r[name])):
                note = r["teff_notes"] if r["phase"] == "unsat" else r["distance_note"]
                cells.append((_label(r), r["phase"], r["kind"], _study_point(r), note))
    if "map" in parts:
        for r in _rows(os.path.join(output, "fixed_horizon_map.csv")):
            name = "T_eff" if r["phase"] == "unsat" else "d_inf"
            if math.isfinite(number(r[name])):
                continue
            point = dict(UNSAT if r["phase"] == "unsat" else SAT)
            point.update(alpha=number(r["alpha"]), b=number(r["b"]))
            note = r["teff_notes"] if r["phase"] == "unsat" else r["distance_note"]
            cells.append((f"map alpha={r['alpha']} b={r['b']}", r["phase"], "dmft", Params(**point), note))
    return cells


def tasks(output: str, parts, budget, sim_n: int = 2000, more: dict | None = None) -> list:
    """One measurement per missing cell, with the study's methods (DMFT 8192 paths, simulations
    of size ``sim_n``; the study's N = 2000 by default) and its horizon as the first one, within
    ``budget`` seconds (or ``{quantity: seconds}``).  A cell named in ``more`` (``{"<cell>
    <method>": Again}``, or the budget in s alone) is measured with that budget, from its first
    horizon if it names one; its table row is that measurement, and a measurement of the cell
    with the common budget is kept (listed first, so that it is the first try) where one is
    cached.  The cells of ``more`` come after the others, those never measured first, so that
    every cell is measured once before any is measured again."""
    out, again, fresh = [], [], []
    cache = os.path.join(output, "measured")
    for label, phase, kind, p, _ in missing_cells(output, parts):
        quantity = QUANTITY[phase]
        if quantity == "teff":
            p = p.replace(tw=())    # the waiting times follow the horizon
        method = DMFTMethod(n_paths=8192, **PINNED_DMFT) if kind == "dmft" else ParticleMethod(n=sim_n)

        def task(how: Again) -> MeasureTask:
            settings = MeasureSettings(quantity, rel_error=REL_ERROR, budget=how.budget).resolved(method.kind)
            start = p if how.first_horizon is None else p.replace(t_max=how.first_horizon)
            return MeasureTask(start, method, f"{label} {kind}", settings)

        first = task(Again(budget[quantity] if isinstance(budget, dict) else budget))
        extra = (more or {}).get(f"{label} {kind}")
        if extra is None:
            out.append(first)
            continue
        measured = os.path.exists(os.path.join(cache, first.filename))
        if measured:
            out.append(first)
        (again if measured else fresh).append(task(extra if isinstance(extra, Again) else Again(extra)))
    return out + fresh + again


@dataclass(frozen=True)
class Again:
    """A measurement's budget (s) and, if given, its first horizon (else the study's).

    A horizon that the doublings from the study's ``t_max`` jump over can cost a measurement its
    number: from ``125`` the ``b = 0.3`` DMFT cells have no plateau at 125, a stationary but
    unconfirmed number at 250, and need 500 (about four times the cost of 250) to confirm it,
    whereas ``80 -> 160 -> 320`` confirms at 320 (``benchmarks/bench_measure.py`` at the same
    point)."""

    budget: float
    first_horizon: float | None = None

    def __post_init__(self):
        if self.first_horizon is not None and not (math.isfinite(self.first_horizon) and self.first_horizon > 0):
            raise ValueError(f"first horizon {self.first_horizon!r}: must be a positive time")

    @classmethod
    def parse(cls, text: str) -> "Again":
        """``"40m"`` or ``"40m@80"`` (budget, then the first horizon after ``@``)."""
        budget, _, horizon = str(text).partition("@")
        try:
            first = float(horizon) if horizon else None
        except ValueError:
            raise ValueError(f"invalid first horizon in {text!r}: a time such as 80") from None
        return cls(parse_budget(budget), first)


@dataclass(frozen=True)
class Value:
    """A headline value of one cell and method, with the point (its final horizon and waiting
    times) and the method that gave it."""

    value: float
    error: float
    params: Params
    method: object


def study_values(output: str) -> dict:
    """``{(label, kind): (value, error, params, method)}`` of every scan cell the study did measure
    (the headline: ``T_static`` in UNSAT, ``d_inf`` in SAT), labelled as :func:`missing_cells`
    labels them, with the study's point and method."""
    values = {}
    for r in _rows(os.path.join(output, "results.csv")):
        name = HEADLINE[r["phase"]]
        if math.isfinite(number(r[name])):
            method = STUDY_DMFT if r["kind"] == "dmft" else STUDY_SIMULATION
            values[(_label(r), r["kind"])] = Value(number(r[name]), number(r[f"{name}_err"]), _study_point(r), method)
    return values


def z_score(a: Value, b: Value) -> float:
    """``(a - b)`` in combined standard errors (NaN when either is missing)."""
    return combined_z(a.value, a.error, b.value, b.error)


def pairs(measured: dict, study: dict) -> dict:
    """``{label: {"dmft": Value, "simulation": Value}}`` for every scan cell measured here by at
    least one method and with a value from both (the other from the study)."""
    out = {}
    for label in sorted({label for label, _ in measured if not label.startswith("map ")}):
        both = {k: measured.get((label, k)) or study.get((label, k)) for k in ("dmft", "simulation")}
        if all(both.values()):
            out[label] = both
    return out


def check_tasks(found: dict) -> list:
    """The follow-up of every cell whose DMFT and simulation differ by more than :data:`CHECK_Z`
    combined errors: ``T_static`` depends on the waiting times where the relaxation is slow (and
    ``d(t)`` may still fall), so the method that ended at the shorter horizon runs again at the
    longer one (with its own design of waiting times), and the simulation runs at twice its ``N``
    at that horizon (the finite-size part), with half its systems (at least :data:`MIN_SYSTEMS`).  ``[(label, role, Task)]``."""
    out = []
    for label, both in found.items():
        if not abs(z_score(both["dmft"], both["simulation"])) > CHECK_Z:
            continue
        quantity = QUANTITY[label.split()[0]]
        horizon = max(v.params.t_max for v in both.values())
        for kind, v in both.items():
            if v.params.t_max < horizon:
                settings = MeasureSettings(quantity).resolved(kind)
                p = point_at(v.params.replace(tw=()), horizon, settings, ())
                out.append((label, f"{kind} at t_max = {horizon:g}", Task(p, v.method, f"{label} {kind} check")))
        sim = both["simulation"]
        p = point_at(sim.params.replace(tw=()), horizon, MeasureSettings(quantity).resolved("simulation"), ())
        big = ParticleMethod(n=2 * sim.method.n, n_samples=max(MIN_SYSTEMS, sim.method.n_samples // 2))
        out.append((label, f"simulation N = {big.n} at t_max = {horizon:g}", Task(p, big, f"{label} simulation 2N")))
    return out


def matched_tasks(sides: dict, study: dict) -> list:
    """The follow-up of every scan cell whose two methods ended at different horizons, the longer
    one still relaxing (``not_reached``: its value so far depends on the horizon, so a DMFT cannot
    follow a simulation to ``t = 3375``), and that differ by more than :data:`CHECK_Z` combined
    errors: the method of the longer horizon again at the point of the shorter (the same ``t_max``
    and waiting times), with :data:`MATCHED_SYSTEMS` systems or replicates, so that the two are
    compared on one protocol.  Where the shorter side is the study's DMFT, solved with the probe
    estimator of the response (the default before 2026-12-06, biased at late lags: docs/precision.md
    section 8), it is solved again at its point with today's default method (same seed).
    ``sides``: ``{(label, kind): (Value, status)}`` of the cells measured here; ``study``:
    :func:`study_values`.  ``[(label, role, Task)]``."""
    out = []
    for label in sorted({label for label, _ in sides if not label.startswith("map ")}):
        both = {}
        for kind in ("dmft", "simulation"):
            v, status = sides.get((label, kind)) or (study.get((label, kind)), "study")
            if v is None or not math.isfinite(v.value):
                break
            both[kind] = (v, status)
        if len(both) < 2 or not abs(z_score(both["dmft"][0], both["simulation"][0])) > CHECK_Z:
            continue
        (short, (vs, short_status)), (long, (vl, status)) = sorted(both.items(),
                                                                   key=lambda kv: kv[1][0].params.t_max)
        if vs.params.t_max == vl.params.t_max or status in ("ok", "study"):
            continue
        method = _with_repetitions(vl.method, MATCHED_SYSTEMS)
        p = vs.params.replace(seed=vl.params.seed)
        out.append((label, f"{long} at the {short} point (t_max = {p.t_max:g})",
                    Task(p, method, f"{label} {long} at the {short} point")))
        if short == "dmft" and short_status == "study":
            out.append((label, f"dmft again at its point (t_max = {p.t_max:g}, today's estimator)",
                        Task(vs.params, vs.method, f"{label} dmft again")))
    return out


def _teff_now(result) -> dict:
    """``dmft teff --json`` of a measurement's result under the current analysis (a cached file is
    analysed again, so that a change of a definition, such as ``T_slow`` of a curved slow branch,
    reaches the tables without repeating the run); the stored keys where the result has none."""
    try:
        return fit_teff(result, warn=False).to_dict()
    except ValueError:
        return result.measurement.get("teff") or {}


def run(output: str, workers: int | None = None, parts=PARTS, budget="20m", compute: bool = True,
        sim_n: int = 2000, checks: bool = True, measure: bool = True, more: dict | None = None) -> list:
    """Measure the study's missing cells (``measure``), then (``checks``) run :func:`check_tasks`
    on those finished and :func:`matched_tasks` on those still relaxing; write the tables
    (``compute=False``: only the tables).  A measurement or check whose file is not in the cache
    (a fresh clone: the caches are not in git) keeps its row of the tables written before; a
    follow-up with a row there is not run again.
    Returns the rows of ``remeasured.csv``."""
    todo = tasks(output, parts, {q: parse_budget(b) for q, b in budget.items()} if isinstance(budget, dict)
                 else parse_budget(budget), sim_n,
                 {cell: b if isinstance(b, Again) else Again.parse(b) for cell, b in (more or {}).items()})
    cache = os.path.join(output, "measured")
    if compute and measure:
        run_tasks(todo, cache, workers=workers)
    old = {f"{label} {kind}": note for label, _, kind, _, note in missing_cells(output, parts)}
    before = {r["cell"]: r for r in kept_rows(os.path.join(output, "remeasured.csv"), lambda r: False)}
    order = {cell: i for i, cell in enumerate(before)}      # the earlier table's order is kept
    rows, measured, so_far = [], {}, {}
    for task in todo:
        if os.path.exists(os.path.join(cache, task.filename)):
            row, params, method = _measured_row(load_task(cache, task), task, old)
        elif task.label in before:     # (of the cell's last measurement, whatever its budget)
            row, params, method = _kept_row(before.pop(task.label), task)
        else:
            continue
        at = next((i for i, r in enumerate(rows) if r["cell"] == task.label), None)
        first = None if at is None else rows.pop(at)   # measured again: that row replaces the first
        if first is not None:
            row["first_try"] = (f"{first['status']} within {first['budget_s'] / 60:g} min "
                                f"from t_max = {first['first_horizon']:g}")
        rows.insert(len(rows) if at is None else at, row)
        label, kind = task.label.rsplit(" ", 1)
        value = Value(row["value"], row["error"], params, method)
        so_far[(label, kind)] = (value, row["status"])
        if row["status"] == "ok":
            measured[(label, kind)] = value
    rows.sort(key=lambda r: order.get(r["cell"], len(order)))
    study = study_values(output)
    found = pairs(measured, study)
    follow = (check_tasks(found) + matched_tasks(so_far, study)) if checks else []
    check_cache = os.path.join(output, "checks")
    kept_checks = {(r["cell"], r["run"]): r for r in
                   kept_rows(os.path.join(output, "remeasured_checks.csv"), lambda r: False)}
    todo_checks = [t for label, role, t in follow if (label, role) not in kept_checks]
    if compute and todo_checks:
        run_tasks(todo_checks, check_cache, workers=workers)
    check_rows = []
    for label, role, task in follow:
        if os.path.exists(os.path.join(check_cache, task.filename)):
            row = {"cell": label, "run": role, **_headline(load_task(check_cache, task), label), "file": task.filename}
        elif (label, role) in kept_checks:
            row = kept_checks[(label, role)]
        else:
            continue
        check_rows.append({k: row.get(k, math.nan) for k in CHECK_COLUMNS})
    write_csv(rows, os.path.join(output, "remeasured.csv"))
    write_csv(check_rows, os.path.join(output, "remeasured_checks.csv"))
    sides = {**{k: v for k, (v, _) in so_far.items()}, **study, **measured}
    lines = _cells_table(rows) + [""] + _agreement_table(found) + [""] + _checks_table(sides, check_rows)
    with open(os.path.join(output, "remeasured.md"), "w") as fh:
        fh.write("\n".join(lines) + "\n")
    return rows


#: the columns of ``remeasured.csv``
COLUMNS = ("cell", "quantity", "status", "value", "error", "rel_error", "T_short", "T_short_err", "T_slow",
           "T_slow_err", "t_max", "repetitions", "size", "tries", "wall_s", "reason", "budget_s", "old_note",
           "first_horizon", "first_try", "file")
#: the columns of ``remeasured_checks.csv`` (``T_short`` and ``T_slow`` of the UNSAT cells)
CHECK_COLUMNS = ("cell", "run", "value", "error", "T_short", "T_short_err", "T_slow", "T_slow_err", "file")


def _measured_row(r, task, old: dict) -> tuple:
    """(row of ``remeasured.csv``, final point, method with the repetitions reached) of the
    measurement ``r`` of ``task``."""
    m = r.measurement
    teff = _teff_now(r) if m["quantity"] == "teff" else {}
    value, error = _num(m["value"]), _num(m["error"])
    if m["quantity"] == "distance" and not math.isfinite(value):   # a file from before d_window
        est = long_time_distance(r, warn=False)
        value, error = est.d_window, est.d_window_err
    row = {"cell": task.label, "quantity": m["quantity"], "status": m["status"],
           "value": value, "error": error, "rel_error": _num(m["rel_error"]),
           **{k: _num(teff.get(k)) for k in ("T_short", "T_short_err", "T_slow", "T_slow_err")},
           "t_max": m["t_max"], "repetitions": m["repetitions"], "size": _size(r.method), "tries": len(m["tries"]),
           "wall_s": m["wall_s"], "reason": "" if m["status"] == "ok" else m["reason"],
           "budget_s": task.settings.budget, "old_note": old.get(task.label, ""),
           "first_horizon": m["tries"][0]["t_max"] if m["tries"] else task.params.t_max,
           "first_try": "", "file": task.filename}
    return row, r.params, _with_repetitions(r.method, m["repetitions"])


def _kept_row(row: dict, task) -> tuple:
    """The same from the row an earlier run wrote (its point rebuilt from the task's point and the
    horizon reached, as :func:`dmft.app.measure.measure` builds each horizon's)."""
    row = {k: row.get(k, "" if k in ("reason", "old_note", "first_try") else math.nan) for k in COLUMNS}
    params = point_at(task.params, float(row["t_max"]), task.settings, ())
    method = task.method
    if math.isfinite(row["size"]):      # the paths or N it was measured with (--sim-n)
        method = replace(method, **{"n_paths" if method.kind == "dmft" else "n": int(row["size"])})
    return row, params, _with_repetitions(method, int(row["repetitions"]))


def _with_repetitions(method, n: int):
    return replace(method, replicates=n) if method.kind == "dmft" else replace(method, n_samples=n)


def _size(method) -> int:
    """Paths per replicate of a DMFT method, N of a simulation."""
    return method.n_paths if method.kind == "dmft" else method.n


def _headline(result, label: str) -> dict:
    """``value``, ``error`` of the cell's quantity in ``result`` (``T_static`` in UNSAT, ``d_inf``
    in SAT) and, in UNSAT, ``T_short`` and ``T_slow`` with their errors."""
    if QUANTITY[label.split()[0]] == "teff":
        est = fit_teff(result, warn=False)
        return {"value": _num(est.T_static), "error": _num(est.T_static_err),
                **{k: _num(getattr(est, k)) for k in ("T_short", "T_short_err", "T_slow", "T_slow_err")}}
    est = long_time_distance(result, warn=False)
    return {"value": _num(est.d_inf), "error": _num(est.d_inf_err)}


def _cells_table(rows) -> list:
    lines = ["| cell | method | status | value (rel. error) | T_short | T_slow | t_max | repetitions | minutes |",
             "|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        label, kind = row["cell"].rsplit(" ", 1)
        if row["status"] == "ok" and math.isfinite(row["value"]):
            value = f"{pm(row['value'], row['error'], 4)} ({100 * row['rel_error']:.1f}%)"
        else:   # the value so far first, then why there is no number
            so_far = f"so far {pm(row['value'], row['error'], 4)}; " if math.isfinite(row["value"]) else ""
            value = f"{so_far}{row['status']}: {row['reason']}"
        if row["first_try"]:
            value += (f"; with {row['budget_s'] / 60:g} min from t_max = {row['first_horizon']:g} "
                      f"(first try: {row['first_try']})")
        teff = row["quantity"] == "teff"
        lines.append(f"| {label} | {kind} | {row['status']} | {value} | "
                     f"{pm(row['T_short'], row['T_short_err'], 4) if teff else ''} | "
                     f"{pm(row['T_slow'], row['T_slow_err'], 4) if teff else ''} | {row['t_max']:g} | "
                     f"{row['repetitions']} | {row['wall_s'] / 60:.1f} |")
    return lines


def _describe(v: Value) -> str:
    size = f"{v.method.n_paths} paths x {v.method.replicates}" if v.method.kind == "dmft" else \
        f"N = {v.method.n} x {v.method.n_samples}"
    return f"{pm(v.value, v.error, 4)} (t_max {v.params.t_max:g}, {size})"


def _agreement_table(found: dict) -> list:
    """DMFT against simulation at every scan cell measured here by at least one method (the other
    from this run or from the study), ``z`` in combined standard errors."""
    lines = ["| cell | DMFT | simulation | z (combined errors) |", "|---|---|---|---|"]
    for label, both in found.items():
        lines.append(f"| {label} | {_describe(both['dmft'])} | {_describe(both['simulation'])} | "
                     f"{z_score(both['dmft'], both['simulation']):+.2f} |")
    return lines


def _checks_table(sides: dict, check_rows: list) -> list:
    """The follow-up runs of :func:`check_tasks` and :func:`matched_tasks`, each against the two
    values it checks (``sides``: ``{(label, kind): Value}``)."""
    if not check_rows:
        return []
    lines = ["| cell | run | value | against DMFT (z) | against simulation (z) | T_short | T_slow |",
             "|---|---|---|---|---|---|---|"]
    for row in check_rows:
        v = Value(row["value"], row["error"], None, None)
        z = [z_score(v, sides[(row["cell"], k)]) for k in ("dmft", "simulation")]
        lines.append(f"| {row['cell']} | {row['run']} | {pm(v.value, v.error, 4)} | "
                     + " | ".join(f"{x:+.2f}" if math.isfinite(x) else "" for x in z) + " | "
                     + " | ".join(pm(row[k], row[k + "_err"], 4) if math.isfinite(row[k]) else ""
                                  for k in ("T_short", "T_slow")) + " |")
    return lines


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
    parser.add_argument("--budget-teff", default=None, help="budget of each T_eff measurement (default: --budget)")
    parser.add_argument("--sim-n", type=int, default=2000, help="N of the simulations (default 2000, the study's)")
    parser.add_argument("--no-compute", action="store_true", help="only the tables from finished measurements")
    parser.add_argument("--more", action="append", default=[], metavar="CELL=BUDGET",
                        help="measure the cell (its label with the method, as in remeasured.md) again with "
                             "that budget, and from the first horizon after '@' if given, e.g. "
                             "'map alpha=0.75 b=0.3 dmft=60m' or 'unsat b=0.3 bernoulli dmft=40m@80'")
    parser.add_argument("--checks-only", action="store_true",
                        help="only the follow-up runs, of the cells measured so far")
    parser.add_argument("--no-checks", action="store_true",
                        help="without the follow-up runs of the cells where DMFT and simulation disagree")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parts = tuple(p for p in args.parts.split(",") if p)
    budget = args.budget if args.budget_teff is None else {"teff": args.budget_teff, "distance": args.budget}
    more = {}
    for m in args.more:
        cell, _, how = m.rpartition("=")
        if not cell:
            parser.error(f"--more {m!r}: CELL=BUDGET[@T0]")
        try:
            more[cell] = Again.parse(how)
        except ValueError as exc:       # MeasureError too (a bad budget)
            parser.error(f"--more {m!r}: {exc}")
    run(args.output, workers=args.workers, parts=parts, budget=budget, compute=not args.no_compute,
        sim_n=args.sim_n, checks=not args.no_checks, measure=not args.checks_only, more=more)


if __name__ == "__main__":
    main()
