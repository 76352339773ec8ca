"""Where a benchmark writes what it measured, so that the documentation quotes it with its date.

``python benchmarks/bench_*.py --record`` writes ``benchmarks/results/<name>.json``: the rows
measured, the date, the git commit (``-dirty`` when the tree had changes), the cores and the
load average when the benchmark started.  ``python -m dmft.app.reference --parts docs`` puts
the numbers into the README and the docs, and ``tests/test_reference_data.py`` checks that the
quoted numbers are those of the records.
"""

from __future__ import annotations

import json
import os

from dmft.core.outputs import write_atomic
from dmft.core.provenance import git_commit, utc_now

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def conditions() -> dict:
    """Date, commit, cores and the 1-minute load average, taken when the benchmark starts."""
    return {"date": utc_now()[:10], "commit": git_commit(), "cores": os.cpu_count(), "load": os.getloadavg()[0]}


def record(name: str, start: dict, rows: list, **summary) -> str:
    """Write ``benchmarks/results/<name>.json`` (conditions at the ``start``, the ``rows``, any
    ``summary`` values); returns its path."""
    data = {**start, "rows": rows, **summary}
    return write_atomic(os.path.join(RESULTS, f"{name}.json"), (json.dumps(data, indent=1) + "\n").encode())
