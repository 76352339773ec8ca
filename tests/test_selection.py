"""Selection processes s_mu(t): means, variances and two-time correlations (docs/conventions.md section 2)."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from dmft import Params
from dmft.core.selection import (
    BernoulliIID, FullBatch, GaussianAR1, GaussianIID, TelegraphMarkov, make_selection,
)


def trajectory(sel, steps):
    return np.stack([sel.next() for _ in range(steps)])  # (steps, P)


def autocorr(s, max_lag):
    """Normalised autocorrelation of the stationary series s (steps, P), pooled over patterns."""
    x = s - s.mean()
    var = (x * x).mean()
    return np.array([(x[: len(x) - k] * x[k:]).mean() / var for k in range(max_lag + 1)])


def params(**kw):
    base = dict(dynamics="psgd", b=0.3, tau=5.0, dt=0.1)
    base.update(kw)
    return Params(**base)


def test_gd_and_langevin_select_everything():
    for dyn, extra in (("gd", {}), ("langevin", {"temperature": 1.0})):
        sel = make_selection(Params(dynamics=dyn, **extra), 10, None)
        assert isinstance(sel, FullBatch) and sel.next() is None


def test_factory_classes():
    rng = np.random.default_rng(0)
    assert isinstance(make_selection(params(dynamics="sgd"), 5, rng), BernoulliIID)
    assert isinstance(make_selection(params(dynamics="sgd", noise_class="gaussian"), 5, rng), GaussianIID)
    assert isinstance(make_selection(params(), 5, rng), TelegraphMarkov)
    assert isinstance(make_selection(params(noise_class="gaussian"), 5, rng), GaussianAR1)


@pytest.mark.parametrize("noise_class", ["bernoulli", "gaussian"])
def test_psgd_stationary_mean_variance_and_correlation_time(noise_class):
    p = params(noise_class=noise_class)  # b tau = 1.5 -> 15 steps
    b, dt = p.b, p.dt
    rho = 1 - dt / (b * p.tau)
    sel = make_selection(p, 400, np.random.default_rng(1))
    s = trajectory(sel, 3000)
    if noise_class == "bernoulli":
        assert set(np.unique(s)) <= {0.0, 1.0}
    # stationary from the start: the first step already has mean b
    assert abs(s[0].mean() - b) < 4 * np.sqrt(b * (1 - b) / 400)
    assert abs(s.mean() - b) < 0.01
    assert abs(s.var() - b * (1 - b)) < 0.01
    acf = autocorr(s, 120)
    lags = np.arange(len(acf))
    np.testing.assert_allclose(acf[:40], rho ** lags[:40], atol=0.02)
    # correlation time dt * sum_{k>=0} acf(k) = dt/(1 - rho) = b tau
    t_corr = dt * acf.sum()
    assert abs(t_corr - b * p.tau) / (b * p.tau) < 0.08


def test_psgd_transition_frequencies():
    p = params(b=0.6, tau=2.0, dt=0.2)
    sel = make_selection(p, 2000, np.random.default_rng(2))
    s = trajectory(sel, 500)
    prev, nxt = s[:-1], s[1:]
    p01 = (nxt[prev == 0] == 1).mean()
    p10 = (nxt[prev == 1] == 0).mean()
    assert abs(p01 - p.dt / p.tau) < 0.005
    assert abs(p10 - (1 - p.b) * p.dt / (p.b * p.tau)) < 0.005


@pytest.mark.parametrize("noise_class", ["bernoulli", "gaussian"])
def test_sgd_iid_mean_variance(noise_class):
    p = params(dynamics="sgd", b=0.25, noise_class=noise_class)
    s = trajectory(make_selection(p, 1000, np.random.default_rng(3)), 400)
    assert abs(s.mean() - 0.25) < 0.005
    assert abs(s.var() - 0.25 * 0.75) < 0.005
    acf = autocorr(s, 3)
    assert np.all(np.abs(acf[1:]) < 0.01)
    if noise_class == "bernoulli":
        assert set(np.unique(s)) <= {0.0, 1.0}
    else:
        assert (s < 0).any()  # genuinely Gaussian, not clipped


@pytest.mark.parametrize("dynamics", ["sgd", "psgd"])
@pytest.mark.parametrize("noise_class", ["bernoulli", "gaussian"])
def test_mean_normalization_divides_by_b(dynamics, noise_class):
    p = params(dynamics=dynamics, noise_class=noise_class, normalization="mean", b=0.4)
    sel = make_selection(p, 1000, np.random.default_rng(4))
    s = trajectory(sel, 300)
    assert sel.mean == pytest.approx(1.0)
    assert abs(s.mean() - 1.0) < 0.03
    assert abs(s.var() - 0.6 / 0.4) < 0.05
    if noise_class == "bernoulli":
        assert set(np.unique(s)) <= {0.0, 1.0 / 0.4}


def test_b_equal_one_is_full_batch():
    for kw in (dict(dynamics="sgd"), dict(), dict(noise_class="gaussian"), dict(dynamics="sgd", noise_class="gaussian")):
        sel = make_selection(params(b=1.0, **kw), 50, np.random.default_rng(5))
        for _ in range(20):
            assert np.array_equal(sel.next(), np.ones(50))


@settings(max_examples=25, deadline=None)
@given(
    b=st.floats(0.05, 1.0),
    tau_factor=st.floats(1.0, 20.0),
    dt=st.floats(0.01, 0.5),
    seed=st.integers(0, 2**31),
)
def test_telegraph_chain_properties(b, tau_factor, dt, seed):
    """Any valid (b, tau, dt): values in {0,1}, switching probabilities in [0,1] with detailed
    balance p01 (1-b) = p10 b (so b is stationary), and an empirical mean near b."""
    tau = tau_factor * dt / b * (1 + 1e-9)  # dt <= b tau despite rounding
    p = Params(dynamics="psgd", b=b, tau=tau, dt=dt)
    sel = make_selection(p, 500, np.random.default_rng(seed))
    assert 0 <= sel.p01 <= 1 and 0 <= sel.p10 <= 1 + 1e-12
    assert sel.p01 * (1 - b) == pytest.approx(sel.p10 * b)
    assert sel.rho == pytest.approx(1 - sel.p01 - sel.p10)
    s = trajectory(sel, 200)
    assert set(np.unique(s)) <= {0.0, 1.0}
    # 500 patterns x 200 steps, correlation time <= 20 steps -> std of the mean <~ 0.01
    assert abs(s.mean() - b) < 0.06
