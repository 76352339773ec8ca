"""Physics checks of the DMFT solver: FDT for Langevin, O(dt) convergence."""

import numpy as np

import dmft
from dmft import Params


def _teff(C, chi):
    """T_eff = -1/slope of chi against C (ordinary least squares)."""
    m = np.isfinite(C) & np.isfinite(chi)
    slope = np.polyfit(C[m], chi[m], 1)[0]
    return -1.0 / slope


def test_langevin_fdt_teff_equals_temperature():
    temp = 0.5
    p = Params(alpha=3.0, delta=0.0, dynamics="langevin", temperature=temp, dt=0.05, t_max=22.0,
               tw=(12.0,), seed=1)
    r = dmft.solve(p, n_paths=2048, replicates=1)
    assert r.status == "ok"
    k = r.tw_row(12.0)
    te = _teff(r.C[k], r.chi[k])
    assert abs(te - temp) / temp < 0.03, te
    # stationarity: the energy has stopped drifting
    e = r.energy
    assert abs(e[-1] - e[int(12.0 / 0.05)]) / e[-1] < 0.03


def test_energy_converges_linearly_in_dt():
    """gd, hinge: error of energy(t=2) against dt = 0.025 halves with dt (first-order scheme)."""
    E = {}
    for dt in (0.2, 0.1, 0.05, 0.025):
        p = Params(alpha=3.0, delta=0.0, dynamics="gd", dt=dt, t_max=2.0, seed=0)
        E[dt] = dmft.solve(p, n_paths=16384, replicates=1).energy[-1]
    err = {dt: abs(E[dt] - E[0.025]) for dt in (0.2, 0.1, 0.05)}
    r1, r2 = err[0.2] / err[0.1], err[0.1] / err[0.05]
    assert 1.4 < r1 < 3.0 and 1.4 < r2 < 3.0, (err, r1, r2)
