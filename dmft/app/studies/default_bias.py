"""The default method's ``n_paths -> infinity`` extrapolation, checked (issue 22, item 1).

Since 2026-12-07 the default :class:`~dmft.core.methods.DMFTMethod` extrapolates every averaged
observable linearly in ``1/n_paths`` from its ``n_paths`` and an automatic companion count
(:meth:`~dmft.core.methods.DMFTMethod.companion`: 1250 paths at the canonical point's 1250 steps,
1024 at the slow point's 500), so its errors carry the finite-path bias.  This study solves the two
points of :mod:`dmft.app.studies.paths_bias` with the default method, at seeds of their own (the
paths-bias runs' replicates are not reused: the comparison is between independent runs), and
compares every number with what that study measured (its table ``paths_bias.csv``, read back):

* the extrapolated value against the fitted ``v_inf`` of five path counts, in combined errors;
* the default's error against the statistical error of the plain 16384 x 4 (the fit table's
  ``default_stat_error``): how much the extrapolation widens the error bars;
* the correction (value at ``n_paths`` minus the extrapolated one, ``<name>_paths_bias`` and, for
  ``T_static`` and ``T_short``, :func:`~dmft.core.extrapolation.paths_corrections`) against that
  statistical error: the issue asks the default to keep it below.

Run (after ``paths_bias``, whose table it reads)::

    python -m dmft.app.studies.default_bias -o docs/paths-bias [--parts canonical,slow] [--workers 1]

Tables ``default_bias.csv`` and ``default_bias.md`` in the output folder; rows of parts not run
are kept.
"""

from __future__ import annotations

import os

from ...analysis import fit_teff
from ...core.extrapolation import BIAS_SUFFIX, paths_corrections
from ...core.methods import DMFTMethod
from ...core.outputs import write_atomic
from .common import combined_z, finished, kept_rows, number, pm, run_into, study_main, write_csv
from .paths_bias import numbers, point
from ..runner import Task

#: the points checked: the two of ``docs/paths-bias`` (the SAT point's fit is in ``docs/paths-bias-sat``)
PARTS = ("canonical", "slow")
#: the default runs use the paths-bias points' seeds plus this (independent replicates)
SEED_OFFSET = 10
#: the one-time or two-time dataset of each number's correction (the T_eff ones come from the fit)
DATASETS = {"energy": "energy", "1-C": "C", "chi": "chi"}


def tasks(parts, quick: bool) -> list:
    method = DMFTMethod(n_paths=256) if quick else DMFTMethod()
    out = []
    for name in parts:
        p = point(name, quick)
        out.append(Task(p.replace(seed=p.seed + SEED_OFFSET), method, f"{name} default"))
    return out


def corrections(name: str, result) -> dict:
    """name -> the correction (value at ``n_paths`` minus the extrapolated value) of each number."""
    out = {}
    for q, dataset in DATASETS.items():
        if dataset + BIAS_SUFFIX in result.extra:
            value = result.extra[dataset + BIAS_SUFFIX]
            out[q] = float(value[-1] if value.ndim == 1 else value[0, -1]) * (-1 if q == "1-C" else 1)
    if name == "canonical":
        def teff(res):
            est = fit_teff(res, warn=False)
            return {"T_static": est.T_static, "T_short": est.T_short}
        out.update(paths_corrections(result, teff))
    return out


def run(output: str, quick: bool = False, workers=None, parts=PARTS, compute: bool = True) -> dict:
    todo = tasks(parts, quick)
    cache = run_into(output, todo, workers=workers, compute=compute)
    fits = {(r["point"], r["quantity"]): r for r in kept_rows(os.path.join(output, "paths_bias.csv"),
                                                                lambda r: False)}
    rows = kept_rows(os.path.join(output, "default_bias.csv"), lambda r: r["point"] in parts)
    for task, result in finished(cache, todo):
        name = task.label.split()[0]
        fixes = corrections(name, result)
        for q, (value, error) in numbers(name, result).items():
            fit = fits.get((name, q), {})
            stat = number(fit.get("default_stat_error"))
            rows.append({"point": name, "quantity": q, "n_paths": result.method.n_paths,
                         "companion_paths": result.meta.get("companion_paths", 0), "replicates": result.errors.count,
                         "value": value, "error": error, "correction": fixes.get(q, float("nan")),
                         "plain_stat_error": stat, "error_ratio": error / stat,
                         "correction_over_stat": abs(fixes.get(q, float("nan"))) / stat,
                         "v_inf_fit": number(fit.get("v_inf")), "v_inf_fit_err": number(fit.get("v_inf_err")),
                         "z_vs_fit": combined_z(value, error, number(fit.get("v_inf")), number(fit.get("v_inf_err"))),
                         "wall_s": float(result.meta.get("wall_time_s", float("nan")))})
    order = {name: i for i, name in enumerate(PARTS)}
    rows.sort(key=lambda r: order.get(r["point"], len(order)))
    write_csv(rows, os.path.join(output, "default_bias.csv"))
    if rows:     # every row, the kept ones too
        write_atomic(os.path.join(output, "default_bias.md"), ("\n".join(_table(rows)) + "\n").encode())
    return {"rows": rows}


def _table(rows) -> list:
    lines = ["| point | number | default (extrapolated) | companion | vs v_inf of the fit | error / plain error "
             "| correction | correction / plain error |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['point']} | {r['quantity']} | {pm(r['value'], r['error'], 6)} | "
                     f"{r['companion_paths']} x {r['replicates']} | {r['z_vs_fit']:+.2f} | {r['error_ratio']:.2f} | "
                     f"{r['correction']:+.2g} | {r['correction_over_stat']:.2f} |")
    return lines


def main(argv=None) -> None:
    study_main(run, __doc__, "docs/paths-bias", PARTS, argv)


if __name__ == "__main__":
    main()
