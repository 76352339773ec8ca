"""A straight fluctuation-dissipation line fitted over one time window (window fits).

This is the window fit that :func:`dmft.analysis.teff.fit_teff` uses for one of its named summary
values (the slope of a linear slow branch, ``T_slow``) and that a user can call for any window.
It is *not* the package's definition of ``T_eff`` (``docs/effective-temperature.md``): in SGD's
UNSAT phase chi against C is curved, and a slope over an arbitrary window is not a well-defined
number; :func:`fit_fdt_line` warns (``FDTWarning``) when the relation bends over its window.

In a stationary state the integrated response and the correlation obey

    chi(t, tw) = (C(t, t) - C(t, tw)) / T_eff,

so at fixed ``tw`` the points ``(x, chi)`` with ``x(t) = C(t,t) - C(t,tw)`` lie on a straight
line through the origin of slope ``1/T_eff``; equivalently ``T_eff = -1/slope`` of ``chi``
against ``C(t, tw)``.  Langevin dynamics at temperature ``T`` gives ``T_eff = T``.

:func:`fit_fdt_line` fits ``chi = a + b x`` by ordinary least squares over a time window
``t in [t_start, t_end]`` (``t_start >= tw``) and reports ``T_eff = 1/b``.  ``C(t,t)`` is
``result.norm()`` (1 on the sphere).  It works for any :class:`dmft.Result` (DMFT or
simulation).

Uncertainty (``T_eff_err = sigma_b / b^2``), with ``sigma_b`` combining in quadrature

1. ``sigma_reg``: the regression's own standard error of the slope,
   ``sqrt(SSR/(n-2) / Sxx)`` -- measures lack of fit / scatter about the line;
2. ``sigma_prop``, the statistical error of the points (simulations only), in one of two ways
   (``FDTLineFit.error_method``):

   * ``"jackknife"`` -- when the result carries batch averages (``result.errors.batches``
     ``C`` and ``chi`` (B, K, T), optionally ``norm`` (B, T), with ``errors.batch_size``; from
     simulation samples or DMFT replicates): the delete-one-batch
     jackknife of the slope, ``sigma_prop^2 = (B-1)/B sum_j (b_(-j) - mean_j b_(-j))^2``, where
     ``b_(-j)`` is the slope fitted to the sample-size-weighted average of all batches but ``j``.
     This keeps the (strong) correlations between times exactly.
   * ``"sem-bound"`` -- otherwise, when ``result.sem`` holds ``chi`` and/or ``C``: first-order
     propagation of the standard errors of the points.  The slope is a function
     ``b(x_1..x_n, chi_1..chi_n)`` with ``db/dchi_i = (x_i - xbar)/Sxx`` and
     ``db/dx_i = ((chi_i - chibar) - 2 b (x_i - xbar))/Sxx``.  The errors at different times
     come from the same samples and are correlated in an unknown way, so we use the triangle
     inequality for standard deviations, which holds for any correlation:
     ``sigma_prop = sum_i |db/dchi_i| sem_chi_i + sum_i |db/dx_i| sem_x_i`` with
     ``sem_x_i = sem_C_i + sem_norm_i`` -- a conservative upper estimate (about 4x the
     observed spread for the Langevin test case).
   * ``"regression"`` -- no sem (e.g. DMFT): ``sigma_prop = 0``.

Diagnostics (strings in ``FDTLineFit.warnings``, also issued as :class:`FDTWarning` unless
``warn=False``; the fit is still returned):

* non-linear relation: a quadratic fit ``chi = a + b x + c x^2`` whose slope changes by more
  than :data:`CURVATURE_TOL` (relative) across the window, ``2|c| (x_max - x_min) / |b|``, with
  ``|c|`` larger than 3 of its standard errors (regression error in quadrature with the batch
  jackknife, or the sem bound, as for the slope); or ``R^2 <`` :data:`R2_MIN` of the linear fit;
* not stationary: the energy averaged over the last fifth of the window differs from that over
  the first fifth by more than :data:`DRIFT_TOL` (relative) AND by more than 3 combined sem (when
  sems are present); or -- when another waiting time was measured -- ``C(tw+s, tw)`` differs from
  ``C(tw'+s, tw')`` (nearest other ``tw'``) by more than :data:`AGING_TOL` times ``C(t,t)`` and
  by more than 4 standard errors of the difference at some ``s`` in the window (standard error
  from the batches when present, else ``hypot`` of the two sems);
* a non-positive slope (``T_eff`` negative or infinite), or few points.
"""

from __future__ import annotations

import math
import warnings as _warnings
from dataclasses import asdict, dataclass
from typing import Optional, Sequence, Tuple

import numpy as np
from numpy.polynomial import polynomial as P
from scipy import stats


class FDTWarning(UserWarning):
    """A caveat of an FDT fit (not stationary, curved, no error bars, ...)."""

#: Fewest grid points a usable window must have.
MIN_POINTS = 8
#: Largest relative change of the slope across the window before "non-linear" is flagged.
CURVATURE_TOL = 0.2
#: Smallest acceptable R^2 of the linear fit.
R2_MIN = 0.95
#: Largest relative energy drift over the window accepted as stationary.
DRIFT_TOL = 0.03
#: Largest difference of C(tw+s, tw) between waiting times, relative to C(t,t).
AGING_TOL = 0.05


@dataclass(frozen=True)
class FDTLineFit:
    """Result of :func:`fit_fdt_line`.

    ``slope`` is ``d chi / d C(t,tw)`` at fixed ``tw`` (``= -1/T_eff``); ``intercept`` is the
    fitted ``chi`` at ``C(t,tw) = C(t,t)`` (0 for an exact FDR through the origin).
    ``window = (t_start, t_end)`` are the first and last times used.  ``err_regression`` and
    ``err_propagated`` are the two contributions to the slope error (see module docstring).
    """

    T_eff: float
    T_eff_err: float
    tw: float
    window: Tuple[float, float]
    slope: float
    intercept: float
    n_points: int
    warnings: Tuple[str, ...] = ()
    r_squared: float = float("nan")
    err_regression: float = float("nan")
    err_propagated: float = 0.0
    error_method: str = "regression"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["window"] = list(self.window)
        d["warnings"] = list(self.warnings)
        return d


def _row_sem(result, name: str, k: Optional[int], n: int) -> np.ndarray:
    """sem of ``name`` (row ``k`` for two-time data) or zeros; NaN entries count as 0."""
    sem = result.sem.get(name) if getattr(result, "sem", None) else None
    if sem is None:
        return np.zeros(n)
    sem = np.asarray(sem, dtype=float)
    if k is not None:
        sem = sem[k]
    if sem.shape != (n,):
        return np.zeros(n)
    return np.where(np.isfinite(sem), sem, 0.0)


def _points(result, k: int, t_start: float, t_end: float):
    t = np.asarray(result.t, dtype=float)
    C = np.asarray(result.C[k], dtype=float)
    chi = np.asarray(result.chi[k], dtype=float)
    norm = np.asarray(result.norm(), dtype=float)
    tol = 1e-9 * max(1.0, abs(t_end))
    mask = (t >= t_start - tol) & (t <= t_end + tol) & np.isfinite(C) & np.isfinite(chi) & np.isfinite(norm)
    return mask, t, C, chi, norm


def _usable(result, k: int, t_start: Optional[float], t_end: float, min_points: int) -> bool:
    tw = float(result.tw[k])
    mask, t, C, chi, norm = _points(result, k, tw if t_start is None else max(tw, t_start), t_end)
    if mask.sum() < min_points:
        return False
    x = (norm - C)[mask]
    return bool(np.ptp(x) > 0)


def _choose_tw(result, tw, window, min_points) -> int:
    if len(result.tw) == 0:
        raise ValueError("this result has no waiting times: no C(t,tw)/chi(t,tw) to fit (run with --tw)")
    t_start = None if window is None else float(window[0])
    t_end = float(result.t[-1]) if window is None else float(window[1])
    if tw is not None:
        return result.tw_row(float(tw))
    tol = 1e-9 * max(1.0, abs(t_end))
    for k in sorted(range(len(result.tw)), key=lambda k: -float(result.tw[k])):
        tw_k = float(result.tw[k])
        if t_start is not None and tw_k > t_start + tol:
            continue  # the window must start at or after tw
        if tw_k < t_end and _usable(result, k, t_start, t_end, min_points):
            return k
    raise ValueError(
        f"no measured waiting time leaves a usable window of >= {min_points} points up to t = {t_end:g}"
    )


def _linear_fit(x, y):
    """Least-squares line ``y = a + b x`` (scipy.stats.linregress): a, b, se(b), R^2 and the
    centred data with ``Sxx``."""
    dx, dy = x - x.mean(), y - y.mean()
    if not dy @ dy > 0:  # constant y: a flat, perfect line (linregress leaves R undefined)
        return float(y.mean()), 0.0, 0.0, 1.0, dx, dy, float(dx @ dx)
    fit = stats.linregress(x, y)
    se_b = float(fit.stderr) if len(x) > 2 else float("nan")
    return float(fit.intercept), float(fit.slope), se_b, float(fit.rvalue ** 2), dx, dy, float(dx @ dx)


def _batches(result, k: int):
    """(C, chi, norm, sizes) batch arrays for row k, or None when the result has none."""
    errors = result.errors
    if errors is None or "C" not in errors.batches or "chi" not in errors.batches:
        return None
    Cb = np.asarray(errors.batches["C"], dtype=float)
    chib = np.asarray(errors.batches["chi"], dtype=float)
    sizes = np.asarray(errors.batch_size, dtype=float)
    B, T = len(sizes), len(result.t)
    if B < 2 or Cb.shape != (B, len(result.tw), T) or chib.shape != Cb.shape:
        return None
    if "norm" in errors.batches and np.shape(errors.batches["norm"]) == (B, T):
        normb = np.asarray(errors.batches["norm"], dtype=float)
    else:
        normb = np.broadcast_to(np.asarray(result.norm(), dtype=float), (B, T))
    return Cb[:, k], chib[:, k], normb, sizes


def _jackknife(batches, mask, stat) -> Optional[float]:
    """Delete-one-batch jackknife standard deviation of ``stat(x, chi)``, where each
    leave-one-out curve is the sample-size-weighted average of the other batches."""
    Cb, chib, normb, sizes = batches
    xb = (normb - Cb)[:, mask]
    yb = chib[:, mask]
    if not (np.all(np.isfinite(xb)) and np.all(np.isfinite(yb))):
        return None
    total_x = sizes @ xb
    total_y = sizes @ yb
    n_tot = sizes.sum()
    values = []
    for j in range(len(sizes)):
        w = n_tot - sizes[j]
        x = (total_x - sizes[j] * xb[j]) / w
        y = (total_y - sizes[j] * yb[j]) / w
        if not np.ptp(x) > 0:
            return None
        values.append(stat(x, y))
    values = np.array(values)
    B = len(values)
    return float(math.sqrt((B - 1) / B * np.sum((values - values.mean()) ** 2)))


def _slope(x, y) -> float:
    return _linear_fit(x, y)[1]


def _quadratic_coef(x, y) -> float:
    return float(P.polyfit(x - x.mean(), y, 2)[2])


def _quadratic_term(x, y, sem_y, sem_x, b, batches=None, mask=None):
    """Coefficient c of chi = a + b x + c x^2 (numpy.polynomial), its standard error (regression
    in quadrature with the jackknife over batches, or else the propagated sem bound) and the
    relative change of the slope across the range."""
    n = len(x)
    if n < 4:
        return 0.0, float("inf"), 0.0
    xs = x - x.mean()
    coef = P.polyfit(xs, y, 2)
    c = float(coef[2])
    dof = n - 3
    res = y - P.polyval(xs, coef)
    # the fit is linear in y: row of d c / d y_i = the fit of each unit vector
    dc_dy = P.polyfit(xs, np.eye(n), 2)[2]
    se_reg = math.sqrt(float(res @ res) / dof * float(dc_dy @ dc_dy)) if dof > 0 else float("inf")
    # x errors move the points along the line of slope ~ b: d c / d x_i ~ -b d c / d y_i
    se_prop = _jackknife(batches, mask, _quadratic_coef) if batches is not None else None
    if se_prop is None:
        se_prop = float(np.abs(dc_dy) @ (sem_y + abs(b) * sem_x))
    se = math.hypot(se_reg, se_prop)
    kappa = 2.0 * abs(c) * float(np.ptp(x)) / abs(b) if b != 0 else float("inf")
    return c, se, kappa


def _segment_mean(values, sems, idx):
    v = values[idx]
    s = sems[idx]
    ok = np.isfinite(v)
    if not ok.any():
        return float("nan"), 0.0
    return float(v[ok].mean()), float(s[ok].mean()) if s.size else 0.0


def fit_fdt_line(result, tw: Optional[float] = None, window: Optional[Sequence[float]] = None,
                 min_points: int = MIN_POINTS, warn: bool = True) -> FDTLineFit:
    """Fit ``T_eff`` from ``chi(t, tw)`` against ``C(t,t) - C(t, tw)`` at fixed ``tw``.

    ``tw``: the waiting time to use (must have been measured; ``ValueError`` otherwise);
    default the largest measured one that leaves at least ``min_points`` usable points.
    ``window``: ``(t_start, t_end)`` in absolute times with ``tw <= t_start < t_end``; default
    ``(tw, t_max)``.  See the module docstring for the error bar and the warnings.
    """
    if window is not None:
        if len(window) != 2 or not float(window[0]) < float(window[1]):
            raise ValueError(f"window must be (t_start, t_end) with t_start < t_end (got {window!r})")
    k = _choose_tw(result, tw, window, min_points)
    tw_k = float(result.tw[k])
    t_all = np.asarray(result.t, dtype=float)
    t_start, t_end = (tw_k, float(t_all[-1])) if window is None else (float(window[0]), float(window[1]))
    if t_start < tw_k - 1e-9 * max(1.0, tw_k):
        raise ValueError(f"window starts at t = {t_start:g}, before tw = {tw_k:g}")
    mask, t, C, chi, norm = _points(result, k, t_start, t_end)
    n = int(mask.sum())
    if n < 3:
        raise ValueError(f"window [{t_start:g}, {t_end:g}] at tw = {tw_k:g} has only {n} usable points")
    x = (norm - C)[mask]
    y = chi[mask]
    if not np.ptp(x) > 0:
        raise ValueError(f"C(t, tw = {tw_k:g}) is constant over the window: no slope to fit")
    warns = []
    if n < min_points:
        warns.append(f"only {n} points in the window (fewer than {min_points})")

    a, b, se_reg, r2, dx, dy, sxx = _linear_fit(x, y)
    T = len(t)
    sem_chi = _row_sem(result, "chi", k, T)[mask]
    sem_x = (_row_sem(result, "C", k, T) + _row_sem(result, "norm", None, T))[mask]
    batches = _batches(result, k)
    se_jk = _jackknife(batches, mask, _slope) if batches is not None else None
    if se_jk is not None:
        se_prop, method = se_jk, "jackknife"
    else:
        dbdy = dx / sxx
        dbdx = (dy - 2.0 * b * dx) / sxx
        se_prop = float(np.abs(dbdy) @ sem_chi + np.abs(dbdx) @ sem_x)
        method = "sem-bound" if se_prop > 0 else "regression"
    se_b = math.hypot(se_reg if math.isfinite(se_reg) else 0.0, se_prop)
    if b > 0:
        T_eff = 1.0 / b
        T_err = se_b / b ** 2
    else:
        T_eff = 1.0 / b if b != 0 else float("inf")
        T_err = float("inf")
        warns.append(
            f"non-positive slope of chi against C(t,t)-C(t,tw) ({b:.3g}): T_eff negative or infinite"
        )

    # --- linearity
    c, se_c, kappa = _quadratic_term(x, y, sem_chi, sem_x, b, batches, mask)
    if kappa > CURVATURE_TOL and abs(c) > 3.0 * se_c:
        warns.append(
            f"chi vs C is not linear over the window: the local slope changes by {100 * kappa:.0f}% "
            f"(quadratic term {c:.3g} +- {se_c:.2g}); try a narrower window or a later tw"
        )
    if r2 < R2_MIN:
        warns.append(f"poor linear fit of chi vs C (R^2 = {r2:.3f} < {R2_MIN})")

    # --- stationarity: energy drift over the window
    energy = np.asarray(result.energy, dtype=float)
    sem_e = _row_sem(result, "energy", None, T)
    win = np.flatnonzero((t >= t_start - 1e-9) & (t <= t_end + 1e-9))
    if len(win) >= 5:
        fifth = max(1, len(win) // 5)
        e1, s1 = _segment_mean(energy, sem_e, win[:fifth])
        e2, s2 = _segment_mean(energy, sem_e, win[-fifth:])
        drift = abs(e2 - e1)
        scale = max(abs(e1), abs(e2))
        sig = math.hypot(s1, s2)
        if math.isfinite(drift) and drift > DRIFT_TOL * scale and drift > 3.0 * sig and drift > 1e-12:
            warns.append(
                f"not stationary: energy drifts from {e1:.4g} to {e2:.4g} ({100 * drift / scale:.1f}%) "
                f"over the window [{t_start:g}, {t_end:g}]"
            )

    # --- stationarity: C(tw+s, tw) against another waiting time
    if len(result.tw) >= 2:
        others = [j for j in range(len(result.tw)) if j != k]
        j = min(others, key=lambda j: abs(float(result.tw[j]) - tw_k))
        tw_j = float(result.tw[j])
        s_win = t[mask] - tw_k
        t_other = tw_j + s_win
        rowj = np.asarray(result.C[j], dtype=float)
        okj = np.isfinite(rowj)
        inside = (t_other >= tw_j) & (t_other <= t_all[okj].max() if okj.any() else False)
        if inside.sum() >= 2:
            Cj = np.interp(t_other[inside], t_all[okj], rowj[okj])
            Ck = C[mask][inside]
            sigma = None
            bj = _batches(result, j)
            if batches is not None and bj is not None:
                Cbk = batches[0][:, mask][:, inside]
                Cbj = np.array([np.interp(t_other[inside], t_all, row) for row in bj[0]])
                d = Cbk - Cbj  # per-batch differences: keeps the correlation of the two rows
                sizes = batches[3]
                if np.all(np.isfinite(d)):
                    mean_d = (sizes @ d) / sizes.sum()
                    var = (sizes @ (d - mean_d) ** 2) / (sizes.sum() * (len(sizes) - 1))
                    sigma = np.sqrt(var)
            if sigma is None:
                sk = _row_sem(result, "C", k, T)[mask][inside]
                sj = np.interp(t_other[inside], t_all, _row_sem(result, "C", j, T))
                sigma = np.hypot(sk, sj)
            diff = np.abs(Ck - Cj)
            scale = np.abs(norm[mask][inside])
            bad = (diff > AGING_TOL * scale) & (diff > 4.0 * sigma)
            if bad.any():
                warns.append(
                    f"not stationary (aging): C(tw+s, tw) differs between tw = {tw_k:g} and "
                    f"tw = {tw_j:g} by up to {diff.max():.3g}"
                )

    tw_used = t[mask]
    if warn:
        for w in warns:
            _warnings.warn(w, FDTWarning, stacklevel=2)
    return FDTLineFit(
        T_eff=float(T_eff),
        T_eff_err=float(T_err),
        tw=tw_k,
        window=(float(tw_used[0]), float(tw_used[-1])),
        slope=float(-b),
        intercept=float(a),
        n_points=n,
        warnings=tuple(warns),
        r_squared=float(r2),
        err_regression=float(se_reg),
        err_propagated=float(se_prop),
        error_method=method,
    )
