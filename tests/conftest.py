"""Shared fixtures: a synthetic Result with known content, for IO/CLI/analysis tests."""

import numpy as np
import pytest

from dmft.params import Params
from dmft.result import Result


def synthetic_result(teff=0.5, kind="simulation", tw=(10.0, 20.0), t_max=40.0, dt=0.1,
                     replicas=1, status="ok", **param_changes):
    """A result whose C(t,tw) = exp(-(t-tw)) and chi = (1-C)/teff exactly (FDT at teff)."""
    params = Params(tw=tw, t_max=t_max, dt=dt, replicas=replicas, **param_changes)
    t = np.arange(params.n_steps + 1) * params.dt
    T = len(t)
    C = np.full((len(params.tw), T), np.nan)
    chi = np.full_like(C, np.nan)
    for k, w in enumerate(params.tw):
        m = t >= w - 1e-12
        C[k, m] = np.exp(-(t[m] - w))
        chi[k, m] = (1 - C[k, m]) / teff
    energy = 0.1 + np.exp(-t)
    sem = {}
    if kind == "simulation":
        sem = {"energy": 0.01 * energy, "C": 1e-3 * np.ones_like(C), "chi": 1e-3 * np.ones_like(chi)}
    return Result(
        params=params, kind=kind, status=status, t=t, energy=energy,
        frac_unsat=0.3 * np.ones(T), nu=-np.ones(T), tw=np.array(params.tw), C=C, chi=chi,
        distance=(1e-3 * (1 - np.exp(-t)) if replicas == 2 else None), sem=sem,
        meta={"seed": params.seed, "wall_time_s": 1.0},
    )


@pytest.fixture
def make_result():
    return synthetic_result
