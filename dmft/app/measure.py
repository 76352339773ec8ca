"""Measurements that choose their own horizon and statistics (``dmft measure``).

A user asks for a number at a precision -- "T_eff at this point, to 2%" -- and :func:`measure`
decides how long to run and how many repetitions (DMFT replicates or simulated systems) to
average, instead of the user guessing ``t_max``, ``tw`` and ``n_paths``:

1. **Horizon.**  A run to ``t_max`` (the point's own, the first try) with ``start`` repetitions.
   The waiting times follow the horizon: ``n_tw`` of them evenly spaced over the fractions
   ``window`` of ``t_max`` (unless the point gives its own ``tw``, kept fixed), read as a
   waiting-time window by :func:`~dmft.analysis.teff.fit_teff`.  The run is *extended* (``t_max``
   times ``growth``) while the quantity's tests fail for lack of time:

   * ``teff``: the stationarity test (one-time observables flat, ``C(tw+s, tw)`` the same over
     the two halves of the window), the plateau tests of ``T_static``, its drift across the
     window, and its *confirmation* (:func:`~dmft.analysis.verdict.confirmed`): the number is
     compared with the number at the shorter horizon before (for the DMFT with its marches kept,
     the number at half the horizon from their first steps, at no cost), so a number is only
     quoted once it has been seen at two horizons;
   * ``distance``: the energy has vanished (SAT) or is flat (UNSAT), and ``d(t)`` is flat over the
     last quarter of the run within its error (:func:`~dmft.analysis.distance.long_time_distance`).

2. **Statistics.**  Once the quantity exists, repetitions are added at that horizon until its
   relative standard error (jackknife over repetitions) is at most ``rel_error``: the number
   needed is predicted from the error's ``1/sqrt(count)`` law and reached in one step.  More
   data can show a window to be still moving; the horizon then grows again.  A DMFT repetition
   with a second path count (:meth:`~dmft.core.methods.DMFTMethod.companion`, automatic by
   default) is a replicate of ``n_paths`` paths and one of the companion count, and every number
   is judged on their ``n_paths -> infinity`` extrapolation: the error that reaches
   ``rel_error`` includes the finite-path bias's (:mod:`dmft.core.extrapolation`).

3. **Honest ends.**  ``ok``, or a status naming why there is no number: ``not_reached`` (the
   budget or the horizon limit ran out; the best values so far come with it, and, while still
   relaxing, the relaxation time estimated from the energy), ``aging`` (``C(tw+s, tw)`` depends
   on ``tw`` at every horizon tried, by an amount that does not shrink as the horizon grows: no
   stationary state), ``frozen`` (``teff`` of a SAT point: the energy vanishes and the noise stops,
   so there is no stationary fluctuating state; its noise measure is the distance) or
   ``diverged``.  Never a bare n/a, never a number from a window that still moves.

**Cost.**  The DMFT's horizon tries continue their marches (:class:`~dmft.solver.march.March`,
continued to a longer horizon exactly as a single march to it): no step is computed twice, and
the measurement costs its final run plus the evaluations.  The marches are kept in memory for
that (1.35 GB per replicate of 16384 paths at 1600 steps, by the resource estimate), as long as
they fit in half of
the memory available; otherwise a larger DMFT looks for its horizon with an eighth of its paths
(the scouts, continued too: the horizon is the relaxation time of the physics, which the number
of paths changes only by its O(1/n) bias) and then measures with every path at the horizon
found, judging the quantity again; and a run that must restart doubles the horizon, so that the
restarts cost at most ``1 + 1/4 + 1/16 + ... = 4/3`` of the final run for a cost ``~ T^2``.
Simulations (cost ``~ T``) restart with the horizon tripled: at most
``1 + 1/3 + 1/9 + ... = 3/2``.  Repetitions added at the final horizon are part of the final
run.  ``benchmarks/bench_measure.py`` measures the ratio (``wall_s / final_wall_s``); restarted
scouts came to 1.54-1.68 of the final run under a load of 6 on 2 cores (a scout of an eighth of
the paths cost 0.4-0.7 of a full run there: the per-step overheads do not scale with the paths),
which is why the marches are continued.

Everything the measurement did is recorded: :class:`Measurement` (``to_dict``) lists every try
(horizon, waiting times, repetitions, wall time, what was seen and why it went on) and the
criteria, and is stored with the final result (``meta["measurement"]``), which is an ordinary
result file of the final horizon and statistics: ``dmft teff`` on it gives the same number.
"""

from __future__ import annotations

import logging
import math
import re
import time
from dataclasses import dataclass, field, replace

import numpy as np

from ..analysis.stationarity import AGREE_FLOOR
from ..analysis.verdict import confirmed, judge, repetitions
from ..core.extrapolation import paths_corrections
from ..core.methods import DMFTMethod, ParticleMethod, point_hash
from ..core.params import MAX_ABS, Params
from ..core.resources import estimate
from .repetitions import Repetitions, continuable, first_seconds
from .runner import Task as _Task

logger = logging.getLogger(__name__)

#: what can be measured: the effective temperature (UNSAT) or the long-time replica distance
QUANTITIES = ("teff", "distance")
#: how a measurement can end
STATUSES = ("ok", "not_reached", "aging", "frozen", "diverged")
#: fewest repetitions (batches of the jackknife) behind a value that ends a measurement ``ok``.  An
#: error from B batches is itself uncertain by about 1/sqrt(2 (B - 1)): 41% at 4, 27% at 8.  Seen at
#: alpha = 4, delta = 0.5, sgd b = 0.3 (docs/measure, N = 2000): T_short = 0.01296 +- 6.1e-5 from 4
#: systems, where 8 systems at the same point and N give 1.6e-4: the DMFT's differed by 2.8e-4, "4.15
#: combined errors" with the first, 1.7 with the second.
MIN_REPETITIONS = 8
#: consecutive horizons at which C(tw+s, tw) must age, by a signal that does not shrink, for ``aging``
AGING_TRIES = 3


class MeasureError(ValueError):
    """Invalid measurement settings (the CLI exits with status 2, nothing computed)."""


def parse_budget(text) -> float:
    """Seconds from ``90``, ``90s``, ``20m``, ``1.5h`` (a number alone is seconds)."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = float(text)
    else:
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([smh]?)\s*", str(text))
        if not m:
            raise MeasureError(f"invalid budget {text!r}: a duration such as 600, 90s, 20m or 1.5h")
        value = float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]
    if not (math.isfinite(value) and 0 < value <= 30 * 24 * 3600):
        raise MeasureError(f"invalid budget {text!r}: must be positive and at most 30 days")
    return value


@dataclass(frozen=True)
class MeasureSettings:
    """How a measurement proceeds (module docstring).

    Attributes:
        quantity: ``teff`` (``T_eff = T_static`` with ``T_short``, ``T_slow``) or ``distance``
            (``d_inf``, two replicas).
        rel_error: target relative standard error of the headline value (in (0, 1)).
        budget: wall-clock seconds the measurement may spend computing (> 0).
        window: the waiting times as fractions ``(a, b)`` of the horizon (``0 < a < b < 1``).
        n_tw: number of waiting times (>= 4; 0: 16 for the DMFT, 4 for simulations).
        growth: factor of the horizon from one try to the next (> 1; 0: 2 for the DMFT, 3 for
            simulations, which keeps the total cost within 3/2 of the final run's).
        start: repetitions (replicates or systems) of the horizon tries (>= 2).
        min_repetitions: fewest repetitions behind a value that ends the measurement ``ok``
            (>= 2; :data:`MIN_REPETITIONS`).
        max_t: longest horizon to try (0: no limit other than the budget).
        max_repetitions: most repetitions to average (>= start).
    """

    quantity: str
    rel_error: float = 0.02
    budget: float = 1200.0
    window: tuple = (0.35, 0.55)
    n_tw: int = 0
    growth: float = 0.0
    start: int = 4
    min_repetitions: int = 0
    max_t: float = 0.0
    max_repetitions: int = 256

    def __post_init__(self) -> None:
        if self.quantity not in QUANTITIES:
            raise MeasureError(f"quantity must be one of {', '.join(QUANTITIES)} (got {self.quantity!r})")
        for name in ("rel_error", "budget", "growth", "max_t"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise MeasureError(f"{name} must be a finite number (got {v!r})")
        if not 0 < self.rel_error < 1:
            raise MeasureError(f"rel_error must lie in (0, 1) (got {self.rel_error})")
        if not self.budget > 0:
            raise MeasureError(f"budget must be positive (got {self.budget})")
        try:
            a, b = (float(x) for x in self.window)
        except (TypeError, ValueError):
            raise MeasureError(f"window must be two fractions (a, b) (got {self.window!r})") from None
        if not 0 < a < b < 1:
            raise MeasureError(f"window must satisfy 0 < a < b < 1 (got {self.window!r})")
        object.__setattr__(self, "window", (a, b))
        if not (self.growth == 0 or self.growth > 1):
            raise MeasureError(f"growth must be > 1 (or 0: the method's default) (got {self.growth})")
        if self.min_repetitions == 0 and isinstance(self.max_repetitions, int):
            object.__setattr__(self, "min_repetitions", min(MIN_REPETITIONS, self.max_repetitions))
        for name, low in (("n_tw", 0), ("start", 2), ("min_repetitions", 2), ("max_repetitions", 2)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise MeasureError(f"{name} must be an integer >= {low} (got {v!r})")
        if 0 < self.n_tw < 4:
            raise MeasureError(f"n_tw must be >= 4 (or 0: the method's default) (got {self.n_tw})")
        if self.max_repetitions < self.start:
            raise MeasureError(f"max_repetitions ({self.max_repetitions}) must be >= start ({self.start})")
        if self.max_repetitions < self.min_repetitions:
            raise MeasureError(f"max_repetitions ({self.max_repetitions}) must be >= min_repetitions "
                               f"({self.min_repetitions})")
        if self.max_t < 0:
            raise MeasureError(f"max_t must be >= 0 (got {self.max_t})")

    def to_dict(self) -> dict:
        return {"quantity": self.quantity, "rel_error": self.rel_error, "budget": self.budget,
                "window": list(self.window), "n_tw": self.n_tw, "growth": self.growth, "start": self.start,
                "min_repetitions": self.min_repetitions, "max_t": self.max_t, "max_repetitions": self.max_repetitions}

    def resolved(self, kind: str) -> "MeasureSettings":
        """The method's defaults filled in (``n_tw``, ``growth``)."""
        sim = kind == "simulation"
        return replace(self, n_tw=self.n_tw or (4 if sim else 16), growth=self.growth or (3.0 if sim else 2.0))


@dataclass(frozen=True)
class Try:
    """One step of a measurement: the horizon, waiting times and repetitions it computed (of
    ``size`` paths, or N for simulations), what the data showed and what was done next."""

    t_max: float
    tw: tuple
    repetitions: int
    added: int
    wall_s: float
    seen: str
    action: str
    value: float = math.nan
    error: float = math.nan
    size: int = 0

    def to_dict(self) -> dict:
        def num(x):
            return None if not math.isfinite(x) else float(x)

        return {"t_max": self.t_max, "tw": [self.tw[0], self.tw[-1], len(self.tw)] if self.tw else [],
                "size": self.size, "repetitions": self.repetitions, "added": self.added,
                "wall_s": round(self.wall_s, 3),
                "seen": self.seen, "action": self.action, "value": num(self.value), "error": num(self.error)}


@dataclass(frozen=True)
class Measurement:
    """The outcome of :func:`measure`.

    Attributes:
        quantity: ``teff`` or ``distance``.
        status: ``ok`` or why there is no number (module docstring, :data:`STATUSES`).
        reason: the status in words (with the numbers that decided it).
        value, error: the headline (``T_static`` for ``teff``, ``d_inf`` for ``distance``) and its
            standard error; with a status other than ``ok`` the best values so far (NaN if none).
        rel_error: ``error / |value|`` reached; ``target``: the one asked for.
        t_max: the horizon of the final result.
        tries: every :class:`Try`, in order.
        criteria: what ended it (the tests and their outcome).
        settings: the :class:`MeasureSettings` (method defaults resolved).
        result: the final :class:`~dmft.core.result.Result` (its ``meta["measurement"]`` is
            :meth:`to_dict`).
        estimate: the final :class:`~dmft.analysis.teff.TeffEstimate` or
            :class:`~dmft.analysis.distance.DistanceEstimate`.
        wall_s: seconds spent.
        final_wall_s: seconds spent on the repetitions of the final result (the cost of one run
            at the final horizon and statistics; ``wall_s / final_wall_s`` is the overhead of the
            search).
        confirmed_by: ``(t_max, value, error)`` of the number at the shorter horizon that the
            last number was compared with (``teff``), or ``()``.
        paths_bias: the finite-``n_paths`` correction of ``value`` (the number at ``n_paths``
            paths minus the extrapolated one) when the DMFT result was extrapolated in the paths
            (:meth:`~dmft.core.methods.DMFTMethod.companion`), else NaN.
    """

    quantity: str
    status: str
    reason: str
    value: float
    error: float
    rel_error: float
    target: float
    t_max: float
    tries: tuple
    criteria: dict
    settings: MeasureSettings
    result: object = field(repr=False, default=None)
    estimate: object = field(repr=False, default=None)
    wall_s: float = 0.0
    final_wall_s: float = 0.0
    confirmed_by: tuple = ()
    paths_bias: float = math.nan

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict:
        """A JSON-able summary: status, quantity, value, error, t_max, the tries, the criteria and,
        for ``teff``, the keys of ``dmft teff --json``."""
        def num(x):
            return None if x is None or not math.isfinite(x) else float(x)

        d = {"status": self.status, "reason": self.reason, "quantity": self.quantity, "value": num(self.value),
             "error": num(self.error), "rel_error": num(self.rel_error), "target": self.target,
             "t_max": self.t_max, "kind": None if self.result is None else self.result.kind,
             "repetitions": None if self.result is None else repetitions(self.result),
             "wall_s": round(self.wall_s, 3), "final_wall_s": round(self.final_wall_s, 3),
             "tries": [t.to_dict() for t in self.tries],
             "criteria": dict(self.criteria), "settings": self.settings.to_dict(),
             "confirmed_by": (dict(zip(("t_max", "value", "error"), map(num, self.confirmed_by)))
                              if self.confirmed_by else None),
             "paths_bias": num(self.paths_bias)}
        if self.estimate is not None:
            d[self.quantity] = self.estimate.to_dict()
            if self.quantity == "teff":
                for key, value in self.estimate.to_dict().items():
                    d.setdefault(key, value)
        return d

    def describe(self) -> str:
        """Lines for a terminal."""
        name = {"teff": "T_eff = T_static", "distance": "d_inf"}[self.quantity]
        if math.isfinite(self.value):
            val = f"{self.value:.5g} +/- {self.error:.2g} ({100 * self.rel_error:.2g}%)"
        else:
            val = "no value"
        lines = [f"{name} = {val}   [status: {self.status}; t_max = {self.t_max:g}, "
                 f"{0 if self.result is None else repetitions(self.result)} {_unit(self.result)}; {len(self.tries)} tries, {self.wall_s:.0f} s]"]
        if self.status != "ok":
            lines.append(f"  {self.status}: {self.reason}")
        if math.isfinite(self.paths_bias):
            lines.append(f"  finite-n_paths correction (value at {self.result.method.n_paths} paths - extrapolated, "
                         f"removed): {self.paths_bias:+.3g} ({self.paths_bias / self.error:+.2f} errors)")
        if self.quantity == "teff" and self.estimate is not None:
            e = self.estimate
            for label, v, err in (("T_short", e.T_short, e.T_short_err), ("T_slow", e.T_slow, e.T_slow_err)):
                text = f"{v:.5g} +/- {err:.2g}" if math.isfinite(v) else "not available"
                lines.append(f"  {label:8s} = {text}")
            lines.append(f"  {e.where()}")
        for i, t in enumerate(self.tries, 1):
            size = f" of {t.size} paths" if _unit(self.result) == "replicates" else f" of N = {t.size}"
            lines.append(f"  try {i}: t_max = {t.t_max:g}, {t.repetitions} {_unit(self.result)}{size} (+{t.added}), "
                         f"{t.wall_s:.1f} s: {t.seen} -> {t.action}")
        return "\n".join(lines)


def _unit(result) -> str:
    return "systems" if result is not None and result.kind == "simulation" else "replicates"


# --------------------------------------------------------------------------- the point at a horizon
def waiting_times(horizon: float, dt: float, window: tuple, count: int) -> tuple:
    """``count`` waiting times evenly spaced over ``[a, b] horizon``, on the grid, distinct."""
    a, b = window
    grid = np.round(np.linspace(a * horizon, b * horizon, count) / dt).astype(int)
    return tuple(float(i * dt) for i in sorted(set(int(i) for i in grid)))


def point_at(params: Params, horizon: float, settings: MeasureSettings, fixed_tw: tuple) -> Params:
    """``params`` run to ``horizon`` with the waiting times of the design (or the fixed ones)."""
    dt = params.dt
    horizon = round(horizon / dt) * dt
    tw = fixed_tw if fixed_tw else waiting_times(horizon, dt, settings.window, settings.n_tw)
    if settings.quantity == "distance" and not fixed_tw:
        tw = ()
    return params.replace(t_max=horizon, tw=tw)


def _tracked_steps(params: Params, method, settings: MeasureSettings, fixed_tw: tuple) -> tuple:
    """With a memory window, the steps of the waiting times of every horizon the measurement may
    try (``t_max growth^i`` from the half of the first on, up to ``max_t``, ``2^24`` steps or the
    largest ``t_max`` of :class:`Params`): a
    march tracks their columns from the start (:class:`~dmft.solver.window.TrackedColumns`), so
    that a continued march has them as a single one would.  ``settings``: resolved
    (:meth:`MeasureSettings.resolved`)."""
    if not (isinstance(method, DMFTMethod) and method.window_at(params)):
        return ()
    growth = settings.growth
    limit = min(MAX_ABS, settings.max_t + 1e-9 if settings.max_t else math.inf)
    out = set(point_at(params, params.t_max / growth, settings, fixed_tw).tw_index)
    horizon = params.t_max                  # the horizons as the loop of measure() makes them
    while horizon / params.dt <= 2 ** 24 and horizon <= limit:
        out.update(point_at(params, horizon, settings, fixed_tw).tw_index)
        horizon *= growth
    return tuple(sorted(out))


def _is_aging(history: list) -> tuple:
    """(aging, why) from the aging signals ``(t_max, A, err)`` of the consecutive horizons that
    failed the aging test while the energy did not collapse (:data:`~dmft.analysis.verdict.AGING_ENERGY_FACTOR`; a SAT
    state freezing exponentially also relaxes slower and slower): at least :data:`AGING_TRIES`,
    each significant (more than 3 errors and more than half the agreement floor) and the last at
    least half the first (an approach to a stationary state shrinks it by orders of magnitude when
    the horizon quadruples)."""
    if len(history) < AGING_TRIES:
        return False, ""
    last = history[-AGING_TRIES:]
    significant = all(math.isfinite(a) and math.isfinite(e) and a > 3 * e and a > AGREE_FLOOR / 2
                      for _, a, e in last)
    if significant and last[-1][1] >= 0.5 * last[0][1]:
        text = ", ".join(f"{100 * a:.1f}% +/- {100 * e:.1f}% at t_max = {t:g}" for t, a, e in last)
        return True, ("C(tw+s, tw) depends on tw at every horizon tried: the later waiting times relax "
                      f"slower by {text} (no decrease as the horizon grows)")
    return False, ""


# --------------------------------------------------------------------------- the driver
def measure(params: Params, quantity: str = "teff", rel_error: float = 0.02, budget=1200.0, method=None,
            settings: MeasureSettings | None = None, log=None) -> Measurement:
    """Measure ``quantity`` (``teff`` or ``distance``) at ``params`` to a relative error
    ``rel_error`` within ``budget`` (seconds, or ``"20m"``), choosing the horizon, the waiting
    times and the number of repetitions (module docstring).

    ``params.t_max`` is the first horizon; ``params.tw``, if given (not Params' automatic choice),
    is kept (else the waiting times follow the horizon); ``distance`` runs two replicas.  ``method``: a
    :class:`~dmft.core.methods.DMFTMethod` (default) or :class:`~dmft.core.methods.ParticleMethod`
    (its ``replicates`` / ``n_samples`` are chosen here).  ``settings`` overrides the rest of
    :class:`MeasureSettings`.  ``log``: a callable for one line per try (default: this module's
    logger).  Never raises for the physics: the status says how it ended.
    """
    if not isinstance(params, Params):
        raise TypeError(f"params must be a dmft.Params, got {type(params).__name__}")
    method = DMFTMethod() if method is None else method
    if not isinstance(method, (DMFTMethod, ParticleMethod)):
        raise TypeError(f"method must be a DMFTMethod or a ParticleMethod, got {type(method).__name__}")
    budget = parse_budget(budget)
    if settings is None:
        settings = MeasureSettings(quantity=quantity, rel_error=rel_error, budget=budget)
    elif settings.quantity != quantity:
        settings = replace(settings, quantity=quantity)
    settings = settings.resolved(method.kind)
    log = logger.info if log is None else log
    if quantity == "distance" and params.replicas != 2:
        params = params.replace(replicas=2)
    # waiting times given by the user are kept; chosen automatically (Params' default), they follow the horizon
    fixed_tw = () if getattr(params, "_tw_auto", False) else tuple(params.tw)
    if quantity == "teff" and not fixed_tw and params.n_steps < 40:
        raise MeasureError(f"t_max = {params.t_max:g} is {params.n_steps} steps: the first horizon needs at least "
                           "40 steps for a waiting-time window")
    if params.n_steps > _steps_limit(params, method):
        raise MeasureError(f"the first horizon t_max = {params.t_max:g} has {params.n_steps} steps, more than the DMFT "
                           f"with {method.n_paths} paths represents ({_steps_limit(params, method)}): more paths "
                           "or a shorter first horizon")
    start = time.monotonic()
    deadline = start + settings.budget
    horizon = params.t_max
    count = settings.start
    tries, aging_history = [], []
    confirmation = ()     # the shorter horizon's number the last one was compared with ...
    confirmed_at = None   # ... at this horizon
    reps = last = None    # the repetitions at the current horizon, and at the one before
    verdict = None
    status, reason = None, ""
    criteria = {"rel_error": f"error/|value| <= {settings.rel_error:g}"}

    def finish(st: str, why: str) -> Measurement:
        done = reps if reps is not None and reps.count else last
        result = done.result() if done is not None and done.count else None
        v = verdict
        value = v.value if v is not None else math.nan
        error = v.error if v is not None else math.nan
        rel = abs(error / value) if math.isfinite(value) and value != 0 and math.isfinite(error) else math.nan
        bias = math.nan
        if result is not None and math.isfinite(value):    # the correction the extrapolation removed
            bias = paths_corrections(result, lambda r: {"value": judge(r, quantity).value}).get("value", math.nan)
        m = Measurement(quantity=quantity, status=st, reason=why, value=value, error=error, rel_error=rel,
                        target=settings.rel_error, t_max=float(result.t[-1]) if result is not None else horizon,
                        tries=tuple(tries), criteria=criteria, settings=settings, result=result,
                        estimate=None if v is None else v.estimate, wall_s=time.monotonic() - start,
                        final_wall_s=done.wall if done is not None else 0.0, confirmed_by=confirmation,
                        paths_bias=bias)
        if result is not None:
            result.meta["measurement"] = m.to_dict()
        return m

    # the horizon tries: the DMFT's marches continued (none redone) when their memory fits; else, for
    # a large DMFT, scouts with an eighth of the paths (then the final run with every path)
    scout = None if continuable(params, method, settings.start) else _scout_method(method)
    if scout is not None and params.n_steps > _steps_limit(params, scout):
        scout = None
    current = scout or method

    def record(action: str, verdict_value=True) -> None:
        v = verdict
        tries.append(Try(p.t_max, p.tw, reps.count, added, wall, seen, action,
                         v.value if v is not None and verdict_value else math.nan,
                         v.error if v is not None and verdict_value else math.nan, size=_size(current)))

    while True:
        p = point_at(params, horizon, settings, fixed_tw)
        left = deadline - time.monotonic()
        extended = 0.0
        if reps is not None and reps.method == current and reps.params != p and reps.can_extend(p):
            # the same repetitions, marched on from their horizon: only the new steps cost
            cost = reps.wall * (_work_ratio(p, reps.params, current) - 1)
            if cost > left:
                status = "not_reached"
                reason = (f"continuing to t_max = {p.t_max:g} (about {cost:.0f} s) does not fit in the "
                          f"{left:.0f} s left of the budget; {_still(verdict)}")
                break
            t0 = time.monotonic()
            reps.extend(p)
            extended = time.monotonic() - t0
        elif reps is None or reps.params != p or reps.method != current:
            previous = last = reps
            if previous is not None:
                previous.release()
            reps = Repetitions(p, current, continuable=count if continuable(p, current, count) else 0,
                               track=_tracked_steps(p, current, settings, fixed_tw))
            if previous is not None and previous.count:   # cost as the work estimate, ~ paths
                per = (previous.per_item() * _work_ratio(p, previous.params, previous.method)
                       * _size(current) / _size(previous.method))
            else:
                per = first_seconds(p, current)
            need = max(count - reps.count, 0)
            if need and per * min(need, 2) > left and tries:
                status = "not_reached"
                reason = (f"the next try (t_max = {p.t_max:g}, about {per * need:.0f} s) does not fit in the "
                          f"{left:.0f} s left of the budget; {_still(verdict)}")
                break
        t0 = time.monotonic()
        added = reps.add(count, deadline, minimum=0 if tries else 2)
        wall = time.monotonic() - t0 + extended
        if reps.count < 2 and not reps.diverged:
            status, reason = "not_reached", f"the budget ended before two repetitions at t_max = {p.t_max:g}"
            seen = "fewer than 2 repetitions"
            record("stop", verdict_value=False)
            break
        result = reps.result()
        verdict = judge(result, quantity)
        if quantity == "teff":          # a number must be the one of the shorter horizon before
            previous = _previous_number(tries, p.t_max)
            if previous is None and confirmation and confirmed_at == p.t_max:
                previous = confirmation     # found at this horizon before repetitions were added
            if previous is None and verdict.need == "none":
                previous = _half_horizon_number(reps, params, horizon / settings.growth, settings, fixed_tw)
            verdict = confirmed(verdict, previous, p.t_max, settings.rel_error)
            confirmation = tuple(previous) if previous is not None else ()
            confirmed_at = p.t_max
        seen = verdict.seen
        if verdict.need in ("diverged", "frozen"):
            record(f"stop: {verdict.need}")
            status, reason = verdict.need, seen
            break
        if verdict.need == "horizon":
            criteria["horizon"] = "the tests of the quantity failed at every shorter horizon"
            if verdict.aging:
                aging_history.append((p.t_max, *verdict.aging))
            else:
                aging_history.clear()
            is_aging, why = _is_aging(aging_history)
            if is_aging:
                record("stop: aging")
                status, reason = "aging", why
                criteria["aging"] = (f"the aging test failed at {AGING_TRIES} consecutive horizons by a signal "
                                     "that did not shrink")
                break
            new = horizon * settings.growth
            steps = round(new / p.dt)
            at_new = p.replace(t_max=steps * p.dt)          # (the limit of the method resolved there)
            if current is scout and steps > _steps_limit(at_new, scout):
                current = method                            # beyond the scout's path limit: all the paths
            if steps > _steps_limit(at_new, method):
                record("stop: path limit")
                status = "not_reached"
                reason = (f"the next horizon t_max = {new:g} has more steps than the DMFT with "
                          f"{method.n_paths} paths represents ({_steps_limit(at_new, method)} = n_paths / replicas: "
                          f"beyond, the empirical covariance of the cavity field has lost rank); more paths "
                          f"(--n-paths) are needed; {_still(verdict, p.t_max)}")
                break
            if settings.max_t and new > settings.max_t + 1e-9:
                record("stop: horizon limit")
                status = "not_reached"
                reason = f"horizon limit max_t = {settings.max_t:g} reached; {_still(verdict, p.t_max)}"
                break
            record(f"extend to t_max = {steps * p.dt:g}")
            log(_line(len(tries), tries[-1], reps))
            horizon = new
            count = max(count, settings.start)
            continue
        aging_history.clear()
        if current is scout:
            # the scouts found the horizon: the measurement itself, with every path, at this horizon
            record(f"horizon found: measure with {method.n_paths} paths at t_max = {p.t_max:g}")
            log(_line(len(tries), tries[-1], reps))
            current = method
            count = settings.start
            continue
        rel = abs(verdict.error / verdict.value) if verdict.value else math.inf
        few = reps.count < settings.min_repetitions     # (validated <= max_repetitions)
        if verdict.need == "none" and rel <= settings.rel_error and not few:
            record("stop: ok")
            status, reason = "ok", f"relative error {100 * rel:.2g}% <= {100 * settings.rel_error:g}%"
            criteria["stationary"] = seen
            break
        if not math.isfinite(rel) or (verdict.need == "statistics" and rel <= settings.rel_error):
            want = 2 * reps.count      # no error yet, or a test that more repetitions decide
        else:
            want = int(math.ceil(reps.count * (rel / settings.rel_error) ** 2 * 1.1))
        want = min(max(want, reps.count + 1, settings.min_repetitions if few else 0), settings.max_repetitions)
        if rel > settings.rel_error:     # what more repetitions were for: the error, a test they decide,
            short = f"relative error {100 * rel:.2g}% > {100 * settings.rel_error:g}%"
        elif verdict.need == "none":     # or an error bar from too few of them
            short = (f"an error bar from {reps.count} {'replicates' if reps.dmft else 'systems'} "
                     f"(fewer than {settings.min_repetitions})")
        else:
            short = seen
        if reps.count >= settings.max_repetitions:
            record("stop: repetition limit")
            status = "not_reached"
            reason = f"{short} with the most repetitions allowed ({settings.max_repetitions})"
            break
        left = deadline - time.monotonic()
        affordable = reps.count + int(left // max(reps.per_item(), 1e-9))
        if affordable <= reps.count:
            record("stop: budget")
            status = "not_reached"
            reason = (f"{short} when the budget ran out ({reps.count} {'replicates' if reps.dmft else 'systems'} "
                      f"at t_max = {p.t_max:g}; about {want} needed)")
            break
        record(f"add repetitions: {reps.count} -> {min(want, affordable)} ({short})")
        log(_line(len(tries), tries[-1], reps))
        count = min(want, affordable)
    m = finish(status, reason)
    log(f"measure {quantity}: {m.status}" + (f" ({m.reason})" if m.status != "ok" else "")
        + (f": {m.value:.5g} +/- {m.error:.2g}" if math.isfinite(m.value) else ""))
    return m


def _previous_number(tries, t_max: float):
    """``(t_max, value, error)`` of the last try at a horizon shorter than ``t_max`` that had a
    number, or None."""
    for t in reversed(tries):
        if t.t_max < t_max - 1e-9 and math.isfinite(t.value) and math.isfinite(t.error):
            return t.t_max, t.value, t.error
    return None


def _half_horizon_number(reps, params: Params, horizon: float, settings, fixed_tw: tuple):
    """``(t_max, value, error)`` of T_eff at the shorter ``horizon`` from the first steps of the
    kept DMFT marches (a run to that horizon, at no cost), or None: no marches kept, a horizon too
    short for a window, or no number there."""
    p = point_at(params, horizon, settings, fixed_tw)
    if p.n_steps < 40 or not p.tw:
        return None
    result = reps.result_at(p)
    if result is None:
        return None
    verdict = judge(result, "teff")
    return (p.t_max, verdict.value, verdict.error) if verdict.need == "none" else None


#: the horizon tries of a DMFT measurement use this fraction of its paths ...
SCOUT_FRACTION = 8
#: ... when that leaves at least this many
SCOUT_MIN_PATHS = 1024


def _scout_method(method):
    """The method of the horizon tries (None: the method itself).  A large DMFT finds its horizon
    with an eighth of the paths: the horizon is the relaxation time of the physics, which does not
    depend on the number of paths beyond its O(1/n) bias, and the tries then cost about a sixth of
    the final run each (a part of the cost does not scale with the paths), so that all of them
    together stay within 1/2 of the final run for any cost between ``T`` and ``T^2``; the final
    run is judged again with every path (and, with a second path count, extrapolated in the paths:
    the scouts are not)."""
    if isinstance(method, DMFTMethod) and method.n_paths // SCOUT_FRACTION >= SCOUT_MIN_PATHS:
        return method.replace(n_paths=method.n_paths // SCOUT_FRACTION, extrapolation_paths=0)
    return None


def _size(method) -> int:
    """The size of a repetition: DMFT paths, or the simulation's N."""
    return method.n_paths if isinstance(method, DMFTMethod) else method.n


def _steps_limit(params: Params, method) -> int:
    """Most time steps a run of ``method`` represents faithfully: for the DMFT ``n_paths /
    replicas`` (the empirical covariance ``M_C`` of the cavity field is a Gram matrix of the
    ``n_paths`` force histories, of rank at most ``n_paths``; beyond, the new inputs are
    determined by the old ones and the march drifts), unlimited for simulations and for a DMFT
    with a memory window, whose fields regress on ``W`` recent fields and block means only."""
    if isinstance(method, DMFTMethod) and not method.window_at(params):
        return method.n_paths // params.replicas
    return 2 ** 62


def _work_ratio(new: Params, old: Params, method) -> float:
    """How much more a run to the horizon of ``new`` costs than one to that of ``old``: the ratio
    of their work estimates (``T^2`` for the DMFT, ``T`` for simulations and, at long horizons,
    for the DMFT with a memory window)."""
    return estimate(new, method).work / max(estimate(old, method).work, 1e-300)


def _still(verdict, t_max=None) -> str:
    """What the last try showed, for a ``not_reached`` reason."""
    if verdict is None:
        return "nothing computed"
    text = f"last seen: {verdict.seen}"
    if verdict.need == "horizon":
        where = f" at t = {t_max:g}" if t_max is not None else ""
        tau = f", relaxation time estimated {verdict.tau:.3g}" if math.isfinite(verdict.tau) else ""
        text = f"still relaxing{where}{tau} ({verdict.seen})"
    return text


def _line(i: int, t: Try, reps: Repetitions) -> str:
    unit = f"replicates of {t.size} paths" if reps.dmft else f"systems of N = {t.size}"
    return f"try {i}: t_max = {t.t_max:g}, {t.repetitions} {unit} (+{t.added}, {t.wall_s:.1f} s): {t.seen} -> {t.action}"


#: the version of the rules that end a measurement of each quantity
#: (:func:`dmft.analysis.verdict.judge`): part of the key, so that a measurement cached under
#: older rules is measured again, not reused, while one whose rules did not change is kept.
#: teff 2: the drift of T_static across the window of waiting times (analysis.teff.static_drift);
#: teff 3: a number confirmed at two horizons; 4: the change between them beyond its noise in the
#: error bar (analysis.verdict.confirmed);
#: distance 1: unchanged since the first rules.
#: teff 5, distance 2: at least MIN_REPETITIONS repetitions behind a value.
RULES = {"teff": 5, "distance": 2}


def measurement_hash(params: Params, method, settings: MeasureSettings) -> str:
    """The key of a measurement: its first point, method, settings and the :data:`RULES` of its
    quantity (scans name files by it)."""
    import hashlib
    import json

    base = point_hash(params, method)
    key = {"point": base, "measure": settings.to_dict()}
    if RULES[settings.quantity] > 1:   # the first rules were not part of the key: their keys stay
        key["rules"] = RULES[settings.quantity]
    text = json.dumps(key, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[: len(base)]


@dataclass(frozen=True)
class MeasureTask(_Task):
    """A scan task that measures (``mode = "measure"``): its file ``<key>.h5`` holds the final
    result of :func:`measure` from the task's point, with the record and ``measure_key``; a re-run
    of the scan skips it like any finished point."""

    settings: MeasureSettings = None
    coords: tuple = ()

    @property
    def key(self) -> str:
        return measurement_hash(self.params, self.method, self.settings)

    @property
    def name(self) -> str:
        return self.filename

    def matches(self, header: dict) -> bool:
        return header.get("measure_key") == self.key

    def compute(self, store_kernels: bool = False):
        m = measure(self.params, self.settings.quantity, method=self.method, settings=self.settings,
                    log=lambda line: logger.debug("%s: %s", self.label, line))
        result = m.result
        result.meta["measure_key"] = self.key
        return result


__all__ = ["MeasureError", "MeasureSettings", "MeasureTask", "Measurement", "QUANTITIES", "STATUSES", "Try",
           "measure", "parse_budget"]
