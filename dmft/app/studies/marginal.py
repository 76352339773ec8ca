"""Why ``delta = 0`` has no stationary state on accessible times: gradient descent relaxation
at the marginal point ``alpha = 3, delta = 0`` against the canonical UNSAT point ``alpha = 4,
delta = 0.5`` (``docs/effective-temperature.md`` section 7).

For each point it simulates gradient descent (N = 2000, 2 samples, ``dt = 0.1``, ``t_max = 200``)
and measures the relaxation rate of the energy, ``r(t) = -d ln(-de/dt) / dt``, on windows
centred at :data:`TIMES`.  Exponential relaxation ``e - e_inf ~ exp(-k t)`` gives a constant
``r = k``; a power law ``e - e_inf ~ t^-a`` gives ``r = (a + 1)/t``, so ``r t`` is constant.
Run::

    python -m dmft.app.studies.marginal [--n 2000] [--samples 2]

It prints a markdown table (the one in the docs page).
"""

from __future__ import annotations

import argparse
import logging

import numpy as np

from ...core.methods import ParticleMethod
from ...core.params import Params
from ..api import run

POINTS = {"marginal (alpha = 3, delta = 0)": dict(alpha=3.0, delta=0.0),
          "canonical UNSAT (alpha = 4, delta = 0.5)": dict(alpha=4.0, delta=0.5)}
TIMES = (10.0, 20.0, 40.0, 80.0, 160.0)
#: half-width of the window (relative to its centre) of the rate fit
HALF_WIDTH = 0.25


def relaxation_rates(t: np.ndarray, e: np.ndarray, times=TIMES) -> list:
    """(t_c, e(t_c), r(t_c)) with ``r`` the slope of ``-ln(-de/dt)`` by least squares over
    ``[t_c (1 - HALF_WIDTH), t_c (1 + HALF_WIDTH)]``; NaN where the energy no longer decreases."""
    dedt = np.gradient(e, t)
    out = []
    for tc in times:
        sel = (t >= tc * (1 - HALF_WIDTH)) & (t <= tc * (1 + HALF_WIDTH))
        if sel.sum() < 3 or np.any(dedt[sel] >= 0):
            out.append((tc, float(np.interp(tc, t, e)), float("nan")))
            continue
        slope = np.polyfit(t[sel], np.log(-dedt[sel]), 1)[0]
        out.append((tc, float(np.interp(tc, t, e)), float(-slope)))
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--samples", type=int, default=2)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")  # progress lines of the runs
    print("| point | t | e(t) | r(t) = -d ln(-de/dt)/dt | r(t) t |")
    print("|---|---|---|---|---|")
    for name, point in POINTS.items():
        p = Params(dynamics="gd", dt=0.1, t_max=200.0, seed=5, **point)
        r = run(p, ParticleMethod(n=args.n, n_samples=args.samples))
        for tc, e, rate in relaxation_rates(r.t, r.energy):
            print(f"| {name} | {tc:g} | {e:.6g} | {rate:.3g} | {rate * tc:.3g} |")


if __name__ == "__main__":
    main()
