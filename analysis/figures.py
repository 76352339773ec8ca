"""Theory-vs-simulation figures: DMFT as lines (with error bands from replicates), particle
simulations as points with error bars.

:func:`compare_figure` draws, for one parameter point, energy e(t) = H/N, the two-time
correlation C(t, tw), the parametric FDT plot, the scale-resolved FDT ratio T(s) with T_eff
(:func:`dmft.analysis.fit_teff`), the replica distance d(t) = 1 - C12(t,t) and the fraction of
violated constraints.  :func:`gap_histogram_figure`
draws the gap distributions at the end of training for several runs.
"""

from __future__ import annotations

import io
import os

import matplotlib
import numpy as np
from matplotlib.backend_bases import FigureCanvasBase
from matplotlib.figure import Figure

from ..core.outputs import check_output, write_atomic
from .teff import fit_teff

COLORS = matplotlib.colormaps["tab10"].colors
#: file extensions a figure can be written as
FIGURE_FORMATS = tuple(sorted(FigureCanvasBase.get_supported_filetypes()))


def save_figure(fig: Figure, path: str, dpi: int) -> str:
    """Render ``fig`` in the format its extension names and write it atomically; an extension not
    in :data:`FIGURE_FORMATS` is refused (:class:`~dmft.core.outputs.OutputPathError`) first."""
    path = check_output(path, FIGURE_FORMATS)
    buffer = io.BytesIO()
    fig.savefig(buffer, format=os.path.splitext(path)[1][1:].lower(), dpi=dpi)
    return write_atomic(path, buffer.getvalue())


def describe(params) -> str:
    """Short parameter line for figure titles."""
    p = params
    parts = [f"{p.dynamics}", f"α={p.alpha:g}", f"Δ={p.delta:g}"]
    if p.dynamics in ("sgd", "psgd", "injected"):
        parts.append(f"b={p.b:g}")
    if p.dynamics == "injected":
        parts.append(f"σ²={p.noise_var:g}")
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


def _line(ax, x, y, err, color, label, **kw):
    """A DMFT curve with its error band (standard error over replicates) when it has one."""
    ax.plot(x, y, "-", color=color, lw=1.5, label=label, **kw)
    if err is not None:
        e = np.nan_to_num(np.asarray(err, dtype=float))
        ax.fill_between(x, y - e, y + e, color=color, alpha=0.25, lw=0)


def _sem(result, name, k=None):
    v = result.sem.get(name)
    if v is None:
        return None
    return v if k is None else v[k]


def _estimate(result, tw):
    try:
        return fit_teff(result, tw=tw, warn=False)
    except ValueError:
        return None


def _describe_fit(label: str, est) -> str:
    if est is None:
        return f"{label}: no T_eff"
    if not est.stationary:
        if np.isnan(est.stationarity.tw_ref):
            return f"{label}: reference of the stationarity test"
        return f"{label}: not stationary"
    if not np.isfinite(est.T_eff):
        return f"{label}: T_eff = T_static n/a (no plateau after tw={est.tw:g}), T_short={est.T_short:.3g}"
    return (f"{label}: T_eff = T_static = {est.T_eff:.3g}±{est.T_eff_err:.1g} (tw={est.tw:g}, plateau t in "
            f"[{est.window[0]:.4g}, {est.window[1]:.4g}]), T_short={est.T_short:.3g}")


#: parameters that may differ between the two files of a comparison (they do not change the physics)
FREE_IN_COMPARISON = ("seed", "t_max", "tw", "replicas")


def parameter_differences(theory, simulation) -> list:
    """``name: theory value vs simulation value`` for every physics parameter that differs
    (:data:`FREE_IN_COMPARISON` excepted)."""
    a, b = theory.params.to_dict(), simulation.params.to_dict()
    return [f"{name} {a[name]} vs {b[name]}" for name in a
            if name not in FREE_IN_COMPARISON and a[name] != b[name]]


def check_comparable(theory, simulation, allow_different: bool = False) -> list:
    """``ValueError`` unless ``theory`` is a DMFT result and ``simulation`` a simulation of the
    same physics (``allow_different``: the differences are returned instead, for the title)."""
    if theory.kind != "dmft" or simulation.kind != "simulation":
        swapped = theory.kind == "simulation" and simulation.kind == "dmft"
        raise ValueError(f"compare takes a DMFT file then a simulation file, got {theory.kind} then "
                         f"{simulation.kind}" + (" (swapped?)" if swapped else ""))
    differences = parameter_differences(theory, simulation)
    if differences and not allow_different:
        raise ValueError("theory and simulation differ in " + ", ".join(differences)
                         + " (theory vs simulation); --allow-different draws them anyway")
    return differences


#: the panels teacher data adds to the comparison figure: observable -> axis label
TEACHER_PANELS = {"gen_error": "generalisation error ε_g(t) = arccos(m/√C(t,t))/π",
                  "m": "teacher overlap m(t) = w·w*/N"}


def compare_figure(theory, simulation, path: str, title: str | None = None,
                   allow_different: bool = False) -> str:
    """Theory (lines, with error bands when it has replicates) vs simulation (points with error
    bars): energy, C(t, tw), x = C(tw,tw) - C(t,tw) against chi, the scale-resolved FDT ratio
    T(s) = x/chi against the lag with T_eff (= T_static) marked, the replica distance and the
    fraction of violated constraints; with teacher data also ``eps_g(t)`` and ``m(t)``.  Written to
    ``path``.  ``ValueError`` (before drawing) for
    a pair that is not a DMFT result and a simulation of the same physics
    (:func:`check_comparable`); with ``allow_different`` the differences head the title."""
    differences = check_comparable(theory, simulation, allow_different)
    th, sm = theory, simulation
    teacher = [name for name in TEACHER_PANELS if name in th.extra and name in sm.extra]
    fig = Figure(figsize=(21, 8.5) if teacher else (16, 8.5))
    axes = fig.subplots(2, 4 if teacher else 3)
    ax_e, ax_c, ax_x = axes[0, :3]
    ax_t, ax_d, ax_n = axes[1, :3]
    th_label, sm_label = th.method.describe(), sm.method.describe()

    _line(ax_e, th.t, th.energy, _sem(th, "energy"), "k", th_label)
    _points(ax_e, sm.t, sm.energy, _sem(sm, "energy"), COLORS[3], sm_label)
    ax_e.set_xlabel("time t (units of the learning rate dt × steps)")
    ax_e.set_ylabel("training energy e(t) = H/N")
    ax_e.set_yscale("log")
    ax_e.legend(fontsize=8)

    notes = []
    for k, tw in enumerate(th.tw):
        color = COLORS[k % len(COLORS)]
        i0 = int(round(tw / th.params.dt))
        _line(ax_c, th.t, th.C[k], _sem(th, "C", k), color, f"DMFT tw={tw:g}")
        ax_x.plot(th.chi[k], th.C[k, i0] - th.C[k], "-", color=color, lw=1.5, label=f"DMFT tw={tw:g}")
        est_th = _estimate(th, tw)
        try:
            ks = sm.tw_row(float(tw))
        except ValueError:
            ks = None
        est_sm = _estimate(sm, tw) if ks is not None else None
        for est, style in ((est_th, "line"), (est_sm, "points")):
            if est is None:
                continue
            c = est.curve
            if style == "line":
                _line(ax_t, c.lags, c.ratio, c.ratio_err, color, f"DMFT tw={tw:g}")
            else:
                idx = np.unique(np.geomspace(1, len(c.lags), 30).astype(int) - 1)
                ax_t.errorbar(c.lags[idx], c.ratio[idx], yerr=c.ratio_err[idx], fmt="o", ms=3.5, mfc="white",
                              color=color, capsize=1.5, lw=0.8, label=f"sim tw={tw:g}")
            if np.isfinite(est.T_eff):
                ax_t.axhline(est.T_eff, color=color, ls="--" if style == "line" else ":", lw=1)
        # the earlier waiting time only serves as the reference of the stationarity test
        notes += [n for n in (_describe_fit(f"DMFT tw={tw:g}", est_th), _describe_fit(f"sim tw={tw:g}", est_sm))
                  if not n.endswith("reference of the stationarity test")]
        if ks is None:
            continue
        _points(ax_c, sm.t, sm.C[ks], _sem(sm, "C", ks), color, f"sim tw={tw:g}")
        ok = np.isfinite(sm.C[ks]) & np.isfinite(sm.chi[ks])
        x_sm = (sm.C[ks, int(round(tw / sm.params.dt))] - sm.C[ks])[ok]
        _points(ax_x, sm.chi[ks][ok], x_sm, None, color, f"sim tw={tw:g}",
                index=_even_along_curve(sm.chi[ks][ok], x_sm))
    ax_c.set_xlabel("time t")
    ax_c.set_ylabel("correlation C(t, tw) = w(t)·w(tw)/N")
    ax_x.set_xlabel("integrated response χ(t, tw)")
    ax_x.set_ylabel("x = C(tw,tw) − C(t,tw)")
    ax_t.set_xlabel("lag s = t − tw")
    ax_t.set_ylabel("FDT ratio T(s) = x/χ (dashed/dotted: T_eff)")
    ax_t.set_xscale("log")
    for ax in (ax_c, ax_x, ax_t):
        if len(th.tw):
            ax.legend(fontsize=7)
        else:
            ax.text(0.5, 0.5, "no waiting times measured (--tw)", ha="center", transform=ax.transAxes)

    if th.distance is not None or sm.distance is not None:
        if th.distance is not None:
            _line(ax_d, th.t, th.distance, _sem(th, "distance"), "k", th_label)
        if sm.distance is not None:
            _points(ax_d, sm.t, sm.distance, _sem(sm, "distance"), COLORS[3], sm_label)
        ax_d.set_ylabel("replica distance d(t) = 1 − C12(t,t)")
        ax_d.legend(fontsize=8)
    else:  # one replica: the spherical multiplier instead
        _line(ax_d, th.t, th.nu, _sem(th, "nu"), "k", th_label)
        _points(ax_d, sm.t, sm.nu, _sem(sm, "nu"), COLORS[3], sm_label)
        ax_d.set_ylabel("spherical multiplier ν(t)")
        ax_d.legend(fontsize=8)
    ax_d.set_xlabel("time t")
    _line(ax_n, th.t, th.frac_unsat, _sem(th, "frac_unsat"), "k", th_label)
    _points(ax_n, sm.t, sm.frac_unsat, _sem(sm, "frac_unsat"), COLORS[3], sm_label)
    ax_n.set_xlabel("time t")
    ax_n.set_ylabel("fraction of violated constraints")
    ax_n.legend(fontsize=8)
    for ax, name in zip((axes[0, 3], axes[1, 3]) if teacher else (), teacher):
        _line(ax, th.t, th.extra[name], _sem(th, name), "k", th_label)
        _points(ax, sm.t, sm.extra[name], _sem(sm, name), COLORS[3], sm_label)
        ax.set_xlabel("time t")
        ax.set_ylabel(TEACHER_PANELS[name])
        ax.legend(fontsize=8)

    if differences:
        notes.insert(0, "WARNING: theory and simulation differ in " + ", ".join(differences))
    fig.suptitle("\n".join([title or f"DMFT vs simulation: {describe(th.params)}"] + notes), fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.025 * len(notes)))
    return save_figure(fig, path, dpi=110)


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
    return save_figure(fig, path, dpi=130)
