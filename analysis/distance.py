"""The long-time replica distance (``docs/effective-temperature.md``, SAT phase).

Two replicas with the same data and the same ``w(0)``, independent selection noise, drift
apart while the noise acts: ``d(t) = (C11 + C22)/2 - C12`` (``1 - C12`` on the sphere).  In the
SAT phase the energy reaches zero, the forces and with them the noise vanish, and ``d(t)``
freezes at ``d_inf``: the noise measure of the over-parametrised phase.

:func:`long_time_distance` takes the mean of ``d`` over the last :data:`PLATEAU_FRACTION` of the
run and accepts it as the plateau unless ``d`` moves between the two halves of that window by
more than :data:`PLATEAU_TOL` (relative) plus 2 jackknife errors of that change (the same rule
as the plateau of ``T_static``); without a plateau the note says by how many errors ``d`` moved
and what to do (:mod:`dmft.analysis.remedies`).  ``sat`` says whether the energy has vanished
(``e(t_max) < SAT_ENERGY * e(0)``); in the UNSAT phase ``d`` also becomes stationary, but it is a
fluctuating quantity there, not a frozen one.  Errors: jackknife over the batches of the
repetitions (:mod:`dmft.analysis.resampling`).
"""

from __future__ import annotations

import math
import warnings as _warnings
from dataclasses import dataclass

import numpy as np

from .remedies import percent, remedy
from .resampling import error_method, estimate, exceeds, leave_one_out

class DistanceWarning(UserWarning):
    """A caveat of the long-time distance (``d(t)`` still moving: no ``d_inf``)."""


#: last fraction of the run averaged for the plateau
PLATEAU_FRACTION = 0.25
#: largest relative change of d across the plateau window
PLATEAU_TOL = 0.01
#: the energy has vanished (SAT) below this fraction of its initial value
SAT_ENERGY = 1e-5


@dataclass(frozen=True)
class DistanceEstimate:
    """What :func:`long_time_distance` measured.

    Attributes:
        d_inf, d_inf_err: the plateau of ``d(t)`` and its jackknife error (NaN without a plateau).
        window: the times ``[t_a, t_max]`` averaged.
        converged: ``d`` has stopped moving over the window.
        sat: the energy has vanished (``e(t_max) < 1e-5 e(0)``).
        d_max: the largest ``d(t)`` of the run (``d`` is not monotonic: it peaks early).
        error_method: as in :class:`~dmft.analysis.teff.TeffEstimate`.
        note: why ``d_inf`` is missing.
        d_window, d_window_err: the mean of ``d`` over the window and its error, also when it still
            moves (then a value on the way, not ``d_inf``: the best value so far of a measurement
            that ends without a plateau).
    """

    d_inf: float
    d_inf_err: float
    window: tuple
    converged: bool
    sat: bool
    d_max: float
    error_method: str
    note: str = ""
    d_window: float = math.nan
    d_window_err: float = math.nan

    def to_dict(self) -> dict:
        def num(x):
            return None if not math.isfinite(x) else float(x)

        return {"d_inf": num(self.d_inf), "d_inf_err": num(self.d_inf_err), "window": list(self.window),
                "converged": self.converged, "sat": self.sat, "d_max": num(self.d_max),
                "error_method": self.error_method, "note": self.note}


def long_time_distance(result, warn: bool = True) -> DistanceEstimate:
    """The long-time replica distance of a two-replica result (module docstring).  Without a
    plateau ``d_inf`` is NaN and the reason is in ``note``, also issued as a
    :class:`DistanceWarning` unless ``warn=False``."""
    if result.distance is None:
        raise ValueError("this result has no replica distance (run with --replicas 2)")
    if result.status != "ok":
        raise ValueError(f"the run did not finish normally (status {result.status}): no distance")
    t = np.asarray(result.t, dtype=float)
    n = len(t)
    m = max(4, int(math.ceil(PLATEAU_FRACTION * n)))
    win = np.arange(n - m, n)
    half = m // 2
    loo = leave_one_out(result)

    def stat(c):
        d = c.distance
        return np.array([np.mean(d[win]), np.mean(d[win[half:]]) - np.mean(d[win[:half]])])

    (d_inf, change), (err, change_err) = estimate(result, stat, loo)
    scale = max(abs(d_inf), 1e-300)
    rel, rel_err = abs(change) / scale, change_err / scale
    converged = not exceeds(rel, rel_err, PLATEAU_TOL)
    e = np.asarray(result.energy, dtype=float)
    sat = bool(e[-1] < SAT_ENERGY * e[0])
    note = "" if converged else (f"d(t) still changes by {percent(change / scale, rel_err)} over t in "
                                 f"[{t[win[0]]:g}, {t[-1]:g}]: {remedy(rel, rel_err, result.kind, 'distance')}")
    if note and warn:
        _warnings.warn(f"d_inf not available: {note}", DistanceWarning, stacklevel=2)
    return DistanceEstimate(
        d_inf=float(d_inf) if converged else math.nan, d_inf_err=float(err) if converged else math.nan,
        window=(float(t[win[0]]), float(t[-1])), converged=converged, sat=sat,
        d_max=float(np.nanmax(result.distance)), error_method=error_method(result), note=note,
        d_window=float(d_inf), d_window_err=float(err))
