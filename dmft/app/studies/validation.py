"""DMFT against direct simulations at growing N: does the gap shrink as N grows?

For gd, sgd (b = 0.5) and psgd (b = 0.5, tau = 1) at alpha = 3, delta = 0, dt = 0.1, the script
solves the DMFT once (many paths) and simulates N = 500, 1000, 2000, then tabulates, per N, the
largest deviation over a set of times of energy, frac_unsat and nu (relative), C(t, tw)
(absolute) and chi(t, tw) (relative), each next to the simulation's own standard error.
Run::

    python -m dmft.app.studies.validation -o docs/validation [--quick]

It writes ``table.csv``, ``table.md`` and ``vs_N.png``; every run is cached by its hash in
``<output>/runs`` (:mod:`dmft.app.runner`), so a re-run skips finished points.
"""

from __future__ import annotations

import argparse
import csv
import logging
import os

import numpy as np
from matplotlib.figure import Figure

from ...core.methods import DMFTMethod, ParticleMethod
from ...core.params import Params
from ..runner import Task, load_task, run_tasks
from .common import PINNED_DMFT

POINTS = {
    "gd": dict(dynamics="gd"),
    "sgd": dict(dynamics="sgd", b=0.5),
    "psgd": dict(dynamics="psgd", b=0.5, tau=1.0),
}
BASE = dict(alpha=3.0, delta=0.0, dt=0.1, t_max=20.0, tw=(5.0,), seed=11)
TIMES = (1.0, 2.0, 5.0, 10.0, 15.0, 20.0)


def deviations(theory, sim) -> dict:
    """Largest deviation of sim from theory over TIMES (and t >= tw + 1 for chi), with the
    simulation's standard error at the same place."""
    idx = np.array([int(round(t / theory.params.dt)) for t in TIMES])
    out = {}
    for name in ("energy", "frac_unsat", "nu"):
        th, sm, se = getattr(theory, name)[idx], getattr(sim, name)[idx], sim.sem[name][idx]
        rel = np.abs(sm / th - 1)
        j = int(np.argmax(rel))
        out[name] = (float(rel[j]), float(se[j] / abs(th[j])))
    kw = theory.params.tw_index[0]
    late = idx[idx >= kw + 10]
    dC = np.abs(sim.C[0, late] - theory.C[0, late])
    j = int(np.argmax(dC))
    out["C"] = (float(dC[j]), float(sim.sem["C"][0, late][j]))
    rel = np.abs(sim.chi[0, late] / theory.chi[0, late] - 1)
    j = int(np.argmax(rel))
    out["chi"] = (float(rel[j]), float(sim.sem["chi"][0, late][j] / theory.chi[0, late][j]))
    return out


def tasks(quick: bool) -> dict:
    """{(dynamics, N or None): Task}: one DMFT solve and one simulation per size per point."""
    sizes = (250, 500) if quick else (500, 1000, 2000)
    n_paths = 4096 if quick else 65536
    n_samples = 2 if quick else 4
    out = {}
    for name, point in POINTS.items():
        params = Params(**BASE, **point)
        out[(name, None)] = Task(params, DMFTMethod(n_paths=n_paths, **PINNED_DMFT), f"{name} DMFT")
        for n in sizes:
            out[(name, n)] = Task(params, ParticleMethod(n=n, n_samples=n_samples), f"{name} N={n}")
    return out


def run(output: str, quick: bool = False, workers: int | None = None) -> list:
    os.makedirs(output, exist_ok=True)
    cache = os.path.join(output, "runs")
    todo = tasks(quick)
    run_tasks(todo.values(), cache, workers=workers)
    rows = []
    for (name, n), task in todo.items():
        if n is None:
            continue
        theory, sim = load_task(cache, todo[(name, None)]), load_task(cache, task)
        dev = deviations(theory, sim)
        row = {"dynamics": name, "N": n, "n_samples": task.method.n_samples,
               "n_paths": todo[(name, None)].method.n_paths}
        for key, (value, err) in dev.items():
            row[key] = value
            row[key + "_sem"] = err
        rows.append(row)
        print(", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()),
              flush=True)
    write_tables(rows, output)
    plot(rows, output)
    return rows


def write_tables(rows: list, output: str) -> None:
    with open(os.path.join(output, "table.csv"), "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    cols = ("energy", "frac_unsat", "nu", "C", "chi")
    lines = ["| dynamics | N | " + " | ".join(f"{c} dev (sem)" for c in cols) + " |",
             "|---|---|" + "---|" * len(cols)]
    for r in rows:
        cells = [f"{r[c]:.2%} ({r[c + '_sem']:.1%})" if c != "C" else f"{r[c]:.4f} ({r[c + '_sem']:.4f})"
                 for c in cols]
        lines.append(f"| {r['dynamics']} | {r['N']} | " + " | ".join(cells) + " |")
    with open(os.path.join(output, "table.md"), "w") as fh:
        fh.write("\n".join(lines) + "\n")


def plot(rows: list, output: str) -> None:
    cols = ("energy", "nu", "C", "chi")
    fig = Figure(figsize=(14, 3.6))
    axes = fig.subplots(1, len(cols))
    for ax, col in zip(axes, cols):
        for name, color in zip(POINTS, ("k", "C0", "C3")):
            sel = [r for r in rows if r["dynamics"] == name]
            ax.errorbar([r["N"] for r in sel], [r[col] for r in sel], yerr=[r[col + "_sem"] for r in sel],
                        fmt="o-", color=color, capsize=2, label=name)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("N")
        ax.set_ylabel(f"max deviation in {col}" + (" (abs)" if col == "C" else " (rel)"))
        ax.legend(fontsize=8)
    fig.suptitle("Simulation minus DMFT at growing N (α=3, Δ=0, dt=0.1, t ≤ 20); bars: simulation sem")
    fig.tight_layout()
    fig.savefig(os.path.join(output, "vs_N.png"), dpi=120)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default="docs/validation")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--workers", type=int, default=None, help="local worker processes (default: cores)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")  # progress lines of the runs
    run(args.output, quick=args.quick, workers=args.workers)


if __name__ == "__main__":
    main()
