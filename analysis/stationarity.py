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
            ``x(s)`` differs between the two waiting times, by how many errors, and the remedy),
            or empty.
    """

    stationary: bool
    tw: float
    tw_ref: float
    max_lag: float
    drifts: dict = field(default_factory=dict)
    with_errors: bool = False
    reasons: tuple = ()
    limited_by: str = ""

    def describe(self) -> str:
        if self.stationary:
            return (f"stationary from t = {self.tw_ref:g} (energy and frac_unsat flat; C(tw+s, tw) "
                    f"the same at tw = {self.tw_ref:g} and {self.tw:g} for s <= {self.max_lag:g})")
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


def pick_waiting_times(result, tw=None):
    """(k, k_ref): the row of ``tw`` (default: the latest with at least 10 later grid points)
    and of the waiting time just before it (None when there is none)."""
    if len(result.tw) == 0:
        raise ValueError("this result has no waiting times: no C(t, tw) or chi(t, tw) (run with --tw)")
    if tw is not None:
        k = result.tw_row(float(tw))
    else:
        t_max = float(result.t[-1])
        usable = [k for k in range(len(result.tw)) if t_max - float(result.tw[k]) >= 10 * result.params.dt]
        if not usable:
            raise ValueError(f"no waiting time leaves 10 grid points before t_max = {t_max:g}")
        k = max(usable, key=lambda j: float(result.tw[j]))
    earlier = [j for j in range(len(result.tw)) if float(result.tw[j]) < float(result.tw[k])]
    k_ref = max(earlier, key=lambda j: float(result.tw[j])) if earlier else None
    return k, k_ref


def check_stationarity(result, tw=None, loo=None) -> Stationarity:
    """Test ``result`` for stationarity at waiting time ``tw`` (default as in
    :func:`pick_waiting_times`) against the waiting time before it."""
    k, k_ref = pick_waiting_times(result, tw)
    t = np.asarray(result.t, dtype=float)
    dt = result.params.dt
    tw_k = float(result.tw[k])
    loo = leave_one_out(result) if loo is None else loo
    with_errors = bool(loo)
    if k_ref is None:
        return Stationarity(False, tw_k, math.nan, 0.0, {}, with_errors,
                            (f"only one waiting time at or before tw = {tw_k:g}: stationarity needs C(tw+s, tw) "
                             "at two waiting times (run with --tw T1,T2)",))
    tw_ref = float(result.tw[k_ref])
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

    i0, i_ref = int(round(tw_k / dt)), int(round(tw_ref / dt))
    n_lag = len(t) - 1 - i0

    def difference(c):
        x = c.C[k, i0] - c.C[k, i0 + 1:i0 + 1 + n_lag]
        x_ref = c.C[k_ref, i_ref] - c.C[k_ref, i_ref + 1:i_ref + 1 + n_lag]
        return np.stack([x, x - x_ref])

    (x, diff), (_, err) = estimate(result, difference, loo)
    if with_errors:
        bound = 3 * np.nan_to_num(err, nan=np.inf) + AGREE_FLOOR * np.abs(x) + 1e-12
    else:
        bound = AGREE_TOL * np.abs(x) + 1e-12
    bad = np.flatnonzero(~(np.abs(diff) <= bound))
    max_lag = (bad[0] if len(bad) else n_lag) * dt
    limited_by = ""
    if len(bad):
        b = bad[0]
        limited_by = (f"at s = {(b + 1) * dt:g}, where C(tw,tw) - C(tw+s,tw) is {x[b] - diff[b]:.4g} at tw = {tw_ref:g} "
                      f"and {x[b]:.4g} at tw = {tw_k:g} (difference {size(diff[b], err[b])}): "
                      f"{remedy(diff[b], err[b], result.kind, 'stationarity')}")
    if max_lag < MIN_LAG - 1e-9:
        reasons.append(f"C(tw+s, tw) ages {limited_by}")
    return Stationarity(not reasons, tw_k, tw_ref, float(max_lag), drifts, with_errors, tuple(reasons), limited_by)
