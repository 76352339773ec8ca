"""Is a run stationary?  Detected from the data, before any effective temperature is quoted.

A run is stationary from the earlier of two waiting times ``tw_ref < tw`` on when

1. the one-time observables no longer drift: over ``[tw_ref, t_max]`` the mean of the last third
   differs from the mean of the first third by less than :data:`DRIFT_TOL` (relative) or by less
   than 3 standard errors of that difference (``energy`` and ``frac_unsat``; the multiplier ``nu``
   follows the energy and is the noisiest DMFT observable, so it is not used);
2. the correlation does not age: ``x(s) = C(tw, tw) - C(tw + s, tw)`` and the same at ``tw_ref``
   agree at every lag ``s <= max_lag``, within 3 standard errors of their difference plus
   :data:`AGREE_FLOOR` of ``x`` (without error bars, within :data:`AGREE_TOL` of ``x``).

``max_lag`` is the largest lag up to which the two waiting times agree at every lag (the lags
beyond it are not stationary at this ``tw``); the run is stationary when (1) holds and
``max_lag >= MIN_LAG``.  Errors come from the batches of the repetitions (jackknife, keeping the
correlation of the two waiting times; :mod:`dmft.analysis.resampling`).  A failed test says how
large the change is in units of its error and what to do (:mod:`dmft.analysis.remedies`: more
statistics within a few errors, a longer run beyond).

**Waiting-time window.**  A result with at least :data:`WINDOW_MIN_ROWS` waiting times (what
``dmft measure`` writes) is read as a window: in a stationary state ``C(tw + s, tw)`` and
``chi(tw + s, tw)`` do not depend on ``tw``, so every waiting time of the window is a further
sample of the same lag functions.  The estimates then use the averages over all of them,

    x(s) = mean_{tw in W} [C(tw, tw) - C(tw + s, tw)],     chi(s) = mean_{tw in W} chi(tw + s, tw),

on the lags that every waiting time of ``W`` has, and the aging test (2) compares the averages
over the earlier and the later half of ``W``.  The noise of the DMFT kernels is correlated only
over short stretches of ``tw``, so averaging over a window of many relaxation times divides the
variance by up to the number of independent stretches (at the canonical UNSAT point, 71 waiting
times in ``[30, 100]``: the spread of ``T_static`` over seeds fell from 2.7% to 0.6%).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .remedies import percent, remedy, size
from .resampling import estimate, leave_one_out

#: largest relative drift of a one-time observable accepted as stationary
DRIFT_TOL = 0.01
#: agreement of x(s) between waiting times: floor (relative) added to 3 standard errors
AGREE_FLOOR = 0.05
#: agreement of x(s) between waiting times without error bars (relative)
AGREE_TOL = 0.10
#: smallest stationary lag range (time units) for a run to count as stationary
MIN_LAG = 1.0
#: one-time observables tested for drift
DRIFT_OBSERVABLES = ("energy", "frac_unsat")
#: fewest waiting times read as a window (averaged over) by default
WINDOW_MIN_ROWS = 4


@dataclass(frozen=True)
class WaitingTimes:
    """Which rows ``C(., tw_k)``, ``chi(., tw_k)`` of a result an estimate uses.

    ``rows``: the rows averaged for the estimate (one row, or a window); ``early`` and ``late``:
    the two groups whose lag functions the aging test compares (the waiting time before ``tw``
    and ``tw`` itself, or the two halves of the window); ``n_lag``: the grid lags every row of
    ``rows``, ``early`` and ``late`` has after its waiting time.  ``tws`` are the waiting times
    of ``rows``.
    """

    rows: tuple
    early: tuple
    late: tuple
    tws: tuple
    early_tws: tuple
    late_tws: tuple
    n_lag: int

    @property
    def window(self) -> bool:
        return len(self.rows) > 1

    @property
    def tw(self) -> float:
        """The waiting time of the estimate: the first one of a window."""
        return float(self.tws[0])

    def describe(self) -> str:
        if not self.window:
            return f"tw = {self.tw:g}"
        return f"tw in [{self.tws[0]:g}, {self.tws[-1]:g}] ({len(self.tws)} waiting times averaged)"

    def lag_functions(self, result):
        """``c -> (x, chi)`` on the first ``n`` grid lags, averaged over the rows of ``rows`` (or
        of ``which`` = ``early`` / ``late``), for the mean or a leave-one-out average ``c``."""
        dt = result.params.dt
        i0 = {k: int(round(float(result.tw[k]) / dt)) for k in self.rows + self.early + self.late}

        def make(rows, n):
            rows = tuple(rows)
            start = np.array([i0[k] for k in rows])
            idx = start[:, None] + 1 + np.arange(n)[None, :]
            r = np.array(rows)[:, None]

            def x_chi(c):
                x = c.C[r[:, 0], start][:, None] - c.C[r, idx]
                return x.mean(axis=0), c.chi[r, idx].mean(axis=0)

            return x_chi

        return make


@dataclass(frozen=True)
class Stationarity:
    """Outcome of :func:`check_stationarity`.

    Attributes:
        stationary: the one-time observables are flat and ``C(tw + s, tw)`` does not age up to
            ``max_lag >= MIN_LAG``.
        tw: the waiting time at which the two-time data are used.
        tw_ref: the earlier waiting time it was compared with (NaN with one waiting time).
        max_lag: largest lag up to which ``x(s)`` agrees at ``tw`` and ``tw_ref`` (0 if none).
        drifts: observable -> (relative drift over ``[tw_ref, t_max]``, its standard error).
        with_errors: whether error bars (batches of repetitions) entered the tests.
        reasons: why the run is not stationary (empty when it is), each with the size of the
            change in units of its error and the remedy.
        limited_by: where the stationary lags end before the last lag (the first lag at which
            ``x(s)`` differs between the two waiting times, or the two halves of a window, by how
            many errors, and the remedy), or empty.
        waiting_times: the rows used (:class:`WaitingTimes`).
        aging: at the first lag where the two groups of waiting times disagree, ``(s, x_early,
            x_late, error of the difference)``; None when they agree at every lag.
    """

    stationary: bool
    tw: float
    tw_ref: float
    max_lag: float
    drifts: dict = field(default_factory=dict)
    with_errors: bool = False
    reasons: tuple = ()
    limited_by: str = ""
    waiting_times: WaitingTimes | None = None
    aging: tuple | None = None

    def describe(self) -> str:
        if self.stationary:
            wt = self.waiting_times
            if wt is not None and wt.window:
                same = (f"the same averaged over tw in [{wt.early_tws[0]:g}, {wt.early_tws[-1]:g}] and in "
                        f"[{wt.late_tws[0]:g}, {wt.late_tws[-1]:g}]")
            else:
                same = f"the same at tw = {self.tw_ref:g} and {self.tw:g}"
            return (f"stationary from t = {self.tw_ref:g} (energy and frac_unsat flat; C(tw+s, tw) "
                    f"{same} for s <= {self.max_lag:g})")
        return "not stationary: " + "; ".join(self.reasons)


def _third_drift(t, lo: float):
    """Statistic: relative difference of the means over the last and first thirds of [lo, t_max]."""
    idx = np.flatnonzero(t >= lo - 1e-9)
    third = max(1, len(idx) // 3)
    first, last = idx[:third], idx[-third:]

    def stat(values):
        a, b = float(np.mean(values[first])), float(np.mean(values[last]))
        scale = max(abs(a), abs(b))
        return (b - a) / scale if scale > 0 else 0.0

    return stat


def pick_waiting_times(result, tw=None) -> WaitingTimes:
    """The rows an estimate uses.  ``tw`` a number: that waiting time, compared with the one just
    before it; ``tw = "window"``: every waiting time, averaged (module docstring); ``None``
    (default): the window when the result has at least :data:`WINDOW_MIN_ROWS` waiting times,
    else the latest waiting time with at least 10 later grid points."""
    if len(result.tw) == 0:
        raise ValueError("this result has no waiting times: no C(t, tw) or chi(t, tw) (run with --tw)")
    dt = result.params.dt
    n_grid = len(result.t) - 1
    tws = [float(x) for x in result.tw]

    def lags(k):
        return n_grid - int(round(tws[k] / dt))

    if tw is None and len(tws) >= WINDOW_MIN_ROWS:
        tw = "window"
    if isinstance(tw, str):
        if tw != "window":
            raise ValueError(f"tw must be a waiting time or 'window' (got {tw!r})")
        if len(tws) < 4:
            raise ValueError(f"a waiting-time window needs at least 4 waiting times (this result has {len(tws)})")
        order = sorted(range(len(tws)), key=lambda j: tws[j])
        if lags(order[-1]) < 10:
            raise ValueError(f"the last waiting time {tws[order[-1]]:g} leaves fewer than 10 grid points "
                             f"before t_max = {result.t[-1]:g}")
        half = len(order) // 2
        rows, early, late = tuple(order), tuple(order[:half]), tuple(order[half:])
    else:
        if tw is not None:
            k = result.tw_row(float(tw))
        else:
            usable = [k for k in range(len(tws)) if lags(k) >= 10]
            if not usable:
                raise ValueError(f"no waiting time leaves 10 grid points before t_max = {result.t[-1]:g}")
            k = max(usable, key=lambda j: tws[j])
        earlier = [j for j in range(len(tws)) if tws[j] < tws[k]]
        rows, late = (k,), (k,)
        early = (max(earlier, key=lambda j: tws[j]),) if earlier else ()
    n_lag = min(lags(k) for k in rows + early + late)
    return WaitingTimes(rows=rows, early=early, late=late, tws=tuple(tws[k] for k in rows),
                        early_tws=tuple(tws[k] for k in early), late_tws=tuple(tws[k] for k in late),
                        n_lag=n_lag)


def check_stationarity(result, tw=None, loo=None) -> Stationarity:
    """Test ``result`` for stationarity at waiting time ``tw`` against the waiting time before
    it, or over a waiting-time window (``tw`` as in :func:`pick_waiting_times`)."""
    wt = pick_waiting_times(result, tw)
    t = np.asarray(result.t, dtype=float)
    dt = result.params.dt
    loo = leave_one_out(result) if loo is None else loo
    with_errors = bool(loo)
    if not wt.early:
        return Stationarity(False, wt.tw, math.nan, 0.0, {}, with_errors,
                            (f"only one waiting time at or before tw = {wt.tw:g}: stationarity needs C(tw+s, tw) "
                             "at two waiting times (run with --tw T1,T2)",), waiting_times=wt)
    tw_ref = min(wt.early_tws)
    reasons = []

    drifts = {}
    stat = _third_drift(t, tw_ref)
    for name in DRIFT_OBSERVABLES:
        value, err = estimate(result, lambda c, name=name: stat(getattr(c, name)), loo)
        drifts[name] = (float(value), float(err))
        significant = not (math.isfinite(err) and abs(value) <= 3 * err)
        if abs(value) > DRIFT_TOL and significant:
            reasons.append(f"{name} drifts by {percent(value, err)} over t in [{tw_ref:g}, {t[-1]:g}]: "
                           f"{remedy(value, err, result.kind, 'stationarity')}")

    n_lag = wt.n_lag
    make = wt.lag_functions(result)
    late, early = make(wt.late, n_lag), make(wt.early, n_lag)

    def difference(c):
        x = late(c)[0]
        return np.stack([x, x - early(c)[0]])

    (x, diff), (_, err) = estimate(result, difference, loo)
    if with_errors:
        bound = 3 * np.nan_to_num(err, nan=np.inf) + AGREE_FLOOR * np.abs(x) + 1e-12
    else:
        bound = AGREE_TOL * np.abs(x) + 1e-12
    bad = np.flatnonzero(~(np.abs(diff) <= bound))
    max_lag = (bad[0] if len(bad) else n_lag) * dt
    aging, limited_by = None, ""
    if len(bad):
        j = bad[0]
        e = float(err[j]) if with_errors else math.nan
        aging = ((j + 1) * dt, float(x[j] - diff[j]), float(x[j]), e)
        where = (f"tw = {wt.early_tws[0]:g}", f"tw = {wt.late_tws[0]:g}") if not wt.window else (
            f"tw in [{wt.early_tws[0]:g}, {wt.early_tws[-1]:g}]", f"tw in [{wt.late_tws[0]:g}, {wt.late_tws[-1]:g}]")
        limited_by = (f"at s = {(j + 1) * dt:g}, where C(tw,tw) - C(tw+s,tw) is {x[j] - diff[j]:.4g} at {where[0]} "
                      f"and {x[j]:.4g} at {where[1]}{' (averages)' if wt.window else ''} (difference "
                      f"{size(diff[j], e)}): {remedy(diff[j], e, result.kind, 'stationarity')}")
    if max_lag < MIN_LAG - 1e-9:
        reasons.append(f"C(tw+s, tw) ages {limited_by}")
    return Stationarity(not reasons, wt.tw, tw_ref, float(max_lag), drifts, with_errors, tuple(reasons), limited_by,
                        waiting_times=wt, aging=aging)
