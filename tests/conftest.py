"""Shared fixtures: a synthetic Result with known content, for IO/CLI/analysis tests; flat points."""

from dataclasses import dataclass

import numpy as np
import pytest

from dmft.core.methods import DMFTMethod, ParticleMethod, split_settings
from dmft.core.params import Params
from dmft.core.result import Errors, Result


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
    errors = None
    if kind == "simulation":
        sem = {"energy": 0.01 * energy, "C": 1e-3 * np.ones_like(C), "chi": 1e-3 * np.ones_like(chi)}
        errors = Errors(source="samples", count=4, sem=sem)
    method = DMFTMethod() if kind == "dmft" else ParticleMethod()
    return Result(
        params=params, method=method, status=status, t=t, energy=energy,
        frac_unsat=0.3 * np.ones(T), nu=-np.ones(T), tw=np.array(params.tw), C=C, chi=chi,
        distance=(1e-3 * (1 - np.exp(-t)) if replicas == 2 else None), errors=errors,
        meta={"seed": params.seed, "wall_time_s": 1.0},
    )


@pytest.fixture
def make_result():
    return synthetic_result


@dataclass(frozen=True)
class Point:
    """A problem and one method built from flat settings, as the CLI and scan files give them.

    Attributes not found on the point are looked up on ``params``, then on ``method``;
    ``replace`` routes each change to the one that has the field."""

    params: Params
    method: object

    @classmethod
    def of(cls, kind: str = "simulation", **flat) -> "Point":
        return cls(*split_settings(flat, kind))

    def replace(self, **changes) -> "Point":
        names = set(self.method.names())
        physics = {k: v for k, v in changes.items() if k not in names}
        numerics = {k: v for k, v in changes.items() if k in names}
        return Point(self.params.replace(**physics), self.method.replace(**numerics))

    def __getattr__(self, name):
        for owner in (self.params, self.method):
            if hasattr(owner, name):
                return getattr(owner, name)
        raise AttributeError(name)
