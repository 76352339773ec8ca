"""The finite-``n_paths`` bias of the DMFT, measured against the path count (issue 22, item 1).

Replicates at one path count see the DMFT's sampling noise, not its bias
``E[v_n] - v_inf = beta / n + O(1/n^2)`` (:mod:`dmft.core.extrapolation`).  This study solves two
points at several path counts (:data:`COUNTS`, 1024 to 65536, replicates chosen so that every count
costs about the same or more at the large counts), and for every number the package reports there

* tabulates the mean and standard error at each count (``paths_bias_runs.csv``);
* fits ``v = v_inf + beta / n`` by weighted least squares over the counts (chi^2 per degree of
  freedom says whether the line holds) and states the bias at the default 16384 paths,
  ``beta / 16384``, against the statistical error of the default (4 replicates of 16384:
  the standard error at 16384 scaled to 4 replicates) (``paths_bias.csv``);
* checks the extrapolation of :class:`~dmft.core.methods.DMFTMethod` ``extrapolation_paths``
  (16384 and 4096 paths) against the fitted ``v_inf`` and the 65536-path mean, in combined errors
  (both tables also in ``paths_bias.md``).

Points (:data:`POINTS`): the canonical UNSAT ``T_eff`` point (``alpha = 4, delta = 0.5``, sgd
``b = 0.5``, ``t_max = 125``, the waiting-time window of ``dmft measure``: ``T_static``,
``T_short``, the final energy) and the slow marginal point (``alpha = 3, delta = 0``, ``t_max = 50``,
``tw = 40``: the final energy, ``1 - C(50, 40)``, ``chi(50, 40)``), the two points where the docs
reported a bias of 1-4% (docs/precision.md section 4, docs/precision-defaults.md); and the
canonical SAT point (``alpha = 0.5, delta = 0.5``, sgd ``b = 0.5``, two replicas, ``t_max = 40``:
``d_inf``, the mean of ``d`` over the plateau window of :func:`~dmft.analysis.long_time_distance`,
and ``d(40)``), where the noise-curves study read its 8192-path DMFT about 4% below the
simulations (docs/effective-noise.md).  Every solve is cached by its hash under
``<output>/runs``.  Run::

    python -m dmft.app.studies.paths_bias -o docs/paths-bias [--parts canonical,slow] [--workers 1]
    python -m dmft.app.studies.paths_bias -o docs/paths-bias-sat --parts sat [--workers 1]
"""

from __future__ import annotations

import math
import os

import numpy as np

from ...analysis import fit_teff, long_time_distance
from ...core.extrapolation import extrapolate_paths
from ...core.methods import DMFTMethod
from ...core.outputs import write_atomic
from ...core.params import Params
from ..measure import MeasureSettings, point_at
from ..runner import Task
from .common import PINNED_DMFT, finished, fit_line, pm, run_into, study_main, write_csv

PARTS = ("canonical", "slow", "sat")
#: the default path count, and the replicates of the default, whose statistical error the bias is compared with
DEFAULT_PATHS, DEFAULT_REPLICATES = 16384, 4
#: path count -> replicates (about equal cost per count below the default, more above)
COUNTS = {1024: 32, 4096: 16, 8192: 8, 16384: 8, 65536: 4}
QUICK_COUNTS = {64: 4, 128: 4, 256: 2}
#: the pair of counts of the extrapolation check (``extrapolation_paths``)
PAIR = (16384, 4096)
QUICK_PAIR = (256, 64)
POINTS = {
    "canonical": dict(alpha=4.0, delta=0.5, dynamics="sgd", b=0.5, dt=0.1, t_max=125.0, seed=11),
    "slow": dict(alpha=3.0, delta=0.0, dynamics="sgd", b=0.5, dt=0.1, t_max=50.0, tw=(40.0,), seed=12),
    "sat": dict(alpha=0.5, delta=0.5, dynamics="sgd", b=0.5, dt=0.1, t_max=40.0, replicas=2, seed=13),
}
QUICK_T = {"canonical": 20.0, "slow": 10.0, "sat": 10.0}


def point(name: str, quick: bool) -> Params:
    """The point ``name`` (the canonical one with the waiting-time window of ``dmft measure``)."""
    p = dict(POINTS[name])
    if quick:
        p["t_max"] = QUICK_T[name]
        if "tw" in p:
            p["tw"] = (0.8 * p["t_max"],)
    params = Params(**p)
    if name == "canonical":
        params = point_at(params, params.t_max, MeasureSettings("teff").resolved("dmft"), ())
    return params


def tasks(parts, quick: bool) -> list:
    counts = QUICK_COUNTS if quick else COUNTS
    return [Task(point(name, quick), DMFTMethod(n_paths=n, replicates=r, **PINNED_DMFT), f"{name} n_paths={n}")
            for name in parts for n, r in counts.items()]


def numbers(name: str, result) -> dict:
    """name -> (value, error) of the point's reported numbers in ``result``."""
    if name == "sat":
        # the energy has vanished (SAT): the numbers are the replica distance's
        est = long_time_distance(result, warn=False)
        return {"d_inf": (est.d_window, est.d_window_err),
                "d(t_max)": (float(result.distance[-1]), float(result.sem["distance"][-1]))}
    out = {"energy": (float(result.energy[-1]), float(result.sem["energy"][-1]))}
    if name == "canonical":
        est = fit_teff(result, warn=False)
        out["T_static"] = (est.T_static, est.T_static_err)
        out["T_short"] = (est.T_short, est.T_short_err)
    else:
        out["1-C"] = (1.0 - float(result.C[0, -1]), float(result.sem["C"][0, -1]))
        out["chi"] = (float(result.chi[0, -1]), float(result.sem["chi"][0, -1]))
    return out


def run(output: str, quick: bool = False, workers=None, parts=PARTS, compute: bool = True) -> dict:
    todo = tasks(parts, quick)
    cache = run_into(output, todo, workers=workers, compute=compute)
    results = {(task.label.split()[0], task.method.n_paths): result for task, result in finished(cache, todo)}
    run_rows, fit_rows = [], []
    default, pair = (min(QUICK_COUNTS), QUICK_PAIR) if quick else (DEFAULT_PATHS, PAIR)
    for name in parts:
        counts = sorted(n for (p, n) in results if p == name)
        if not counts:
            continue
        per = {n: numbers(name, results[(name, n)]) for n in counts}
        for n in counts:
            for q, (v, e) in per[n].items():
                run_rows.append({"point": name, "quantity": q, "n_paths": n,
                                 "replicates": results[(name, n)].errors.count, "value": v, "error": e})
        extrapolated = None
        if all((name, n) in results for n in pair):
            extrapolated = numbers(name, extrapolate_paths([results[(name, n)] for n in pair]))
        largest = max(counts)
        for q in per[counts[0]]:
            n = np.array(counts, dtype=float)
            v = np.array([per[c][q][0] for c in counts])
            e = np.array([per[c][q][1] for c in counts])
            fit = fit_line(n, v, e)
            bias = fit["beta"] / default
            stat = math.nan
            if default in per:
                stat = per[default][q][1] * math.sqrt(results[(name, default)].errors.count / DEFAULT_REPLICATES)
            row = {"point": name, "quantity": q, **fit, "bias_at_default": bias,
                   "bias_at_default_err": fit["beta_err"] / default, "default_stat_error": stat,
                   "bias_over_stat": abs(bias) / stat if stat > 0 else math.nan}
            if extrapolated is not None:
                xv, xe = extrapolated[q]
                lv, le = per[largest][q]
                row.update({"extrapolated": xv, "extrapolated_err": xe,
                            "z_extrapolated_vs_fit": (xv - fit["v_inf"]) / math.hypot(xe, fit["v_inf_err"]),
                            f"z_extrapolated_vs_n{largest}": (xv - lv) / math.hypot(xe, le)})
            fit_rows.append(row)
    write_csv(run_rows, os.path.join(output, "paths_bias_runs.csv"))
    write_csv(fit_rows, os.path.join(output, "paths_bias.csv"))
    if run_rows:
        write_atomic(os.path.join(output, "paths_bias.md"),
                     ("\n".join(_runs_table(run_rows) + [""] + _fits_table(fit_rows, default, pair)) + "\n").encode())
    return {"runs": run_rows, "fits": fit_rows}


def _runs_table(rows) -> list:
    """Mean ± standard error of every number at every path count, one row per point and count."""
    lines = []
    for name in dict.fromkeys(r["point"] for r in rows):
        mine = [r for r in rows if r["point"] == name]
        quantities = list(dict.fromkeys(r["quantity"] for r in mine))
        lines += [f"| {name}: n_paths | replicates | " + " | ".join(quantities) + " |",
                  "|---|---|" + "---|" * len(quantities)]
        for n in dict.fromkeys(r["n_paths"] for r in mine):
            at = {r["quantity"]: r for r in mine if r["n_paths"] == n}
            lines.append(f"| {n} | {at[quantities[0]]['replicates']} | "
                         + " | ".join(pm(at[q]["value"], at[q]["error"], 6) for q in quantities) + " |")
        lines.append("")
    return lines


def _fits_table(rows, default: int, pair: tuple) -> list:
    """The fit ``v_inf + beta/n`` of every number, its bias at the default count against the
    default's statistical error, and the extrapolation check."""
    lines = [f"| point | number | v_inf (fit) | beta | chi2/dof | bias at {default} paths | statistical error "
             f"of the default | extrapolated ({' and '.join(map(str, pair))}) | vs fit | vs largest count |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        largest = next((k for k in r if k.startswith("z_extrapolated_vs_n")), None)
        lines.append(f"| {r['point']} | {r['quantity']} | {pm(r['v_inf'], r['v_inf_err'], 6)} | "
                     f"{pm(r['beta'], r['beta_err'], 6)} | {r['chi2_dof']:.2f} | "
                     f"{pm(r['bias_at_default'], r['bias_at_default_err'], 6)} | {r['default_stat_error']:.2g} | "
                     + (f"{pm(r['extrapolated'], r['extrapolated_err'], 6)} | {r['z_extrapolated_vs_fit']:+.2f} | "
                        f"{r[largest]:+.2f} |" if largest else "n/a | | |"))
    return lines


def main(argv=None) -> None:
    study_main(run, __doc__, "docs/paths-bias", PARTS, argv)


if __name__ == "__main__":
    main()
