"""What the task-runner studies share: their CSV tables and their command line."""

from __future__ import annotations

import argparse
import csv
import io
import logging
import math
import os
from typing import Callable

import numpy as np

from ...core.outputs import write_atomic
from ..ledger import LedgerError
from ..runner import load_task, run_tasks

#: the DMFT settings of the studies whose runs were made before the automatic defaults (one path
#: count: no ``n_paths`` extrapolation; the full memory at every horizon): their point hashes,
#: caches and tables stay those of the runs they were made with
PINNED_DMFT = {"extrapolation_paths": 0, "memory_window": 0}


def write_csv(rows: list, path: str) -> None:
    """``rows`` (dicts; the columns are every key, in order of first appearance) as a CSV file,
    floats with 6 significant digits, written atomically; nothing for no rows."""
    if not rows:
        return
    names = list(dict.fromkeys(k for r in rows for k in r))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=names, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    write_atomic(path, buf.getvalue().encode())


def number(text) -> float:
    """A table cell or a measure as a float: NaN where there is none (``None``, an empty or a
    non-numeric cell)."""
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def _cell(text: str):
    """A CSV cell read back: an int or a float where it is one, else the text."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def kept_rows(path: str, replaced: Callable) -> list:
    """The rows of the CSV file at ``path`` (none if there is no file), read back as numbers (an
    empty cell is a column the row did not have: ``csv.DictWriter``'s restval), except those that
    ``replaced(row)`` claims: a run of some parts of a study keeps what the others wrote."""
    if not os.path.exists(path):
        return []
    with open(path, newline="") as fh:
        rows = [{k: _cell(v) for k, v in r.items() if v != ""} for r in csv.DictReader(fh)]
    return [r for r in rows if not replaced(r)]


def _sections(text: str) -> list:
    """``(heading, lines)`` of a markdown text cut at its ``## `` headings (the heading ``""`` for
    what comes before the first)."""
    out = [("", [])]
    for line in text.splitlines():
        if line.startswith("## "):
            out.append((line, []))
        out[-1][1].append(line)
    return [(h, lines) for h, lines in out if h or any(x.strip() for x in lines)]


def merge_sections(old: str, new: str) -> str:
    """``old`` with each ``## `` section that ``new`` also has replaced by ``new``'s, and
    ``new``'s other sections appended: the tables of a study re-run for some of its parts
    (``--parts``) keep those of the other parts."""
    fresh = dict(_sections(new))
    kept = [(h, fresh.pop(h, lines)) for h, lines in _sections(old)]
    blocks = ["\n".join(lines).strip("\n") for _, lines in kept + list(fresh.items())]
    return "\n\n".join(b for b in blocks if b) + "\n"


def write_tables(path: str, text: str, partial: bool) -> None:
    """Write a study's markdown tables atomically; ``partial`` (only some parts were run): merged
    into the file's sections (:func:`merge_sections`) instead of replacing them."""
    if partial and os.path.exists(path):
        with open(path, encoding="utf-8") as fh:
            text = merge_sections(fh.read(), text)
    write_atomic(path, text.encode())


def wls(x, y, e, degree: int = 1) -> tuple:
    """Weighted least-squares polynomial ``y = sum_k c_k x^k`` (``k <= degree``) with errors ``e``:
    (coefficients, covariance).  With ``degree + 1`` points it goes through them and the covariance
    propagates their errors."""
    A = np.stack([x ** k for k in range(degree + 1)], axis=1) / e[:, None]
    cov = np.linalg.inv(A.T @ A)
    return cov @ (A.T @ (y / e)), cov


def pm(value: float, error: float, digits: int = 5) -> str:
    """``value ± error`` for a table (``n/a`` without a value)."""
    return f"{value:.{digits}g} ± {error:.2g}" if math.isfinite(value) else "n/a"


def mean_err(values) -> tuple:
    """(mean, standard error of the mean) over independent repetitions (seeds, replicates); the
    mean NaN without values, the error NaN with fewer than two."""
    x = np.asarray(values, dtype=float)
    mean = float(x.mean()) if len(x) else math.nan
    return mean, (float(x.std(ddof=1) / math.sqrt(len(x))) if len(x) > 1 else math.nan)


def combined_z(a: float, ea: float, b: float, eb: float) -> float:
    """``(a - b)`` in combined standard errors ``sqrt(ea^2 + eb^2)``; NaN when a value or an error
    is missing or the combined error is zero."""
    e = math.hypot(ea, eb)
    return (a - b) / e if all(map(math.isfinite, (a, b, e))) and e > 0 else math.nan


def fit_line(n: np.ndarray, v: np.ndarray, e: np.ndarray) -> dict:
    """``v = v_inf + beta / n`` by weighted least squares (``n`` a path count or a dimension N):
    v_inf, beta, their errors, chi^2 per degree of freedom and the number of points used."""
    ok = np.isfinite(v) & np.isfinite(e) & (e > 0)
    n, v, e = n[ok], v[ok], e[ok]
    if len(n) < 2:
        return {"v_inf": math.nan, "v_inf_err": math.nan, "beta": math.nan, "beta_err": math.nan,
                "chi2_dof": math.nan, "counts": int(len(n))}
    coef, cov = wls(1.0 / n, v, e)
    resid = (v - coef[0] - coef[1] / n) / e
    dof = len(n) - 2
    return {"v_inf": float(coef[0]), "v_inf_err": float(math.sqrt(cov[0, 0])), "beta": float(coef[1]),
            "beta_err": float(math.sqrt(cov[1, 1])), "chi2_dof": float(resid @ resid / dof) if dof else math.nan,
            "counts": int(len(n))}


def predict_finest(dt, v, e) -> dict:
    """The ``dt -> 0`` extrapolation, checked: a straight line in ``dt`` (weighted least squares)
    through every ``dt`` but the finest predicts the finest, which is compared with the value
    measured there (``check_sigma``, in combined errors); the line through all ``dt`` gives the
    reported ``dt0`` with its error and ``slope``.  ``dt`` in any order, at least 3 values."""
    order = np.argsort(-np.asarray(dt, float))
    dt, v, e = (np.asarray(a, float)[order] for a in (dt, v, e))
    coarse = slice(0, len(dt) - 1)
    fit_c, cov_c = wls(dt[coarse], v[coarse], e[coarse])
    pred = fit_c[0] + fit_c[1] * dt[-1]
    pred_err = math.sqrt(cov_c[0, 0] + dt[-1] ** 2 * cov_c[1, 1] + 2 * dt[-1] * cov_c[0, 1])
    fit_a, cov_a = wls(dt, v, e)
    return {"dts": " ".join(f"{x:g}" for x in dt), "finest_dt": float(dt[-1]), "finest": float(v[-1]),
            "finest_err": float(e[-1]), "predicted_at_finest": float(pred), "predicted_err": pred_err,
            "check_sigma": float((v[-1] - pred) / math.hypot(e[-1], pred_err)),
            "dt0": float(fit_a[0]), "dt0_err": float(math.sqrt(cov_a[0, 0])), "slope": float(fit_a[1])}


def study_main(run: Callable, doc: str, default_output: str, parts: tuple, argv=None) -> None:
    """The command line of a study: ``-o``, ``--quick``, ``--workers``, ``--parts`` (a subset of
    ``parts``) and ``--no-compute``, then ``run(output, quick=, workers=, parts=, compute=)``; a
    :class:`~dmft.app.ledger.LedgerError` of ``run`` is one line on stderr and exit status 2."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("-o", "--output", default=default_output)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke test)")
    parser.add_argument("--workers", type=int, default=None, help="local worker processes (default: cores)")
    parser.add_argument("--parts", default=",".join(parts), help=f"comma-separated subset of {','.join(parts)}")
    parser.add_argument("--no-compute", action="store_true", help="only tables and figures from finished runs")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")  # progress lines of the runs
    chosen = tuple(p for p in args.parts.split(",") if p)
    unknown = set(chosen) - set(parts)
    if unknown:
        parser.error(f"unknown part(s): {', '.join(sorted(unknown))}")
    try:
        run(args.output, quick=args.quick, workers=args.workers, parts=chosen, compute=not args.no_compute)
    except LedgerError as err:      # a file in the study's ledger that the ledger did not write
        parser.exit(2, f"{parser.prog}: error: {err}\n")


def finished(cache: str, tasks: list):
    """``(task, result)`` for every task of ``tasks`` whose result file is in ``cache``, in order."""
    for task in tasks:
        if os.path.exists(os.path.join(cache, task.filename)):
            yield task, load_task(cache, task)


def run_into(output: str, tasks: list, workers=None, compute: bool = True) -> str:
    """Create ``output``, run the unfinished ``tasks`` into its ``runs`` folder (unless
    ``compute`` is false) and return that folder, where every run is cached by its hash."""
    os.makedirs(output, exist_ok=True)
    cache = os.path.join(output, "runs")
    if compute:
        run_tasks(tasks, cache, workers=workers)
    return cache
