"""fit_teff, fdt_curve and check_stationarity on synthetic results with known answers.

The synthetic stationary state is a set of harmonic modes k with stiffness lambda_k, weight w_k
and temperature T_k: x(s) = sum_k w_k (T_k/lambda_k)(1 - exp(-lambda_k s)) and
chi(s) = sum_k (w_k/lambda_k)(1 - exp(-lambda_k s)), so exactly

    T_short  = sum_k w_k T_k / sum_k w_k,
    T_static = sum_k w_k T_k/lambda_k / sum_k w_k/lambda_k,
    T_slow   = T of the slowest mode (once the fast ones have relaxed).
"""

import json
import math
import re
import warnings

import numpy as np
import pytest

from dmft import DMFTMethod, Params, ParticleMethod, Result
from dmft.analysis import DistanceWarning, FDTWarning, check_stationarity, fdt_curve, fit_teff, long_time_distance
from dmft.core.result import Errors

FAST, SLOW = (2.0, 1.0, 1.0), (0.2, 0.2, 1.0)   # (lambda, T, weight); lambda dt <= 0.2


def modes_result(modes=(FAST, SLOW), tws=(20.0, 40.0), t_max=140.0, dt=0.1, aging=0.0, energy=None,
                 batches=0, noise=0.0, seed=0, distance=None, chi_drift=0.0):
    """A result whose C and chi at every waiting time come from ``modes``; ``aging`` slows the
    modes at later waiting times by a factor (1 + aging k); ``chi_drift`` multiplies chi at the
    k-th waiting time by (1 + chi_drift k) (T_static drifts with tw, C does not); ``batches`` > 1
    adds B noisy batch curves (smooth errors, correlated in time) whose mean is the result."""
    p = Params(dt=dt, t_max=t_max, tw=tws, replicas=2 if distance is not None else 1)
    t = np.arange(p.n_steps + 1) * dt
    K, T = len(p.tw), len(t)
    C = np.full((K, T), np.nan)
    chi = np.full((K, T), np.nan)
    for k, i in enumerate(p.tw_index):
        s = t[i:] - t[i]
        x = sum(w * Tk / lam * (1 - np.exp(-lam * s / (1 + aging * k))) for lam, Tk, w in modes)
        C[k, i:] = 1.0 - x
        chi[k, i:] = (1 + chi_drift * k) * sum(w / lam * (1 - np.exp(-lam * s / (1 + aging * k)))
                                               for lam, Tk, w in modes)
    e = np.full(T, 0.3) if energy is None else energy(t)
    d = None if distance is None else distance(t)
    errors = None
    if batches:
        rng = np.random.default_rng(seed)
        basis = np.stack([np.ones(T), np.sin(t / 7.0), np.cos(t / 11.0)])
        def noisy(arr, amp):
            shape = (batches,) + arr.shape
            return arr[None] + amp * np.einsum("b...j,jt->b...t", rng.normal(size=shape[:-1] + (3,)), basis)
        b = {"C": noisy(C, noise), "chi": noisy(chi, noise * 50), "energy": noisy(e, 1e-4 * e.mean()),
             "frac_unsat": noisy(np.zeros(T), 1e-4)}
        if d is not None:
            b["distance"] = noisy(d, noise * 1e-2)
        sem = {k: v.std(0, ddof=1) / np.sqrt(batches) for k, v in b.items()}
        errors = Errors(source="samples", count=batches, sem=sem, batches=b, batch_size=np.ones(batches, int))
        C, chi, e = b["C"].mean(0), b["chi"].mean(0), b["energy"].mean(0)   # the result is their mean
        d = None if d is None else b["distance"].mean(0)
    return Result(params=p, method=ParticleMethod(), status="ok", t=t, energy=e, frac_unsat=np.zeros(T),
                  nu=np.zeros(T), tw=np.array(p.tw), C=C, chi=chi, distance=d, errors=errors)


def exact_values(modes=(FAST, SLOW)):
    short = sum(w * T for lam, T, w in modes) / sum(w for lam, T, w in modes)
    static = sum(w * T / lam for lam, T, w in modes) / sum(w / lam for lam, T, w in modes)
    return short, static


def test_named_values_of_a_two_temperature_state():
    r = modes_result(batches=8, noise=1e-6)
    est = fit_teff(r, warn=False)
    short, static = exact_values()
    assert est.stationary and est.definition == "static"
    assert est.T_eff == est.T_static
    assert est.T_static == pytest.approx(static, rel=2e-3)
    assert est.T_short == pytest.approx(short, rel=2e-2)
    assert est.T_slow == pytest.approx(SLOW[1], rel=2e-2)
    # scale-resolved: T(s) falls from T_short to T_static; the local slope reaches T_slow
    c = est.curve
    assert c.ratio[0] > c.ratio[len(c.ratio) // 2] > c.ratio[-1]
    assert c.slope[99] == pytest.approx(SLOW[1], rel=0.05)   # lag 10: only the slow mode moves
    assert est.window[0] > est.tw and est.window[1] == pytest.approx(r.t[-1])
    assert est.error_method.startswith("jackknife over 8")


def test_a_curved_slow_branch_gives_its_mean_slope_with_a_note():
    # three temperatures: the slow branch (chi in [0.5, 0.95] of its plateau) spans the medium and
    # the slowest mode, so its slope falls from ~0.13 to ~0.10 along it: no single slope, but the
    # mean slope is a defined number, the same for any method that draws the same curve
    modes = (FAST, (0.6, 0.5, 1.0), (0.15, 0.1, 1.0))
    est = fit_teff(modes_result(modes=modes, batches=8, noise=1e-6), warn=False)
    exact = fit_teff(modes_result(modes=modes), warn=False)          # the noise-free curve
    assert math.isfinite(est.T_slow) and est.T_slow_err > 0
    assert abs(est.T_slow - exact.T_slow) < 3 * est.T_slow_err
    halves = [float(v) for v in re.findall(r"([0-9.]+) \+/- ", est.notes["T_slow"])]
    assert len(halves) == 2 and halves[0] > 1.2 * halves[1]            # colder along the branch
    assert halves[1] < est.T_slow < halves[0]
    assert 0.1 < est.T_slow < est.T_static                            # between the slowest mode and the mean
    # a straight branch has no note
    assert "T_slow" not in fit_teff(modes_result(batches=8, noise=1e-6), warn=False).notes


def test_equilibrium_gives_one_temperature_everywhere():
    modes = ((5.0, 0.7, 1.0), (0.3, 0.7, 2.0))
    est = fit_teff(modes_result(modes=modes, batches=6, noise=1e-6), warn=False)
    for value in (est.T_eff, est.T_short, est.T_static, est.T_slow):
        assert value == pytest.approx(0.7, rel=1e-2)
    np.testing.assert_allclose(est.curve.ratio, 0.7, rtol=1e-3)


def test_aging_is_not_stationary_and_gives_no_number():
    r = modes_result(aging=0.5, batches=6, noise=1e-6)
    st = check_stationarity(r)
    assert not st.stationary and any("ages" in w for w in st.reasons)
    with pytest.warns(FDTWarning, match="not stationary"):
        est = fit_teff(r)
    assert math.isnan(est.T_eff) and math.isnan(est.T_short) and not est.stationary


def test_energy_drift_is_not_stationary():
    r = modes_result(energy=lambda t: 0.3 * (1 + np.exp(-t / 40)), batches=6, noise=1e-6)
    st = check_stationarity(r)
    assert not st.stationary and any("energy drifts" in w for w in st.reasons)


def test_one_waiting_time_cannot_show_stationarity():
    st = check_stationarity(modes_result(tws=(20.0,)))
    assert not st.stationary and "two waiting times" in st.reasons[0]


def test_no_plateau_no_static_temperature():
    """A slow mode that has not relaxed by t_max: T_static missing and said why; T_short stays."""
    r = modes_result(modes=(FAST, (0.02, 0.2, 1.0)), batches=6, noise=1e-6)
    est = fit_teff(r, warn=False)
    assert est.stationary and math.isnan(est.T_eff) and "no plateau" in est.notes["T_static"]
    assert est.T_short == pytest.approx(exact_values((FAST, (0.02, 0.2, 1.0)))[0], rel=2e-2)
    with pytest.warns(FDTWarning, match="T_eff .* not available"):
        fit_teff(r)


def test_no_repetitions_no_error_bars_and_a_warning():
    r = modes_result()
    with pytest.warns(FDTWarning, match="no error bars"):
        est = fit_teff(r)
    assert est.error_method == "none" and math.isnan(est.T_eff_err) and np.isfinite(est.T_eff)
    assert np.all(np.isnan(est.curve.ratio_err))


def test_jackknife_errors_are_calibrated():
    """Over independent noisy copies, the reported error of T_static matches its spread."""
    values, errors = [], []
    for seed in range(40):
        est = fit_teff(modes_result(batches=10, noise=2e-4, seed=seed), warn=False)
        values.append(est.T_static)
        errors.append(est.T_static_err)
    spread = np.std(values, ddof=1)
    assert 1 / 1.5 < np.mean(errors) / spread < 1.5, (np.mean(errors), spread)
    assert abs(np.mean(values) - exact_values()[1]) < 3 * spread / np.sqrt(len(values)) + 1e-4


def test_json_fields():
    d = fit_teff(modes_result(batches=4, noise=1e-6), warn=False).to_dict(with_curve=True)
    for key in ("T_eff", "T_eff_err", "tw", "window", "definition", "stationary", "T_short", "T_short_err",
                "T_static", "T_static_err", "T_slow", "T_slow_err"):
        assert key in d
    json.dumps(d)
    assert len(d["curve"]["lags"]) == len(d["curve"]["ratio"]) > 100


def test_fdt_curve_of_a_chosen_waiting_time_and_lag_range():
    c = fdt_curve(modes_result(), tw=20.0, max_lag=10.0)
    assert c.tw == 20.0 and c.lags[0] == pytest.approx(0.1) and c.lags[-1] == pytest.approx(10.0)


def test_diverged_or_timeless_results_raise_a_clear_error():
    r = modes_result()
    with pytest.raises(ValueError, match="status diverged"):
        fit_teff(r.replace(status="diverged"))
    with pytest.raises(ValueError, match="no waiting times"):
        fit_teff(modes_result(tws=()))


def test_long_time_distance():
    frozen = modes_result(distance=lambda t: 2e-4 * (1 + 5 * np.exp(-t / 3)) , batches=6, noise=1e-4,
                          energy=lambda t: np.exp(-t))
    d = long_time_distance(frozen)
    assert d.converged and d.sat and abs(d.d_inf - 2e-4) < 3 * d.d_inf_err + 1e-8 and d.d_inf_err > 0
    moving = modes_result(distance=lambda t: 1e-3 * t, batches=6, noise=1e-4)
    with pytest.warns(DistanceWarning, match="d_inf not available: d\\(t\\) still changes"):
        d = long_time_distance(moving)
    assert not d.converged and math.isnan(d.d_inf) and "still changes" in d.note and not d.sat
