"""The probe estimator of M_R against the exact per-path response (small T)."""

import numpy as np
import pytest

from dmft import Params
from dmft.solver.process import march


def _rel_err(MR, MRx):
    T = MR.shape[0]
    mask = np.tril(np.ones((T, T), bool), -1)
    return np.sqrt(np.mean((MR - MRx)[mask] ** 2) / np.mean(MRx[mask] ** 2))


def test_probe_estimator_exact_for_square_loss():
    """a = s v'' = 1 on every path: the orthogonal (Walsh-Hadamard) probes recover M_R exactly."""
    p = Params(alpha=3.0, delta=0.5, loss="square", dynamics="gd", dt=0.1, t_max=4.0,
               n_paths=256, n_probes=1, seed=4)
    o = march(p, history_dtype=np.float64)
    ox = march(p, history_dtype=np.float64, response="exact")
    np.testing.assert_allclose(o["M_R"], ox["M_R"], atol=1e-10)
    np.testing.assert_allclose(o["energy"], ox["energy"], rtol=1e-9)


@pytest.mark.parametrize("dynamics,tol_mr", [("gd", 0.12), ("sgd", 0.3)])
def test_probe_estimator_vs_exact_response(dynamics, tol_mr):
    """Same process (same streams), M_R from 4 probes per path vs the exact per-path response."""
    p = Params(alpha=3.0, delta=0.0, dynamics=dynamics, b=0.5, dt=0.1, t_max=4.0,
               n_paths=2048, n_probes=4, seed=1)
    o = march(p, history_dtype=np.float64)
    ox = march(p, history_dtype=np.float64, response="exact")
    err = _rel_err(o["M_R"], ox["M_R"])
    assert err < tol_mr, err
    # the observables barely notice the estimator noise
    np.testing.assert_allclose(o["energy"], ox["energy"], rtol=0.02)
    np.testing.assert_allclose(o["C"], ox["C"], atol=0.01)
