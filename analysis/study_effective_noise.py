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
* T_eff is fitted in a short stationary window ``[tw, tw + 10]`` after ``tw = 40``: in the UNSAT
  phase the chi-vs-C curve has a fast, linear FDT part (the SGD noise) followed by a slow drift
  of C that is also present in plain GD (deterministic, slow approach to the minimum); a long
  window mixes the two and the fit then measures the GD drift, not the noise.
* DMFT needs many paths at these times: with 2048 paths its C(t, tw) at t ~ 50-70 jumped by
  up to 0.1 (sampling noise of the kernels), with 8192 by ~0.005.

DMFT values are lines, simulations points with error bars (jackknife over sample batches for
T_eff, standard error over samples for d).  Run::

    python -m analysis.study_effective_noise -o docs/study [--quick]

It writes ``results.csv``, the figures ``unsat_teff.png``, ``sat_distance.png``,
``fdt_examples.png``, ``distance_time.png`` and prints one line per run.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from dmft.params import Params  # noqa: E402

UNSAT = dict(alpha=3.0, delta=0.0)
SAT = dict(alpha=1.0, delta=0.0)
COMMON = dict(normalization="mean", dt=0.1, seed=1)
#: T_eff: waiting time of the fit, the earlier one for the aging check, and the window length
TW_FIT, TW_OTHER, WINDOW = 40.0, 30.0, 10.0
#: the replica distance is averaged over the last D_AVG time units (it has stopped moving)
D_AVG = 10.0


def settings(quick: bool) -> dict:
    """Sizes and times per phase."""
    if quick:
        return {
            "unsat": dict(t_max=TW_FIT + WINDOW, tw=(TW_OTHER, TW_FIT), replicas=1,
                          n_paths=4096, n=300, n_samples=4),
            "sat": dict(t_max=20.0, tw=(), replicas=2, n_paths=2048, n=300, n_samples=4),
        }
    return {
        "unsat": dict(t_max=TW_FIT + WINDOW, tw=(TW_OTHER, TW_FIT), replicas=1,
                      n_paths=16384, n=1000, n_samples=10),
        "sat": dict(t_max=40.0, tw=(), replicas=2, n_paths=16384, n=1000, n_samples=8),
    }


def scans(quick: bool) -> dict:
    bs = (0.2, 0.8) if quick else (0.2, 0.4, 0.6, 0.8)
    taus = (0.3, 3.0) if quick else (0.3, 1.0, 3.0)
    return {
        "sgd_b": [dict(dynamics="sgd", b=b) for b in bs],
        "psgd_tau": [dict(dynamics="psgd", b=0.5, tau=tau) for tau in taus],
    }


def run_one(params: Params, kind: str):
    if kind == "dmft":
        from dmft import solve

        return solve(params)
    from simulations import simulate

    return simulate(params)


def measure(result, phase: str) -> dict:
    """T_eff (UNSAT) or long-time distance (SAT) of one result, plus diagnostics."""
    from analysis.teff import fit_teff

    out = {"status": result.status, "T_eff": math.nan, "T_eff_err": math.nan, "teff_warnings": "",
           "distance": math.nan, "distance_err": math.nan, "d_max": math.nan,
           "energy": float(result.energy[-1])}
    if result.status != "ok":
        return out
    if phase == "unsat":
        try:
            fit = fit_teff(result, tw=TW_FIT, window=(TW_FIT, TW_FIT + WINDOW))
            out["T_eff"], out["T_eff_err"] = fit.T_eff, fit.T_eff_err
            out["teff_warnings"] = " | ".join(w.split(":")[0] for w in fit.warnings)
        except ValueError as exc:
            out["teff_warnings"] = str(exc)
    if result.distance is not None:
        t = result.t
        last = t >= t[-1] - D_AVG - 1e-9
        out["distance"] = float(np.mean(result.distance[last]))
        out["d_max"] = float(np.max(result.distance))
        if result.sem and "distance" in result.sem:
            out["distance_err"] = float(np.mean(result.sem["distance"][last]))
    return out


def _fmt(row: dict) -> str:
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items())


def run(output: str, quick: bool = False) -> list:
    os.makedirs(output, exist_ok=True)
    cfg = settings(quick)
    rows, keep = [], {}
    jobs = []
    for phase, model in (("unsat", UNSAT), ("sat", SAT)):
        for scan, points in scans(quick).items():
            for point in points:
                for noise_class in ("bernoulli", "gaussian"):
                    params = Params(**{**COMMON, **cfg[phase], **model, **point, "noise_class": noise_class})
                    jobs.append((phase, scan, params))
    # convergence at one point per phase: DMFT in n_paths, simulations in N
    conv_unsat = Params(**{**COMMON, **cfg["unsat"], **UNSAT, "dynamics": "sgd", "b": 0.2})
    conv_sat = Params(**{**COMMON, **cfg["sat"], **SAT, "dynamics": "sgd", "b": 0.2})
    conv = []
    n_list = (1024, 2048) if quick else (4096, 8192, 16384, 32768)
    for n_paths in n_list:
        conv.append(("unsat", "convergence", conv_unsat.replace(n_paths=n_paths), ("dmft",)))
        conv.append(("sat", "convergence", conv_sat.replace(n_paths=n_paths), ("dmft",)))
    for n in ((150, 600) if quick else (500, 2000)):  # the scans use N = cfg[phase]["n"]
        conv.append(("unsat", "convergence", conv_unsat.replace(n=n), ("simulation",)))
        conv.append(("sat", "convergence", conv_sat.replace(n=n), ("simulation",)))

    all_jobs = [(ph, sc, p, ("dmft", "simulation")) for ph, sc, p in jobs] + conv
    for phase, scan, params, kinds in all_jobs:
        for kind in kinds:
            start = time.perf_counter()
            result = run_one(params, kind)
            m = measure(result, phase)
            row = {"phase": phase, "scan": scan, "kind": kind, "dynamics": params.dynamics,
                   "noise_class": params.noise_class, "b": params.b,
                   "tau": params.tau if params.dynamics == "psgd" else math.nan,
                   "alpha": params.alpha, "dt": params.dt, "normalization": params.normalization,
                   "t_max": params.t_max,
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
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.3))
        for ax, (scan, xlabel) in zip(axes, (("sgd_b", "batch fraction b (sgd)"),
                                             ("psgd_tau", "persistence time τ (psgd, b = 0.5)"))):
            xkey = _xkey(scan)
            for noise_class, color, marker in (("bernoulli", "C0", "o"), ("gaussian", "C3", "s")):
                sel = [r for r in rows if r["phase"] == phase and r["scan"] == scan
                       and r["noise_class"] == noise_class]
                th = sorted((r for r in sel if r["kind"] == "dmft"), key=lambda r: r[xkey])
                sm = sorted((r for r in sel if r["kind"] == "simulation"), key=lambda r: r[xkey])
                ax.plot([r[xkey] for r in th], [r[quantity] for r in th], "-", color=color,
                        label=f"DMFT, {noise_class}")
                ax.errorbar([r[xkey] for r in sm], [r[quantity] for r in sm],
                            yerr=[r[quantity + "_err"] for r in sm], fmt=marker, mfc="white",
                            color=color, capsize=2, label=f"simulation, {noise_class}")
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
        plt.close(fig)
        paths.append(path)
    return paths


def plot_fdt(keep: dict, output: str, quick: bool) -> str:
    """chi(t, tw) against C(t, tw) at tw = TW_FIT for the UNSAT points (bernoulli), with the
    fitted window; DMFT lines, simulation points."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for ax, scan in zip(axes, ("sgd_b", "psgd_tau")):
        pts = sorted({(k[4], k[5]) for k in keep if k[0] == "unsat" and k[1] == scan})
        for i, (b, tau) in enumerate(pts):
            color = f"C{i}"
            lab = f"b={b:g}" if scan == "sgd_b" else f"τ={tau:g}"
            for kind in ("dmft", "simulation"):
                r = keep.get(("unsat", scan, kind, "bernoulli", b, tau))
                if r is None:
                    continue
                k = r.tw_row(TW_FIT)
                m = np.isfinite(r.C[k])
                if kind == "dmft":
                    ax.plot(r.C[k][m], r.chi[k][m], "-", color=color, lw=1.2, label=f"{lab} DMFT")
                else:
                    s = slice(None, None, 4)
                    ax.plot(r.C[k][m][s], r.chi[k][m][s], "o", ms=3, mfc="white", color=color,
                            label=f"{lab} sim")
        ax.set_xlabel(f"C(t, tw = {TW_FIT:g})")
        ax.set_ylabel(f"χ(t, tw = {TW_FIT:g})")
        ax.invert_xaxis()
        ax.legend(fontsize=7, ncol=2)
        ax.set_title(("sgd" if scan == "sgd_b" else "psgd, b = 0.5")
                     + f": t in [{TW_FIT:g}, {TW_FIT + WINDOW:g}] (the fit window)", fontsize=10)
    fig.suptitle("FDT plots, UNSAT α = 3, bernoulli noise; slope = −1/T_eff", fontsize=10)
    fig.tight_layout()
    path = os.path.join(output, "fdt_examples.png")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_distance_time(keep: dict, output: str, quick: bool) -> str:
    """d(t) in the SAT phase (bernoulli): DMFT lines, simulation points."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for ax, scan in zip(axes, ("sgd_b", "psgd_tau")):
        pts = sorted({(k[4], k[5]) for k in keep if k[0] == "sat" and k[1] == scan})
        for i, (b, tau) in enumerate(pts):
            color = f"C{i}"
            lab = f"b={b:g}" if scan == "sgd_b" else f"τ={tau:g}"
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
    plt.close(fig)
    return path


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default="docs/study")
    parser.add_argument("--quick", action="store_true", help="small sizes (a few minutes)")
    args = parser.parse_args(argv)
    run(args.output, quick=args.quick)


if __name__ == "__main__":
    main()
