"""The effective noise of SGD measured two ways, theory and simulation (issue 8 study).

UNSAT (``alpha > alpha_J(delta)``, ``delta > 0``): the effective temperature of the stationary
state, as the scale-resolved FDT ratio ``T(s)`` and the named summary values ``T_short``,
``T_static`` (= ``T_eff``) and ``T_slow`` (:func:`dmft.analysis.fit_teff`).  SAT: the long-time
replica distance ``d_inf`` (:func:`dmft.analysis.long_time_distance`).  Both against ``b``
(sgd), ``tau`` (psgd), ``alpha`` and ``delta``, both noise classes for ``b`` and ``tau``; one map
over ``(alpha, b)``; the ``dt -> 0`` limit for psgd at fixed ``tau``; and the calibration of the
DMFT error bars against 10 independent runs.  Run::

    python -m dmft.app.studies.effective_noise -o docs/study [--quick] [--workers 2] [--parts ...]

Every run is a task of the resumable runner (:mod:`dmft.app.runner`), cached by its hash in
``<output>/runs``: a re-run skips finished points and only redraws the tables and figures.
It writes ``tables.md`` (the tables of ``docs/effective-noise.md``), ``results.csv`` (one row per
run and measurement), ``calibration.csv``, ``dt_limit.csv``
and the figures ``unsat_summary.png``, ``fdt_ratio.png``, ``sat_distance.png``, ``map.png``,
``dt_limit.png``.  ``--quick`` uses tiny sizes (a smoke test; its numbers mean nothing).
"""

from __future__ import annotations

import math
import os
import warnings

import matplotlib.ticker
import numpy as np
from matplotlib.figure import Figure

from ...analysis.distance import long_time_distance
from ...analysis.figures import legend
from ...analysis.phase_diagram import gardner_alpha
from ...analysis.teff import fit_teff
from ...core.methods import DMFTMethod, ParticleMethod
from ...core.params import Params
from ..demo import DEMO_POINTS
from ..runner import Task, load_task
from .common import PINNED_DMFT, predict_finest, run_into, study_main, write_csv, write_tables

#: the canonical stationary UNSAT point and its protocol (tw pair and t_max), and the canonical SAT
#: point (two replicas until the distance has frozen): the demo's (docs/effective-temperature.md)
UNSAT, SAT = DEMO_POINTS["unsat"], DEMO_POINTS["sat"]
#: simulation seed (the DMFT uses the points' seed)
SIM_SEED = 11

SCANS = {
    "b": [dict(dynamics="sgd", b=b) for b in (0.3, 0.5, 0.8)],
    "tau": [dict(dynamics="psgd", b=0.5, tau=tau) for tau in (0.5, 1.0, 2.0)],
}
#: alpha and delta of each phase's scans (SAT: alpha < alpha_J(delta), away from jamming)
PHASE_SCANS = {
    "unsat": {"alpha": (3.0, 4.0, 6.0), "delta": (0.25, 0.5, 1.0)},
    "sat": {"alpha": (0.25, 0.5, 0.75), "delta": (0.0, 0.25, 0.5)},
}
NOISE_CLASSES = ("bernoulli", "gaussian")
MAP_ALPHA = (0.25, 0.5, 0.75, 3.0, 4.0, 6.0)
MAP_B = (0.3, 0.5, 0.8)
DT_VALUES = {"unsat": (0.2, 0.1, 0.05), "sat": (0.2, 0.1, 0.05, 0.025)}
#: psgd at fixed tau for the dt -> 0 limit; in SAT tau = 0.5, where d(t) freezes within t_max = 40
#: (at tau = 2 it is still moving at t = 40)
DT_POINT = {"unsat": dict(dynamics="psgd", b=0.5, tau=2.0), "sat": dict(dynamics="psgd", b=0.5, tau=0.5)}
CALIBRATION_RUNS = 10


def methods(quick: bool):
    """(scan DMFT method, simulation method, calibration DMFT method).  The calibration runs at
    the package default precision (docs/precision-defaults.md); the scans at half its paths, which
    keeps the whole study within about two hours on 2 cores (their error bars say what it costs)."""
    if quick:
        tiny = DMFTMethod(n_paths=512, exact_lags=8, **PINNED_DMFT)  # a narrow band: the smoke test stays cheap
        return tiny.replace(replicates=3), ParticleMethod(n=100, n_samples=4), tiny
    return DMFTMethod(n_paths=8192, **PINNED_DMFT), ParticleMethod(n=2000, n_samples=6), DMFTMethod(**PINNED_DMFT)


def base(phase: str, quick: bool) -> dict:
    point = dict(UNSAT if phase == "unsat" else SAT)
    if quick:  # shorter runs, same structure
        point.update(t_max=30.0, tw=(10.0, 15.0)) if phase == "unsat" else point.update(t_max=10.0)
    return point


def scan_points(phase: str, quick: bool) -> list:
    """(scan, x, noise_class, Params) of the parameter scans of one phase."""
    out = []
    b0 = base(phase, quick)
    for scan, points in SCANS.items():
        for point in points:
            for nc in NOISE_CLASSES:
                p = Params(**{**b0, **point, "noise_class": nc})
                out.append((scan, point["b"] if scan == "b" else point["tau"], nc, p))
    for name, values in PHASE_SCANS[phase].items():
        for v in values:
            out.append((name, v, "bernoulli", Params(**{**b0, name: v})))
    return out


def map_points(quick: bool) -> list:
    """(alpha, b, phase, Params) over the (alpha, b) plane at the canonical delta."""
    out = []
    alphas = MAP_ALPHA[::3] if quick else MAP_ALPHA
    for alpha in alphas:
        phase = "sat" if alpha < gardner_alpha(UNSAT["delta"]) else "unsat"
        for b in (MAP_B[::2] if quick else MAP_B):
            out.append((alpha, b, phase, Params(**{**base(phase, quick), "alpha": alpha, "b": b})))
    return out


def dt_points(quick: bool) -> list:
    """(phase, dt, Params): psgd at fixed tau for several dt."""
    out = []
    for phase, dts in DT_VALUES.items():
        for dt in (dts[:2] if quick else dts):
            out.append((phase, dt, Params(**{**base(phase, quick), **DT_POINT[phase], "dt": dt})))
    return out


def calibration_points(quick: bool) -> list:
    """(phase, seed, Params): independent DMFT runs of each canonical point."""
    runs = 3 if quick else CALIBRATION_RUNS
    return [(phase, 101 + i, Params(**{**base(phase, quick), "seed": 101 + i}))
            for phase in ("unsat", "sat") for i in range(runs)]


def tasks(quick: bool, parts) -> list:
    dm, sim, cal = methods(quick)
    out = []
    if "calibration" in parts:  # first: the default precision rests on it
        out += [Task(p, cal, f"calibration {phase} seed={s}") for phase, s, p in calibration_points(quick)]
    if "scans" in parts:
        for phase in ("unsat", "sat"):
            for scan, x, nc, p in scan_points(phase, quick):
                label = f"{phase} {scan}={x} {nc}"
                out += [Task(p, dm, label), Task(p.replace(seed=SIM_SEED), sim, label)]
    if "dt" in parts:
        out += [Task(p, dm, f"{phase} dt={dt}") for phase, dt, p in dt_points(quick)]
        # the simulation of the dt limit: the same point at the finest dt (the independent check)
        out += [Task(p.replace(seed=SIM_SEED), sim, f"{phase} dt={dt}") for phase, dt, p in finest_dt_points(quick)]
    if "map" in parts:
        out += [Task(p, dm, f"map alpha={a} b={b}") for a, b, _, p in map_points(quick)]
    return out


def finest_dt_points(quick: bool) -> list:
    """The (phase, dt, Params) of dt_points with the smallest dt of each phase."""
    pts = dt_points(quick)
    return [x for x in pts if x[1] == min(y[1] for y in pts if y[0] == x[0])]


# --------------------------------------------------------------------------- measurements
def measure(result) -> dict:
    """The noise measures of one result: T_eff and its companions (UNSAT), d_inf (SAT)."""
    row = {"status": str(result.status), "energy_final": float(result.energy[-1])}
    if len(result.tw):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est = fit_teff(result, warn=False)
            row.update({k: est.to_dict()[k] for k in ("T_eff", "T_eff_err", "T_short", "T_short_err",
                                                        "T_static", "T_static_err", "T_slow", "T_slow_err",
                                                        "stationary", "max_lag", "definition")})
            row["teff_notes"] = " | ".join(f"{k}: {v}" for k, v in est.notes.items())
            row["stationarity"] = est.stationarity.describe()
        except ValueError as exc:
            row["teff_notes"] = str(exc)
    if result.distance is not None:
        try:
            d = long_time_distance(result, warn=False)
            row.update(d_inf=d.to_dict()["d_inf"], d_inf_err=d.to_dict()["d_inf_err"], sat=d.sat,
                       d_max=d.d_max, distance_note=d.note)
        except ValueError as exc:
            row["distance_note"] = str(exc)
    return row


def _num(x):
    return math.nan if x is None else float(x)


def collect(cache: str, quick: bool, parts) -> dict:
    """Measure every finished task: {"scans": rows, "map": rows, "dt": rows, "calibration": rows}."""
    dm, sim, cal = methods(quick)
    out = {"scans": [], "map": [], "dt": [], "calibration": [], "curves": {}}
    if "scans" in parts:
        for phase in ("unsat", "sat"):
            for scan, x, nc, p in scan_points(phase, quick):
                for kind, method, params in (("dmft", dm, p), ("simulation", sim, p.replace(seed=SIM_SEED))):
                    r = load_task(cache, Task(params, method))
                    row = {"phase": phase, "scan": scan, "x": x, "noise_class": nc, "kind": kind,
                           "alpha": p.alpha, "delta": p.delta, "dynamics": p.dynamics, "b": p.b,
                           "tau": p.tau if p.dynamics == "psgd" else math.nan, **measure(r)}
                    out["scans"].append(row)
                    if phase == "unsat" and nc == "bernoulli":
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore")
                            try:
                                out["curves"][(scan, x, kind)] = fit_teff(r, warn=False).curve
                            except ValueError:
                                pass
    if "map" in parts:
        for a, b, phase, p in map_points(quick):
            out["map"].append({"alpha": a, "b": b, "phase": phase,
                               **measure(load_task(cache, Task(p, dm)))})
    if "dt" in parts:
        finest = finest_dt_points(quick)
        for phase, dt, p in dt_points(quick):
            runs = [("dmft", dm, p)] + [("simulation", sim, p.replace(seed=SIM_SEED))] * ((phase, dt, p) in finest)
            for kind, method, params in runs:
                out["dt"].append({"phase": phase, "dt": dt, "kind": kind,
                                  **measure(load_task(cache, Task(params, method)))})
    if "calibration" in parts:
        for phase, seed, p in calibration_points(quick):
            r = load_task(cache, Task(p, cal))
            row = {"phase": phase, "seed": seed, **measure(r)}
            # the raw observables whose errors the defaults must bound (lag <= 20, long-time d)
            row.update(_calibration_observables(r, phase))
            out["calibration"].append(row)
    return out


#: lags at which the calibration compares 1 - C and chi
CALIBRATION_LAGS = (1.0, 5.0, 10.0, 20.0)


def _calibration_observables(r, phase: str) -> dict:
    out = {}
    if phase == "unsat":
        k = len(r.tw) - 1
        i0 = int(round(r.tw[k] / r.params.dt))
        for s in CALIBRATION_LAGS:
            i = i0 + int(round(s / r.params.dt))
            if i < len(r.t):
                out[f"x_{s:g}"] = float(r.C[k, i0] - r.C[k, i])
                out[f"x_{s:g}_err"] = float(math.hypot(r.sem["C"][k, i], r.sem["C"][k, i0]))
                out[f"chi_{s:g}"] = float(r.chi[k, i])
                out[f"chi_{s:g}_err"] = float(r.sem["chi"][k, i])
    else:
        d = long_time_distance(r, warn=False)
        out.update(d_final=float(r.distance[-1]), d_final_err=float(r.sem["distance"][-1]))
    return out


# --------------------------------------------------------------------------- tables
def calibration_table(rows: list) -> list:
    """Per observable: the mean reported standard error of one run against the spread (std) of
    the values over the independent runs, and their ratio (should lie within 1/1.5 .. 1.5)."""
    out = []
    for phase in ("unsat", "sat"):
        sel = [r for r in rows if r["phase"] == phase]
        if len(sel) < 2:
            continue
        names = [k[:-4] for k in sel[0] if k.endswith("_err") and k[:-4] in sel[0]]
        for name in names:
            v = np.array([_num(r.get(name)) for r in sel])
            e = np.array([_num(r.get(name + "_err")) for r in sel])
            ok = np.isfinite(v) & np.isfinite(e)
            if ok.sum() < 2:
                continue
            spread, reported = float(np.std(v[ok], ddof=1)), float(np.mean(e[ok]))
            out.append({"phase": phase, "observable": name, "runs": int(ok.sum()), "mean": float(np.mean(v[ok])),
                        "spread": spread, "reported_err": reported,
                        "ratio": reported / spread if spread > 0 else math.nan,
                        "relative_err": reported / abs(float(np.mean(v[ok]))) if np.mean(v[ok]) else math.nan})
    return out


def dt_extrapolation(rows: list) -> list:
    """Linear extrapolation in dt to dt -> 0 (weighted least squares with the errors), from all
    dt but the finest, checked against the finest: the predicted value at the finest dt and the
    measured one, and the extrapolation from all dt (the reported dt -> 0 value)."""
    out = []
    # (T_short of psgd is a discretisation effect -- the persistent noise is smooth in time -- and
    # is not linear in dt: it is tabulated per dt in dt_runs.csv, not extrapolated)
    for phase, (name, err_name) in (("unsat", ("T_eff", "T_eff_err")), ("sat", ("d_inf", "d_inf_err"))):
        for kind in ("dmft", "simulation"):
            sel = sorted((r for r in rows if r["phase"] == phase and r["kind"] == kind), key=lambda r: -r["dt"])
            dt = np.array([r["dt"] for r in sel])
            v = np.array([_num(r.get(name)) for r in sel])
            e = np.array([_num(r.get(err_name)) for r in sel])
            if len(sel) < 3 or not np.all(np.isfinite(v)) or not np.all(np.isfinite(e)):
                continue
            out.append({"phase": phase, "quantity": name, "kind": kind, **predict_finest(dt, v, e)})
    return out


# --------------------------------------------------------------------------- markdown
def _pm(row, name: str, digits: int = 3) -> str:
    v, e = _num(row.get(name)), _num(row.get(name + "_err"))
    if not math.isfinite(v):
        return "n/a"
    return f"{v:.{digits}g} ± {e:.1g}" if math.isfinite(e) else f"{v:.{digits}g}"


def markdown_tables(data: dict) -> str:
    """The tables of docs/effective-noise.md, from the measured rows (values ± jackknife errors)."""
    out = []
    scans = data.get("scans", [])
    if scans:
        out += ["## UNSAT: effective temperatures (DMFT | simulation)", "",
                "| scan | value | noise | T_short | T_static = T_eff | T_slow | stationary (DMFT, sim) |",
                "|---|---|---|---|---|---|---|"]
        for scan, x, nc in dict.fromkeys((r["scan"], r["x"], r["noise_class"]) for r in scans if r["phase"] == "unsat"):
            th, sm = ([r for r in scans if (r["phase"], r["scan"], r["x"], r["noise_class"], r["kind"]) ==
                       ("unsat", scan, x, nc, k)][0] for k in ("dmft", "simulation"))
            out.append(f"| {scan} | {x:g} | {nc} | " + " | ".join(f"{_pm(th, n)} \\| {_pm(sm, n)}"
                                                                  for n in ("T_short", "T_static", "T_slow"))
                       + f" | {th.get('stationary')}, {sm.get('stationary')} |")
        out += ["", "## SAT: long-time replica distance d_inf (DMFT | simulation)", "",
                "| scan | value | noise | d_inf DMFT | d_inf simulation |", "|---|---|---|---|---|"]
        for scan, x, nc in dict.fromkeys((r["scan"], r["x"], r["noise_class"]) for r in scans if r["phase"] == "sat"):
            th, sm = ([r for r in scans if (r["phase"], r["scan"], r["x"], r["noise_class"], r["kind"]) ==
                       ("sat", scan, x, nc, k)][0] for k in ("dmft", "simulation"))
            out.append(f"| {scan} | {x:g} | {nc} | {_pm(th, 'd_inf')} | {_pm(sm, 'd_inf')} |")
    if data.get("map"):
        out += ["", "## Map over (alpha, b), DMFT: T_eff where UNSAT, d_inf where SAT", "",
                "| alpha | b | phase | T_eff | d_inf | note |", "|---|---|---|---|---|---|"]
        for r in data["map"]:
            if r["phase"] == "unsat":
                note = ("not stationary" if not r.get("stationary") else
                        "" if math.isfinite(_num(r.get("T_eff"))) else "no plateau of x, chi")
            else:
                note = "" if math.isfinite(_num(r.get("d_inf"))) else "d(t) still moving at t_max"
            out.append(f"| {r['alpha']:g} | {r['b']:g} | {r['phase']} | {_pm(r, 'T_eff')} | {_pm(r, 'd_inf')} | {note} |")
    if data.get("dt_fits"):
        out += ["", "## dt -> 0 (psgd, b = 0.5; UNSAT tau = 2, SAT tau = 0.5): linear extrapolation in dt", "",
                "| phase | quantity | kind | dt | finest dt value | predicted from the coarser dt | check (sigma) "
                "| dt -> 0 (all dt) |", "|---|---|---|---|---|---|---|---|"]
        for f in data["dt_fits"]:
            out.append(f"| {f['phase']} | {f['quantity']} | {f['kind']} | {f['dts']} | {f['finest']:.4g} ± "
                       f"{f['finest_err']:.1g} | {f['predicted_at_finest']:.4g} ± {f['predicted_err']:.1g} | "
                       f"{f['check_sigma']:+.1f} | {f['dt0']:.4g} ± {f['dt0_err']:.1g} |")
    if data.get("calibration_table"):
        out += ["", "## Calibration of the DMFT error bars (10 runs at the default precision)", "",
                "| point | observable | mean | spread | reported | ratio |", "|---|---|---|---|---|---|"]
        for t in data["calibration_table"]:
            out.append(f"| {t['phase']} | {t['observable']} | {t['mean']:.5g} | {t['spread']:.2g} | "
                       f"{t['reported_err']:.2g} | {t['ratio']:.2f} |")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- figures
COLORS = {"bernoulli": "C0", "gaussian": "C3"}
XLABELS = {"b": "batch fraction b (sgd)", "tau": "persistence time τ (psgd, b = 0.5)",
           "alpha": "α (sgd, b = 0.5)", "delta": "margin Δ (sgd, b = 0.5)"}


def _finish(fig, path: str, title: str) -> str:
    """Title, layout and PNG of one study figure."""
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def _log_y(ax) -> None:
    """Log scale on y when everything drawn, error bands included, is positive (quick runs and
    large error bars may not be)."""
    if ax.has_data() and ax.dataLim.y0 > 0 and np.isfinite(ax.dataLim.y0):
        ax.set_yscale("log")


def _log_x(ax) -> None:
    """Log scale on x when finite positive data are drawn (quick runs may have none)."""
    if ax.has_data() and np.isfinite(ax.dataLim.x0) and ax.dataLim.x0 > 0:
        ax.set_xscale("log")


def _errorbars(ax, rows, x, y, err, style, color, label):
    rows = sorted(rows, key=lambda r: r[x])
    xs = np.array([r[x] for r in rows], dtype=float)
    ys = np.array([_num(r.get(y)) for r in rows])
    es = np.nan_to_num(np.array([_num(r.get(err)) for r in rows]))
    if style == "line":
        ax.plot(xs, ys, "-", color=color, label=label)
        ax.fill_between(xs, ys - es, ys + es, color=color, alpha=0.25, lw=0)
    else:
        ax.errorbar(xs, ys, yerr=es, fmt=style, mfc="white", color=color, capsize=2, label=label)


def _theory_and_simulation(rows: list, noise_class: str) -> tuple:
    """The DMFT rows and the simulation rows of one noise class."""
    return tuple([r for r in rows if r["noise_class"] == noise_class and r["kind"] == kind]
                 for kind in ("dmft", "simulation"))


def plot_unsat_summary(rows: list, path: str) -> str:
    """T_short, T_static (= T_eff) and T_slow against b, tau, alpha and delta."""
    fig = Figure(figsize=(15, 4.2))
    axes = fig.subplots(1, 4)
    for ax, scan in zip(axes, ("b", "tau", "alpha", "delta")):
        sel = [r for r in rows if r["phase"] == "unsat" and r["scan"] == scan]
        for nc in NOISE_CLASSES:
            th, sm = _theory_and_simulation(sel, nc)
            if not th:
                continue
            for name, marker in (("T_short", "^"), ("T_static", "o"), ("T_slow", "v")):
                color = {"T_short": "C1", "T_static": "C0", "T_slow": "C2"}[name]
                if nc == "gaussian":
                    color = {"T_short": "C5", "T_static": "C3", "T_slow": "C4"}[name]
                lab = f"{name}{' (T_eff)' if name == 'T_static' else ''}, {nc}"
                _errorbars(ax, th, "x", name, name + "_err", "line", color, f"DMFT {lab}")
                _errorbars(ax, sm, "x", name, name + "_err", marker, color, f"sim {lab}")
        ax.set_xlabel(XLABELS[scan])
        _log_y(ax)
        if scan == "tau":
            _log_x(ax)
        ax.set_ylabel("temperature")
    legend(axes[0], fontsize=6, ncol=2)
    return _finish(fig, path, f"UNSAT stationary state (α = {UNSAT['alpha']:g}, Δ = {UNSAT['delta']:g}, dt = {UNSAT['dt']:g} "
                 f"unless varied; tw = {UNSAT['tw'][1]:g} checked against {UNSAT['tw'][0]:g}): the named "
                 "FDT temperatures. Lines: DMFT ± jackknife over replicates; points: simulations "
                 "N = 2000 ± jackknife over samples")


def plot_fdt_ratio(curves: dict, path: str) -> str:
    """T(s) = x/chi against the lag s for the b, tau, alpha and delta scans (bernoulli)."""
    fig = Figure(figsize=(13, 9))
    axes = fig.subplots(2, 2).ravel()
    for ax, scan in zip(axes, ("b", "tau", "alpha", "delta")):
        xs = sorted({k[1] for k in curves if k[0] == scan})
        for i, x in enumerate(xs):
            color = f"C{i}"
            th, sm = curves.get((scan, x, "dmft")), curves.get((scan, x, "simulation"))
            if th is not None:
                ax.plot(th.lags, th.ratio, "-", color=color, lw=1.2, label=f"{scan}={x:g} DMFT")
                ax.fill_between(th.lags, th.ratio - np.nan_to_num(th.ratio_err),
                                th.ratio + np.nan_to_num(th.ratio_err), color=color, alpha=0.25, lw=0)
            if sm is not None:
                idx = np.unique(np.geomspace(1, len(sm.lags), 25).astype(int) - 1)
                ax.errorbar(sm.lags[idx], sm.ratio[idx], yerr=sm.ratio_err[idx], fmt="o", ms=3, mfc="white",
                            color=color, capsize=1.5, lw=0.7, label=f"{scan}={x:g} sim")
        ax.set_xscale("log")
        _log_y(ax)
        ax.set_xlabel("lag s = t − tw")
        ax.set_ylabel("T(s) = (C(tw,tw) − C(tw+s,tw)) / χ(tw+s,tw)")
        ax.set_title({"b": "sgd", "tau": "psgd, b = 0.5", "alpha": "sgd, b = 0.5, α varied",
                      "delta": "sgd, b = 0.5, Δ varied"}[scan],
                     fontsize=10)
        legend(ax, fontsize=7, ncol=2)
    return _finish(fig, path, f"Scale-resolved FDT ratio in the stationary state (α = {UNSAT['alpha']:g}, "
                 f"Δ = {UNSAT['delta']:g}, tw = {UNSAT['tw'][1]:g}, stationary lags only): "
                 "sgd: fast modes hotter than slow ones; psgd: slow modes hotter. Bands and bars: ±1 jackknife error")


def plot_sat_distance(rows: list, path: str) -> str:
    fig = Figure(figsize=(15, 4.2))
    axes = fig.subplots(1, 4)
    for ax, scan in zip(axes, ("b", "tau", "alpha", "delta")):
        sel = [r for r in rows if r["phase"] == "sat" and r["scan"] == scan]
        for nc in NOISE_CLASSES:
            th, sm = _theory_and_simulation(sel, nc)
            if th:
                _errorbars(ax, th, "x", "d_inf", "d_inf_err", "line", COLORS[nc], f"DMFT, {nc}")
                _errorbars(ax, sm, "x", "d_inf", "d_inf_err", "o" if nc == "bernoulli" else "s",
                           COLORS[nc], f"sim, {nc}")
        ax.set_xlabel(XLABELS[scan])
        _log_y(ax)
        if scan == "tau":
            _log_x(ax)
        ax.set_ylabel("long-time replica distance d_inf")
    legend(axes[0], fontsize=7)
    return _finish(fig, path, f"SAT phase (α = {SAT['alpha']:g}, Δ = {SAT['delta']:g}, dt = {SAT['dt']:g} unless varied; "
                 f"d averaged over the last quarter of t ≤ {SAT['t_max']:g}). Lines: DMFT ± jackknife; "
                 "points: simulations N = 2000")


def plot_map(rows: list, path: str) -> str:
    """(alpha, b): T_eff where UNSAT, d_inf where SAT (one coloured square per computed point, so
    that no colour suggests a value between points), the SAT/UNSAT line between them."""
    fig = Figure(figsize=(8.5, 4.8))
    ax = fig.subplots()
    bs = sorted({r["b"] for r in rows})
    for quantity, cmap, label in (("T_eff", "viridis", "T_eff (UNSAT, = T_static)"),
                                  ("d_inf", "magma", "d_inf (SAT)")):
        pts = [(r["alpha"], r["b"], _num(r.get(quantity))) for r in rows]
        pts = [q for q in pts if np.isfinite(q[2]) and q[2] > 0]
        if pts:
            a, b, v = (np.array(x) for x in zip(*pts))
            sc = ax.scatter(a, b, c=np.log10(v), cmap=cmap, marker="s", s=420, edgecolors="k", linewidths=0.5)
            fig.colorbar(sc, ax=ax, label=f"log10 {label}")
    for r in rows:
        if not np.isfinite(_num(r.get("T_eff"))) and not np.isfinite(_num(r.get("d_inf"))):
            ax.plot(r["alpha"], r["b"], "x", color="grey", ms=10)
    aj = gardner_alpha(UNSAT["delta"])
    ax.axvline(aj, color="k", ls="--", lw=1.5)
    ax.text(aj, bs[-1] + 0.08, f" α_J(Δ={UNSAT['delta']:g}) = {aj:.2f}", color="k", fontsize=8)
    ax.set_xscale("log")
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xticks(sorted({r["alpha"] for r in rows}), [f"{x:g}" for x in sorted({r["alpha"] for r in rows})])
    ax.set_ylim(bs[0] - 0.15, bs[-1] + 0.15)
    ax.set_xlabel("α")
    ax.set_ylabel("batch fraction b (sgd)")
    ax.set_title(f"Noise of SGD over (α, b), Δ = {UNSAT['delta']:g}, DMFT; × = no value (no plateau of C, "
                 "χ or d within the run)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def plot_dt(rows: list, fits: list, path: str) -> str:
    fig = Figure(figsize=(12, 4.2))
    axes = fig.subplots(1, 3)
    for ax, (phase, name) in zip(axes, (("unsat", "T_eff"), ("unsat", "T_short"), ("sat", "d_inf"))):
        for kind, style, color in (("dmft", "o-", "k"), ("simulation", "s", "C3")):
            sel = sorted((r for r in rows if r["phase"] == phase and r["kind"] == kind), key=lambda r: r["dt"])
            if not sel:
                continue
            ax.errorbar([r["dt"] for r in sel], [_num(r.get(name)) for r in sel],
                        yerr=[_num(r.get(name + "_err")) for r in sel], fmt=style, color=color, mfc="white",
                        capsize=2, label=kind)
            for f in fits:
                if f["phase"] == phase and f["quantity"] == name and f["kind"] == kind:
                    xs = np.linspace(0, max(r["dt"] for r in sel), 20)
                    ax.plot(xs, f["dt0"] + f["slope"] * xs, ":", color=color)
                    ax.errorbar([0.0], [f["dt0"]], yerr=[f["dt0_err"]], fmt="*", ms=9, color=color,
                                label=f"{kind} dt→0: {f['dt0']:.4g} ± {f['dt0_err']:.1g}")
        ax.set_xlabel("dt")
        ax.set_ylabel(name)
        ax.set_title(f"psgd b = {DT_POINT[phase]['b']:g}, τ = {DT_POINT[phase]['tau']:g}, {phase.upper()}", fontsize=9)
        legend(ax, fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


PARTS = ("scans", "map", "dt", "calibration")


def run(output: str, quick: bool = False, workers: int | None = None, parts=PARTS, compute: bool = True) -> dict:
    cache = run_into(output, tasks(quick, parts), workers, compute)
    data = collect(cache, quick, parts)
    if data["scans"]:
        write_csv(data["scans"], os.path.join(output, "results.csv"))
        plot_unsat_summary(data["scans"], os.path.join(output, "unsat_summary.png"))
        plot_sat_distance(data["scans"], os.path.join(output, "sat_distance.png"))
        plot_fdt_ratio(data["curves"], os.path.join(output, "fdt_ratio.png"))
    if data["map"]:
        write_csv(data["map"], os.path.join(output, "fixed_horizon_map.csv"))
        plot_map(data["map"], os.path.join(output, "map.png"))
    if data["dt"]:
        fits = dt_extrapolation(data["dt"])
        write_csv(data["dt"], os.path.join(output, "dt_runs.csv"))
        write_csv(fits, os.path.join(output, "dt_limit.csv"))
        plot_dt(data["dt"], fits, os.path.join(output, "dt_limit.png"))
        data["dt_fits"] = fits
    if data["calibration"]:
        write_csv(data["calibration"], os.path.join(output, "calibration_runs.csv"))
        table = calibration_table(data["calibration"])
        write_csv(table, os.path.join(output, "calibration.csv"))
        data["calibration_table"] = table
    # a run of some parts keeps the other parts' tables
    write_tables(os.path.join(output, "tables.md"), markdown_tables(data), set(parts) != set(PARTS))
    return data


def main(argv=None) -> None:
    study_main(run, __doc__, "docs/study", PARTS, argv)


if __name__ == "__main__":
    main()
