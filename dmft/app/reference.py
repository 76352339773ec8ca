"""The reference data and every number the documentation quotes from it, by one command.

    python -m dmft.app.reference            # everything (see PARTS); about 12 min on 2 cores
    python -m dmft.app.reference --parts docs,notebook   # after a change of the analysis only
    python -m dmft.app.reference --check    # exit 1 if a quoted number differs from its source

Parts, in order:

* ``runs`` -- ``dmft demo`` at its canonical points and sizes (:data:`dmft.app.demo.DEMO_POINTS`,
  :data:`~dmft.app.demo.DEMO_METHODS`) into ``data/canonical/`` (the four result files and
  ``summary.json``).  Run it from a clean git tree, so that the files record a commit that is not
  ``-dirty``.
* ``gallery`` -- the README figures drawn from those files: ``docs/gallery/demo-unsat-compare.png``,
  ``demo-sat-compare.png`` and ``gaps.png``.
* ``docs`` -- every quoted number: the text between ``<!-- quote:KEY -->`` and
  ``<!-- /quote -->`` in :data:`DOCUMENTS` is rewritten from its source (:func:`quotes`): the
  canonical files (``canonical.*``) and the benchmark records in ``benchmarks/results/``
  (``bench.*``, written by ``python benchmarks/bench_*.py --record``).
* ``notebook`` -- ``docs/example.ipynb`` executed and stored with its outputs
  (:func:`execute_notebook`).

``data/canonical/reference.json`` records the SHA-256 of the result files and of the figures
drawn from them, so that ``tests/test_reference_data.py`` can tell that the gallery belongs to the
files; the same test renders every quote and compares it with the documents, and checks that
the files were computed by the current solver (the recorded commit against ``git``).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import math
import logging
import os
import re
import sys
import tempfile
import time

from ..analysis.distance import long_time_distance
from ..analysis.figures import compare_figure, describe, gap_histogram_figure
from ..analysis.teff import fit_teff
from ..core.io import load
from ..core.outputs import write_atomic
from .demo import run_demo

#: the repository root (the package is installed in editable mode from it)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CANONICAL = os.path.join("data", "canonical")
GALLERY = os.path.join("docs", "gallery")
BENCHMARKS = os.path.join("benchmarks", "results")
NOTEBOOK = os.path.join("docs", "example.ipynb")
#: documents whose quotes are rewritten
DOCUMENTS = ("README.md", os.path.join("docs", "effective-temperature.md"), os.path.join("docs", "precision-defaults.md"),
             os.path.join("data", "README.md"), os.path.join("docs", "long-horizons.md"),
             os.path.join("docs", "dmft-derivation.md"))
#: the canonical result files, by point and kind
FILES = {(point, kind): f"{point}-{short}.h5" for point in ("unsat", "sat")
         for kind, short in (("dmft", "dmft"), ("simulation", "sim"))}
#: the figures of the gallery drawn from them
FIGURES = ("demo-unsat-compare.png", "demo-sat-compare.png", "gaps.png")
#: the record of what belongs together
RECORD = "reference.json"
PARTS = ("runs", "gallery", "docs", "notebook")
QUOTE = re.compile(r"<!-- quote:(?P<key>[\w.\-]+) -->(?P<body>.*?)<!-- /quote -->", re.S)

logger = logging.getLogger(__name__)


def _path(*parts) -> str:
    return os.path.join(ROOT, *parts)


def sha256(path: str) -> str:
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


# --------------------------------------------------------------------------- runs and figures
def make_runs(folder: str) -> list:
    """``dmft demo`` at the canonical sizes; its four files and ``summary.json`` copied into
    ``folder`` (regular files of their own).  Returns the paths written."""
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        run_demo(tmp, workers=2)
        for name in list(FILES.values()) + ["summary.json"]:
            with open(os.path.join(tmp, name), "rb") as fh:
                written.append(write_atomic(os.path.join(folder, name), fh.read()))
    return written


def make_gallery(folder: str, gallery: str) -> list:
    """The gallery figures drawn from the canonical files in ``folder``."""
    r = {key: load(os.path.join(folder, name)) for key, name in FILES.items()}
    paths = [compare_figure(r["unsat", "dmft"], r["unsat", "simulation"], os.path.join(gallery, FIGURES[0])),
             compare_figure(r["sat", "dmft"], r["sat", "simulation"], os.path.join(gallery, FIGURES[1]))]
    runs = [(point, r[point, kind]) for point in ("unsat", "sat") for kind in ("dmft", "simulation")]
    panels = {f"{point.upper()}: {describe(r[point, 'dmft'].params)}": [point] for point in ("unsat", "sat")}
    paths.append(gap_histogram_figure(runs, os.path.join(gallery, FIGURES[2]), panels=panels,
                                      title="Final gap distribution at the canonical points (data/canonical)"))
    return paths


def write_record(folder: str, gallery: str) -> str:
    """``reference.json``: the SHA-256 of the canonical files and of the figures drawn from them."""
    record = {"files": {name: sha256(os.path.join(folder, name)) for name in sorted(FILES.values())},
              "figures": {name: sha256(os.path.join(gallery, name)) for name in FIGURES},
              "note": "written by python -m dmft.app.reference; tests/test_reference_data.py checks it"}
    return write_atomic(os.path.join(folder, RECORD), (json.dumps(record, indent=1) + "\n").encode())


# --------------------------------------------------------------------------- quotes
def _pm(value: float, err: float) -> str:
    """``value ± error`` to the error's first digit (3 digits without an error); below 1e-3 as
    ``(1.74 ± 0.06)e-4``."""
    if not (err == err and err > 0):
        return f"{value:.3g}"
    if 0 < abs(value) < 1e-3:
        exponent = int(f"{value:e}".split("e")[1])
        return f"({_pm(value / 10 ** exponent, err / 10 ** exponent)})e{exponent}"
    digits = max(0, -int(f"{err:.0e}".split("e")[1]))   # the decimal of the error's first digit
    return f"{value:.{digits}f} ± {err:.{digits}f}"


def _teff_output(path: str, shown: str) -> str:
    """What ``dmft teff SHOWN`` prints for the file at ``path``, as an indented block."""
    from .cli import main

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(io.StringIO()):
        main(["teff", path])
    text = buffer.getvalue().replace(path, shown)
    return "\n\n" + "\n".join("    " + line for line in text.rstrip("\n").splitlines()) + "\n\n"


def canonical_quotes(folder: str) -> dict:
    """The quotes drawn from the canonical files in ``folder``: ``canonical.<point>.<kind>.<value>``
    (``T_eff``, ``T_short``, ``T_slow`` of the UNSAT point, ``d_inf`` of the SAT point, with their
    errors), ``canonical.<kind>.method``, ``canonical.teff-output`` (the output of
    ``dmft teff data/canonical/unsat-dmft.h5``) and ``canonical.commit``."""
    out = {}
    for (point, kind), name in FILES.items():
        r = load(os.path.join(folder, name))
        out[f"canonical.{kind}.method"] = r.method.describe().split(", ", 1)[1]
        out["canonical.commit"] = str(r.meta.get("git_commit", "unknown"))[:12]
        if point == "unsat":
            est = fit_teff(r, warn=False)
            for value in ("T_eff", "T_short", "T_slow"):
                out[f"canonical.unsat.{kind}.{value}"] = _pm(getattr(est, value), getattr(est, value + "_err"))
            out[f"canonical.unsat.{kind}.window"] = est.plateau
        else:
            d = long_time_distance(r, warn=False)
            out[f"canonical.sat.{kind}.d_inf"] = _pm(d.d_inf, d.d_inf_err)
    shown = os.path.join(CANONICAL, FILES["unsat", "dmft"])
    out["canonical.teff-output"] = _teff_output(os.path.join(folder, FILES["unsat", "dmft"]), shown)
    return out


def _measured(record: dict) -> str:
    return (f"measured {record['date']} at commit {record['commit'][:12]} on {record['cores']} cores shared "
            f"with other work, load average {record['load']:.1f} when it started")


def bench_quotes(folder: str) -> dict:
    """The quotes drawn from the benchmark records in ``folder``: ``bench.teff`` (wall time and peak
    memory of the canonical T_eff point at the default precision), ``bench.solver`` (the solver
    against the number of steps), ``bench.window`` (precision per second of a window of waiting
    times), ``bench.long`` (long horizons with and without a memory window) and
    ``bench.response`` (the block response against the probes), each with the date, commit and
    load of the measurement."""
    out = {}
    path = os.path.join(folder, "bench_teff.json")
    if os.path.exists(path):
        with open(path) as fh:
            rec = json.load(fh)
        row = rec["rows"][0]
        companion = (f", extrapolated with {row['companion_paths']}-path companions"
                     if row.get("companion_paths") else "")
        out["bench.teff"] = (f"{row['solve_s'] + row['fit_s']:.0f} s and {row['peak_rss_mb'] / 1000:.2g} GB "
                             f"({row['n_paths']} paths x {row['replicates']} replicates{companion}; {_measured(rec)})")
    path = os.path.join(folder, "bench_solver.json")
    if os.path.exists(path):
        with open(path) as fh:
            rec = json.load(fh)
        rows = rec["rows"]
        steps = ", ".join(str(r["T"]) for r in rows[:-1]) + f" and {rows[-1]['T']}"
        walls = ", ".join(f"{r['wall_s']:.1f} s" for r in rows[:-1]) + f" and {rows[-1]['wall_s']:.1f} s"
        out["bench.solver"] = (f"T = {steps} steps took {walls} (peak memory {rows[-1]['peak_rss_mb']:.0f} MB "
                               f"at T = {rows[-1]['T']}; fitted exponent T^{rec['exponent']:.2f}; {_measured(rec)})")
    path = os.path.join(folder, "bench_window.json")
    if os.path.exists(path):
        with open(path) as fh:
            rec = json.load(fh)
        window = next(r for r in rec["rows"] if r["window"])
        out["bench.window"] = (
            f"T_eff from a window of {window['n_tw']} waiting times with {window['n_paths']} x "
            f"{window['replicates']} paths reached {100 * rec['window_spread_rel']:.2f}% (spread of "
            f"{sum(r['window'] for r in rec['rows'])} runs; reported {100 * rec['window_reported_rel']:.2f}%) in "
            f"{rec['window_wall_s']:.1f} s, against {rec['today_wall_s']:.1f} s for the default "
            f"{rec['rows'][0]['n_paths']} x {rec['rows'][0]['replicates']} paths at one waiting time in the same "
            f"run ({rec['speedup']:.2f} times faster; {_measured(rec)})")
    path = os.path.join(folder, "bench_long.json")
    if os.path.exists(path):
        with open(path) as fh:
            rec = json.load(fh)
        full = [r for r in rec["rows"] if not r["window"]]
        win = [r for r in rec["rows"] if r["window"]]
        text = (f"at {rec['n_paths']} paths, t_max = " + ", ".join(f"{r['t_max']:g}" for r in full)
                + " took " + ", ".join(f"{r['wall_s']:.0f} s" for r in full)
                + f" with the full memory (T^{rec['exponent_full']:.2f}, peak {full[-1]['peak_rss_mb']:.0f} MB) and "
                + ", ".join(f"{r['wall_s']:.0f} s" for r in win)
                + f" with a window of {rec['window']} steps (T^{rec['exponent_window']:.2f}, peak "
                + f"{win[-1]['peak_rss_mb']:.0f} MB), {rec['ratios'][-1]:.1f} times faster at the longest")
        for r in rec.get("reach", []):
            text += (f"; t_max = {r['t_max']:g} ({r['steps']} steps) at {r['n_paths']} paths took "
                     f"{r['wall_s']:.0f} s and {r['peak_rss_mb'] / 1000:.2g} GB "
                     + (f"with a window of {r['window']} steps" if r["window"] else "with the full memory"))
            if "commit" in r:     # a reach run made apart from the horizons
                text += (f" (measured {r['date']} at commit {r['commit'][:12]}, load average "
                         f"{r['start_load']:.1f} when it started)")
        out["bench.long"] = text + f" ({_measured(rec)})"
    path = os.path.join(folder, "bench_response.json")
    if os.path.exists(path):
        with open(path) as fh:
            rec = json.load(fh)
        out["bench.response"] = response_quote(rec)
    out.update(measure_quotes(folder))
    return out


def response_quote(rec: dict) -> str:
    """``bench.response``: the block response against the probes at the canonical points
    (``benchmarks/bench_response.py``)."""
    s = rec["summary"]

    def diff(point, name, label):
        m, e = s[point][name]
        return f"{label} {100 * m:+.2g} ± {100 * e:.2g}%"

    peak = {r["response"]: r["peak_rss_mb"] for r in rec["rows"] if r["point"] == "unsat"}
    return (f"at {rec['n_paths']} paths and {rec['seeds']} seeds, blocks took {s['unsat']['wall_ratio']:.2f} "
            f"times the probes' wall time at the UNSAT point (peak {peak['blocks']:.0f} MB against "
            f"{peak['probe']:.0f} MB) and {s['sat']['wall_ratio']:.2f} at the SAT point; blocks minus probes, "
            f"paired by seed: {diff('unsat', 'x_chi_20', 'far (1 - C)/chi')}, "
            f"{diff('unsat', 'energy', 'UNSAT energy')}, {diff('sat', 'd_tmax', 'd(t = 40)')} "
            f"({_measured(rec)})")


#: the quantity named in the quotes of a measurement, by quantity
MEASURED_NAME = {"teff": "T_static", "distance": "d_inf"}


def headline(row: dict, name: str) -> tuple:
    """(value, error) of ``name`` in a row of ``bench_measure``'s summary: for the measured quantity
    the measurement's own error (which includes the change between its last two horizons when it
    was taken into the error bar), for the others the statistical error of the final run."""
    quantity = row.get("quantity") or ("distance" if "d_inf" in row["values"] else "teff")
    if name == MEASURED_NAME[quantity] and row.get("value") is not None:
        return row["value"], row["error"]
    v, e = row["values"][name]
    return (math.nan if v is None else v), (math.nan if e is None else e)


def measure_quotes(folder: str) -> dict:
    """``bench.measure.<name>`` for each measurement of ``benchmarks/bench_measure.py --record``
    (value, horizon, repetitions, wall time, cost over the final run, load),
    ``bench.measure.<name>.moved`` (a T_eff number against the one that confirmed it) and
    ``bench.measure.z`` (the DMFT-simulation differences in combined standard errors)."""
    path = os.path.join(folder, "bench_measure.json")
    if not os.path.exists(path):
        return {}
    with open(path) as fh:
        rec = json.load(fh)
    out = {}
    for row in rec["rows"]:
        quantity = "distance" if row["name"].startswith("sat") else "teff"
        unit = "replicates" if row["name"].endswith("dmft") else "systems"
        started = row.get("started") or {}
        load = f", load {started['load']:.1f}" if "load" in started else ""
        out[f"bench.measure.{row['name']}"] = (
            f"{MEASURED_NAME[quantity]} = {_pm(row['value'], row['error'])} ({100 * row['rel_error']:.2g}%) at "
            f"t_max = {row['t_max']:g} with {row['repetitions']} {unit}, {row['wall_s'] / 60:.0f} min in all, "
            f"{row['cost_ratio']:.2f} times its final run{load}")
        before = row.get("confirmed_by")
        if before and quantity == "teff":
            stat = row["values"][MEASURED_NAME[quantity]][1]
            out[f"bench.measure.{row['name']}.moved"] = (
                f"{before['value']:.5g} +- {before['error']:.2g} at `t_max = {before['t_max']:g}`, "
                f"{row['value']:.5g} +- {stat:.2g} at {row['t_max']:g}: the change beyond its noise puts the "
                f"error at {100 * row['rel_error']:.2g}% against {100 * stat / abs(row['value']):.2g}% from the "
                "statistics alone")
    groups = {}     # simulation size (None in records that predate it) -> the differences against it
    for c in rec.get("comparisons", []):
        z = c["z"]
        groups.setdefault(c.get("n"), []).append(
            f"{c['value']} {z:+.2f}" if z is not None and math.isfinite(z) else f"{c['value']} n/a")
    if groups:
        text = "; ".join(", ".join(z) if n is None else f"N = {n}: " + ", ".join(z) for n, z in groups.items())
        out["bench.measure.z"] = text + f" (recorded {rec['date']})"
    return out


def quotes(canonical: str | None = None, benchmarks: str | None = None) -> dict:
    """Every quote key -> its text (module docstring)."""
    return {**canonical_quotes(canonical or _path(CANONICAL)), **bench_quotes(benchmarks or _path(BENCHMARKS))}


def render(text: str, values: dict) -> str:
    """``text`` with the body of every quote replaced by its value (a quote without a source, e.g.
    a benchmark not yet recorded, stays as it is, and :func:`stale_quotes` lists it)."""
    return QUOTE.sub(lambda m: f"<!-- quote:{m['key']} -->{values.get(m['key'], m['body'])}<!-- /quote -->", text)


def documents():
    """(document, its text) for each of :data:`DOCUMENTS`."""
    for doc in DOCUMENTS:
        with open(_path(doc), encoding="utf-8") as fh:
            yield doc, fh.read()


def stale_quotes(values: dict | None = None) -> list:
    """``document: key`` for every quote whose text differs from its source or has none."""
    values = quotes() if values is None else values
    return [f"{doc}: {m['key']}" for doc, text in documents() for m in QUOTE.finditer(text)
            if values.get(m["key"]) != m["body"]]


def write_docs(values: dict | None = None) -> list:
    """Rewrite the quotes of :data:`DOCUMENTS`; returns the documents that changed."""
    values = quotes() if values is None else values
    changed = []
    for doc, text in documents():
        new = render(text, values)
        if new != text:
            write_atomic(_path(doc), new.encode("utf-8"))
            changed.append(doc)
    return changed


# --------------------------------------------------------------------------- the notebook
def execute_notebook(path: str | None = None, timeout: float = 1800) -> str:
    """Execute ``docs/example.ipynb`` from the repository root at its full sizes and store it with
    its outputs (cell metadata of the run removed, so that a re-run changes only what changed).
    Needs nbclient, nbformat and ipykernel (the ``test`` extra)."""
    import nbclient
    import nbformat

    path = path or _path(NOTEBOOK)
    nb = nbformat.read(path, as_version=4)
    env = {k: os.environ.pop(k) for k in ("DMFT_EXAMPLE_SIZE",) if k in os.environ}
    try:
        nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": ROOT}}).execute()
    finally:
        os.environ.update(env)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nb.metadata.pop("widgets", None)
    return write_atomic(path, nbformat.writes(nb).encode("utf-8"))


# --------------------------------------------------------------------------- command line
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default=",".join(PARTS),
                        help=f"comma-separated, in this order: {', '.join(PARTS)}. Default: all")
    parser.add_argument("--check", action="store_true",
                        help="compute nothing, write nothing: exit 1 if a quote differs from its source")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.check:
        stale = stale_quotes()
        for line in stale:
            print(f"stale: {line}")
        print("every quote is up to date" if not stale else "run: python -m dmft.app.reference --parts docs")
        return 1 if stale else 0
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        parser.error(f"unknown part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    folder, gallery = _path(CANONICAL), _path(GALLERY)
    for part in (p for p in PARTS if p in parts):
        start = time.perf_counter()
        if part == "runs":
            written = make_runs(folder)
        elif part == "gallery":
            written = make_gallery(folder, gallery) + [write_record(folder, gallery)]
        elif part == "docs":
            written = write_docs()
        else:
            written = [execute_notebook()]
        print(f"{part}: {time.perf_counter() - start:.0f} s: " + (", ".join(os.path.relpath(p, ROOT) if os.path.isabs(p)
                                                                             else p for p in written) or "unchanged"))
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["DOCUMENTS", "PARTS", "execute_notebook", "main", "quotes", "render", "stale_quotes"]
