"""The paper's question answered densely: T_eff and d_inf across the parameter plane (issue 21).

Mignacco & Urbani (arXiv:2112.10852) measure the noise of SGD and persistent SGD by the effective
temperature ``T_eff`` of the stationary state in the under-parametrised (UNSAT) phase and by the
long-time distance ``d_inf`` of two replicas started together in the over-parametrised (SAT)
phase, and claim that the two "behave similarly as a function of the problem parameters" and
that "noisier algorithms lead to wider decision boundaries".  This study measures both on dense
curves and on the ``(alpha, b)`` plane, every point by :func:`dmft.app.measure.measure` (the
horizon and the statistics chosen to a relative error :data:`REL_ERROR` within a budget per
point), DMFT at every point and simulations at every other point:

* curves (:data:`CURVES`) around the base points (:data:`BASE`: ``delta = 0.5``, sgd ``b = 0.5``;
  UNSAT ``alpha = 4``, SAT ``alpha = 0.5``): ``b`` with both normalisations (``b-sum``,
  ``b-mean``), psgd ``tau``, ``alpha`` and ``delta``, each on both sides of jamming;
* the map (:data:`MAP_ALPHA` x :data:`MAP_B`, ``normalization = sum``);
* the width of the decision boundary in SAT (:func:`dmft.analysis.gaps.boundary_width`: the
  fraction of the gaps within 0.1 of the boundary and the mean gap at the end), against ``b``
  and ``tau``;
* simulations at ``N = 2000`` at every other point of each curve and at :data:`SIZES` at the
  points :data:`SIZE_POINTS` (no trend in ``N``).  In SAT each is a measurement like the DMFT's
  (``d_inf`` of a frozen state does not depend on the horizon once reached); in UNSAT each is a
  fixed run of :data:`EQUAL_TIME_SYSTEMS` systems at the final horizon and waiting times of the
  point's DMFT measurement (:func:`simulation_task`), so that theory and simulation are compared at
  equal times, planned once the DMFT has its number (a measurement of its own would have to
  confirm its number at ``t = 900``: 17-50 min at ``N = 2000``, where the DMFT's horizon is 100-400).

``b = 1`` is gradient descent: no noise, so ``T_eff = 0`` and ``d_inf = 0`` exactly (two replicas
started together follow the same deterministic path); those points are written as the ``exact``
method and not computed.  Run::

    python -m dmft.app.studies.noise_curves -o docs/study [--quick] [--workers 2] [--parts ...]

Every measurement is a resumable task (:class:`~dmft.app.measure.MeasureTask`) cached by its key
in ``<output>/runs``, and summarised, once finished, in the study's ledger ``<output>/ledger``
(:mod:`dmft.app.ledger`: small files, committed, so that a machine without the cache of result
files resumes the study instead of computing it again); a re-run skips what either holds (a point
shared by a curve and the map is measured once) and redraws the files from them: ``curves.csv``
(``curve, parameter, x, quantity, method, value, error, status``), ``map.csv`` (``alpha, b,
quantity, value, error, status``), ``curves_sizes.csv``, ``curves.md`` (the tables of
``docs/effective-noise.md``) and the figures ``curves.png``, ``curves_side_by_side.png``,
``curves_map.png``, ``curves_gaps.png``.
A point not yet measured has the status ``pending``.  ``--quick``: tiny sizes (a smoke test).
"""

from __future__ import annotations

import functools
import math
import os
import time
import warnings
from dataclasses import dataclass, replace

import matplotlib.ticker
import numpy as np
from matplotlib.figure import Figure

from ...analysis.figures import legend, save_figure
from ...analysis.gaps import NEAR as GAP_NEAR, boundary_width
from ...analysis.phase_diagram import gardner_alpha
from ...analysis.teff import fit_teff
from ...analysis.verdict import repetitions
from ...core.io import load
from ...core.methods import DMFTMethod, ParticleMethod
from ...core.params import Params
from ..ledger import Ledger
from ..measure import MeasureSettings, MeasureTask
from ..runner import Task
from .common import combined_z, pm, run_into, study_main, write_csv, write_tables

PARTS = ("dmft", "simulations", "sizes", "map", "again")
#: target relative standard error of every measured headline (T_static, d_inf)
REL_ERROR = 0.03
#: seconds each measurement may compute (DMFT, simulation); beyond, ``not_reached``
BUDGET = {"dmft": 1500.0, "simulation": 900.0}
#: the budget of the second pass (part ``again``): every curve point (DMFT or simulation, sizes
#: included) whose measurement ran out of its budget is measured again with this one (from its
#: first horizon), after all the others; a cell of the map alone keeps its first budget's status
#: (:data:`AGAIN_PARTS`)
BUDGET_AGAIN = {"dmft": 4500.0, "simulation": 2700.0}
#: the parts whose measurements have a second pass: the curves carry the claims; a second pass of
#: the map's slow corners (next to jamming, small ``b``; 20 or more cells at up to 75 min each)
#: would double the study's cost for cells whose status already names why they have no number
AGAIN_PARTS = ("dmft", "simulations", "sizes")
#: the base points of the two phases (the canonical points of docs/effective-temperature.md)
BASE = {"unsat": dict(alpha=4.0, delta=0.5, dynamics="sgd", b=0.5),
        "sat": dict(alpha=0.5, delta=0.5, dynamics="sgd", b=0.5)}
#: the first horizon of a measurement (then doubled for the DMFT, tripled for simulations)
FIRST_HORIZON = {"unsat": 100.0, "sat": 40.0}
#: the quantity measured in each phase and its headline
QUANTITY = {"unsat": "teff", "sat": "distance"}
HEADLINE = {"unsat": "T_static", "sat": "d_inf"}
#: the DMFT of each phase: 8192 paths, extrapolated to n_paths -> infinity from the automatic
#: companion of 1024 paths (UNSAT) or the replicas x steps it must represent (SAT, two replicas
#: with the full memory: 8192 paths represent t = 409.6).  UNSAT with a memory window of 200
#: steps at every horizon, so that the horizon tries of dmft measure continue one march instead of
#: restarting where the automatic window would begin (t > 200); its bias, +0.2% at 8192 paths, is
#: removed with the paths' by the extrapolation (docs/long-horizons.md).  Fewer paths were tried
#: and gave biased T_static at t = 400 (docs/effective-noise.md): 1024 paths with the automatic
#: companion of 358, +4.8% at b = 0.3; 2048 paths with a companion of 1024, +4.0% at b = 0.5, the
#: noise of its late lags cutting the plateau short
DMFT = {"unsat": DMFTMethod(n_paths=8192, memory_window=200), "sat": DMFTMethod(n_paths=8192)}
#: points with an independent long reference (b = 0.3: DMFT 8192 paths to t = 640, simulations to
#: t = 3375, docs/measure; the canonical SAT point), measured first: a biased method shows early
FIRST = (("b-sum", "unsat", 0.3), ("b-sum", "sat", 0.3), ("b-sum", "unsat", 0.5), ("b-sum", "sat", 0.5))
SIMULATION = ParticleMethod(n=2000)
#: fewest repetitions behind a number: the DMFT's default replicates (4, whose error bars were
#: calibrated against 10 independent runs, docs/precision-defaults.md), more systems for simulations
MIN_REPETITIONS = {"dmft": 4, "simulation": 8}
SIM_SEED = 11
#: systems of an UNSAT simulation at its DMFT's horizon (:func:`simulation_task`): the fewest of a
#: measurement (:data:`MIN_REPETITIONS`), 2-3% on T_static at N = 2000 (docs/effective-noise.md)
EQUAL_TIME_SYSTEMS = 8
#: the seed of every DMFT point (the Params default)
BASE_SEED = Params().seed
#: sizes of the finite-N check, and its points (curve, phase, x)
SIZES = (1000, 2000, 4000)
SIZE_POINTS = (("b-sum", "unsat", 0.5), ("b-sum", "sat", 0.5), ("tau", "sat", 1.0))

B_VALUES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


@dataclass(frozen=True)
class Curve:
    """A scan of one control parameter around the base point of each phase."""

    name: str
    parameter: str
    values: dict           # {phase: values}
    fixed: tuple = ()      # other settings of the scan ((name, value) pairs)
    reference: float = 0.5  # the value the side-by-side figure normalises at

    def __post_init__(self):
        for phase, xs in self.values.items():
            if list(xs) != sorted(xs) or len(set(xs)) != len(xs):
                raise ValueError(f"curve {self.name} ({phase}): values must increase")


CURVES = (
    Curve("b-sum", "b", {"unsat": B_VALUES, "sat": B_VALUES}),
    Curve("b-mean", "b", {"unsat": B_VALUES, "sat": B_VALUES}, (("normalization", "mean"),)),
    Curve("tau", "tau", {p: (0.25, 0.5, 1.0, 2.0, 4.0, 8.0) for p in ("unsat", "sat")},
          (("dynamics", "psgd"),), reference=1.0),
    # denser towards jamming, alpha_J(0.5) = 0.961
    Curve("alpha", "alpha", {"unsat": (1.1, 1.25, 1.5, 2.0, 3.0, 4.0, 6.0, 10.0),
                             "sat": (0.1, 0.25, 0.4, 0.5, 0.65, 0.8, 0.88, 0.93)}),
    # on the SAT side alpha = 0.5 < alpha_J(delta) needs delta < 1.03
    Curve("delta", "delta", {"unsat": (0.0, 0.25, 0.5, 0.75, 1.0), "sat": (0.0, 0.25, 0.5, 0.75, 0.9)}),
)
MAP_ALPHA = (0.25, 0.4, 0.5, 0.65, 0.8, 0.88, 1.1, 1.5, 2.0, 3.0, 4.0, 6.0)
MAP_B = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)


def phase_of(alpha: float, delta: float) -> str:
    """``sat`` below the jamming line ``alpha_J(delta)``, ``unsat`` above."""
    return "sat" if alpha < gardner_alpha(delta) else "unsat"


def point(phase: str, quick: bool = False, **changes) -> Params:
    """The base point of ``phase`` with ``changes``, at the first horizon (waiting times
    following the horizon)."""
    p = {**BASE[phase], **changes, "t_max": 10.0 if quick else FIRST_HORIZON[phase]}
    return Params(**p, tw=()) if phase == "unsat" else Params(**p, replicas=2)


def is_exact(params: Params) -> bool:
    """``sgd`` at ``b = 1``: gradient descent, no noise (T_eff = d_inf = 0)."""
    return params.dynamics == "sgd" and params.b == 1.0


@dataclass(frozen=True)
class Design:
    """The sizes of a run of the study: the full one, or ``--quick``'s smoke test."""

    quick: bool

    def curves(self) -> tuple:
        if not self.quick:
            return CURVES
        quick = {"b-sum": {"unsat": (0.9, 1.0), "sat": (0.5, 1.0)}, "tau": {"unsat": (1.0,), "sat": (0.25,)}}
        return tuple(Curve(c.name, c.parameter, quick[c.name], c.fixed, c.reference) for c in CURVES if c.name in quick)

    def map_axes(self) -> tuple:
        return ((0.5, 4.0), (0.5, 1.0)) if self.quick else (MAP_ALPHA, MAP_B)

    def method(self, phase: str, kind: str):
        if self.quick:
            return DMFTMethod(n_paths=1024, exact_lags=8) if kind == "dmft" else ParticleMethod(n=60)
        return DMFT[phase] if kind == "dmft" else SIMULATION

    def settings(self, phase: str, kind: str, again: bool = False) -> MeasureSettings:
        budget = (6.0 if again else 3.0) if self.quick else (BUDGET_AGAIN if again else BUDGET)[kind]
        return MeasureSettings(QUANTITY[phase], rel_error=0.5 if self.quick else REL_ERROR, budget=budget,
                               max_t=40.0 if self.quick else 0.0,
                               min_repetitions=MIN_REPETITIONS[kind]).resolved(kind)

    def sizes(self) -> tuple:
        return (40, 80) if self.quick else SIZES

    def task(self, params: Params, phase: str, kind: str, label: str, n: int | None = None,
             again: bool = False) -> MeasureTask:
        method = self.method(phase, kind)
        if kind == "simulation":
            params = params.replace(seed=SIM_SEED)
            if n is not None:
                method = method.replace(n=n)
        return MeasureTask(params, method, f"{label} {kind}{' again' if again else ''}",
                           self.settings(phase, kind, again))


def curve_points(design: Design) -> list:
    """``(curve, phase, x, Params)`` of every curve point."""
    out = []
    for c in design.curves():
        for phase, xs in c.values.items():
            for x in xs:
                out.append((c, phase, x, point(phase, design.quick, **dict(c.fixed), **{c.parameter: x})))
    return out


def map_points(design: Design) -> list:
    """``(alpha, b, phase, Params)`` of the map."""
    alphas, bs = design.map_axes()
    out = []
    for a in alphas:
        phase = phase_of(a, BASE["unsat"]["delta"])
        out += [(a, b, phase, point(phase, design.quick, alpha=a, b=b)) for b in bs]
    return out


def simulated(design: Design) -> list:
    """``(curve, phase, x, Params)`` of the curve points simulated: every other one (the first,
    third, ...) of those computed."""
    points = [q for q in curve_points(design) if not is_exact(q[3])]
    out = []
    for c in design.curves():
        for phase in c.values:
            out += [q for q in points if q[0] == c and q[1] == phase][::2]
    return out


def size_points(design: Design) -> list:
    """``(curve, phase, x, N, Params)`` of the finite-N check."""
    out = []
    for name, phase, x in (SIZE_POINTS[:1] if design.quick else SIZE_POINTS):
        c = curve_named(name)
        p = point(phase, design.quick, **dict(c.fixed), **{c.parameter: x})
        out += [(name, phase, x, n, p) for n in design.sizes()]
    return out


def curve_named(name: str) -> Curve:
    """The curve of the full design called ``name``."""
    return next(c for c in CURVES if c.name == name)


def point_label(curve: str, phase: str, x: float) -> str:
    """The name of a curve point in logs and task labels (its DMFT's, without the method)."""
    return f"{curve} {phase} {curve_named(curve).parameter}={x:g}"


def simulation_task(design: Design, cache: str | None, params: Params, phase: str, label: str,
                    n: int | None = None):
    """The simulation of the point ``params`` (``label``: its DMFT's, without the method).

    SAT: a measurement like the DMFT's (:meth:`Design.task`).  UNSAT: a fixed run
    (:class:`~dmft.app.runner.Task`) of :data:`EQUAL_TIME_SYSTEMS` systems of ``N = n`` (default
    :data:`SIMULATION`'s) with the seed :data:`SIM_SEED` at the final horizon and waiting times of
    the point's DMFT measurement in ``cache``, so that the two are compared at equal times; ``None``
    while that measurement has no number (or without a cache).  Its file's key is that point, so a
    DMFT measured again to another horizon plans a new simulation."""
    if phase == "sat":
        return design.task(params, phase, "simulation", label, n=n)
    if cache is None:
        return None
    dm = measured(cache, design.task(params, phase, "dmft", label), design)
    if dm.status != "ok" or dm.params is None:
        return None
    method = design.method(phase, "simulation").replace(n_samples=EQUAL_TIME_SYSTEMS)
    if n is not None:
        method = method.replace(n=n)
    return Task(dm.params.replace(seed=SIM_SEED), method, f"{label} simulation at the DMFT's horizon")


def tasks(design: Design, parts, cache: str | None = None) -> list:
    """The measurements of ``parts``, DMFT curves first (the study's core), then the simulations
    that check them, the sizes and the map; each point once.  The UNSAT simulations only where
    ``cache`` holds their DMFT's number (:func:`simulation_task`: planned from it).  ``again`` (with
    the ``cache`` of the others): the second pass of every measurement of :data:`AGAIN_PARTS` that
    ran out of its budget there (a map cell shared with a curve has it, a cell of the map alone
    not)."""
    out = []
    # FIRST, then every other point of each curve (those simulated), each DMFT point followed by
    # its simulation, then the rest: a run stopped early leaves every curve drawn coarsely, each
    # drawn point checked, rather than some curves complete and none checked
    sims = {(c.name, ph, x) for c, ph, x, _ in simulated(design)}
    points = [q for q in curve_points(design) if not is_exact(q[3])]
    points.sort(key=lambda q: ((q[0].name, q[1], q[2]) not in FIRST, (q[0].name, q[1], q[2]) not in sims))
    for c, ph, x, p in points:
        label = point_label(c.name, ph, x)
        if "dmft" in parts:
            out.append(design.task(p, ph, "dmft", label))
        if "simulations" in parts and (c.name, ph, x) in sims:
            out.append(simulation_task(design, cache, p, ph, label))
    if "sizes" in parts:
        for name, ph, x, n, p in size_points(design):
            label = point_label(name, ph, x)
            if ph == "unsat":       # the DMFT whose horizon the simulations take (a curve point of the full design)
                out.append(design.task(p, ph, "dmft", label))
            sim = simulation_task(design, cache, p, ph, label, n=n)
            if sim is not None:
                out.append(replace(sim, label=f"sizes {name} {ph} x={x:g} N={n}"))
    if "map" in parts:      # the cells expected to relax soonest first (:func:`map_order`)
        cells = sorted((q for q in map_points(design) if not is_exact(q[3])), key=lambda q: map_order(q[0], q[1]))
        out += [design.task(p, ph, "dmft", f"map alpha={a:g} b={b:g}") for a, b, ph, p in cells]
    if "again" in parts and cache is not None:
        out += [again_task(design, t) for t in tasks(design, AGAIN_PARTS, cache)
                if isinstance(t, MeasureTask) and measured(cache, t).status == OUT_OF_BUDGET]
    unique = {}
    for t in out:
        if t is not None:
            unique.setdefault(t.filename, t)
    return list(unique.values())


def map_order(alpha: float, b: float) -> float:
    """The order of the map's cells: ``-b |ln(alpha / alpha_J)|``, smallest first.  The relaxation
    time that sets a cell's horizon grows as ``1 / b`` (the clock of the ``sum`` normalisation) and
    towards the jamming line ``alpha_J(delta)`` on both sides, so a run stopped early leaves the
    map's slow corners (small ``b``, next to jamming) pending rather than its quick cells."""
    return -b * abs(math.log(alpha / gardner_alpha(BASE["unsat"]["delta"])))


def again_task(design: Design, task: MeasureTask) -> MeasureTask:
    """``task`` with the budget of the second pass."""
    phase = "sat" if task.params.replicas == 2 else "unsat"
    return MeasureTask(task.params, task.method, task.label + " again", design.settings(phase, task.method.kind, True))


# --------------------------------------------------------------------------- measurements
@dataclass(frozen=True)
class Measured:
    """What one point's measurement gave: ``values`` ``{quantity: (value, error)}`` and the status
    (``ok``, also for the exact points of :func:`exact`; else the measurement's reason for no
    number, or ``pending``: not measured yet), the horizon and repetitions it ended with, its
    compute time and, without a number, the reason in words; ``params``: the point of its final
    run (horizon and waiting times); ``at_horizon``: UNSAT, ``{quantity: (value, error)}`` of that
    run with its statistical errors alone (the headline's error in ``values`` also takes in a change
    with the horizon; the comparison with a simulation at the same horizon wants these); ``key``:
    the task whose result file or ledger record it was read from."""

    status: str
    values: dict
    t_max: float = math.nan
    repetitions: int = 0
    wall_s: float = math.nan
    reason: str = ""
    params: Params | None = None
    at_horizon: dict | None = None
    key: str = ""           # the task's key (its result file and ledger record), where read from one

    def to_record(self) -> dict:
        """The fields as plain JSON-able values (a ledger record's ``measured``)."""
        return {"status": self.status, "values": {q: list(ve) for q, ve in self.values.items()},
                "t_max": self.t_max, "repetitions": self.repetitions, "wall_s": self.wall_s, "reason": self.reason,
                "params": None if self.params is None else self.params.to_dict(),
                "at_horizon": None if self.at_horizon is None else {q: list(ve) for q, ve in self.at_horizon.items()}}

    @classmethod
    def from_record(cls, d: dict) -> "Measured":
        """The inverse of :meth:`to_record` (a missing number, ``null``, is NaN)."""
        def pairs(x):
            return {q: (_num(v), _num(e)) for q, (v, e) in x.items()}
        return cls(d["status"], pairs(d.get("values") or {}), _num(d.get("t_max")), int(d.get("repetitions") or 0),
                   _num(d.get("wall_s")), d.get("reason") or "",
                   None if d.get("params") is None else Params.from_dict(d["params"]),
                   None if d.get("at_horizon") is None else pairs(d["at_horizon"]))


def _num(x) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


#: the status of a measurement that ran out of its budget
OUT_OF_BUDGET = "not_reached: budget"


def measured(cache: str, task, design: Design | None = None) -> Measured:
    """The :class:`Measured` of ``task`` from its cached result (``pending`` without one); with
    ``design``, that of its second pass (:func:`again_task`) where the first ran out of its
    budget and the second exists."""
    first = _measured(cache, task)
    if design is not None and first.status == OUT_OF_BUDGET:
        second = _measured(cache, again_task(design, task))
        if second.status != "pending":
            return second
    return first


#: the folder of the study's ledger, beside its cache ``runs`` (:func:`ledger_of`)
LEDGER = "ledger"


def ledger_of(cache: str) -> Ledger:
    """The ledger of the study whose cache of result files is the folder ``cache``."""
    return Ledger(os.path.join(os.path.dirname(os.path.normpath(cache)), LEDGER))


def _measured(cache: str, task) -> Measured:
    """:class:`Measured` of ``task``: from its result file in ``cache``, else from its ledger record,
    else ``pending``."""
    path = os.path.join(cache, task.filename)
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        record = ledger_of(cache).read(task.key)
        if record is None:
            return Measured("pending", {})
        return replace(Measured.from_record(record["measured"]), key=task.key)
    # one read per file and version: planning the second pass, the tables and the costs all ask
    return replace(_measured_file(path, stat.st_mtime_ns, stat.st_size), key=task.key)


@functools.lru_cache(maxsize=1024)
def _measured_file(path: str, mtime_ns: int, size: int) -> Measured:
    """:class:`Measured` of the result file ``path`` (its modification time and size key the
    cache: a file rewritten by a later run is read again)."""
    r = load(path)
    m = r.measurement or {}
    if not m:           # a fixed run: an UNSAT simulation at its DMFT's horizon
        values, why = _at_horizon(r)
        ok = math.isfinite(values.get("T_static", (math.nan,))[0])
        status = "ok" if ok else "diverged" if r.status == "diverged" else NO_PLATEAU
        return Measured(status, values, r.params.t_max, repetitions(r), _num(r.meta.get("wall_time_s")),
                        "" if ok else f"{status}: {why}", r.params, values)
    values = {}
    if m.get("quantity") == "teff":
        # T_short and T_slow with their statistical errors; the headline T_static with the
        # measurement's error, which takes in a change with the horizon beyond its noise
        for name in ("T_short", "T_slow"):
            values[name] = (_num(m.get(name)), _num(m.get(name + "_err")))
        values["T_static"] = (_num(m.get("value")), _num(m.get("error")))
    else:
        values["d_inf"] = (_num(m.get("value")), _num(m.get("error")))
        if m.get("status") == "ok" and "gap_hist" in r.extra:
            w = boundary_width(r)
            values.update(gap_near=(w.near, w.near_err), gap_mean=(w.mean, w.mean_err))
    status = m.get("status", "pending")
    if status == "not_reached":
        status = OUT_OF_BUDGET if "budget" in m.get("reason", "") else "not_reached: horizon limit"
    # the final run's values with their statistical errors, as the measurement recorded them
    at = ({q: (_num(m.get(q)), _num(m.get(q + "_err"))) for q in QUANTITIES["unsat"]}
          if m.get("quantity") == "teff" and status == "ok" else None)
    return Measured(status, values, _num(m.get("t_max")), int(m.get("repetitions", 0)), _num(m.get("wall_s")),
                    "" if status == "ok" else m.get("reason", ""), r.params, at)


#: the status of an UNSAT simulation at its DMFT's horizon without a plateau there
NO_PLATEAU = "not_reached: no plateau at the DMFT's horizon"


def _at_horizon(result) -> tuple:
    """``({T_static, T_short, T_slow: (value, statistical error)}, why)`` of the fixed run
    ``result``: without a ``T_static``, ``why`` is :func:`~dmft.analysis.teff.fit_teff`'s reason
    (not stationary, or no plateau: what still moves, by how many of its errors, and the remedy);
    else ``""``."""
    try:
        e = fit_teff(result, warn=False)
    except ValueError as err:
        return {}, str(err)
    values = {q: (float(getattr(e, q)), float(getattr(e, q + "_err"))) for q in QUANTITIES["unsat"]}
    if math.isfinite(e.T_static):
        return values, ""
    return values, e.notes.get("T_static", "") if e.stationary else e.stationarity.describe()


def exact(phase: str) -> Measured:
    """Gradient descent (``b = 1``): no noise, ``T_eff = 0`` (UNSAT) and ``d_inf = 0`` (SAT)."""
    return Measured("ok", {HEADLINE[phase]: (0.0, 0.0)}, reason="b = 1 is gradient descent: no noise")


def collect(cache: str, design: Design) -> dict:
    """``{"curves": {(curve, phase, x, method): Measured}, "map": {(alpha, b): (phase, Measured)},
    "sizes": {(curve, phase, x, N): Measured}}`` from the cache."""
    out = {"curves": {}, "map": {}, "sizes": {}}
    sims = {(c.name, ph, x) for c, ph, x, _ in simulated(design)}
    for c, ph, x, p in curve_points(design):
        if is_exact(p):
            out["curves"][(c.name, ph, x, "exact")] = exact(ph)
            continue
        label = point_label(c.name, ph, x)
        out["curves"][(c.name, ph, x, "dmft")] = measured(cache, design.task(p, ph, "dmft", label), design)
        if (c.name, ph, x) in sims:
            out["curves"][(c.name, ph, x, "simulation")] = _simulated(cache, design, p, ph, label)
    for a, b, ph, p in map_points(design):
        m = exact(ph) if is_exact(p) else measured(cache, design.task(p, ph, "dmft", ""), design)
        out["map"][(a, b)] = (ph, m)
    for name, ph, x, n, p in size_points(design):
        out["sizes"][(name, ph, x, n)] = _simulated(cache, design, p, ph, point_label(name, ph, x), n)
    return out


#: the status of an UNSAT simulation whose DMFT measurement ended without a number
NOT_RUN = "not run: its DMFT has no number"


def _simulated(cache: str, design: Design, params: Params, phase: str, label: str, n: int | None = None) -> Measured:
    task = simulation_task(design, cache, params, phase, label, n)
    if task is not None:
        return measured(cache, task, design)
    dm = measured(cache, design.task(params, phase, "dmft", label), design)
    if dm.status == "pending":
        return Measured("pending", {}, reason="planned once its DMFT has its number")
    return Measured(NOT_RUN, {}, reason=f"its DMFT ended {dm.status}: no horizon to compare at")


# --------------------------------------------------------------------------- files
QUANTITIES = {"unsat": ("T_static", "T_short", "T_slow"), "sat": ("d_inf", "gap_near", "gap_mean")}


def curve_rows(found: dict) -> list:
    """The rows of ``curves.csv``: one per point, quantity and method (the quantity names the
    phase: ``T_*`` UNSAT, ``d_inf`` and ``gap_*`` SAT)."""
    rows = []
    for (curve, phase, x, method), m in found["curves"].items():
        c = curve_named(curve)
        names = (HEADLINE[phase],) if method == "exact" else QUANTITIES[phase]
        for q in names:
            v, e = m.values.get(q, (math.nan, math.nan))
            status = m.status
            if status == "ok" and not math.isfinite(v):
                status = "no value"
            rows.append({"curve": curve, "parameter": c.parameter, "x": float(x), "quantity": q,
                         "method": method, "value": v, "error": e, "status": status})
    return rows


def map_rows(found: dict) -> list:
    rows = []
    for (a, b), (phase, m) in found["map"].items():
        q = HEADLINE[phase]
        v, e = m.values.get(q, (math.nan, math.nan))
        rows.append({"alpha": float(a), "b": float(b), "quantity": q, "value": v, "error": e, "status": m.status})
    return rows


def size_rows(found: dict) -> list:
    rows = []
    for (curve, phase, x, n), m in found["sizes"].items():
        q = HEADLINE[phase]
        v, e = m.values.get(q, (math.nan, math.nan))
        rows.append({"curve": f"{phase}:{curve}", "x": float(x), "N": n, "quantity": q, "value": v, "error": e,
                     "status": m.status, "t_max": m.t_max, "systems": m.repetitions})
    return rows


# --------------------------------------------------------------------------- tables
def _value(m: Measured | None, q: str) -> tuple:
    if m is None:
        return math.nan, math.nan
    return m.values.get(q, (math.nan, math.nan))


def _cell(m: Measured | None, q: str) -> str:
    if m is None:
        return ""
    v, e = _value(m, q)
    text = pm(v, e, 4) if math.isfinite(v) else "n/a"
    return text if m.status == "ok" else f"{text} ({m.status})"


def curve_table(found: dict, curve: Curve, phase: str) -> list:
    """Markdown lines: one row per point, the DMFT's values, the simulation's headline, and their
    difference in combined standard errors."""
    head = HEADLINE[phase]
    names = QUANTITIES[phase]
    sim = "simulation at the DMFT's t_max" if phase == "unsat" else "simulation"
    lines = [f"| {curve.parameter} | " + " | ".join(f"{q} (DMFT)" for q in names)
             + f" | {head} ({sim}) | z | t_max (DMFT) | minutes (DMFT) |",
             "|---" * (len(names) + 5) + "|"]
    for x in curve.values[phase]:
        exact_m = found["curves"].get((curve.name, phase, x, "exact"))
        dm = exact_m or found["curves"].get((curve.name, phase, x, "dmft"))
        sm = found["curves"].get((curve.name, phase, x, "simulation"))
        z = z_against(dm, sm, phase) if sm and sm.status == "ok" and dm.status == "ok" else math.nan
        cells = [f"{x:g}"] + [_cell(dm, q) if q in dm.values or dm.status != "ok" else "" for q in names]
        cells += [_cell(sm, head), f"{z:+.2f}" if math.isfinite(z) else "",
                  "exact" if exact_m else _number(dm.t_max, "g"), "" if exact_m else _number(dm.wall_s / 60, ".1f")]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _number(x: float, fmt: str) -> str:
    return format(x, fmt) if math.isfinite(x) else ""


def agreement(found: dict) -> dict:
    """DMFT against simulation where both have a number: the z values (combined errors), each
    simulated point once (a point on two curves, such as ``delta = 0.5`` and ``b = 0.5``, under
    the first curve's name)."""
    zs, seen = {}, set()
    for (curve, phase, x, method), sm in found["curves"].items():
        if method != "simulation" or sm.status != "ok" or (sm.key or sm.params) in seen:
            continue
        dm = found["curves"].get((curve, phase, x, "dmft"))
        if dm is None or dm.status != "ok":
            continue
        seen.add(sm.key or sm.params)
        zs[(curve, phase, x)] = z_against(dm, sm, phase)
    return zs


def z_against(dm: Measured, sm: Measured, phase: str) -> float:
    """``(DMFT - simulation) / combined error`` of the headline.  UNSAT: the simulation ran at the
    DMFT's final horizon and waiting times (:func:`simulation_task`), so the DMFT enters with its
    value there and its statistical error alone (``at_horizon``), not with the measurement's error,
    which also takes in the change from the horizon before."""
    head = HEADLINE[phase]
    dmft = dm.at_horizon[head] if dm.at_horizon and head in dm.at_horizon else _value(dm, head)
    return combined_z(*dmft, *_value(sm, head))


def per_b(curve: Curve, phase: str) -> bool:
    """Whether ``curve`` has a second temperature, ``T_eff / b``: a scan of ``b`` with the ``sum``
    normalisation (``b-sum``), in UNSAT.

    The field of the fluctuation-dissipation relation enters the update as ``dt H``
    (docs/conventions.md section 3) while the mean drift of the ``sum`` normalisation is
    ``b dt grad H``: in the loss's own units the field is ``H / b``, and the temperature of the
    loss (``exp(-H / T)`` for a Langevin process ``dw = -b grad H dt + sqrt(2 D dt) g``, whose
    FDT ratio is ``D``) is ``T_eff / b``.  Exactly: a ``sum`` run at ``(b, dt)`` is a ``mean`` run
    at ``(b, b dt)`` on the clock ``b t`` (tests/test_clock_identity.py), whose ``T_eff`` is
    ``T_eff(sum) / b``; ``d_inf`` has no such factor."""
    return curve.parameter == "b" and dict(curve.fixed).get("normalization", "sum") == "sum" and phase == "unsat"


def normalised(found: dict, curve: Curve, phase: str, divide_by_b: bool = False) -> tuple:
    """``(x, value / value(reference), error)`` of the headline along ``curve`` (error propagated
    from both, independent runs; the reference point itself has error 0); ``divide_by_b``: of
    ``value / b`` (:func:`per_b`)."""
    q = HEADLINE[phase]
    ref = found["curves"].get((curve.name, phase, curve.reference, "dmft"))
    if ref is None or ref.status != "ok":
        return np.array([]), np.array([]), np.array([])
    v0, e0 = _value(ref, q)
    if divide_by_b:
        v0, e0 = v0 / curve.reference, e0 / curve.reference
    xs, ys, es = [], [], []
    for x in curve.values[phase]:
        m = found["curves"].get((curve.name, phase, x, "exact")) or found["curves"].get((curve.name, phase, x, "dmft"))
        v, e = _value(m, q)
        if m is None or m.status != "ok" or not math.isfinite(v):
            continue
        if divide_by_b:
            v, e = v / x, e / x
        xs.append(x)
        ys.append(v / v0)
        es.append(0.0 if x == curve.reference else abs(v / v0) * math.hypot(e / v if v else 0.0, e0 / v0))
    return np.array(xs), np.array(ys), np.array(es)


def side_by_side_table(found: dict, design: Design) -> list:
    """For the control parameters scanned in both phases at the same values (b, tau): the two
    normalised measures and their difference in combined errors; along ``b-sum`` also with
    ``T_eff / b``, the temperature of the loss (:func:`per_b`)."""
    lines = ["| curve | x | T_eff / T_eff(ref) | d_inf / d_inf(ref) | difference (z) |", "|---|---|---|---|---|"]
    for c in design.curves():
        if c.parameter not in ("b", "tau"):
            continue
        for divide in (False, True) if per_b(c, "unsat") else (False,):
            xu, yu, eu = normalised(found, c, "unsat", divide)
            xs, ys, es = normalised(found, c, "sat")
            for x in sorted(set(xu.tolist()) & set(xs.tolist())):
                i, j = xu.tolist().index(x), xs.tolist().index(x)
                z = combined_z(yu[i], eu[i], ys[j], es[j]) if x != c.reference else math.nan
                lines.append(f"| {c.name}{', T_eff / b' if divide else ''} | {x:g} | {pm(yu[i], eu[i], 4)} | "
                             f"{pm(ys[j], es[j], 4)} | {'' if not math.isfinite(z) else f'{z:+.1f}'} |")
    return lines


def tables(found: dict, design: Design, cost: dict) -> str:
    out = ["## Curves (DMFT at every point, simulations at every other)", ""]
    for c in design.curves():
        for phase in c.values:
            out += [f"### {phase.upper()} {c.name} ({', '.join(f'{k} = {v}' for k, v in c.fixed) or 'sgd'})", ""]
            out += curve_table(found, c, phase) + [""]
    zs = agreement(found)
    if zs:
        out += ["## Theory against simulation", "", "z = (DMFT - simulation) / combined error, the headline "
                f"of each point with a number from both. Every DMFT point has the seed {BASE_SEED} and every "
                f"simulation the seed {SIM_SEED}: the same draws enter each point, so the z of neighbouring "
                "points are correlated and the +- 1/sqrt(points) of their mean (independent points) is a "
                "lower bound of its error. UNSAT: the simulation ran at the DMFT's final horizon and waiting "
                "times, and the DMFT enters with its statistical error there (the measurement's error in the "
                "curve tables also takes in the change from the horizon before).", ""]
        for name, phases in (("all", ("unsat", "sat")), ("UNSAT", ("unsat",)), ("SAT", ("sat",))):
            part = {k: v for k, v in zs.items() if k[1] in phases}
            if part:
                z = np.array(list(part.values()))
                worst = max(part, key=lambda k: abs(part[k]))
                out.append(f"- {name}: {len(z)} points, |z| <= 1 at {np.mean(np.abs(z) <= 1):.0%}, <= 2 at "
                           f"{np.mean(np.abs(z) <= 2):.0%}, <= 3 at {np.mean(np.abs(z) <= 3):.0%}; mean z "
                           f"{z.mean():+.2f} +- {1 / math.sqrt(len(z)):.2f}, chi^2 / points {np.mean(z ** 2):.2f}; "
                           f"largest |z|: {worst[0]} x = {worst[2]:g} ({part[worst]:+.2f})")
        out.append("")
    out += ["## The two measures side by side", ""] + side_by_side_table(found, design) + [""]
    out += ["## Sizes (simulations at N = " + ", ".join(map(str, design.sizes())) + ")", "",
            "| point | N | value | status | t_max | systems |", "|---|---|---|---|---|---|"]
    for (curve, phase, x, n), m in found["sizes"].items():
        v, e = _value(m, HEADLINE[phase])
        out.append(f"| {phase} {curve} x={x:g} | {n} | {pm(v, e, 4)} | {m.status} | {_number(m.t_max, 'g')} | "
                   f"{m.repetitions or ''} |")
    out += ["", "## Map", "", map_table(found, design), "", "## Cost", ""]
    out += [f"- {k}: {v}" for k, v in cost.items()]
    return "\n".join(out) + "\n"


def map_table(found: dict, design: Design) -> str:
    alphas, bs = design.map_axes()
    lines = ["| alpha \\ b | " + " | ".join(f"{b:g}" for b in bs) + " |", "|---" * (len(bs) + 1) + "|"]
    for a in alphas:
        cells = []
        for b in bs:
            phase, m = found["map"][(a, b)]
            v, e = _value(m, HEADLINE[phase])
            cells.append(pm(v, e, 3) if m.status == "ok" else m.status)
        lines.append(f"| {a:g} ({phase_of(a, BASE['unsat']['delta'])}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- figures
COLORS = {"dmft": "C0", "simulation": "C3", "exact": "k"}


def _series(found: dict, curve: str, phase: str, method: str, q: str) -> tuple:
    pts = sorted((x, *_value(m, q)) for (c, ph, x, me), m in found["curves"].items()
                 if c == curve and ph == phase and me == method and m.status == "ok"
                 and math.isfinite(_value(m, q)[0]))
    return tuple(np.array(a) for a in zip(*pts)) if pts else (np.array([]),) * 3


def curves_figure(found: dict, design: Design, path: str) -> str:
    curves = design.curves()
    fig = Figure(figsize=(3.3 * len(curves), 6.4))
    axes = fig.subplots(2, len(curves), squeeze=False)
    for j, c in enumerate(curves):
        for i, phase in enumerate(("unsat", "sat")):
            ax = axes[i, j]
            names = ("T_short", "T_static", "T_slow") if phase == "unsat" else ("d_inf",)
            for q, marker in zip(names, ("^", "o", "v")):
                for method in ("dmft", "exact", "simulation"):
                    x, y, e = _series(found, c.name, phase, method, q if method != "exact" else HEADLINE[phase])
                    if method == "exact" and q != HEADLINE[phase]:
                        continue
                    if len(x):
                        ax.errorbar(x, y, e, fmt=marker + ("-" if method == "dmft" else ""), ms=4, capsize=2,
                                    color=COLORS[method] if q == HEADLINE[phase] else "0.55",
                                    mfc="none" if method == "simulation" else None,
                                    label=f"{q} {method}" if j == 0 else None)
            for (cn, ph, x, me), m in found["curves"].items():
                if cn == c.name and ph == phase and me == "dmft" and m.status != "ok":
                    ax.axvline(x, color="0.8", lw=0.8, ls=":")
            if c.parameter in ("tau", "alpha"):
                ax.set_xscale("log")
                ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
            ax.set_xlabel(c.parameter)
            ax.set_title(f"{phase.upper()} {c.name}", fontsize=9)
            if j == 0:
                ax.set_ylabel("T" if phase == "unsat" else "d_inf")
                legend(ax, fontsize=6)
    fig.suptitle("T_eff (UNSAT) and d_inf (SAT); dotted lines: points without a number", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path, dpi=110)


def side_by_side_figure(found: dict, design: Design, path: str) -> str:
    curves = [c for c in design.curves() if c.parameter in ("b", "tau", "alpha")]
    fig = Figure(figsize=(3.4 * len(curves), 3.2))
    axes = fig.subplots(1, len(curves), squeeze=False)[0]
    for ax, c in zip(axes, curves):
        for phase, label, color in (("unsat", "T_eff / T_eff(ref)", "C0"), ("sat", "d_inf / d_inf(ref)", "C1")):
            # alpha: each phase at its own base alpha
            ref = BASE[phase]["alpha"] if c.parameter == "alpha" else c.reference
            x, y, e = normalised(found, Curve(c.name, c.parameter, c.values, c.fixed, ref), phase)
            if len(x):
                ax.errorbar(x, y, e, fmt="o-", ms=4, capsize=2, color=color, label=label)
            if per_b(c, phase):
                x, y, e = normalised(found, c, phase, divide_by_b=True)
                if len(x):
                    ax.errorbar(x, y, e, fmt="s--", ms=4, capsize=2, color="C2", mfc="none",
                                label="(T_eff / b) / (T_eff / b)(ref)")
        ax.axhline(1, color="0.7", lw=0.8)
        if c.name == "b-mean":     # two and a half decades (b = 1, exactly 0, is left out)
            ax.set_yscale("log")
        if c.parameter in ("tau", "alpha"):
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel(c.parameter)
        ax.set_title(c.name, fontsize=9)
        legend(ax, fontsize=7)
    fig.suptitle("the two noise measures, each normalised at the base point", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path, dpi=110)


def map_figure(found: dict, design: Design, path: str) -> str:
    alphas, bs = design.map_axes()
    fig = Figure(figsize=(8.5, 3.6))
    axes = fig.subplots(1, 2)
    for ax, phase in zip(axes, ("unsat", "sat")):
        rows = [a for a in alphas if phase_of(a, BASE["unsat"]["delta"]) == phase]
        grid = np.full((len(rows), len(bs)), np.nan)
        for i, a in enumerate(rows):
            for j, b in enumerate(bs):
                _, m = found["map"][(a, b)]
                v, _ = _value(m, HEADLINE[phase])
                if m.status == "ok" and v > 0:
                    grid[i, j] = math.log10(v)
                elif m.status != "ok":
                    ax.text(j, i, m.status.split(":")[0][:8], ha="center", va="center", fontsize=5)
        im = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
        fig.colorbar(im, ax=ax, label=f"log10 {HEADLINE[phase]}")
        ax.set_xticks(range(len(bs)), [f"{b:g}" for b in bs], fontsize=7)
        ax.set_yticks(range(len(rows)), [f"{a:g}" for a in rows], fontsize=7)
        ax.set_xlabel("b")
        ax.set_ylabel("alpha")
        ax.set_title(f"{phase.upper()}: {HEADLINE[phase]} (b = 1: exactly 0, blank)", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path, dpi=110)


def gaps_figure(found: dict, design: Design, path: str) -> str:
    curves = [c for c in design.curves() if c.parameter in ("b", "tau")]
    fig = Figure(figsize=(3.4 * len(curves), 5.6))
    axes = fig.subplots(2, len(curves), squeeze=False)
    for j, c in enumerate(curves):
        for i, q in enumerate(("gap_near", "gap_mean")):
            ax = axes[i, j]
            for method in ("dmft", "simulation"):
                x, y, e = _series(found, c.name, "sat", method, q)
                if len(x):
                    ax.errorbar(x, y, e, fmt="o-" if method == "dmft" else "s", ms=4, capsize=2,
                                color=COLORS[method], mfc="none" if method == "simulation" else None, label=method)
            if c.parameter == "tau":
                ax.set_xscale("log")
                ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
            ax.set_xlabel(c.parameter)
            ax.set_ylabel(f"fraction of gaps with |h| < {GAP_NEAR:g}" if q == "gap_near" else "mean gap")
            ax.set_title(f"SAT {c.name}", fontsize=9)
            legend(ax, fontsize=7)
    fig.suptitle("decision boundaries: the final gaps near h = 0+ (SAT, alpha = 0.5, delta = 0.5)", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path, dpi=110)


# --------------------------------------------------------------------------- the study
def run(output: str, quick: bool = False, workers=None, parts=PARTS, compute: bool = True) -> dict:
    """Measure the unfinished points of ``parts`` into ``<output>/runs`` and write the
    files of the module docstring from everything cached.  Returns :func:`collect`'s."""
    design = Design(quick)
    ledger_of(os.path.join(output, "runs")).check()     # a foreign file stops it before any work
    start = time.monotonic()
    first = tuple(p for p in parts if p != "again")
    cache = _run_planned(output, design, first, workers, compute)
    if "again" in parts:     # the second pass, planned from what the first left, then the UNSAT
        # simulations of the points it gave a number
        run_into(output, unfinished(cache, tasks(design, ("again",), cache)), workers=workers, compute=compute)
        _run_planned(output, design, first, workers, compute)
    ran = time.monotonic() - start
    found = collect(cache, design)
    cost = costs(cache, design, ran if compute else None)
    write_csv(curve_rows(found), os.path.join(output, "curves.csv"))
    write_csv(map_rows(found), os.path.join(output, "map.csv"))
    write_csv(size_rows(found), os.path.join(output, "curves_sizes.csv"))
    write_tables(os.path.join(output, "curves.md"), tables(found, design, cost), partial=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        curves_figure(found, design, os.path.join(output, "curves.png"))
        side_by_side_figure(found, design, os.path.join(output, "curves_side_by_side.png"))
        map_figure(found, design, os.path.join(output, "curves_map.png"))
        gaps_figure(found, design, os.path.join(output, "curves_gaps.png"))
    return found


def _run_planned(output: str, design: Design, parts: tuple, workers, compute: bool) -> str:
    """Run the tasks of ``parts`` that neither the cache nor the ledger holds into
    ``<output>/runs`` until the plan stops growing, recording each round in the ledger
    (:func:`record`): the UNSAT simulations are planned from their DMFT's numbers
    (:func:`simulation_task`), so each round adds those of the DMFT points the round before
    finished.  Returns the cache folder."""
    cache, planned = os.path.join(output, "runs"), None
    while True:
        todo = unfinished(cache, tasks(design, parts, cache))
        names = {t.filename for t in todo}
        if names == planned:
            return cache
        run_into(output, todo, workers=workers, compute=compute)
        record(cache, design)          # each round's results in the ledger as soon as they exist
        planned = names


def unfinished(cache: str, todo: list) -> list:
    """The tasks of ``todo`` that neither the cache nor the ledger holds."""
    return [t for t in todo if _measured(cache, t).status == "pending"]


def record(cache: str, design: Design) -> int:
    """Write the ledger record (:func:`ledger_of`) of every finished measurement of the study whose
    result file is in ``cache``: its :class:`Measured`, its label and the file it was read from.
    Returns how many records changed."""
    ledger, changed = ledger_of(cache), 0
    for t in tasks(design, PARTS, cache):
        if not os.path.exists(os.path.join(cache, t.filename)):
            continue
        m = _measured(cache, t)
        if m.status != "pending":
            changed += ledger.write(t.key, {"task": t.label, "measured": m.to_record(),
                                            "source": f"result file {os.path.basename(cache)}/{t.filename}"})
    return changed


def costs(cache: str, design: Design, ran: float | None) -> dict:
    """What the measurements in ``cache`` cost, per part (a point shared by a curve and the map
    counts in both), and the most expensive ones; ``ran``: this run's wall time (s), if it computed."""
    out = {} if ran is None else {"this run's wall time": f"{ran / 60:.1f} min"}
    every = {}
    for part in PARTS:
        todo = tasks(design, (part,), cache)
        done = [(t, _measured(cache, t)) for t in todo]
        done = [(t, m) for t, m in done if m.status != "pending"]
        spent = sum(m.wall_s for _, m in done if math.isfinite(m.wall_s))
        unknown = sum(not math.isfinite(m.wall_s) for _, m in done)
        out[f"part {part}"] = (f"{len(done)} of {len(todo)} measurements cached, {spent / 60:.1f} min of compute "
                               "(one core each)" + (f"; {unknown} of them without a recorded compute time "
                                                    "(ledger records recovered without it)" if unknown else ""))
        for t, m in done:       # a shared point under the name of its first part
            if math.isfinite(m.wall_s):
                every.setdefault(t.filename, (m.wall_s, t.label, m.status))
    for wall, label, status in sorted(every.values(), reverse=True)[:8]:
        out[f"most expensive: {label}"] = f"{wall / 60:.1f} min ({status})"
    return out


def main(argv=None) -> None:
    study_main(run, __doc__, os.path.join("docs", "study"), PARTS, argv)


if __name__ == "__main__":
    main()
