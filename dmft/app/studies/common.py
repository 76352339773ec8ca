"""What the task-runner studies share: their CSV tables and their command line."""

from __future__ import annotations

import argparse
import csv
import io
import logging
import os
from typing import Callable

import numpy as np

from ...core.outputs import write_atomic
from ..runner import run_tasks


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


def wls(x, y, e, degree: int = 1) -> tuple:
    """Weighted least-squares polynomial ``y = sum_k c_k x^k`` (``k <= degree``) with errors ``e``:
    (coefficients, covariance).  With ``degree + 1`` points it goes through them and the covariance
    propagates their errors."""
    A = np.stack([x ** k for k in range(degree + 1)], axis=1) / e[:, None]
    cov = np.linalg.inv(A.T @ A)
    return cov @ (A.T @ (y / e)), cov


def study_main(run: Callable, doc: str, default_output: str, parts: tuple, argv=None) -> None:
    """The command line of a study: ``-o``, ``--quick``, ``--workers``, ``--parts`` (a subset of
    ``parts``) and ``--no-compute``, then ``run(output, quick=, workers=, parts=, compute=)``."""
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
    run(args.output, quick=args.quick, workers=args.workers, parts=chosen, compute=not args.no_compute)


def run_into(output: str, tasks: list, workers=None, compute: bool = True) -> str:
    """Create ``output``, run the unfinished ``tasks`` into its ``runs`` folder (unless
    ``compute`` is false) and return that folder, where every run is cached by its hash."""
    os.makedirs(output, exist_ok=True)
    cache = os.path.join(output, "runs")
    if compute:
        run_tasks(tasks, cache, workers=workers)
    return cache
