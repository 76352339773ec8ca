"""What one result shows for a quantity that is asked for (``dmft measure``).

:func:`judge` reads a result the way a physicist would before quoting a number: has the run
diverged; is it a SAT state that freezes (the energy goes to zero, so there is no stationary
fluctuating state and no effective temperature: :func:`freezing`); for ``teff`` is it stationary
and do ``x`` and ``chi`` reach their plateau (:func:`~dmft.analysis.teff.fit_teff`), does
``T_static`` still drift across the window of waiting times
(:func:`~dmft.analysis.teff.static_drift`: more repetitions decide a drift of 3 to 5 errors, a
longer run follows a larger one), whether the number is the one of the shorter horizon before
(:func:`confirmed`), and if it ages, by how much the later waiting times relax
slower (:func:`aging_signal`); for ``distance`` has ``d(t)`` stopped moving (:func:`~dmft.analysis.distance.long_time_distance`) with the energy
freezing or flat.  The :class:`Verdict` says what is needed next -- nothing, a longer run, more
statistics -- or the final status, with the relaxation time of the energy
(:func:`relaxation_time`) for the messages.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from ..core.status import Status
from .distance import SAT_ENERGY, long_time_distance
from .resampling import estimate, leave_one_out
from .remedies import NOISE_SIGMAS
from .teff import fit_teff, static_drift

#: a drift of T_static across the window of waiting times beyond this many errors is looked at ...
DRIFT_SIGMAS = 3.0
#: ... and decided by more repetitions below NOISE_SIGMAS, unless there are this many already
#: (the jackknife error of a few repetitions is itself uncertain: |t| > 3 has a chance of 6%
#: with 4 repetitions, 0.9% with 16)
DRIFT_DECIDING_REPETITIONS = 16


#: a number is kept only when it agrees within this many combined errors with the number of the
#: shorter horizon before it (:func:`confirmed`)
CONFIRM_SIGMAS = 3.0


@dataclass(frozen=True)
class Verdict:
    """What one result shows for the quantity.  ``need``: ``none`` (a number), ``horizon`` (run
    longer), ``statistics`` (more repetitions), or a final status (``frozen``, ``diverged``);
    ``aging``: the relative aging signal ``(x_early - x_late)/x_early`` with its error when the
    aging test failed; ``tau``: relaxation time estimated from the energy (NaN if none)."""

    need: str
    value: float
    error: float
    seen: str
    estimate: object = None
    aging: tuple = ()
    tau: float = math.nan


def confirmed(verdict: Verdict, previous, t_max: float, rel_error: float) -> Verdict:
    """``verdict`` -- a number at the horizon ``t_max`` -- checked against ``previous``, the
    ``(t_max, value, error)`` of the number at the shorter horizon before.  The change ``D``
    between the two, beyond what its noise explains, ``S = sqrt(max(0, D^2 - e_D^2))`` with
    ``e_D`` the combined error, is what the plateau still moved; after an approach ``~ 1/t``
    the horizon's doubling leaves about that much, so it goes into the error bar,
    ``sqrt(error^2 + S^2)``:

    * confirmed, with that error, when it is within ``rel_error`` of the value or ``S`` is at most
      half of it (more repetitions then bring the statistical part down);
    * otherwise, or with no number before: a verdict that needs a longer run (carrying the value).

    The drift test of the window sees a change across its waiting times (a factor 1.6 between its
    ends), not the slow approach of a plateau that moves by a few percent when the horizon doubles
    (``T_static`` at ``alpha = 4, delta = 0.5``, sgd ``b = 0.3``: 0.00653 at ``t_max = 160``,
    0.00636 at 320); doubling the horizon does.  (Continued DMFT marches share their replicates
    between horizons, so ``e_D`` over-states the noise of their change and ``S`` comes out
    smaller than it is.)"""
    if verdict.need != "none":
        return verdict
    if previous is None:
        seen = (f"{verdict.seen}; no number at a shorter horizon to confirm it: run longer and compare")
        return replace(verdict, need="horizon", seen=seen)
    t0, v0, e0 = previous
    change = verdict.value - v0
    combined = math.hypot(verdict.error, e0)
    z = change / combined if combined > 0 else math.inf
    moved = math.sqrt(max(0.0, change * change - combined * combined))
    total = math.hypot(verdict.error, moved)
    allowed = rel_error * abs(verdict.value)
    percent = f"{100 * abs(change / verdict.value):.2g}%"
    before = f"{v0:.5g} +/- {e0:.2g} at t_max = {t0:g}"
    if moved == 0.0:
        return replace(verdict, seen=f"{verdict.seen}; the same as at t_max = {t0:g} ({v0:.5g} +/- {e0:.2g}, "
                                    f"{z:+.1f} errors)")
    if total <= allowed or moved <= allowed / 2:
        return replace(verdict, error=total,
                       seen=(f"{verdict.seen}; {before}: a change of {z:+.1f} combined errors ({percent}), "
                             f"{moved:.2g} beyond its noise, taken into the error ({total:.2g})"))
    seen = (f"{verdict.seen}, but {before}: it changes by {z:+.1f} combined errors ({percent}) when the "
            f"horizon grows to {t_max:g}: still relaxing, run longer")
    return replace(verdict, need="horizon", seen=seen)


def relaxation_time(result) -> float:
    """The relaxation time of the energy over the second half of the run (NaN when it cannot be
    told): for an energy that vanishes (SAT) from the slope of ``log e(t)``; otherwise from three
    consecutive window means ``m1, m2, m3`` of width ``D`` (exponential approach:
    ``(m2 - m3)/(m1 - m2) = exp(-D/tau)``, Aitken's ratio)."""
    t = np.asarray(result.t, float)
    e = np.asarray(result.energy, float)
    n = len(t)
    half = np.arange(n // 2, n)
    if len(half) < 6 or not np.all(np.isfinite(e[half])):
        return math.nan
    if e[-1] < SAT_ENERGY * e[0] * 100 and np.all(e[half] > 0):
        slope = np.polyfit(t[half], np.log(e[half]), 1)[0]
        return -1.0 / slope if slope < 0 else math.nan
    thirds = np.array_split(half, 3)
    m = [float(np.mean(e[j])) for j in thirds]
    d1, d2 = m[0] - m[1], m[1] - m[2]
    if d1 == 0 or d2 / d1 <= 0 or d2 / d1 >= 1:
        return math.nan
    D = float(np.mean(t[thirds[1]]) - np.mean(t[thirds[0]]))
    return -D / math.log(d2 / d1)


def aging_signal(result, stationarity) -> tuple:
    """``(A, error)``: the mean over the lags of the second half of the window's common lag range of
    ``(x_early(s) - x_late(s))/x_early(s)``, the relative slowing-down of the later waiting times
    (0 in a stationary state; in an aging state it does not shrink as the horizon grows)."""
    wt = stationarity.waiting_times
    if wt is None or not wt.early:
        return (math.nan, math.nan)
    n = wt.n_lag
    make = wt.lag_functions(result)
    late, early = make(wt.late, n), make(wt.early, n)
    lo = n // 2

    def stat(c):
        xe, xl = early(c)[0][lo:], late(c)[0][lo:]
        with np.errstate(invalid="ignore", divide="ignore"):
            return float(np.mean((xe - xl) / xe))

    value, err = estimate(result, stat, leave_one_out(result))
    return (float(value), float(err))


#: a SAT state is freezing when the energy falls by more than this factor over the second half of
#: the run (an exponential approach to zero; a marginal, aging state decays as a power law)
FREEZE_FACTOR = 10.0
#: ... and is below this fraction of its initial value (or below SAT_ENERGY: vanished)
FREEZE_LEVEL = 1e-2
#: aging needs the energy to fall by less than this factor over the second half (no collapse)
AGING_ENERGY_FACTOR = 3.0


def energy_fall(result) -> float:
    """The factor by which the energy falls over the second half of the run (the mean over its
    first tenth over the mean over its last tenth)."""
    e = np.asarray(result.energy, float)
    n = len(e)
    w = max(1, n // 20)
    a, b = float(np.mean(e[n // 2:n // 2 + w])), float(np.mean(e[n - w:]))
    return a / b if b > 0 else math.inf


def freezing(result) -> bool:
    """A SAT state on its way to zero energy: the energy has vanished (below ``SAT_ENERGY`` of its
    initial value), or fell by more than :data:`FREEZE_FACTOR` over the second half of the run and
    is below :data:`FREEZE_LEVEL` of its initial value."""
    e = np.asarray(result.energy, float)
    if e[-1] < SAT_ENERGY * e[0]:
        return True
    return bool(energy_fall(result) > FREEZE_FACTOR and e[-1] < FREEZE_LEVEL * e[0])


def repetitions(result) -> int:
    """The independent repetitions behind ``result``'s error bars (DMFT replicates, systems)."""
    m = result.method
    return int(getattr(m, "replicates", None) or getattr(m, "n_samples", 1))


def judge(result, quantity: str) -> Verdict:
    """What ``result`` shows for ``quantity`` (see :class:`Verdict`)."""
    if result.status != Status.OK:
        return Verdict("diverged", math.nan, math.nan, f"diverged ({result.meta.get('message', '')})")
    tau = relaxation_time(result)
    e = np.asarray(result.energy, float)
    frozen = freezing(result)
    energy_text = f"e = {e[-1]:.2g} at t = {result.t[-1]:g}, {e[-1] / e[0]:.1e} of e(0)"
    if quantity == "teff":
        if frozen:
            return Verdict("frozen", math.nan, math.nan,
                           f"SAT: the energy goes to zero ({energy_text}, relaxation time {tau:.3g}): the noise "
                           "stops and the state freezes, so there is no stationary fluctuating state and T_eff is "
                           "not defined (its noise measure is the replica distance: dmft measure distance)", tau=tau)
        est = fit_teff(result, warn=False)
        st = est.stationarity
        if not st.stationary:
            aging = ()
            if st.aging is not None and energy_fall(result) < AGING_ENERGY_FACTOR:
                aging = aging_signal(result, st)
            return Verdict("horizon", est.T_static, est.T_static_err,
                           "not stationary: " + "; ".join(st.reasons), est, aging, tau)
        if not math.isfinite(est.T_static):
            return Verdict("horizon", math.nan, math.nan, f"stationary, but {est.notes.get('T_static', 'no plateau')}",
                           est, (), tau)
        if not math.isfinite(est.T_static_err):
            return Verdict("statistics", est.T_static, est.T_static_err, "T_static without an error bar", est, (), tau)
        drift = static_drift(result, est)
        if drift is not None and abs(drift.z) > DRIFT_SIGMAS:
            if abs(drift.z) > NOISE_SIGMAS or repetitions(result) >= DRIFT_DECIDING_REPETITIONS:
                return Verdict("horizon", est.T_static, est.T_static_err,
                               f"stationary, but {drift.describe()}: a real change, run longer", est, (), tau)
            return Verdict("statistics", est.T_static, est.T_static_err,
                           f"stationary, but {drift.describe()}: within {NOISE_SIGMAS:g} errors, so more "
                           "repetitions decide", est, (), tau)
        return Verdict("none", est.T_static, est.T_static_err,
                       f"stationary, T_static = {est.T_static:.5g} +/- {est.T_static_err:.2g}", est, (), tau)
    est = long_time_distance(result, warn=False)
    if not est.converged:   # the value so far: the mean of d over the window, still moving
        a, b = est.window
        return Verdict("horizon", est.d_window, est.d_window_err,
                       f"{est.note}; so far d = {est.d_window:.5g} +/- {est.d_window_err:.2g} (mean over "
                       f"t in [{a:g}, {b:g}], still moving: not d_inf)", est, (), tau)
    if not frozen:
        # UNSAT: d(t) is a stationary fluctuating quantity; accepted once the energy is flat too
        third = np.array_split(np.arange(len(e) // 2, len(e)), 3)
        a, b = float(np.mean(e[third[0]])), float(np.mean(e[third[-1]]))
        drift = (b - a) / max(abs(a), abs(b), 1e-300)
        if abs(drift) > 0.01:
            return Verdict("horizon", est.d_inf, est.d_inf_err,
                           f"d(t) flat but the energy still changes by {100 * drift:+.1f}% over the second half "
                           f"({energy_text}): neither frozen nor stationary yet", est, (), tau)
    if not math.isfinite(est.d_inf_err):
        return Verdict("statistics", est.d_inf, est.d_inf_err, "d_inf without an error bar", est, (), tau)
    phase = f"SAT, freezing ({energy_text})" if frozen else "UNSAT, energy flat"
    return Verdict("none", est.d_inf, est.d_inf_err,
                   f"{phase}, d flat: d_inf = {est.d_inf:.5g} +/- {est.d_inf_err:.2g}", est, (), tau)


__all__ = ["AGING_ENERGY_FACTOR", "FREEZE_FACTOR", "FREEZE_LEVEL", "Verdict", "aging_signal", "energy_fall",
           "freezing", "judge", "relaxation_time"]
