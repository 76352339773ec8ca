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


def legend(ax, **kwargs) -> None:
    """``ax.legend(**kwargs)`` when the axes has labelled artists (an empty legend is a warning
    and a stray box)."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(**kwargs)


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


def _teff_label(who: str, est) -> str:
    """The legend entry of a T_eff line, or what is missing instead."""
    if not est.stationary:
        return f"{who}: not stationary, no T_eff"
    if not np.isfinite(est.T_eff):
        return f"{who}: no plateau, no T_eff"
    err = f" ± {est.T_eff_err:.1g}" if np.isfinite(est.T_eff_err) else ""
    return f"{who}: T_eff = {est.T_eff:.3g}{err} ({est.plateau})"


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
#: the energy is drawn on a log scale when it falls below this fraction of its initial value (SAT)
LOG_ENERGY_BELOW = 1e-3


def _letter(ax, i: int) -> None:
    """The panel letter (a), (b), ... in the upper left corner, outside the axes."""
    ax.text(-0.02, 1.02, f"({chr(ord('a') + i)})", transform=ax.transAxes, ha="right", va="bottom",
            fontsize=11, fontweight="bold")


def comparison_panels(theory, simulation) -> list:
    """The panels of :func:`compare_figure` that have data, in order: ``energy``; with waiting
    times ``C``, ``fdt`` (chi against x) and ``ratio`` (T(s)); ``distance`` with two replicas, else
    ``nu``; without waiting times the final ``gaps``; ``frac_unsat``; with teacher data
    ``gen_error`` and ``m``."""
    th, sm = theory, simulation
    panels = ["energy"]
    if len(th.tw):
        panels += ["C", "fdt", "ratio"]
    panels.append("distance" if th.distance is not None or sm.distance is not None else "nu")
    if not len(th.tw) and "gap_hist" in th.extra:
        panels.append("gaps")
    panels.append("frac_unsat")
    panels += [name for name in TEACHER_PANELS if name in th.extra and name in sm.extra]
    return panels


def _draw_pair(ax, th, sm, name: str, ylabel: str, th_label: str, sm_label: str) -> None:
    """A one-time observable: the DMFT line with its band, the simulation points with bars."""
    value = (lambda r: getattr(r, name, None) if name not in r.extra else r.extra[name])
    if value(th) is not None:
        _line(ax, th.t, value(th), _sem(th, name), "k", th_label)
    if value(sm) is not None:
        _points(ax, sm.t, value(sm), _sem(sm, name), COLORS[3], sm_label)
    ax.set_xlabel("time t")
    ax.set_ylabel(ylabel)
    legend(ax, fontsize=8)


def _draw_two_time(axes: dict, th, sm) -> None:
    """C(t, tw), the FDT plot (chi against x = C(tw,tw) - C(t,tw)) and T(s) with the T_eff lines."""
    ax_c, ax_x, ax_t = axes["C"], axes["fdt"], axes["ratio"]
    for k, tw in enumerate(th.tw):
        color = COLORS[k % len(COLORS)]
        i0 = int(round(tw / th.params.dt))
        _line(ax_c, th.t, th.C[k], _sem(th, "C", k), color, f"DMFT tw={tw:g}")
        ax_x.plot(th.C[k, i0] - th.C[k], th.chi[k], "-", color=color, lw=1.5, label=f"DMFT tw={tw:g}")
        try:
            ks = sm.tw_row(float(tw))
        except ValueError:
            ks = None
        est_th = _estimate(th, tw)
        est_sm = _estimate(sm, tw) if ks is not None else None
        for est, who, style in ((est_th, "DMFT", "--"), (est_sm, "sim", ":")):
            if est is None:
                continue
            c = est.curve
            if who == "DMFT":
                _line(ax_t, c.lags, c.ratio, c.ratio_err, color, f"DMFT tw={tw:g}")
            else:
                idx = np.unique(np.geomspace(1, len(c.lags), 30).astype(int) - 1)
                ax_t.errorbar(c.lags[idx], c.ratio[idx], yerr=c.ratio_err[idx], fmt="o", ms=3.5, mfc="white",
                              color=color, capsize=1.5, lw=0.8, label=f"sim tw={tw:g}")
            # the earlier waiting time is only the reference of the stationarity test
            if not np.isnan(est.stationarity.tw_ref):
                if np.isfinite(est.T_eff):
                    ax_t.axhline(est.T_eff, color=color, ls=style, lw=1, label=_teff_label(f"{who} tw={tw:g}", est))
                else:
                    ax_t.plot([], [], ls="none", label=_teff_label(f"{who} tw={tw:g}", est))
        if ks is None:
            continue
        _points(ax_c, sm.t, sm.C[ks], _sem(sm, "C", ks), color, f"sim tw={tw:g}")
        ok = np.isfinite(sm.C[ks]) & np.isfinite(sm.chi[ks])
        x_sm = (sm.C[ks, int(round(tw / sm.params.dt))] - sm.C[ks])[ok]
        _points(ax_x, x_sm, sm.chi[ks][ok], None, color, f"sim tw={tw:g}",
                index=_even_along_curve(x_sm, sm.chi[ks][ok]))
    ax_c.set_xlabel("time t")
    ax_c.set_ylabel("correlation C(t, tw) = w(t)·w(tw)/N")
    ax_x.set_xlabel("x = C(tw,tw) − C(t,tw)")
    ax_x.set_ylabel("integrated response χ(t, tw)")
    ax_t.set_xlabel("lag s = t − tw")
    ax_t.set_ylabel("FDT ratio T(s) = x/χ")
    ax_t.set_xscale("log")
    for ax in (ax_c, ax_x):
        legend(ax, fontsize=7)
    legend(ax_t, fontsize=6.5)


def _late_inset(ax, th, sm, name: str) -> None:
    """An inset of ``name`` over the last 80% of the run, where it has settled (the plateau the
    main panel's scale hides)."""
    inset = ax.inset_axes([0.38, 0.3, 0.57, 0.45])
    for r in (th, sm):
        late = np.flatnonzero(r.t >= r.t[-1] / 5)
        err = _sem(r, name)
        args = (inset, r.t[late], getattr(r, name)[late], None if err is None else err[late])
        if r is th:
            _line(*args, "k", None)
        else:
            _points(*args, COLORS[3], None, target=20)
    inset.set_title(f"t ≥ {th.t[-1] / 5:g}", fontsize=7)
    inset.tick_params(labelsize=7)


def compare_figure(theory, simulation, path: str, title: str | None = None,
                   allow_different: bool = False) -> str:
    """Theory (lines, with error bands when it has replicates) vs simulation (points with error
    bars), one panel per observable the files have (:func:`comparison_panels`), lettered (a),
    (b), ...: the energy (on a log scale only when it vanishes, SAT), C(t, tw), the FDT plot chi
    against x = C(tw,tw) - C(t,tw), the FDT ratio T(s) = x/chi against the lag with the T_eff
    (= T_static) lines in its legend (dashed DMFT, dotted simulation), the replica distance (or
    the spherical multiplier), the final gap distribution when there are no waiting times, the
    fraction of violated constraints, and with teacher data ``eps_g(t)`` and ``m(t)``.  Written
    to ``path``.  ``ValueError`` (before drawing) for a pair that is not a DMFT result and a
    simulation of the same physics (:func:`check_comparable`); with ``allow_different`` the
    differences head the title."""
    differences = check_comparable(theory, simulation, allow_different)
    th, sm = theory, simulation
    panels = comparison_panels(th, sm)
    ncols = 3 if len(panels) in (3, 5, 6, 9) else 4 if len(panels) > 6 else 2
    nrows = -(-len(panels) // ncols)
    fig = Figure(figsize=(5.3 * ncols, 4.1 * nrows + 0.5))
    grid = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in grid[len(panels):]:
        fig.delaxes(ax)
    axes = dict(zip(panels, grid))
    th_label, sm_label = th.method.describe(), sm.method.describe()

    ax_e = axes["energy"]
    _draw_pair(ax_e, th, sm, "energy", "training energy e(t) = H/N", th_label, sm_label)
    e = np.asarray(th.energy, dtype=float)
    if np.isfinite(e[-1]) and e[-1] < LOG_ENERGY_BELOW * e[0]:
        ax_e.set_yscale("log")
    else:
        _late_inset(ax_e, th, sm, "energy")
    if "C" in axes:
        _draw_two_time(axes, th, sm)
    if "distance" in axes:
        _draw_pair(axes["distance"], th, sm, "distance", "replica distance d(t) = 1 − C12(t,t)", th_label, sm_label)
    if "nu" in axes:
        _draw_pair(axes["nu"], th, sm, "nu", "spherical multiplier ν(t)", th_label, sm_label)
    if "gaps" in axes:
        _draw_gaps(axes["gaps"], [(th_label, th), (sm_label, sm)])
    _draw_pair(axes["frac_unsat"], th, sm, "frac_unsat", "fraction of violated constraints", th_label, sm_label)
    for name in TEACHER_PANELS:
        if name in axes:
            _draw_pair(axes[name], th, sm, name, TEACHER_PANELS[name], th_label, sm_label)
    for i, ax in enumerate(axes.values()):
        _letter(ax, i)

    head = title or f"DMFT vs simulation: {describe(th.params)}"
    if differences:
        head = "WARNING: theory and simulation differ in " + ", ".join(differences) + "\n" + head
    fig.suptitle(head, fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.97 if not differences else 0.94))
    return save_figure(fig, path, dpi=110)


def gap_density_error(result) -> tuple:
    """(error of ``extra['gap_hist']``, how it was obtained): the standard error over samples or
    replicates when the result has one (simulations; DMFT results of two replicates or more made
    since 2026-12-07), otherwise the counting error of the densities of
    ``n`` independent gaps, ``sqrt(p w (1 - p w) / n) / w`` for a bin of width ``w`` (DMFT: ``n``
    = paths x replicates x replicas; a lower bound, since the kernels' noise is left out)."""
    if "gap_hist" in result.sem:
        return np.asarray(result.sem["gap_hist"], dtype=float), \
            f"s.e.m. over {'replicates' if result.kind == 'dmft' else 'samples'}"
    hist = np.asarray(result.extra["gap_hist"], dtype=float)
    width = np.diff(np.asarray(result.extra["gap_edges"], dtype=float))[None, :]
    m = result.method
    n = (m.n_paths * m.replicates if result.kind == "dmft" else m.n_samples * round(result.params.alpha * m.n)) \
        * result.params.replicas
    frac = np.clip(hist * width, 0.0, 1.0)
    return np.sqrt(frac * (1 - frac) / n) / width, "counting error"


def _draw_gaps(ax, runs, with_legend: bool = True) -> list:
    """Final-time gap densities of ``runs`` ((label, Result) pairs) on ``ax``: DMFT lines with
    their error band, simulations as steps with error bars; returns the final times drawn."""
    labels = list(dict.fromkeys(label for label, _ in runs))
    lo, hi, times, floor = np.inf, -np.inf, [], np.inf
    for label, r in runs:
        if "gap_hist" not in r.extra:
            continue
        edges = np.asarray(r.extra["gap_edges"])
        g = int(np.argmax(np.asarray(r.extra["gap_t"])))
        times.append(float(np.asarray(r.extra["gap_t"])[g]))
        hist = np.asarray(r.extra["gap_hist"])[g]
        err = gap_density_error(r)[0][g]
        centers = 0.5 * (edges[1:] + edges[:-1])
        filled = np.flatnonzero(hist > 0)
        if len(filled):
            lo, hi = min(lo, centers[filled[0]]), max(hi, centers[filled[-1]])
            floor = min(floor, float(np.min(hist[filled])))
        color = COLORS[labels.index(label) % len(COLORS)]
        kind = "DMFT" if r.kind == "dmft" else "simulation"
        suffix = "" if label.startswith(("DMFT", "simulation")) else f" ({kind})"
        if r.kind == "dmft":
            _line(ax, centers, hist, err, color, f"{label}{suffix}")
        else:
            ax.step(centers, hist, where="mid", color=color, lw=0.9, alpha=0.6)
            shown = hist > 0
            ax.errorbar(centers[shown], hist[shown], yerr=err[shown], fmt="none", ecolor=color, elinewidth=0.7,
                        alpha=0.8, label=f"{label}{suffix}")
    if np.isfinite(lo):
        ax.set_xlim(lo - 0.3, hi + 0.3)
    ax.axvline(0.0, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("gap h = w·ξ/√N − Δ at the final time")
    ax.set_ylabel("probability density")
    ax.set_yscale("log")
    if np.isfinite(floor):   # error bars reaching below zero would stretch the log axis
        ax.set_ylim(bottom=0.3 * floor)
    if with_legend:
        legend(ax, fontsize=7)
    return times


def gap_histogram_figure(runs, path: str, title: str = "Gap distribution at the end of training",
                         panels: dict | None = None) -> str:
    """Final-time gap densities of several results (``runs``: list of (label, Result)), DMFT as
    lines with an error band, simulations as steps with error bars (:func:`gap_density_error`);
    needs ``extra['gap_hist']``.  ``panels``: panel title -> the labels drawn in it (default: one
    panel with every run); each panel's title states the final time of its runs."""
    panels = panels or {"": list(dict.fromkeys(label for label, _ in runs))}
    fig = Figure(figsize=(6.5 * len(panels), 4.6))
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for i, (ax, (name, labels)) in enumerate(zip(axes, panels.items())):
        times = _draw_gaps(ax, [(label, r) for label, r in runs if label in labels])
        when = ", ".join(f"{t:g}" for t in sorted(set(times)))
        ax.set_title(f"{name + ': ' if name else ''}final time t = {when}", fontsize=10)
        if len(panels) > 1:
            _letter(ax, i)
    how = sorted({f"{'DMFT' if r.kind == 'dmft' else 'simulation'}: {gap_density_error(r)[1]}"
                  for _, r in runs if "gap_hist" in r.extra})
    fig.suptitle(f"{title}\n(error bands and bars: {'; '.join(how)})", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    return save_figure(fig, path, dpi=130)
