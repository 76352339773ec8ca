"""Reproduction study (issue 4): the effective noise of SGD measured two ways, theory and simulation.

1. UNSAT phase (alpha = 3 > alpha_J = 2, delta = 0): the fluctuation-dissipation temperature
   T_eff (-1/slope of chi(t, tw) against C(t, tw), :func:`analysis.teff.fit_teff`) of ``sgd``
   against the batch fraction ``b`` and of ``psgd`` against the persistence time ``tau`` at
   fixed ``b``.
2. SAT phase (alpha = 1 < alpha_J, delta = 0): the long-time replica distance
   d = 1 - C12(t, t) of two replicas (same data and w(0), independent selection noise) against
   the same parameters.
3. Noise classes: every point with ``noise_class = gaussian`` (same mean and two-time
   covariance) and ``bernoulli``.
4. Convergence: DMFT in ``n_paths`` and simulations in ``N`` at one point of each phase.

Choices (see docs/effective-noise.md for why):

* ``normalization = mean`` (mini-batch average, the deep-learning convention): the drift is
  ``grad H`` for every ``b``, so all points relax on the same clock and the noise strength is
  ``(1 - b)/b`` per unit drift.  (With ``sum`` the drift is ``b grad H``: small ``b`` is also
  slower, and at equal ``t`` the points sit at different stages of the slow relaxation.)
* T_eff is fitted in the short window ``[tw, tw + 2]`` at ``tw = 40`` (``T_eff``), and also in
  ``[tw, tw + 10]`` (``T_eff_long``).  In the UNSAT phase chi against 1 - C is not one straight
  line: the fast part carries the SGD noise (slope ~ 1/(noise strength)), later the curve
  bends (slower, colder modes) and C keeps drifting slowly as it does in plain GD (the slow
  deterministic approach to the minimum); the long window mixes these and, for b >= 0.4,
  measures mostly the GD-like drift, not the noise.
* DMFT needs many paths at these times: with 2048 paths its C(t, tw) at t ~ 50-70 jumped by
  up to 0.1 (sampling noise of the kernels), with 8192 by ~0.005.

DMFT values are lines, simulations points with error bars (jackknife over sample batches for
T_eff, standard error over samples for d).  Run::

    python -m dmft.app.studies.effective_noise -o docs/study [--quick]

Every run is cached by its hash in ``<output>/runs`` (a re-run skips finished points).  It
writes ``results.csv``, the figures ``unsat_teff.png``, ``sat_distance.png``,
``fdt_examples.png``, ``distance_time.png`` and prints one line per run.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import time

import numpy as np
from matplotlib.figure import Figure

from ...analysis.teff import fit_teff
from ...core.methods import DMFTMethod, ParticleMethod, split_settings
from ...core.params import Params
from ..runner import Task, load_task, run_tasks

#: every parameter and method setting at its default (points override them)
DEFAULTS = {**Params().to_dict(), **DMFTMethod().to_dict(), **ParticleMethod().to_dict()}
UNSAT = dict(alpha=3.0, delta=0.0)
SAT = dict(alpha=1.0, delta=0.0)
COMMON = dict(normalization="mean", dt=0.1, seed=1)
#: T_eff: waiting time of the fit, the earlier one for the aging check, and the window lengths:
#: WINDOW (the reported T_eff, the fast linear part of chi vs C) and WINDOW_LONG (T_eff_long)
TW_FIT, TW_OTHER, WINDOW, WINDOW_LONG = 40.0, 30.0, 2.0, 10.0
#: the replica distance is averaged over the last D_AVG time units (it has stopped moving)
D_AVG = 10.0
#: DMFT points are the mean over these seeds; their error is the larger of half the spread and
#: the fit's own error (the regression error alone underestimates the path-sampling error)
DMFT_SEEDS = (1, 2)


def settings(quick: bool) -> dict:
    """Sizes and times per phase."""
    if quick:
        return {
            "unsat": dict(t_max=TW_FIT + WINDOW_LONG, tw=(TW_OTHER, TW_FIT), replicas=1,
                          n_paths=4096, n=300, n_samples=4),
            "sat": dict(t_max=20.0, tw=(), replicas=2, n_paths=2048, n=300, n_samples=4),
        }
    return {
        "unsat": dict(t_max=TW_FIT + WINDOW_LONG, tw=(TW_OTHER, TW_FIT), replicas=1,
                      n_paths=16384, n=1000, n_samples=10),
        "sat": dict(t_max=40.0, tw=(), replicas=2, n_paths=8192, n=1000, n_samples=8),
    }


def scans(quick: bool) -> dict:
    bs = (0.2, 0.8) if quick else (0.2, 0.4, 0.6, 0.8)
    taus = (0.3, 3.0) if quick else (0.3, 1.0, 3.0)
    return {
        "sgd_b": [dict(dynamics="sgd", b=b) for b in bs],
        "psgd_tau": [dict(dynamics="psgd", b=0.5, tau=tau) for tau in taus],
    }


class Point(dict):
    """Flat settings of one point (physics and both methods' settings)."""

    def __getattr__(self, name):
        return self[name]

    def replace(self, **changes):
        return Point({**self, **changes})

    def task(self, kind: str, seed: int) -> Task:
        params, method = split_settings({**self, "seed": seed}, kind, strict=False)
        return Task(params, method, f"{self['dynamics']} b={self['b']} tau={self['tau']}")


def measure(result, phase: str) -> dict:
    """T_eff (UNSAT) or long-time distance (SAT) of one result, plus diagnostics."""
    out = {"status": result.status, "T_eff": math.nan, "T_eff_err": math.nan, "teff_warnings": "",
           "T_eff_long": math.nan, "T_eff_long_err": math.nan, "teff_long_warnings": "",
           "distance": math.nan, "distance_err": math.nan, "d_max": math.nan,
           "T_eff_seeds": "", "T_eff_long_seeds": "", "distance_seeds": "",
           "energy": float(result.energy[-1])}
    if result.status != "ok":
        return out
    if phase == "unsat":
        for suffix, length in (("", WINDOW), ("_long", WINDOW_LONG)):
            try:
                fit = fit_teff(result, tw=TW_FIT, window=(TW_FIT, TW_FIT + length))
                out["T_eff" + suffix], out["T_eff" + suffix + "_err"] = fit.T_eff, fit.T_eff_err
                out["teff" + suffix + "_warnings"] = " | ".join(w.split(" (")[0].split(":")[0]
                                                                for w in fit.warnings)
            except ValueError as exc:
                out["teff" + suffix + "_warnings"] = str(exc)
    if result.distance is not None:
        t = result.t
        last = t >= t[-1] - D_AVG - 1e-9
        out["distance"] = float(np.mean(result.distance[last]))
        out["d_max"] = float(np.max(result.distance))
        if result.sem and "distance" in result.sem:
            out["distance_err"] = float(np.mean(result.sem["distance"][last]))
    return out


def combine(ms: list) -> dict:
    """Mean over DMFT seeds; error = max(half the spread, mean fit error); per-seed values kept."""
    if len(ms) == 1:
        return ms[0]
    out = dict(ms[0])  # status-independent fields and the fit warnings are those of the first seed
    for q in ("T_eff", "T_eff_long", "distance"):
        v = np.array([m[q] for m in ms], dtype=float)
        e = np.array([m[q + "_err"] for m in ms], dtype=float)
        out[q] = float(np.mean(v))
        half = float(np.ptp(v) / 2)
        fit_err = float(np.nanmean(e)) if np.isfinite(e).any() else 0.0
        out[q + "_err"] = max(half, fit_err) if np.isfinite(v).all() else math.nan
        out[q + "_seeds"] = " ".join(f"{x:.4g}" for x in v)
    out["energy"] = float(np.mean([m["energy"] for m in ms]))
    out["d_max"] = float(np.mean([m["d_max"] for m in ms]))
    out["status"] = ",".join(sorted({m["status"] for m in ms}))
    return out


def _fmt(row: dict) -> str:
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items())


def run(output: str, quick: bool = False, workers: int | None = None) -> list:
    os.makedirs(output, exist_ok=True)
    cfg = settings(quick)
    rows, keep = [], {}
    jobs = []
    for phase, model in (("unsat", UNSAT), ("sat", SAT)):
        for scan, points in scans(quick).items():
            for point in points:
                for noise_class in ("bernoulli", "gaussian"):
                    params = Point({**DEFAULTS, **COMMON, **cfg[phase], **model, **point, "noise_class": noise_class})
                    jobs.append((phase, scan, params))
    # convergence at one point per phase: DMFT in n_paths, simulations in N
    conv_unsat = Point({**DEFAULTS, **COMMON, **cfg["unsat"], **UNSAT, "dynamics": "sgd", "b": 0.2})
    conv_sat = Point({**DEFAULTS, **COMMON, **cfg["sat"], **SAT, "dynamics": "sgd", "b": 0.2})
    conv = []
    for n_paths in ((1024, 2048) if quick else (4096, 8192, 32768)):
        conv.append(("unsat", "convergence", conv_unsat.replace(n_paths=n_paths), ("dmft",)))
    for seed in (2, 3):  # seed-to-seed spread of the DMFT at the scans' n_paths
        conv.append(("unsat", "convergence", conv_unsat.replace(seed=seed), ("dmft",)))
        conv.append(("sat", "convergence", conv_sat.replace(seed=seed), ("dmft",)))
    for n_paths in ((1024,) if quick else (4096, 16384)):
        conv.append(("sat", "convergence", conv_sat.replace(n_paths=n_paths), ("dmft",)))
    for n in ((150, 600) if quick else (500, 2000)):  # the scans use N = cfg[phase]["n"]
        conv.append(("unsat", "convergence", conv_unsat.replace(n=n), ("simulation",)))
        conv.append(("sat", "convergence", conv_sat.replace(n=n), ("simulation",)))
    if not quick:  # b = 0.8, where the DMFT distance sits ~10 % above the simulations
        for n, n_samples in ((500, 16), (2000, 8), (4000, 4)):
            conv.append(("sat", "convergence", conv_sat.replace(b=0.8, n=n, n_samples=n_samples),
                         ("simulation",)))
        for n_paths in (16384, 32768):
            conv.append(("sat", "convergence", conv_sat.replace(b=0.8, n_paths=n_paths), ("dmft",)))

    all_jobs = [(ph, sc, p, ("dmft", "simulation")) for ph, sc, p in jobs] + conv

    def seeds_of(kind, scan, params):
        return DMFT_SEEDS if (kind == "dmft" and scan != "convergence") else (params.seed,)

    cache = os.path.join(output, "runs")
    run_tasks([params.task(kind, seed) for _, scan, params, kinds in all_jobs for kind in kinds
               for seed in seeds_of(kind, scan, params)], cache, workers=workers)
    for phase, scan, params, kinds in all_jobs:
        for kind in kinds:
            start = time.perf_counter()
            seeds = seeds_of(kind, scan, params)
            results = [load_task(cache, params.task(kind, seed)) for seed in seeds]
            result = results[0]
            m = combine([measure(r, phase) for r in results])
            row = {"phase": phase, "scan": scan, "kind": kind, "dynamics": params.dynamics,
                   "noise_class": params.noise_class, "b": params.b,
                   "tau": params.tau if params.dynamics == "psgd" else math.nan,
                   "alpha": params.alpha, "dt": params.dt, "normalization": params.normalization,
                   "t_max": params.t_max, "seed": "+".join(str(s) for s in seeds),
                   "n_paths": params.n_paths if kind == "dmft" else "",
                   "n": params.n if kind == "simulation" else "",
                   "n_samples": params.n_samples if kind == "simulation" else "",
                   **m, "seconds": round(time.perf_counter() - start, 1)}
            rows.append(row)
            print(_fmt(row), flush=True)
            if scan != "convergence":
                keep[(phase, scan, kind, params.noise_class, params.b, params.tau)] = result
    with open(os.path.join(output, "results.csv"), "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        for r in rows:
            writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    plot(rows, output, cfg)
    plot_fdt(keep, output, quick)
    plot_distance_time(keep, output, quick)
    return rows


def _xkey(scan):
    return "b" if scan == "sgd_b" else "tau"


def plot(rows: list, output: str, cfg: dict) -> list:
    """T_eff (UNSAT) and long-time replica distance (SAT) against b and against tau."""
    paths = []
    for phase, quantity, label in (("unsat", "T_eff", "effective temperature T_eff"),
                                   ("sat", "distance", f"replica distance d (mean over last {D_AVG:g})")):
        fig = Figure(figsize=(11, 4.3))
        axes = fig.subplots(1, 2)
        for ax, (scan, xlabel) in zip(axes, (("sgd_b", "batch fraction b (sgd)"),
                                             ("psgd_tau", "persistence time τ (psgd, b = 0.5)"))):
            xkey = _xkey(scan)
            for noise_class, color, marker in (("bernoulli", "C0", "o"), ("gaussian", "C3", "s")):
                sel = [r for r in rows if r["phase"] == phase and r["scan"] == scan
                       and r["noise_class"] == noise_class]
                th = sorted((r for r in sel if r["kind"] == "dmft"), key=lambda r: r[xkey])
                sm = sorted((r for r in sel if r["kind"] == "simulation"), key=lambda r: r[xkey])
                xs = np.array([r[xkey] for r in th], dtype=float)
                ys = np.array([r[quantity] for r in th], dtype=float)
                es = np.nan_to_num(np.array([r[quantity + "_err"] for r in th], dtype=float))
                ax.plot(xs, ys, "-", color=color, label=f"DMFT, {noise_class}")
                ax.fill_between(xs, ys - es, ys + es, color=color, alpha=0.2, lw=0)
                ax.errorbar([r[xkey] for r in sm], [r[quantity] for r in sm],
                            yerr=[r[quantity + "_err"] for r in sm], fmt=marker, mfc="white",
                            color=color, capsize=2, label=f"simulation, {noise_class}")
                if phase == "unsat" and noise_class == "bernoulli":
                    ax.plot([r[xkey] for r in th], [r["T_eff_long"] for r in th], ":", color="grey",
                            label=f"DMFT, window [{TW_FIT:g}, {TW_FIT + WINDOW_LONG:g}]")
                    ax.plot([r[xkey] for r in sm], [r["T_eff_long"] for r in sm], "x", color="grey",
                            label=f"sim, window [{TW_FIT:g}, {TW_FIT + WINDOW_LONG:g}]")
                if phase == "unsat" and scan == "sgd_b" and noise_class == "bernoulli":
                    est = [COMMON["dt"] * (1 - r["b"]) / r["b"] * r["energy"] for r in sm]
                    ax.plot([r[xkey] for r in sm], est, "--", color="k", lw=0.8,
                            label="dt (1−b)/b · e (noise strength)")
            ax.set_xlabel(xlabel)
            ax.set_ylabel(label)
            ax.set_yscale("log")
            if scan == "psgd_tau":
                ax.set_xscale("log")
            ax.legend(fontsize=8)
        c = cfg[phase]
        model = UNSAT if phase == "unsat" else SAT
        extra = (f", fit window [{TW_FIT:g}, {TW_FIT + WINDOW:g}]" if phase == "unsat"
                 else f", t_max = {c['t_max']:g}")
        fig.suptitle(f"{label}: α = {model['alpha']:g}, Δ = 0, dt = {COMMON['dt']:g}, "
                     f"normalization = {COMMON['normalization']}{extra}\n"
                     f"DMFT {c['n_paths']} paths; simulations N = {c['n']}, {c['n_samples']} samples",
                     fontsize=10)
        fig.tight_layout()
        path = os.path.join(output, f"{phase}_{'teff' if quantity == 'T_eff' else 'distance'}.png")
        fig.savefig(path, dpi=100)
        paths.append(path)
    return paths


def _scan_points(keep: dict, phase: str, scan: str):
    """(colour, label, b, tau) of every point of ``scan`` kept for ``phase``, in order."""
    pts = sorted({(k[4], k[5]) for k in keep if k[0] == phase and k[1] == scan})
    for i, (b, tau) in enumerate(pts):
        yield f"C{i}", (f"b={b:g}" if scan == "sgd_b" else f"τ={tau:g}"), b, tau


def plot_fdt(keep: dict, output: str, quick: bool) -> str:
    """chi(t, tw) against C(t, tw) at tw = TW_FIT for the UNSAT points (bernoulli), with the
    fitted window; DMFT lines, simulation points."""
    fig = Figure(figsize=(11, 4.5))
    axes = fig.subplots(1, 2)
    for ax, scan in zip(axes, ("sgd_b", "psgd_tau")):
        for color, lab, b, tau in _scan_points(keep, "unsat", scan):
            for kind in ("dmft", "simulation"):
                r = keep.get(("unsat", scan, kind, "bernoulli", b, tau))
                if r is None:
                    continue
                k = r.tw_row(TW_FIT)
                m = np.isfinite(r.C[k])
                x, y = 1.0 - r.C[k][m][1:], r.chi[k][m][1:]
                if kind == "dmft":
                    ax.plot(x, y, "-", color=color, lw=1.2, label=f"{lab} DMFT")
                    j = int(round(WINDOW / COMMON["dt"])) - 1
                    ax.plot(x[j], y[j], "|", color="k", ms=10)
                else:
                    s = slice(None, None, 4)
                    ax.plot(x[s], y[s], "o", ms=3, mfc="white", color=color, label=f"{lab} sim")
        ax.set_xscale("log")
        ax.set_yscale("log")
        lo, hi = ax.get_xlim()
        for T in (1e-3, 1e-2):  # guides: chi = (1 - C)/T
            xs = np.array([max(lo, T * 0.05), min(hi, T * 5.0)])
            ax.plot(xs, xs / T, "-", color="0.8", lw=3, zorder=0)
            ax.text(xs[-1], xs[-1] / T, f"T={T:g}", fontsize=7, color="0.5")
        ax.set_xlabel(f"1 − C(t, tw = {TW_FIT:g})")
        ax.set_ylabel(f"χ(t, tw = {TW_FIT:g})")
        ax.legend(fontsize=7, ncol=2)
        ax.set_title(("sgd" if scan == "sgd_b" else "psgd, b = 0.5")
                     + f": t in [{TW_FIT:g}, {TW_FIT + WINDOW_LONG:g}]; | = end of the T_eff window "
                     f"(t = {TW_FIT + WINDOW:g})", fontsize=9)
    fig.suptitle("FDT plots, UNSAT α = 3, bernoulli noise: χ against 1 − C, log-log (an FDT line "
                 "χ = (1−C)/T_eff has slope 1; grey guides: T = 1e-3, 1e-2)", fontsize=10)
    fig.tight_layout()
    path = os.path.join(output, "fdt_examples.png")
    fig.savefig(path, dpi=100)
    return path


def plot_distance_time(keep: dict, output: str, quick: bool) -> str:
    """d(t) in the SAT phase (bernoulli): DMFT lines, simulation points."""
    fig = Figure(figsize=(11, 4.5))
    axes = fig.subplots(1, 2)
    for ax, scan in zip(axes, ("sgd_b", "psgd_tau")):
        for color, lab, b, tau in _scan_points(keep, "sat", scan):
            th = keep.get(("sat", scan, "dmft", "bernoulli", b, tau))
            sm = keep.get(("sat", scan, "simulation", "bernoulli", b, tau))
            if th is not None and th.distance is not None:
                ax.plot(th.t, th.distance, "-", color=color, lw=1.2, label=f"{lab} DMFT")
            if sm is not None and sm.distance is not None:
                s = slice(None, None, 20)
                ax.errorbar(sm.t[s], sm.distance[s], yerr=sm.sem["distance"][s], fmt="o", ms=3,
                            mfc="white", color=color, capsize=1.5, lw=0.7, label=f"{lab} sim")
        ax.set_yscale("log")
        ax.set_xlabel("time t")
        ax.set_ylabel("replica distance d(t) = 1 − C12(t,t)")
        ax.set_title("sgd" if scan == "sgd_b" else "psgd, b = 0.5", fontsize=10)
        ax.legend(fontsize=7, ncol=2)
    fig.suptitle("SAT α = 1, Δ = 0, bernoulli noise, dt = 0.1, normalization = mean", fontsize=10)
    fig.tight_layout()
    path = os.path.join(output, "distance_time.png")
    fig.savefig(path, dpi=100)
    return path


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default="docs/study")
    parser.add_argument("--quick", action="store_true", help="small sizes (a few minutes)")
    parser.add_argument("--workers", type=int, default=None, help="local worker processes (default: cores)")
    args = parser.parse_args(argv)
    run(args.output, quick=args.quick, workers=args.workers)


if __name__ == "__main__":
    main()
