"""DMFT against direct simulations at growing N: does the gap shrink as N grows?

For gd, sgd (b = 0.5) and psgd (b = 0.5, tau = 1) at alpha = 3, delta = 0, dt = 0.1, the script
solves the DMFT once (many paths) and simulates N = 500, 1000, 2000, then tabulates, per N, the
largest deviation over a set of times of energy, frac_unsat and nu (relative), C(t, tw)
(absolute) and chi(t, tw) (relative), each next to the simulation's own standard error.
Run::

    python -m analysis.validate_vs_simulation -o docs/validation [--quick]

It writes ``table.csv``, ``table.md`` and ``vs_N.png``.
"""

from __future__ import annotations

import argparse
import csv
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from dmft.params import Params  # noqa: E402

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


def run(output: str, quick: bool = False) -> list:
    from dmft import solve
    from simulations import simulate

    os.makedirs(output, exist_ok=True)
    sizes = (250, 500) if quick else (500, 1000, 2000)
    n_paths = 4096 if quick else 65536
    n_samples = 2 if quick else 4
    rows = []
    for name, point in POINTS.items():
        theory = solve(Params(**BASE, **point, n_paths=n_paths))
        for n in sizes:
            sim = simulate(Params(**BASE, **point, n=n, n_samples=n_samples))
            dev = deviations(theory, sim)
            row = {"dynamics": name, "N": n, "n_samples": n_samples, "n_paths": n_paths}
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
    fig, axes = plt.subplots(1, len(cols), figsize=(14, 3.6))
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
    plt.close(fig)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default="docs/validation")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    run(args.output, quick=args.quick)


if __name__ == "__main__":
    main()
