"""Reproduction study: the effective noise of SGD measured two ways, in theory and simulation.

1. UNSAT phase (alpha = 3 > alpha_J = 2, delta = 0): the fluctuation-dissipation temperature
   T_eff (slope of chi(t, tw) against C(t, tw), :func:`analysis.teff.fit_teff`) of ``sgd`` as a
   function of the batch fraction ``b``, and of ``psgd`` as a function of the persistence
   time ``tau`` at fixed ``b``.
2. SAT phase (alpha = 1 < alpha_J, delta = 0): the long-time replica distance
   d = 1 - C12(t_max, t_max) of two replicas with the same data and initialisation and
   independent selection noise, against the same parameters.
3. Noise classes: the same scans with ``noise_class = gaussian`` (equal mean and two-time
   covariance, other higher cumulants) against ``bernoulli``.

DMFT values are lines, simulations points with error bars.  Run::

    python -m analysis.study_effective_noise -o docs/study [--quick]

It writes the figures, ``results.csv`` and prints a table; the note ``docs/effective-noise.md``
discusses a run of it.
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


def settings(quick: bool) -> dict:
    if quick:
        return dict(dt=0.1, t_max=40.0, tw=(20.0,), n_paths=2048, n=500, n_samples=2, replicas=2)
    return dict(dt=0.1, t_max=100.0, tw=(50.0,), n_paths=8192, n=2000, n_samples=4, replicas=2)


def scans(quick: bool) -> dict:
    bs = (0.2, 0.4, 0.6, 0.8) if quick else (0.1, 0.2, 0.3, 0.5, 0.7, 0.9)
    taus = (0.5, 2.0) if quick else (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
    return {
        "sgd_b": [dict(dynamics="sgd", b=b) for b in bs],
        "psgd_tau": [dict(dynamics="psgd", b=0.5, tau=tau) for tau in taus],
    }


def measure(params: Params, kind: str) -> dict:
    """T_eff (with error) and final replica distance (with sem) of one run."""
    from analysis.teff import fit_teff

    if kind == "dmft":
        from dmft import solve

        r = solve(params)
    else:
        from simulations import simulate

        r = simulate(params)
    out = {"status": r.status, "T_eff": math.nan, "T_eff_err": math.nan,
           "distance": math.nan, "distance_err": math.nan, "energy": float(r.energy[-1])}
    if r.status != "ok":
        return out
    try:
        fit = fit_teff(r)
        out["T_eff"], out["T_eff_err"] = fit.T_eff, fit.T_eff_err
    except ValueError:
        pass
    if r.distance is not None:
        out["distance"] = float(r.distance[-1])
        if "distance" in r.sem:
            out["distance_err"] = float(r.sem["distance"][-1])
    return out


def run(output: str, quick: bool = False) -> list:
    os.makedirs(output, exist_ok=True)
    base = settings(quick)
    rows = []
    for phase_name, phase in (("unsat", UNSAT), ("sat", SAT)):
        for scan_name, points in scans(quick).items():
            for point in points:
                for noise_class in ("bernoulli", "gaussian"):
                    params = Params(**{**base, **phase, **point, "noise_class": noise_class})
                    for kind in ("dmft", "simulation"):
                        start = time.perf_counter()
                        m = measure(params, kind)
                        row = {"phase": phase_name, "scan": scan_name, "kind": kind,
                               "noise_class": noise_class, "b": params.b,
                               "tau": params.tau if params.dynamics == "psgd" else math.nan,
                               **m, "seconds": time.perf_counter() - start}
                        rows.append(row)
                        print(", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                        for k, v in row.items()), flush=True)
    with open(os.path.join(output, "results.csv"), "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    plot(rows, output, base)
    return rows


def plot(rows: list, output: str, base: dict) -> list:
    """Two figures: T_eff (UNSAT) and replica distance (SAT), against b and against tau."""
    paths = []
    for phase, quantity, label in (("unsat", "T_eff", "effective temperature T_eff"),
                                   ("sat", "distance", "replica distance d(t_max)")):
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.3))
        for ax, (scan, xkey, xlabel) in zip(axes, (("sgd_b", "b", "batch fraction b (sgd)"),
                                                   ("psgd_tau", "tau", "persistence time τ (psgd, b = 0.5)"))):
            for noise_class, color in (("bernoulli", "C0"), ("gaussian", "C3")):
                sel = [r for r in rows if r["phase"] == phase and r["scan"] == scan and r["noise_class"] == noise_class]
                th = sorted((r for r in sel if r["kind"] == "dmft"), key=lambda r: r[xkey])
                sm = sorted((r for r in sel if r["kind"] == "simulation"), key=lambda r: r[xkey])
                ax.plot([r[xkey] for r in th], [r[quantity] for r in th], "-", color=color,
                        label=f"DMFT, {noise_class}")
                ax.errorbar([r[xkey] for r in sm], [r[quantity] for r in sm],
                            yerr=[r[quantity + "_err"] for r in sm], fmt="o", mfc="white", color=color,
                            capsize=2, label=f"simulation, {noise_class}")
            ax.set_xlabel(xlabel)
            ax.set_ylabel(label)
            if scan == "psgd_tau":
                ax.set_xscale("log")
            if quantity == "distance":
                ax.set_yscale("log")
            ax.legend(fontsize=8)
        alpha = UNSAT["alpha"] if phase == "unsat" else SAT["alpha"]
        fig.suptitle(f"{label}, α = {alpha:g}, Δ = 0, dt = {base['dt']:g}, t_max = {base['t_max']:g}"
                     f" (simulations N = {base['n']}, {base['n_samples']} samples)")
        fig.tight_layout()
        path = os.path.join(output, f"{phase}_{quantity}.png")
        fig.savefig(path, dpi=130)
        plt.close(fig)
        paths.append(path)
    return paths


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default="docs/study")
    parser.add_argument("--quick", action="store_true", help="small sizes (minutes)")
    args = parser.parse_args(argv)
    run(args.output, quick=args.quick)


if __name__ == "__main__":
    main()
