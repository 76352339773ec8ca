"""The effective temperature, one definition everywhere (``docs/effective-temperature.md``).

At a waiting time ``tw`` of a stationary run, with the lag ``s = t - tw``,

    x(s)     = C(tw, tw) - C(tw + s, tw),        chi(s) = chi(tw + s, tw),
    T(s)     = x(s) / chi(s)                      (the FDT ratio),
    T_loc(s) = dx / dchi at lag s                 (the local slope of the parametric plot).

In equilibrium (Langevin at temperature T) both are T at every lag.  For SGD they are not: the
curve chi against x bends (slow modes are colder), so the primary result is the curve
(:func:`fdt_curve`), with error bands, and three named summary values (:func:`fit_teff`):

* ``T_short`` -- the lag -> 0 limit of ``T(s)``: a straight line through ``T(s)`` over the first
  :data:`SHORT_LAGS` grid lags, extrapolated to ``s = 0``; the temperature of the fastest modes.
* ``T_static`` -- ``(C(tw,tw) - C_plateau) / chi_plateau``: the ratio once both ``x`` and ``chi``
  have reached their plateaus (the mean over the last :data:`PLATEAU_FRACTION` of the stationary
  lags, accepted unless ``chi`` or ``x`` changes across it by more than :data:`PLATEAU_TOL`, or
  between the halves of the lags ``[max_lag/2, max_lag]`` by more than :data:`OCTAVE_TOL`, each
  plus 2 jackknife errors of that change; ``x`` also passes within 3 errors of no change); the
  compliance-weighted temperature of all modes.
* ``T_slow`` -- the slope ``dx/dchi`` of the slow branch: the least-squares line through ``x``
  against ``chi`` over the lags where ``chi`` lies between :data:`SLOW_RANGE` of its final value.
  Where that branch is curved (the slopes of its two halves differ by more than
  :data:`SLOW_LINEAR_TOL` and 3 errors) the value is its mean slope, each lag weighted alike, and a
  note gives the two half slopes: a defined functional of the curve, the same for every method.

``T_eff`` is ``T_static`` (:data:`DEFINITION`): it characterises the stationary state on all
time scales without a choice of window, and it equals ``T`` for Langevin dynamics.  Every value
is quoted only where the run is stationary (:mod:`dmft.analysis.stationarity`) and only from
stationary lags; otherwise it is NaN and the reason is given.  Error bars are jackknife errors
over the batches of the repetitions (simulation samples or DMFT replicates,
:mod:`dmft.analysis.resampling`); a result without repetitions has none, and says so.
"""

from __future__ import annotations

import math
import warnings as _warnings
from dataclasses import dataclass, field

import numpy as np

from .fdt_line import FDTWarning
from .remedies import LONGER, MEASURE, in_errors, percent, remedy
from .resampling import error_method, estimate, exceeds, leave_one_out
from .stationarity import Stationarity, WaitingTimes, check_stationarity, pick_waiting_times

#: the summary value that the name ``T_eff`` means
DEFINITION = "static"
#: what each summary value is, as printed with it
DEFINITIONS = {
    "static": "T_static = (C(tw,tw) - C_plateau)/chi_plateau, the FDT ratio at the plateau",
    "short": "T_short = lim_{s->0} (C(tw,tw) - C(tw+s,tw))/chi(tw+s,tw)",
    "slow": "T_slow = mean slope dx/dchi of the slow branch of the FDT plot (chi in [0.5, 0.95] of its plateau)",
}
#: grid lags of the straight line through T(s) that gives T_short
SHORT_LAGS = 5
#: last fraction of the stationary lags averaged for the plateau (at least PLATEAU_MIN points)
PLATEAU_FRACTION = 0.25
PLATEAU_MIN = 10
#: largest relative change of x or chi across the plateau window
PLATEAU_TOL = 0.01
#: largest relative change of x or chi between the two halves of the lags [max_lag/2, max_lag]:
#: a plateau must be flat over a factor 2 in lag, not only over its own (possibly short) window
OCTAVE_TOL = 0.02
#: the slow branch: lags where chi lies between these fractions of its final value
SLOW_RANGE = (0.5, 0.95)
#: largest relative change of the slope between the halves of the slow branch for it to count as
#: straight (else T_slow is its mean slope, with a note)
SLOW_LINEAR_TOL = 0.2
#: half-width (ratio) of the lag window of the local slope: [s / LOCAL_WINDOW, s * LOCAL_WINDOW]
LOCAL_WINDOW = 1.25


@dataclass(frozen=True)
class FDTCurve:
    """The scale-resolved FDT data at one waiting time, on the grid lags ``s = dt, 2dt, ...``
    up to ``max_lag`` (the stationary lags; all lags when stationarity was not established).

    ``x = C(tw,tw) - C(tw+s,tw)``, ``chi``, ``ratio = x/chi`` and ``slope = dx/dchi`` (local, over
    lags in ``[s/1.25, 1.25 s]``), each with its jackknife error (NaN without repetitions); over a
    waiting-time window ``x`` and ``chi`` are averages over the waiting times ``tws`` and ``tw``
    is the first of them."""

    tw: float
    lags: np.ndarray
    x: np.ndarray
    x_err: np.ndarray
    chi: np.ndarray
    chi_err: np.ndarray
    ratio: np.ndarray
    ratio_err: np.ndarray
    slope: np.ndarray
    slope_err: np.ndarray
    max_lag: float
    tws: tuple = ()


def plateau_text(window) -> str:
    """``plateau t in [a, b]`` for a plateau window of absolute times, ``no plateau`` for none
    (NaN or None, as in :meth:`TeffEstimate.to_dict`)."""
    a, b = (math.nan if w is None else float(w) for w in window)
    return f"plateau t in [{a:g}, {b:g}]" if math.isfinite(a) else "no plateau"


@dataclass(frozen=True)
class TeffEstimate:
    """What :func:`fit_teff` measured.  ``T_eff`` is the summary value named by ``definition``.

    Attributes:
        T_eff, T_eff_err: the effective temperature (``T_static``) and its error; NaN when the run
            is not stationary or has no plateau.
        definition: which summary value ``T_eff`` is (``static``).
        tw: the waiting time used; ``window``: absolute times ``[tw + s_a, tw + s_b]`` of the
            plateau that gives ``T_static`` (NaN without a plateau).
        stationary: whether the run passed :func:`~dmft.analysis.stationarity.check_stationarity`.
        T_short, T_static, T_slow (and ``_err``): the named summary values (module docstring).
        max_lag: the largest stationary lag used.
        error_method: ``jackknife over B batches of the K samples|replicates`` or ``none``.
        warnings: caveats (also issued as :class:`FDTWarning` unless ``warn=False``).
        notes: why a summary value is missing.
    """

    T_eff: float
    T_eff_err: float
    definition: str
    tw: float
    window: tuple
    stationary: bool
    T_short: float
    T_short_err: float
    T_static: float
    T_static_err: float
    T_slow: float
    T_slow_err: float
    max_lag: float
    error_method: str
    kind: str
    stationarity: Stationarity
    curve: FDTCurve
    warnings: tuple = ()
    notes: dict = field(default_factory=dict)

    @property
    def tws(self) -> tuple:
        """The waiting times averaged (one, or a window)."""
        return self.curve.tws or (self.tw,)

    @property
    def lag_window(self) -> tuple:
        """The plateau as lags ``[s_a, s_b]`` after the waiting time(s)."""
        return tuple(w - self.tw for w in self.window)

    def where(self) -> str:
        """The waiting time(s) and the plateau, in words."""
        tws = self.tws
        at = f"tw = {tws[0]:g}" if len(tws) == 1 else f"tw in [{tws[0]:g}, {tws[-1]:g}] ({len(tws)} averaged)"
        if not math.isfinite(self.window[0]):
            return f"{at}, no plateau"
        if len(tws) == 1:
            return f"{at}, plateau t in [{self.window[0]:g}, {self.window[1]:g}]"
        s = self.lag_window
        return f"{at}, plateau at lags s in [{s[0]:g}, {s[1]:g}]"

    def to_dict(self, with_curve: bool = False) -> dict:
        """A JSON-able summary (NaN as None); the curve's arrays only when asked."""
        def num(x):
            return None if x is None or not math.isfinite(x) else float(x)

        d = {"T_eff": num(self.T_eff), "T_eff_err": num(self.T_eff_err), "definition": self.definition,
             "definition_text": DEFINITIONS[self.definition], "tw": self.tw,
             "window": [num(w) for w in self.window], "lag_window": [num(w) for w in self.lag_window],
             "tw_window": [self.tws[0], self.tws[-1]], "n_tw": len(self.tws), "stationary": self.stationary,
             "T_short": num(self.T_short), "T_short_err": num(self.T_short_err),
             "T_static": num(self.T_static), "T_static_err": num(self.T_static_err),
             "T_slow": num(self.T_slow), "T_slow_err": num(self.T_slow_err),
             "max_lag": self.max_lag, "error_method": self.error_method, "kind": self.kind,
             "stationarity": self.stationarity.describe(), "warnings": list(self.warnings),
             "notes": dict(self.notes)}
        if with_curve:
            c = self.curve
            d["curve"] = {name: [num(v) for v in getattr(c, name)] for name in
                          ("lags", "x", "x_err", "chi", "chi_err", "ratio", "ratio_err", "slope", "slope_err")}
        return d

    @property
    def plateau(self) -> str:
        """Where ``T_static`` was measured: ``plateau t in [a, b]``, or ``no plateau``."""
        return plateau_text(self.window)

    def describe(self) -> str:
        """Lines for a terminal: every value with its definition, window and tw."""
        def val(v, e):
            if not math.isfinite(v):
                return "not available"
            return f"{v:.5g} +/- {e:.2g}" if math.isfinite(e) else f"{v:.5g} (no error bar)"

        lines = [f"T_eff = {val(self.T_eff, self.T_eff_err)}   [{DEFINITIONS[self.definition]}; "
                 f"{self.where()}]",
                 f"  T_short  = {val(self.T_short, self.T_short_err)}   (lag -> 0)",
                 f"  T_static = {val(self.T_static, self.T_static_err)}   (plateau ratio)",
                 f"  T_slow   = {val(self.T_slow, self.T_slow_err)}   (slope of the slow branch)",
                 f"  {self.stationarity.describe()}",
                 f"  error bars: {self.error_method}"]
        lines += [f"  note: {k}: {v}" for k, v in self.notes.items()]
        return "\n".join(lines)


def _lag_slicer(result, wt: WaitingTimes, n: int):
    """``c -> (x, chi)`` on the first ``n`` grid lags after the waiting time(s) of ``wt`` (averaged
    over a window), for the mean or a leave-one-out average ``c`` of ``result``:
    ``x(s) = C(tw,tw) - C(tw+s,tw)``, ``chi(tw+s,tw)``."""
    return wt.lag_functions(result)(wt.rows, n)


def _local_slope(x: np.ndarray, chi: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """dx/dchi by least squares over index windows [lo_i, hi_i] (cumulative sums)."""
    def csum(v):
        return np.concatenate([[0.0], np.cumsum(v)])

    n = hi - lo + 1
    sx, sc, sxc, scc = csum(x), csum(chi), csum(x * chi), csum(chi * chi)
    Sx, Sc = sx[hi + 1] - sx[lo], sc[hi + 1] - sc[lo]
    cov = (sxc[hi + 1] - sxc[lo]) - Sx * Sc / n
    var = (scc[hi + 1] - scc[lo]) - Sc * Sc / n
    with np.errstate(invalid="ignore", divide="ignore"):
        return cov / var


def _windows(n: int):
    """Index windows of the local slope: lags within a factor LOCAL_WINDOW, at least +-1 point."""
    i = np.arange(1, n + 1)
    lo = np.minimum(np.floor(i / LOCAL_WINDOW).astype(int), i - 1)
    hi = np.maximum(np.ceil(i * LOCAL_WINDOW).astype(int), i + 1)
    return np.clip(lo, 1, n) - 1, np.clip(hi, 1, n) - 1


def fdt_curve(result, tw=None, max_lag=None, loo=None) -> FDTCurve:
    """The FDT data at ``tw`` (default as in :func:`~dmft.analysis.stationarity.pick_waiting_times`:
    a waiting-time window when the result has at least 4 waiting times, else the latest waiting
    time with 10 later points; also a :class:`~dmft.analysis.stationarity.WaitingTimes`) for the
    lags up to ``max_lag`` (default: all measured)."""
    wt = tw if isinstance(tw, WaitingTimes) else pick_waiting_times(result, tw)
    dt = result.params.dt
    n = wt.n_lag
    if max_lag is not None:
        n = min(n, int(round(max_lag / dt)))
    lags = np.arange(1, n + 1) * dt
    lo, hi = _windows(n)
    x_chi = _lag_slicer(result, wt, n)

    def stat(c):
        x, chi = x_chi(c)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.stack([x, chi, x / chi, _local_slope(x, chi, lo, hi)])

    value, err = estimate(result, stat, loo)
    return FDTCurve(wt.tw, lags, value[0], err[0], value[1], err[1], value[2], err[2], value[3], err[3],
                    float(n * dt), tuple(wt.tws))


def fit_teff(result, tw=None, warn: bool = True) -> TeffEstimate:
    """The effective temperature of ``result`` at ``tw``, with the named summary values, the FDT
    curve and the stationarity test (module docstring).  ``tw``: a waiting time of the result,
    ``"window"`` (the average over all its waiting times), or ``None`` (default): the window when
    the result has at least 4 waiting times (:data:`~dmft.analysis.stationarity.WINDOW_MIN_ROWS`),
    else the latest waiting time with at least 10 later grid points.  Raises ``ValueError`` when the file cannot give one
    (no waiting time, a diverged run)."""
    if result.status != "ok":
        raise ValueError(f"the run did not finish normally (status {result.status}): no T_eff")
    loo = leave_one_out(result)
    stat = check_stationarity(result, tw, loo)
    warns, notes = [], {}
    if not stat.stationary:
        warns.append(stat.describe())
    wt = stat.waiting_times
    curve = fdt_curve(result, wt, max_lag=stat.max_lag if stat.stationary else None, loo=loo)
    n = len(curve.lags)
    nan = float("nan")
    T_short = T_static = T_slow = (nan, nan)
    window = (nan, nan)
    if stat.stationary:
        x_chi = _lag_slicer(result, wt, n)
        short, plateau, slow, why = _summary_windows(result, curve, x_chi, loo, stat.limited_by)
        notes.update(why)

        def summaries(c):
            x, chi = x_chi(c)
            out = [nan, nan, nan]
            with np.errstate(invalid="ignore", divide="ignore"):
                if short is not None:
                    s = curve.lags[short]
                    out[0] = float(np.polyfit(s, x[short] / chi[short], 1)[1])
                if plateau is not None:
                    out[1] = float(np.mean(x[plateau]) / np.mean(chi[plateau]))
                if slow is not None:
                    out[2] = float(np.polyfit(chi[slow], x[slow], 1)[0])
            return np.array(out)

        (v, e) = estimate(result, summaries, loo)
        T_short, T_static, T_slow = (v[0], e[0]), (v[1], e[1]), (v[2], e[2])
        if plateau is not None:
            window = (stat.tw + curve.lags[plateau[0]], stat.tw + curve.lags[plateau[-1]])
        if slow is not None:
            curved = _slow_branch_curvature(result, x_chi, slow, loo)
            if curved:
                notes["T_slow"] = curved
    method = error_method(result)
    if method == "none":
        warns.append("no error bars: a single run has no spread to measure (DMFT: replicates >= 2; "
                     "simulation: n_samples >= 2)")
    for key in ("T_static",):
        if key in notes and stat.stationary:
            warns.append(f"T_eff (= {key}) not available: {notes[key]}")
    T_eff = {"static": T_static, "short": T_short, "slow": T_slow}[DEFINITION]
    if warn:
        for w in warns:
            _warnings.warn(w, FDTWarning, stacklevel=2)
    return TeffEstimate(
        T_eff=float(T_eff[0]), T_eff_err=float(T_eff[1]), definition=DEFINITION, tw=stat.tw,
        window=tuple(float(w) for w in window), stationary=stat.stationary,
        T_short=float(T_short[0]), T_short_err=float(T_short[1]),
        T_static=float(T_static[0]), T_static_err=float(T_static[1]),
        T_slow=float(T_slow[0]), T_slow_err=float(T_slow[1]),
        max_lag=stat.max_lag if stat.stationary else 0.0, error_method=method, kind=result.kind,
        stationarity=stat, curve=curve, warnings=tuple(warns), notes=notes,
    )


@dataclass(frozen=True)
class StaticDrift:
    """``T_static`` of the early and of the late half of a window of waiting times, on the same
    plateau lags, and their difference ``early - late`` with its jackknife error (the halves
    share each run, so the error of the difference is estimated as one quantity)."""

    early: float
    late: float
    difference: float
    error: float
    early_tws: tuple
    late_tws: tuple

    @property
    def z(self) -> float:
        """The difference in units of its error (NaN without one)."""
        return self.difference / self.error if self.error > 0 else math.nan

    def describe(self) -> str:
        e, l = self.early_tws, self.late_tws
        return (f"T_static still changes with the waiting time: {self.early:.5g} at tw in [{e[0]:g}, {e[-1]:g}], "
                f"{self.late:.5g} at tw in [{l[0]:g}, {l[-1]:g}] (difference {self.difference:.2g}, "
                f"{abs(self.z):.1f} times its error {self.error:.2g})")


def static_drift(result, est: "TeffEstimate") -> StaticDrift | None:
    """Whether ``T_static`` of ``est`` (a window of waiting times of ``result``) still depends on
    the waiting time: the plateau ratio ``x/chi`` over the plateau lags of ``est``, averaged over
    the early and over the late half of the window.  A relaxation slower than the stationarity
    test can see leaves the lag functions alike and ``T_static`` drifting with ``tw``; the
    windows of a longer horizon then give another value.  None without a window or a plateau."""
    wt = est.stationarity.waiting_times
    if wt is None or not wt.window or not math.isfinite(est.T_static):
        return None
    dt = result.params.dt
    s_a, s_b = est.lag_window
    first, last = int(round(s_a / dt)) - 1, int(round(s_b / dt)) - 1   # x[i] is at lag (i + 1) dt
    n = last + 1
    if first < 0 or n > wt.n_lag:
        return None
    make = wt.lag_functions(result)
    early, late = make(wt.early, n), make(wt.late, n)

    def ratios(c):
        (xe, ce), (xl, cl) = early(c), late(c)
        a = np.mean(xe[first:]) / np.mean(ce[first:])
        b = np.mean(xl[first:]) / np.mean(cl[first:])
        return np.array([a, b, a - b])

    with np.errstate(invalid="ignore", divide="ignore"):
        value, err = estimate(result, ratios, leave_one_out(result))
    return StaticDrift(float(value[0]), float(value[1]), float(value[2]), float(err[2]),
                       tuple(wt.early_tws), tuple(wt.late_tws))


def _plateau_changes(result, x_chi, win: np.ndarray, loo) -> list:
    """[(name, relative change, its jackknife error)] of chi and x between the two halves of the
    plateau window ``win`` (indices on the curve's lags; ``x_chi`` as :func:`_lag_slicer`)."""
    half = len(win) // 2

    def changes(c):
        x, chi = x_chi(c)
        out = []
        for v in (chi, x):
            a, b = np.mean(v[win[:half]]), np.mean(v[win[half:]])
            out.append((b - a) / b if b != 0 else np.nan)
        return np.array(out)

    with np.errstate(invalid="ignore", divide="ignore"):
        value, err = estimate(result, changes, loo)
    return [("chi", float(value[0]), float(err[0])), ("x", float(value[1]), float(err[1]))]


def _summary_windows(result, curve: FDTCurve, x_chi, loo, limited_by: str = ""):
    """Index windows (on the curve's lags) of T_short, the plateau and the slow branch, chosen on
    the mean curve and kept fixed for the jackknife; and notes on the missing ones, each with the
    size of the change in units of its error and the remedy (:mod:`.remedies`).  ``limited_by``:
    where the stationary lags end (:class:`~dmft.analysis.stationarity.Stationarity`)."""
    n = len(curve.lags)
    notes = {}
    short = np.arange(min(SHORT_LAGS, n)) if n >= 2 else None
    if short is None:
        notes["T_short"] = "fewer than 2 stationary lags"
    m = max(PLATEAU_MIN, int(math.ceil(PLATEAU_FRACTION * n)))
    plateau = None
    if n < 2 * m:
        end = (f"the stationary lags end {limited_by}" if limited_by else
               f"the run ends there: {LONGER['plateau']}, or {MEASURE}")
        notes["T_static"] = f"only {n} stationary lags up to s = {curve.max_lag:g}: too few for a plateau; {end}"
    else:
        win = np.arange(n - m, n)
        octave = np.flatnonzero(curve.lags >= curve.lags[-1] / 2)
        moved, worst = [], None
        for test_win, tol in ((win, PLATEAU_TOL), (octave, OCTAVE_TOL)):
            for name, change, err in _plateau_changes(result, x_chi, test_win, loo):
                # significantly more than tol (2 errors of the change itself, jackknife);
                # x, the noisier of the two, may also pass by being within 3 errors of no change
                still = exceeds(change, err, tol)
                if name == "x" and math.isfinite(err) and abs(change) <= 3 * err:
                    still = False
                if still:
                    moved.append(f"{name} still changes by {percent(change, err)} "
                                 f"over s in [{curve.lags[test_win[0]]:g}, {curve.lags[test_win[-1]]:g}]")
                    if worst is None or not in_errors(change, err) <= in_errors(*worst):
                        worst = (change, err)
        if moved:
            notes["T_static"] = ("no plateau: " + "; ".join(moved) + ": "
                                 + remedy(worst[0], worst[1], result.kind, "plateau"))
        else:
            plateau = win
    chi_end = np.mean(curve.chi[plateau]) if plateau is not None else curve.chi[-1]
    sel = np.flatnonzero((curve.chi >= SLOW_RANGE[0] * chi_end) & (curve.chi <= SLOW_RANGE[1] * chi_end))
    slow = sel if len(sel) >= 5 else None
    if slow is None:
        notes["T_slow"] = "fewer than 5 lags on the slow branch"
    return short, plateau, slow, notes


def _slow_branch_curvature(result, x_chi, slow: np.ndarray, loo) -> str:
    """A note when the slow branch is curved: the slopes of its two halves differ by more than
    SLOW_LINEAR_TOL (relative) and by more than 3 combined errors; '' when it is straight."""
    half = len(slow) // 2

    def halves(c):
        x, chi = x_chi(c)
        a = np.polyfit(chi[slow[:half + 1]], x[slow[:half + 1]], 1)[0]
        b = np.polyfit(chi[slow[half:]], x[slow[half:]], 1)[0]
        return np.array([a, b])

    with np.errstate(invalid="ignore", divide="ignore"):
        (a, b), (ea, eb) = estimate(result, halves, loo)
    change = abs(b - a) / max(abs(a), abs(b), 1e-300)
    if change <= SLOW_LINEAR_TOL or (math.isfinite(ea) and abs(b - a) <= 3 * math.hypot(ea, eb)):
        return ""
    text = [f"{v:.4g} +/- {e:.2g}" if math.isfinite(e) else f"{v:.4g}" for v, e in ((a, ea), (b, eb))]
    return (f"the slow branch is curved: slope {text[0]} on its first half (smaller chi), "
            f"{text[1]} on its second; T_slow is its mean slope")


__all__ = ["DEFINITION", "DEFINITIONS", "FDTCurve", "FDTWarning", "TeffEstimate", "fdt_curve", "fit_teff"]
