"""Coverage of the DMFT's error bars: every DMFT-versus-simulation comparison the package keeps, in
combined standard errors (issue 22, item 3).

For every number that a study wrote for both methods at the same point, ``z = (DMFT - simulation)
/ sqrt(e_DMFT^2 + e_sim^2)``.  If both error bars are honest and the methods agree, ``z`` is about
standard normal: ``|z| < 2`` for about 95% of the entries and ``|z| > 3`` for 0.3%.  The sources
(:data:`SOURCES`) are the tables the studies and benchmarks wrote, read as they are (nothing is
computed here):

* ``docs/study/results.csv`` -- the effective-noise study (``T_short``, ``T_static``,
  ``T_slow``, ``d_inf``; DMFT 8192 paths x 4, simulations N = 2000 x 6);
* ``docs/generalisation/results.csv`` -- the generalisation study (``eps_g``, ``m``, the gap
  statistics, the energy, ``distance`` and the temperatures; 8 seeds each);
* ``docs/study/remeasured.csv`` -- the effective-noise cells measured again by ``dmft measure``
  (``python -m dmft.app.studies.remeasure``): each such cell is compared with the re-measured
  value of each method where there is one and the study's otherwise, and the study's own entries
  of that cell are kept but marked ``superseded`` (their horizon was the one found too short) and
  left out of the counts; its follow-up checks (``remeasured_checks.csv``: the DMFT at the
  simulations' horizon, a simulation at twice the N) join them, and where the simulation's value
  is of a longer horizon than the DMFT's and still relaxing (``not_reached``), the simulation run at
  the DMFT's point replaces it, and the study's DMFT solved again there with today's estimator
  replaces the study's (the comparison of two horizons is listed, superseded);
* ``docs/generalisation/finite_size.csv`` -- the generalisation study's size part (N = 500 ..
  4000 and n_paths at two SAT and two UNSAT runs): the DMFT at the most paths against the largest
  N and against the simulations' straight line in ``1/N`` at ``N -> inf`` (``N = inf``);
* ``docs/finite-n/finite_n_runs.csv`` -- the finite-N study (N = 500 .. 4000 at one point);
* ``benchmarks/results/bench_measure.json`` -- ``dmft measure``'s done-when points;
* ``data/canonical/summary.json`` -- the demo's two points.

It writes ``coverage.csv`` (one row per entry: source, point, number, both values with errors,
``z``) and ``coverage.md`` (the summary per source and in all, and every entry with ``|z| > 2``).
Run (after the studies)::

    python -m dmft.app.studies.coverage -o docs/coverage
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os

from ...core.outputs import write_atomic
from ..reference import headline
from .common import combined_z, number, write_csv

#: the repository root (the studies' tables are read from their committed places)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
#: source name -> (path under the root, the key columns of a point, the numbers compared)
SOURCES = {
    "effective-noise": ("docs/study/results.csv", ("phase", "scan", "x", "noise_class"),
                        ("T_short", "T_static", "T_slow", "d_inf")),
    "generalisation": ("docs/generalisation/results.csv", ("part", "label", "x"),
                       ("eps_g", "m", "energy", "frac_unsat", "gap_mean", "gap_std", "near_contacts", "distance",
                        "T_short", "T_static", "T_slow")),
}
REMEASURED = "docs/study/remeasured.csv"
#: the remeasured headline (``value``) of each quantity, and the study's column that holds it
HEADLINE = {"teff": "T_static", "distance": "d_inf"}
FINITE_SIZE = "docs/generalisation/finite_size.csv"
#: the numbers of the size part compared (those of SOURCES["generalisation"] it has)
SIZE_NUMBERS = ("eps_g", "m", "energy", "frac_unsat", "gap_mean", "gap_std", "near_contacts")
FINITE_N = "docs/finite-n/finite_n_runs.csv"
BENCH = "benchmarks/results/bench_measure.json"
CANONICAL = "data/canonical/summary.json"


def _entry(source, point, number, a, ea, b, eb, n="") -> dict:
    return {"source": source, "point": point, "number": number, "N": n, "dmft": a, "dmft_err": ea,
            "simulation": b, "simulation_err": eb, "z": combined_z(a, ea, b, eb), "superseded": ""}


def paired_table(source: str, path: str, keys: tuple, numbers: tuple) -> list:
    """Entries of a table with one row per point and ``kind`` (dmft / simulation)."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    by = {}
    for r in rows:
        by.setdefault(tuple(r[k] for k in keys), {})[r["kind"]] = r
    out, seen = [], {}
    for key, kinds in by.items():
        if "dmft" not in kinds or "simulation" not in kinds:
            continue
        d, s = kinds["dmft"], kinds["simulation"]
        for name in numbers:
            if name not in d:
                continue
            e = _entry(source, " ".join(key), name, number(d[name]), number(d.get(name + "_err")),
                       number(s[name]), number(s.get(name + "_err")))
            # a point shared by several scans (the canonical one) is one comparison, listed once
            same = (name, d[name], d.get(name + "_err"), s[name], s.get(name + "_err"))
            if same in seen:
                seen[same]["also"].append(" ".join(key))
                continue
            seen[same] = e
            e["also"] = []
            out.append(e)
    for e in out:
        e["point"] += "".join(f" = {other}" for other in e.pop("also"))
    return out


def finite_n_entries(path: str) -> list:
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    theory = {r["quantity"]: r for r in rows if r["method"] == "dmft"}
    out = []
    for r in rows:
        if r["method"] != "simulation" or r["quantity"] not in theory:
            continue
        d = theory[r["quantity"]]
        out.append(_entry("finite-n", f"alpha=4 delta=0.5 b=0.3 seed={r['seed']}", r["quantity"], number(d["value"]),
                          number(d["error"]), number(r["value"]), number(r["error"]), int(r["N"])))
    return out


def _cell(text: str) -> tuple:
    """``"unsat b=0.3 bernoulli"`` -> the study's point key ``("unsat", "b", 0.3, "bernoulli")``."""
    phase, scan_x, nc = text.split()[:3]
    scan, x = scan_x.split("=")
    return phase, scan, float(x), nc


def _key(point: str) -> tuple:
    """The effective-noise study's ``"unsat b 0.3 bernoulli"`` as ``("unsat", "b", 0.3, "bernoulli")``."""
    phase, scan, x, nc = point.split()
    return phase, scan, float(x), nc


def remeasured_entries(path: str, study: str) -> tuple:
    """(entries, the study's point keys they supersede): per re-measured cell of the scans, the
    re-measured value of each method where there is one, the study's (``study``) otherwise; the
    follow-up checks beside it (``remeasured_checks.csv``): a DMFT at the simulations' horizon
    replaces a study DMFT, a simulation at another N is one more entry."""
    with open(path, newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["cell"].split()[0] in ("unsat", "sat")]
    with open(study, newline="") as fh:
        old = {(r["phase"], r["scan"], float(r["x"]), r["noise_class"], r["kind"]): r for r in csv.DictReader(fh)}
    new = {(*_cell(r["cell"]), r["cell"].split()[-1]): r for r in rows}
    checks = []
    if os.path.exists(os.path.join(os.path.dirname(path), "remeasured_checks.csv")):
        with open(os.path.join(os.path.dirname(path), "remeasured_checks.csv"), newline="") as fh:
            checks = list(csv.DictReader(fh))
    out, cells = [], list(dict.fromkeys(k[:4] for k in new))
    for cell in cells:
        sides = {}
        for kind in ("dmft", "simulation"):
            r = new.get((*cell, kind))
            if r is not None:
                head = r["quantity"]
                sides[kind] = (f"{kind} {r['status']}", {HEADLINE[head]: (r["value"], r["error"]), "T_short":
                               (r["T_short"], r["T_short_err"]), "T_slow": (r["T_slow"], r["T_slow_err"])})
            elif (*cell, kind) in old:
                r = old[(*cell, kind)]
                sides[kind] = (f"{kind} study", {n: (r.get(n), r.get(n + "_err"))
                                                 for n in ("T_static", "d_inf", "T_short", "T_slow")})
        text = f"{cell[0]} {cell[1]}={cell[2]:g} {cell[3]}"
        follow = [c for c in checks if c["cell"] == text]
        for c in follow:
            # the follow-up DMFT at the simulations' horizon replaces a study DMFT of another horizon
            if c["run"].startswith("dmft at t_max") and sides.get("dmft", ("",))[0] == "dmft study":
                sides["dmft"] = (c["run"], {_head(cell): (c["value"], c["error"])})
        if len(sides) < 2:
            continue
        (ta, a), (tb, b) = sides["dmft"], sides["simulation"]
        # a simulation at the DMFT's point (same t_max and waiting times) where the simulation's own
        # value is of a longer horizon of a state still relaxing: the comparison on one protocol,
        # and the one of two horizons is listed, superseded
        matched = [c for c in follow if c["run"].startswith("simulation at the dmft point")]
        again = [c for c in follow if c["run"].startswith("dmft again at its point")]
        # the study's DMFT solved again there with today's estimator, where it was
        tm, am = (again[0]["run"], _temperatures(again[0], cell)) if again else (ta, a)
        for c in matched:
            m = _temperatures(c, cell)
            for name in ("T_static", "d_inf", "T_short", "T_slow"):
                if name in am and name in m:
                    out.append(_entry("remeasured", f"{text} ({tm}, {c['run']})", name, number(am[name][0]),
                                      number(am[name][1]), number(m[name][0]), number(m[name][1])))
        for name in ("T_static", "d_inf", "T_short", "T_slow"):
            if name in a and name in b:
                e = _entry("remeasured", f"{text} ({ta}, {tb})", name, number(a[name][0]),
                           number(a[name][1]), number(b[name][0]), number(b[name][1]))
                e["superseded"] = "matched horizon" if matched else ""
                out.append(e)
        for c in follow:
            # a follow-up simulation at twice the N: one more comparison with the DMFT
            if c["run"].startswith("simulation N = "):
                name = _head(cell)
                out.append(_entry("remeasured", f"{text} ({ta}, {c['run']})", name, number(a[name][0]),
                                  number(a[name][1]), number(c["value"]), number(c["error"]),
                                  c["run"].split("N = ")[1].split()[0]))
    return out, set(cells)


def _head(cell: tuple) -> str:
    """The headline of a re-measured cell: ``T_static`` in UNSAT, ``d_inf`` in SAT."""
    return "T_static" if cell[0] == "unsat" else "d_inf"


def _temperatures(check: dict, cell: tuple) -> dict:
    """``{name: (value, error)}`` of a follow-up row: its headline (``T_static`` in UNSAT, ``d_inf``
    in SAT) and the ``T_short``, ``T_slow`` it has."""
    out = {_head(cell): (check["value"], check["error"])}
    out.update({n: (check.get(n), check.get(n + "_err")) for n in ("T_short", "T_slow")})
    return {n: v for n, v in out.items() if v[0] not in (None, "")}


def size_entries(path: str) -> list:
    """Per run of the size part, each limit against the other's: the DMFT at its most paths against
    the simulations at the largest N, and the DMFT's line in ``1/n_paths`` at ``n_paths -> inf``
    against the simulations' line in ``1/N`` at ``N -> inf`` (a table from before the DMFT's line:
    the DMFT at its most paths there; the other N and path counts are the study's table)."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    out = []
    for label in dict.fromkeys(r["label"] for r in rows):
        sel = [r for r in rows if r["label"] == label]
        dmft = max((r for r in sel if r["kind"] == "dmft"), key=lambda r: number(r["n_paths"]))
        sims = [r for r in sel if r["kind"] == "simulation"]
        limit = next((r for r in sel if r["kind"] == "dmft n_paths->inf"), dmft)
        pairs = [(dmft, max(sims, key=lambda r: number(r["N"])))]
        pairs += [(limit, r) for r in sel if r["kind"] == "simulation N->inf"]
        for d, s in pairs:
            for name in (n for n in SIZE_NUMBERS if n in d):
                out.append(_entry("generalisation-size", f"{label} (DMFT {d['n_paths']} paths)", name,
                                  number(d[name]), number(d[name + "_err"]), number(s[name]),
                                  number(s[name + "_err"]), s["N"]))
    return out


def bench_entries(path: str) -> list:
    with open(path) as fh:
        rec = json.load(fh)
    rows = {r["name"]: r for r in rec["rows"]}
    out = []
    for c in rec.get("comparisons", []):
        a, b = rows.get(c["dmft"]), rows.get(c["simulation"])
        if a is None or b is None:
            continue
        name = c["value"]
        (va, ea), (vb, eb) = (headline(row, name) for row in (a, b))
        out.append(_entry("bench-measure", c["dmft"].split("-")[0], name, va, ea, vb, eb, c.get("n", "")))
    return out


def canonical_entries(path: str) -> list:
    with open(path) as fh:
        data = json.load(fh)
    out = []
    for point, rec in data.items():
        d, s = rec["dmft"], rec["simulation"]
        for group in ("teff", "distance"):
            if group not in d or group not in s:
                continue
            for name in ("T_short", "T_static", "T_slow", "d_inf"):
                if name in d[group] and name in s[group]:
                    out.append(_entry("demo", point, name, number(d[group][name]), number(d[group].get(name + "_err")),
                                      number(s[group][name]), number(s[group].get(name + "_err"))))
    return out


def collect(root: str = ROOT) -> list:
    """Every entry of every source found under ``root`` that has a ``z`` (both values and errors)."""
    out = []
    for source, (path, keys, numbers) in SOURCES.items():
        full = os.path.join(root, path)
        if os.path.exists(full):
            out += paired_table(source, full, keys, numbers)
    study = os.path.join(root, SOURCES["effective-noise"][0])
    if os.path.exists(os.path.join(root, REMEASURED)) and os.path.exists(study):
        entries, cells = remeasured_entries(os.path.join(root, REMEASURED), study)
        for e in out:
            if e["source"] == "effective-noise" and any(_key(p) in cells for p in e["point"].split(" = ")):
                e["superseded"] = "remeasured"
        out += entries
    for path, reader in ((FINITE_SIZE, size_entries), (FINITE_N, finite_n_entries), (BENCH, bench_entries),
                         (CANONICAL, canonical_entries)):
        full = os.path.join(root, path)
        if os.path.exists(full):
            out += reader(full)
    return [e for e in out if math.isfinite(e["z"])]


def summary(entries: list) -> dict:
    """Counts of ``|z| < 2`` and ``|z| > 3`` and their fractions, over the entries not superseded."""
    entries = [e for e in entries if not e.get("superseded")]
    zs = [abs(e["z"]) for e in entries]
    n = len(zs)
    below2, above3 = sum(v < 2 for v in zs), sum(v > 3 for v in zs)
    return {"entries": n, "below_2": below2, "above_3": above3,
            "fraction_below_2": below2 / n if n else math.nan, "fraction_above_3": above3 / n if n else math.nan,
            "mean_z": sum(e["z"] for e in entries) / n if n else math.nan}


def markdown(entries: list) -> str:
    lines = ["| source | entries | \\|z\\| < 2 | \\|z\\| > 3 | mean z | superseded (not counted) |",
             "|---|---|---|---|---|---|"]
    sources = list(dict.fromkeys(e["source"] for e in entries))
    for name in sources + ["all"]:
        sel = entries if name == "all" else [e for e in entries if e["source"] == name]
        s = summary(sel)
        lines.append(f"| {name} | {s['entries']} | {s['below_2']} ({100 * s['fraction_below_2']:.0f}%) | "
                     f"{s['above_3']} | {s['mean_z']:+.2f} | {sum(bool(e['superseded']) for e in sel)} |")

    def listing(title: str, sel) -> list:
        rows = [f"| {e['source']} | {e['point']} | {e['number']} | {e['N']} | {e['dmft']:.5g} ± {e['dmft_err']:.2g} | "
                f"{e['simulation']:.5g} ± {e['simulation_err']:.2g} | {e['z']:+.2f} |"
                for e in sorted(sel, key=lambda e: -abs(e["z"]))]
        return ["", title, "", "| source | point | number | N | DMFT | simulation | z |", "|---|---|---|---|---|---|---|"] + rows

    lines += listing("Entries with |z| >= 2:", [e for e in entries if abs(e["z"]) >= 2 and not e["superseded"]])
    lines += listing("Superseded (the study's values of cells measured again, and comparisons of two horizons "
                     "of a state still relaxing where one horizon was run by both; not counted):",
                     [e for e in entries if e["superseded"]])
    return "\n".join(lines) + "\n"


def run(output: str, root: str = ROOT) -> list:
    entries = collect(root)
    os.makedirs(output, exist_ok=True)
    write_csv(entries, os.path.join(output, "coverage.csv"))
    write_atomic(os.path.join(output, "coverage.md"), markdown(entries).encode())
    return entries


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default="docs/coverage")
    args = parser.parse_args(argv)
    entries = run(args.output)
    s = summary(entries)
    print(f"{s['entries']} entries: {s['below_2']} with |z| < 2, {s['above_3']} with |z| > 3 -> {args.output}")


if __name__ == "__main__":
    main()
