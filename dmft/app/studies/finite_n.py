"""The simulations' finite-N error against the DMFT, at matched horizon and waiting times.

``dmft measure`` at ``alpha = 4, delta = 0.5``, sgd ``b = 0.3`` found the DMFT's ``T_short`` 2.2%
below the simulations' (N = 2000, 4 systems) at "4.15 combined errors", and below them at 9 of 10
points of the effective-noise study; the question was whether the simulations' finite N is the
cause.  This study runs that point at one horizon (``t_max = 180``, the 4 waiting times of ``dmft
measure`` over ``[0.35, 0.55] t_max``) with simulations at N = 500 .. 4000 (:data:`SIMULATIONS`,
systems chosen for errors of about 1%) and the DMFT at the same waiting times (:data:`DMFT`), and
for ``T_short``, ``T_static``, ``T_slow`` and the final energy

* tabulates every run (value, jackknife error, the difference from the DMFT in combined errors);
* fits ``v = v_inf + c / N`` over the simulations (weighted least squares; ``chi^2`` per degree
  of freedom says whether the line holds) and compares ``v_inf`` with the DMFT;
* pools the simulations (weighted mean, the number with no N dependence assumed) and compares it
  with the DMFT.

Every run is cached by its hash under ``<output>/runs``.  Run::

    python -m dmft.app.studies.finite_n -o docs/finite-n [--workers 1]
"""

from __future__ import annotations

import math
import os

import numpy as np

from ...analysis import fit_teff
from ...core.methods import DMFTMethod, ParticleMethod
from ...core.outputs import write_atomic
from ...core.params import Params
from ..measure import MeasureSettings, waiting_times
from ..runner import Task, load_task
from .common import PINNED_DMFT, combined_z, fit_line, pm, run_into, study_main, write_csv

PARTS = ("unsat",)
POINT = dict(alpha=4.0, delta=0.5, dynamics="sgd", b=0.3, dt=0.1, t_max=180.0)
QUICK_POINT = dict(POINT, t_max=8.0)
#: (N, systems, seed) of the simulations: systems for errors of about 1% on T_short
SIMULATIONS = ((500, 16, 11), (1000, 8, 12), (2000, 8, 13), (2000, 8, 15), (4000, 4, 14))
QUICK_SIMULATIONS = ((40, 4, 11), (80, 4, 12))
#: (paths, replicates, seed) of the DMFT
DMFT = (8192, 8, 21)
QUICK_DMFT = (256, 4, 21)
NUMBERS = ("T_short", "T_static", "T_slow", "energy")


def point(quick: bool, seed: int) -> Params:
    """The point with the waiting times of ``dmft measure`` at its horizon (4, as for simulations)."""
    base = QUICK_POINT if quick else POINT
    window = MeasureSettings("teff").window
    return Params(**base, seed=seed, tw=waiting_times(base["t_max"], base["dt"], window, 4))


def tasks(quick: bool) -> list:
    paths, replicates, seed = QUICK_DMFT if quick else DMFT
    out = [Task(point(quick, seed), DMFTMethod(n_paths=paths, replicates=replicates, **PINNED_DMFT), f"dmft {paths}x{replicates}")]
    for n, systems, seed in QUICK_SIMULATIONS if quick else SIMULATIONS:
        out.append(Task(point(quick, seed), ParticleMethod(n=n, n_samples=systems), f"N={n}x{systems} seed={seed}"))
    return out


def numbers(result) -> dict:
    """name -> (value, error) of :data:`NUMBERS` in ``result``."""
    est = fit_teff(result, warn=False)
    return {"T_short": (est.T_short, est.T_short_err), "T_static": (est.T_static, est.T_static_err),
            "T_slow": (est.T_slow, est.T_slow_err),
            "energy": (float(result.energy[-1]), float(result.sem["energy"][-1]))}


def in_n(rows: list) -> dict:
    """``v = v_inf + c / N`` over the simulation rows (:func:`~.common.fit_line`), and their weighted
    mean (no N dependence assumed) with its error and ``chi^2`` per degree of freedom."""
    n = np.array([r["N"] for r in rows], float)
    v = np.array([r["value"] for r in rows])
    e = np.array([r["error"] for r in rows])
    ok = np.isfinite(v) & np.isfinite(e) & (e > 0)
    n, v, e = n[ok], v[ok], e[ok]
    out = {"runs": int(len(n))}
    if len(n) >= 1:
        w = 1.0 / e ** 2
        mean = float(np.sum(w * v) / np.sum(w))
        out.update(pooled=mean, pooled_err=float(1.0 / math.sqrt(np.sum(w))),
                   pooled_chi2_dof=float(np.sum(w * (v - mean) ** 2) / (len(n) - 1)) if len(n) > 1 else math.nan)
    if len(set(n)) >= 2:
        fit = fit_line(n, v, e)
        out.update(v_inf=fit["v_inf"], v_inf_err=fit["v_inf_err"], c=fit["beta"], c_err=fit["beta_err"],
                   chi2_dof=fit["chi2_dof"])
    return out


def run(output: str, quick: bool = False, workers=None, parts=PARTS, compute: bool = True) -> dict:
    todo = tasks(quick)
    cache = run_into(output, todo, workers=workers, compute=compute)
    done = [t for t in todo if os.path.exists(os.path.join(cache, t.filename))]
    dmft_task = todo[0]
    if dmft_task not in done:
        return {"runs": [], "fits": []}
    theory = numbers(load_task(cache, dmft_task))
    run_rows, fit_rows = [], []
    for name, (v, e) in theory.items():
        run_rows.append({"quantity": name, "method": "dmft", "N": "", "repetitions": dmft_task.method.replicates,
                         "seed": dmft_task.params.seed, "value": v, "error": e, "z_vs_dmft": ""})
    sims = [t for t in done if t.kind == "simulation"]
    measured = {t: numbers(load_task(cache, t)) for t in sims}
    for name in NUMBERS:
        rows = []
        for t in sims:
            v, e = measured[t][name]
            rows.append({"quantity": name, "method": "simulation", "N": t.method.n, "repetitions": t.method.n_samples,
                         "seed": t.params.seed, "value": v, "error": e, "z_vs_dmft": combined_z(v, e, *theory[name])})
        run_rows += rows
        fit = in_n(rows)
        row = {"quantity": name, "dmft": theory[name][0], "dmft_err": theory[name][1], **fit}
        if "pooled" in fit:
            row["z_pooled_vs_dmft"] = combined_z(fit["pooled"], fit["pooled_err"], *theory[name])
        if "v_inf" in fit:
            row["z_v_inf_vs_dmft"] = combined_z(fit["v_inf"], fit["v_inf_err"], *theory[name])
        fit_rows.append(row)
    write_csv(run_rows, os.path.join(output, "finite_n_runs.csv"))
    write_csv(fit_rows, os.path.join(output, "finite_n.csv"))
    write_atomic(os.path.join(output, "finite_n.md"), ("\n".join(_tables(run_rows, fit_rows)) + "\n").encode())
    return {"runs": run_rows, "fits": fit_rows}


def _tables(run_rows: list, fit_rows: list) -> list:
    lines = ["| quantity | method | N | repetitions | value | vs DMFT (combined errors) |", "|---|---|---|---|---|---|"]
    for r in run_rows:
        zt = f"{r['z_vs_dmft']:+.2f}" if isinstance(r["z_vs_dmft"], float) and math.isfinite(r["z_vs_dmft"]) else ""
        lines.append(f"| {r['quantity']} | {r['method']} | {r['N']} | {r['repetitions']} | "
                     f"{pm(r['value'], r['error'])} | {zt} |")
    lines += ["", "| quantity | DMFT | simulations pooled | chi2/dof | vs DMFT | v_inf (fit in 1/N) | c | "
              "chi2/dof | vs DMFT |", "|---|---|---|---|---|---|---|---|---|"]
    for r in fit_rows:
        def num(key, fmt="+.2f"):
            v = r.get(key, math.nan)
            return format(v, fmt) if math.isfinite(v) else "n/a"
        lines.append(f"| {r['quantity']} | {pm(r['dmft'], r['dmft_err'])} | "
                     f"{pm(r.get('pooled', math.nan), r.get('pooled_err', math.nan))} | {num('pooled_chi2_dof', '.2f')} | "
                     f"{num('z_pooled_vs_dmft')} | {pm(r.get('v_inf', math.nan), r.get('v_inf_err', math.nan))} | "
                     f"{pm(r.get('c', math.nan), r.get('c_err', math.nan))} | {num('chi2_dof', '.2f')} | "
                     f"{num('z_v_inf_vs_dmft')} |")
    return lines


def main(argv=None) -> None:
    study_main(run, __doc__, "docs/finite-n", PARTS, argv)


if __name__ == "__main__":
    main()
