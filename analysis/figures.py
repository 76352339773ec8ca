"""Theory-vs-simulation figures: DMFT as lines, particle simulations as points with error bars.

:func:`compare_figure` draws, for one parameter point, energy e(t) = H/N, the two-time
correlation C(t, tw), the parametric plot chi(t, tw) against C(t, tw) with the
fluctuation-dissipation line of slope -1/T_eff, and the replica distance d(t) = 1 - C12(t,t)
when present (else the fraction of violated constraints).  :func:`gap_histogram_figure`
draws the gap distributions at the end of training for several runs.
"""

from __future__ import annotations

import os

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from .teff import fit_teff

COLORS = matplotlib.colormaps["tab10"].colors


def describe(params) -> str:
    """Short parameter line for figure titles."""
    p = params
    parts = [f"{p.dynamics}", f"α={p.alpha:g}", f"Δ={p.delta:g}"]
    if p.dynamics in ("sgd", "psgd"):
        parts.append(f"b={p.b:g}")
    if p.dynamics == "psgd":
        parts.append(f"τ={p.tau:g}")
    if p.temperature > 0:
        parts.append(f"T={p.temperature:g}")
    parts.append(f"dt={p.dt:g}")
    if p.loss != "quadratic-hinge":
        parts.append(p.loss)
    if p.constraint != "sphere":
        parts.append(f"ridge λ={p.ridge:g}")
    if p.noise_class != "bernoulli":
        parts.append(f"{p.noise_class} noise")
    if p.normalization != "sum":
        parts.append("mean-normalised")
    return ", ".join(parts)


def _thin(n: int, target: int = 60) -> slice:
    return slice(None, None, max(1, n // target))


def _even_along_curve(x, y, target: int = 30) -> np.ndarray:
    """Indices of about ``target`` points evenly spaced along the curve (x, y)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 3:
        return np.arange(len(x))
    span = lambda v: (np.nanmax(v) - np.nanmin(v)) or 1.0  # noqa: E731
    arc = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(x) / span(x), np.diff(y) / span(y)))])
    idx = np.searchsorted(arc, np.linspace(0, arc[-1], target))
    return np.unique(np.clip(idx, 0, len(x) - 1))


def _points(ax, x, y, err, color, label, target=60, index=None):
    s = _thin(len(x), target) if index is None else index
    ax.errorbar(x[s], y[s], yerr=None if err is None else err[s], fmt="o", ms=3.5, color=color,
                mfc="white", capsize=1.5, lw=0.8, label=label)


def _teff_line(ax, result, k, color, width: float = 2.0):
    """The FDT line chi = intercept + (C(t,t) - C)/T_eff fitted over [tw, tw + width].

    The fit uses the first ``width`` time units after tw (where, in SGD's UNSAT phase, chi
    against C follows the noise: docs/effective-noise.md); the line is drawn over every
    measured t >= tw so that any bend away from it shows.  The label flags warnings."""
    tw = float(result.tw[k])
    try:
        fit = fit_teff(result, tw=tw, window=(tw, min(tw + width, float(result.t[-1]))))
    except (ValueError, FloatingPointError):  # a fit that cannot be made is simply not drawn
        return None
    inside = np.isfinite(result.C[k])
    c = result.C[k][inside]
    chi = fit.intercept + (result.norm()[inside] - c) / fit.T_eff
    keep = chi <= 1.1 * np.nanmax(result.chi[k])
    flag = " (warnings)" if fit.warnings else ""
    ax.plot(c[keep], chi[keep], "--", color=color, lw=1,
            label=f"FDT fit on [tw, tw+{width:g}]: T_eff={fit.T_eff:.3g}±{fit.T_eff_err:.1g}{flag}")
    return fit


def compare_figure(theory, simulation, path: str, title: str | None = None) -> str:
    """Four-panel theory (lines) vs simulation (points) figure written to ``path``."""
    fig = Figure(figsize=(11, 8.5))
    axes = fig.subplots(2, 2)
    ax_e, ax_c, ax_x, ax_d = axes.ravel()
    th, sm = theory, simulation
    th_label = th.method.describe()
    sm_label = sm.method.describe()

    ax_e.plot(th.t, th.energy, "-", color="k", lw=1.5, label=th_label)
    _points(ax_e, sm.t, sm.energy, sm.sem.get("energy"), COLORS[3], sm_label)
    ax_e.set_xlabel("time t (units of the learning rate dt × steps)")
    ax_e.set_ylabel("training energy e(t) = H/N")
    ax_e.set_yscale("log")
    ax_e.legend(fontsize=8)

    for k, tw in enumerate(th.tw):
        color = COLORS[k % len(COLORS)]
        ax_c.plot(th.t, th.C[k], "-", color=color, lw=1.5, label=f"DMFT tw={tw:g}")
        ax_x.plot(th.C[k], th.chi[k], "-", color=color, lw=1.5, label=f"DMFT tw={tw:g}")
        _teff_line(ax_x, th, k, color)
        try:
            ks = sm.tw_row(float(tw))
        except ValueError:
            continue
        _points(ax_c, sm.t, sm.C[ks], sm.sem.get("C", [None] * len(sm.tw))[ks], color, f"sim tw={tw:g}")
        ok = np.isfinite(sm.C[ks]) & np.isfinite(sm.chi[ks])
        cx, cy = sm.C[ks][ok], sm.chi[ks][ok]
        _points(ax_x, cx, cy, None if "chi" not in sm.sem else sm.sem["chi"][ks][ok], color,
                f"sim tw={tw:g}", index=_even_along_curve(cx, cy))
    ax_c.set_xlabel("time t")
    ax_c.set_ylabel("correlation C(t, tw) = w(t)·w(tw)/N")
    ax_x.set_xlabel("C(t, tw)")
    ax_x.set_ylabel("integrated response χ(t, tw)")
    ax_x.invert_xaxis()
    for ax in (ax_c, ax_x):
        if len(th.tw):
            ax.legend(fontsize=7)
        else:
            ax.text(0.5, 0.5, "no waiting times measured (--tw)", ha="center", transform=ax.transAxes)

    if th.distance is not None or sm.distance is not None:
        if th.distance is not None:
            ax_d.plot(th.t, th.distance, "-", color="k", lw=1.5, label=th_label)
        if sm.distance is not None:
            _points(ax_d, sm.t, sm.distance, sm.sem.get("distance"), COLORS[3], sm_label)
        ax_d.set_ylabel("replica distance d(t) = 1 − C12(t,t)")
    else:
        ax_d.plot(th.t, th.frac_unsat, "-", color="k", lw=1.5, label=th_label)
        _points(ax_d, sm.t, sm.frac_unsat, sm.sem.get("frac_unsat"), COLORS[3], sm_label)
        ax_d.set_ylabel("fraction of violated constraints")
    ax_d.set_xlabel("time t")
    ax_d.legend(fontsize=8)

    fig.suptitle(title or f"DMFT vs simulation: {describe(th.params)}")
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=130)
    return path


def gap_histogram_figure(runs, path: str, title: str = "Gap distribution at the end of training") -> str:
    """Overlay final-time gap densities of several results (``runs``: list of (label, Result)).

    DMFT results are drawn as lines, simulations as steps; needs ``extra['gap_hist']``.
    """
    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    labels = list(dict.fromkeys(label for label, _ in runs))
    lo, hi = np.inf, -np.inf
    for label, r in runs:
        if "gap_hist" not in r.extra:
            continue
        edges = np.asarray(r.extra["gap_edges"])
        hist = np.asarray(r.extra["gap_hist"])
        g = int(np.argmax(np.asarray(r.extra["gap_t"])))
        centers = 0.5 * (edges[1:] + edges[:-1])
        filled = np.flatnonzero(hist[g] > 0)
        if len(filled):
            lo, hi = min(lo, centers[filled[0]]), max(hi, centers[filled[-1]])
        color = COLORS[labels.index(label) % len(COLORS)]
        if r.kind == "dmft":
            ax.plot(centers, hist[g], "-", color=color, lw=1.8, label=f"{label} (DMFT)")
        else:
            ax.step(centers, hist[g], where="mid", color=color, lw=0.9, alpha=0.55, label=f"{label} (simulation)")
    if np.isfinite(lo):
        ax.set_xlim(lo - 0.3, hi + 0.3)
    ax.axvline(0.0, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("gap h = w·ξ/√N − Δ at the final time")
    ax.set_ylabel("probability density")
    ax.set_yscale("log")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    return path
