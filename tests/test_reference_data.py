"""Reference files in data/ stay readable, and their content is consistent with itself."""

import os

import numpy as np

from dmft.core.io import load

DATA = os.path.join(os.path.dirname(__file__), "..", "data")


def test_reference_files_load_and_agree():
    th = load(os.path.join(DATA, "demo-sgd-dmft.h5"))
    sim = load(os.path.join(DATA, "demo-sgd-sim.h5"))
    assert th.kind == "dmft" and sim.kind == "simulation"
    assert th.meta["format_version"] == 1 and th.status == "ok"
    assert th.params == sim.params
    assert th.method.n_paths == 16384 and sim.method.n == 1000 and sim.method.n_samples == 4
    # theory and simulation of the same point: energy within 5%, C(t, tw) within 0.02
    assert np.all(np.abs(th.energy[10:] / sim.energy[10:] - 1) < 0.05)
    m = np.isfinite(sim.C)
    assert np.nanmax(np.abs(th.C[m] - sim.C[m])) < 0.02
    assert th.distance is not None and sim.distance is not None
