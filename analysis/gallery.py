"""The README gallery, produced by the package itself.

``python -m analysis.gallery -o docs/gallery`` runs the demo (theory-vs-simulation figure of
SGD), and the final gap distributions of a less noisy and noisier algorithms (gd, sgd at two
batch fractions, persistent sgd) from the DMFT and from simulations, in one figure.  The
phase diagram of the gallery comes from a scan (see ``docs/gallery/phase-scan.toml``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile

from dmft.params import Params

GAP_POINTS = {
    "gd": dict(dynamics="gd"),
    "sgd b=0.7": dict(dynamics="sgd", b=0.7),
    "sgd b=0.3": dict(dynamics="sgd", b=0.3),
    "psgd b=0.3, τ=4": dict(dynamics="psgd", b=0.3, tau=4.0),
}
GAP_BASE = dict(alpha=3.0, delta=0.0, dt=0.1, t_max=40.0, n=1000, n_samples=4, n_paths=16384, seed=5)


def gap_figure(path: str) -> str:
    """Final gap distributions of GAP_POINTS, DMFT lines and simulation steps."""
    from dmft import solve
    from simulations import simulate

    from .figures import gap_histogram_figure

    runs = []
    for label, point in GAP_POINTS.items():
        params = Params(**GAP_BASE, **point)
        runs += [(label, solve(params)), (label, simulate(params))]
    return gap_histogram_figure(
        runs, path, title="Final gap distribution, α=3, Δ=0, t=40: less and more noisy algorithms")


def make_gallery(output: str) -> list:
    from .demo import run_demo

    os.makedirs(output, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        out = run_demo(tmp)
        demo_png = os.path.join(output, "demo-sgd-compare.png")
        shutil.copy(out["sgd"]["figure"], demo_png)
    return [demo_png, gap_figure(os.path.join(output, "gaps.png"))]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default="docs/gallery")
    args = parser.parse_args(argv)
    for path in make_gallery(args.output):
        print(path)


if __name__ == "__main__":
    main()
