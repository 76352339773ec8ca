"""Reference files in data/ stay readable, and their content is consistent with itself."""

import json
import math
import os

import numpy as np
import pytest

from dmft.analysis import fit_teff, long_time_distance
from dmft.core.io import load

DATA = os.path.join(os.path.dirname(__file__), "..", "data")


def test_format_v1_files_load_and_agree():
    th = load(os.path.join(DATA, "format-v1", "demo-sgd-dmft.h5"))
    sim = load(os.path.join(DATA, "format-v1", "demo-sgd-sim.h5"))
    assert th.kind == "dmft" and sim.kind == "simulation"
    assert th.meta["format_version"] == 1 and th.status == "ok"
    assert th.params == sim.params
    assert th.method.n_paths == 16384 and sim.method.n == 1000 and sim.method.n_samples == 4
    # theory and simulation of the same point: energy within 5%, C(t, tw) within 0.02
    assert np.all(np.abs(th.energy[10:] / sim.energy[10:] - 1) < 0.05)
    m = np.isfinite(sim.C)
    assert np.nanmax(np.abs(th.C[m] - sim.C[m])) < 0.02
    assert th.distance is not None and sim.distance is not None


def _canonical(name):
    return load(os.path.join(DATA, "canonical", name))


def test_canonical_unsat_teff_theory_against_simulation():
    """The demo's UNSAT files: both stationary, T_eff and T_short of DMFT and simulation agree
    within 3 combined standard errors, and summary.json holds what fit_teff gives."""
    summary = json.load(open(os.path.join(DATA, "canonical", "summary.json")))
    th, sm = (fit_teff(_canonical(f"unsat-{k}.h5"), warn=False) for k in ("dmft", "sim"))
    for est, kind in ((th, "dmft"), (sm, "simulation")):
        assert est.stationary and math.isfinite(est.T_eff) and est.T_eff_err > 0
        assert summary["unsat"][kind]["teff"]["T_eff"] == pytest.approx(est.T_eff, rel=1e-12)
    for key in ("T_eff", "T_short"):
        a, b = getattr(th, key), getattr(sm, key)
        assert abs(a - b) < 3 * math.hypot(getattr(th, key + "_err"), getattr(sm, key + "_err")), key
    assert th.T_short > 1.5 * th.T_eff  # the FDT plot is curved: fast modes hotter


def test_canonical_sat_distance_theory_against_simulation():
    th, sm = (long_time_distance(_canonical(f"sat-{k}.h5")) for k in ("dmft", "sim"))
    assert th.sat and sm.sat and th.converged and sm.converged
    assert abs(th.d_inf - sm.d_inf) < 3 * math.hypot(th.d_inf_err, sm.d_inf_err)


def test_reference_files_keep_their_point_hash():
    """Every file under data/ (written before exact_lags and the teacher parameters existed) still
    has the point hash it was written with: settings added later do not move old points."""
    import glob

    from dmft.core.io import read_header
    from dmft.core.methods import point_hash

    paths = sorted(glob.glob(os.path.join(DATA, "**", "*.h5"), recursive=True))
    assert len(paths) >= 4
    for path in paths:
        stored = read_header(path)["point_hash"]
        if stored is None:  # format 1 files carry no hash
            continue
        r = load(path)
        assert point_hash(r.params, r.method) == stored, path
