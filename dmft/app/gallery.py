"""The README gallery, produced by the package itself.

``python -m dmft.app.gallery -o docs/gallery`` runs the demo (theory-vs-simulation figure of
SGD), and the final gap distributions of less noisy and noisier algorithms (gd, sgd at two
batch fractions, persistent sgd) from the DMFT and from simulations, in one figure (each run
cached by its hash in ``<output>/runs``).  The phase diagram of the gallery comes from a scan
(see ``docs/gallery/phase-scan.toml``).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import tempfile

from ..analysis.figures import gap_histogram_figure
from ..core.methods import DMFTMethod, ParticleMethod
from ..core.params import Params
from .demo import run_demo
from .runner import Task, load_task, run_tasks

GAP_POINTS = {
    "gd": dict(dynamics="gd"),
    "sgd b=0.7": dict(dynamics="sgd", b=0.7),
    "sgd b=0.3": dict(dynamics="sgd", b=0.3),
    "psgd b=0.3, τ=4": dict(dynamics="psgd", b=0.3, tau=4.0),
}
GAP_BASE = dict(alpha=3.0, delta=0.0, dt=0.1, t_max=40.0, seed=5)
GAP_METHODS = (DMFTMethod(n_paths=16384), ParticleMethod(n=1000, n_samples=4))


def gap_figure(path: str, cache: str) -> str:
    """Final gap distributions of GAP_POINTS, DMFT lines and simulation steps."""
    tasks = [Task(Params(**GAP_BASE, **point), method, label)
             for label, point in GAP_POINTS.items() for method in GAP_METHODS]
    run_tasks(tasks, cache)
    runs = [(t.label, load_task(cache, t)) for t in tasks]
    return gap_histogram_figure(
        runs, path, title="Final gap distribution, α=3, Δ=0, t=40: less and more noisy algorithms")


def make_gallery(output: str) -> list:
    os.makedirs(output, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        out = run_demo(tmp)
        demo_png = os.path.join(output, "demo-unsat-compare.png")
        shutil.copy(out["unsat"]["figure"], demo_png)
    return [demo_png, gap_figure(os.path.join(output, "gaps.png"), os.path.join(output, "runs"))]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default="docs/gallery")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")  # progress lines of the runs
    for path in make_gallery(args.output):
        print(path)


if __name__ == "__main__":
    main()
