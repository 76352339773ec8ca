"""The window fit fit_fdt_line on synthetic results with a known fluctuation-dissipation relation."""

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from dmft import DMFTMethod, Params, ParticleMethod, Result
import warnings

from dmft.analysis.fdt_line import FDTLineFit as TeffFit, FDTWarning, fit_fdt_line
from dmft.core.result import Errors


def synthetic(T_eff=0.7, q=0.3, tau=2.0, tws=(10.0, 20.0), dt=0.1, t_max=40.0, norm=1.0,
              kind="dmft", relation=None, energy=None, aging=0.0, noise=0.0, seed=0):
    """A result with C(t,tw) = norm (q + (1-q) exp(-(t-tw)/tau_k)) and chi = relation(norm - C)
    (default (norm - C)/T_eff); tau_k = tau (1 + aging k) makes C depend on tw."""
    p = Params(dynamics="langevin", temperature=T_eff, dt=dt, t_max=t_max, tw=tws)
    t = np.arange(p.n_steps + 1) * dt
    K = len(p.tw)
    C = np.full((K, len(t)), np.nan)
    chi = np.full((K, len(t)), np.nan)
    rng = np.random.default_rng(seed)
    relation = relation or (lambda x: x / T_eff)
    for k, (tw, i) in enumerate(zip(p.tw, p.tw_index)):
        s = t[i:] - tw
        C[k, i:] = norm * (q + (1 - q) * np.exp(-s / (tau * (1 + aging * k))))
        chi[k, i:] = relation(norm - C[k, i:])
    errors = None
    if noise:
        sem = {"C": np.where(np.isnan(C), np.nan, noise), "chi": np.where(np.isnan(chi), np.nan, noise)}
        errors = Errors(source="samples", count=10, sem=sem)
        C = C + rng.normal(0, noise, C.shape)
        chi = chi + rng.normal(0, noise, chi.shape)
        kind = "simulation"
    e = np.full(len(t), 0.2) if energy is None else energy(t)
    extra = {"norm": np.full(len(t), norm)} if norm != 1.0 else {}
    method = DMFTMethod() if kind == "dmft" else ParticleMethod()
    return Result(params=p, method=method, status="ok", t=t, energy=e, frac_unsat=np.zeros(len(t)),
                  nu=np.zeros(len(t)), tw=np.array(p.tw), C=C, chi=chi, errors=errors, extra=extra)


def test_exact_relation_recovered():
    fit = fit_fdt_line(synthetic(T_eff=0.7))
    assert isinstance(fit, TeffFit)
    assert fit.T_eff == pytest.approx(0.7, rel=1e-10)
    assert fit.slope == pytest.approx(-1 / 0.7, rel=1e-10)
    assert fit.intercept == pytest.approx(0.0, abs=1e-10)
    assert fit.tw == 20.0 and fit.window == (20.0, 40.0) and fit.n_points == 201
    assert fit.T_eff_err < 1e-8
    assert fit.warnings == ()
    d = fit.to_dict()
    assert d["T_eff"] == fit.T_eff and d["tw"] == 20.0 and d["window"] == [20.0, 40.0]


@settings(max_examples=40, deadline=None)
@given(T_eff=st.floats(0.01, 100.0), q=st.floats(-0.5, 0.9), tau=st.floats(0.3, 10.0),
       norm=st.floats(0.2, 5.0), tw=st.floats(0.0, 30.0))
def test_any_linear_relation_recovered(T_eff, q, tau, norm, tw):
    r = synthetic(T_eff=T_eff, q=q, tau=tau, norm=norm, tws=(tw,))
    fit = fit_fdt_line(r)
    assert math.isclose(fit.T_eff, T_eff, rel_tol=1e-8)
    assert fit.warnings == ()


def test_ridge_norm_is_used():
    """C(t,t) != 1: the fit must use x = C(t,t) - C(t,tw), not 1 - C."""
    fit = fit_fdt_line(synthetic(T_eff=1.3, norm=2.5))
    assert fit.T_eff == pytest.approx(1.3, rel=1e-10)
    assert fit.intercept == pytest.approx(0.0, abs=1e-10)
    # a norm that still changes over the window: only x = C(t,t) - C(t,tw) gives a line
    r = synthetic(T_eff=1.3, norm=2.5)
    norm_t = 2.5 + 0.5 * np.sin(r.t / 3.0)
    r.extra["norm"] = norm_t
    r = r.replace(chi=(norm_t[None] - r.C) / 1.3)
    fit = fit_fdt_line(r)
    assert fit.T_eff == pytest.approx(1.3, rel=1e-10)


def test_explicit_tw_and_window():
    r = synthetic(T_eff=0.4)
    fit = fit_fdt_line(r, tw=10.0, window=(12.0, 20.0))
    assert fit.tw == 10.0 and fit.window == (12.0, 20.0) and fit.n_points == 81
    assert fit.T_eff == pytest.approx(0.4, rel=1e-10)
    fit = fit_fdt_line(r, tw=10.04)  # within dt/2 of a measured tw
    assert fit.tw == 10.0


def test_errors():
    r = synthetic(tws=(10.0, 20.0))
    with pytest.raises(ValueError, match="not measured"):
        fit_fdt_line(r, tw=15.0)
    with pytest.raises(ValueError, match="before tw"):
        fit_fdt_line(r, tw=20.0, window=(15.0, 30.0))
    with pytest.raises(ValueError, match="t_start < t_end"):
        fit_fdt_line(r, window=(30.0, 25.0))
    with pytest.raises(ValueError, match="no waiting times"):
        fit_fdt_line(synthetic(tws=()))


def test_default_tw_skips_unusable_last_one():
    r = synthetic(tws=(5.0, 39.8))  # only 3 points after 39.8
    fit = fit_fdt_line(r)
    assert fit.tw == 5.0
    # with a window, the default tw is the largest one at or before its start
    fit = fit_fdt_line(synthetic(tws=(5.0, 10.0, 20.0)), window=(15.0, 25.0))
    assert fit.tw == 10.0 and fit.window == (15.0, 25.0)


def test_noisy_relation_with_sem():
    r = synthetic(T_eff=0.5, noise=0.003, seed=1)
    fit = fit_fdt_line(r)
    assert fit.err_propagated > 0
    assert abs(fit.T_eff - 0.5) < 3 * fit.T_eff_err
    assert fit.T_eff_err < 0.1
    assert fit.warnings == ()


@pytest.mark.parametrize("seed", range(5))
def test_error_bar_covers_truth(seed):
    r = synthetic(T_eff=2.0, noise=0.01, seed=seed)
    fit = fit_fdt_line(r)
    assert abs(fit.T_eff - 2.0) < 2 * fit.T_eff_err


def test_nonlinear_relation_is_flagged():
    # two-step (aging-like) FDR: slope 1/0.5 up to x = 0.3, then 1/3
    two_step = lambda x: np.where(x < 0.3, x / 0.5, 0.3 / 0.5 + (x - 0.3) / 3.0)  # noqa: E731
    fit = fit_fdt_line(synthetic(relation=two_step, q=0.0))
    assert any("not linear" in w for w in fit.warnings), fit.warnings
    # smooth curvature too
    fit = fit_fdt_line(synthetic(relation=lambda x: x + 2 * x ** 2, q=0.0))
    assert any("not linear" in w for w in fit.warnings), fit.warnings


def test_noise_alone_does_not_trigger_nonlinear_warning():
    for seed in range(5):
        fit = fit_fdt_line(synthetic(T_eff=0.5, noise=0.003, seed=seed))
        assert not any("not linear" in w for w in fit.warnings), fit.warnings


def test_energy_drift_is_flagged():
    fit = fit_fdt_line(synthetic(energy=lambda t: 0.2 * np.exp(-t / 20)))
    assert any("energy drifts" in w for w in fit.warnings), fit.warnings
    fit = fit_fdt_line(synthetic(energy=lambda t: 0.2 * (1 + 0.001 * np.sin(t))))
    assert not any("energy drifts" in w for w in fit.warnings)


def test_aging_correlation_is_flagged():
    fit = fit_fdt_line(synthetic(aging=0.5))
    assert any("aging" in w for w in fit.warnings), fit.warnings


def test_negative_slope_is_flagged():
    fit = fit_fdt_line(synthetic(relation=lambda x: -x))
    assert fit.T_eff < 0 and math.isinf(fit.T_eff_err)
    assert any("non-positive slope" in w for w in fit.warnings)


def with_batches(T_eff=0.5, B=10, amp=0.02, seed=0, tws=(10.0, 20.0)):
    """Synthetic simulation: B batch curves = truth + smooth random perturbations (errors strongly
    correlated in time, as in real simulations), the result = their average, sem from them."""
    r = synthetic(T_eff=T_eff, tws=tws)
    rng = np.random.default_rng(seed)
    K, T = r.C.shape
    s = r.t / 5.0
    basis = np.stack([np.ones_like(s), np.sin(s), np.cos(s)])  # smooth error shapes
    Cb = r.C[None] + amp * np.einsum("bkj,jt->bkt", rng.normal(size=(B, K, 3)), basis)
    chib = r.chi[None] + amp * np.einsum("bkj,jt->bkt", rng.normal(size=(B, K, 3)), basis)
    sem = {"C": Cb.std(0, ddof=1) / np.sqrt(B), "chi": chib.std(0, ddof=1) / np.sqrt(B)}
    errors = Errors(source="samples", count=B, sem=sem, batches={"C": Cb, "chi": chib},
                    batch_size=np.ones(B, dtype=int))
    return r.replace(C=Cb.mean(0), chi=chib.mean(0), errors=errors, method=ParticleMethod())


def test_jackknife_error_is_calibrated():
    """Over many independent synthetic runs with time-correlated errors, the jackknife error is
    close to the true spread of T_eff, and the sem bound (used without batches) is larger."""
    fits = [fit_fdt_line(with_batches(seed=s)) for s in range(60)]
    assert all(f.error_method == "jackknife" for f in fits)
    values = np.array([f.T_eff for f in fits])
    errors = np.array([f.T_eff_err for f in fits])
    spread = values.std(ddof=1)
    assert abs(values.mean() - 0.5) < 3 * spread / np.sqrt(len(values))
    assert 0.6 < np.median(errors) / spread < 2.0
    r = with_batches(seed=0)
    r = r.replace(errors=Errors(source="samples", count=r.errors.count, sem=r.errors.sem))
    bound = fit_fdt_line(r)
    assert bound.error_method == "sem-bound"
    assert bound.T_eff_err > fits[0].T_eff_err
    assert fit_fdt_line(synthetic()).error_method == "regression"


def test_batch_correlated_noise_is_not_aging():
    """Statistical noise between batches (errors of the size of the sem) must not read as aging."""
    for seed in range(5):
        fit = fit_fdt_line(with_batches(seed=seed, amp=0.03))
        assert not any("aging" in w for w in fit.warnings), fit.warnings
