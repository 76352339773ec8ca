"""``dynamics = injected``: gradient descent (or b-SGD) times i.i.d. per-pattern weights of mean 1
and variance ``noise_var`` (docs/conventions.md section 2, dmft/core/selection.py).

Exact statements checked: the weights' law (mean 1, variance sigma^2, the class's shape); the
bernoulli class at b = 1 *is* sgd at b' = 1/(1+sigma^2) with mean normalisation (identical
draws, identical solves and simulations); sigma^2 = 0 is the plain selection; in a linear model
(square loss, ridge) only the first two moments of the weights enter the averages, so every class
gives the same energy at equal sigma^2 and the teacher overlap m(t) of gradient descent.  And the
DMFT against simulations for the two classes that exist only here.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import dmft
from dmft import DMFTMethod, ParameterError, Params, ParticleMethod
from dmft.core.selection import Injected, make_selection

CLASSES = ("bernoulli", "gaussian", "rademacher", "gamma")


@pytest.mark.parametrize("noise_class", CLASSES)
@pytest.mark.parametrize("b,normalization", [(1.0, "sum"), (0.4, "mean"), (0.4, "sum")])
def test_weights_have_mean_one_and_the_chosen_variance(noise_class, b, normalization):
    var = 0.8
    p = Params(dynamics="injected", noise_class=noise_class, noise_var=var, b=b, normalization=normalization)
    sel = make_selection(p, 100_000, np.random.default_rng(3))
    assert isinstance(sel, Injected)
    s = np.concatenate([sel.next() for _ in range(4)])
    n = s.size
    scale = 1.0 / b if normalization == "mean" else 1.0
    mean = b * scale                                   # E[g] E[x]
    variance = scale ** 2 * b * (1 + var) - mean ** 2  # E[g^2] E[x^2] - E[g x]^2
    assert sel.mean == pytest.approx(mean)
    assert abs(s.mean() - mean) < 5 * np.sqrt(variance / n)
    assert s.var() == pytest.approx(variance, rel=0.03)


def test_the_classes_have_their_shapes():
    draw = {c: Injected(make_selection(Params(dynamics="gd"), 0, None), 200_000, c, 0.25,
                        np.random.default_rng(1)).weights() for c in CLASSES}
    assert set(np.unique(draw["bernoulli"])) == {0.0, 1.25}          # B/p, p = 1/(1 + 0.25)
    assert set(np.unique(draw["rademacher"])) == {0.5, 1.5}          # 1 +- sigma
    assert draw["gamma"].min() > 0
    skew = {c: ((x - 1) ** 3).mean() / 0.25 ** 1.5 for c, x in draw.items()}
    assert skew["gamma"] == pytest.approx(2 * 0.5, abs=0.05)         # 2 sigma
    assert abs(skew["gaussian"]) < 0.05 and abs(skew["rademacher"]) < 0.05
    # x = B/p: skewness (1 - 2p)/sqrt(p(1 - p)) = -1.5 at p = 1/(1 + 0.25) = 0.8
    assert skew["bernoulli"] == pytest.approx(-(2 * 0.8 - 1) / np.sqrt(0.8 * 0.2), abs=0.05)


BASE = dict(alpha=2.0, delta=0.5, dt=0.1, t_max=8.0, tw=(4.0,), replicas=2, data="teacher")


@pytest.mark.parametrize("kind", ["dmft", "simulation"])
@pytest.mark.parametrize("noise_class", ["bernoulli", "gaussian"])
def test_bernoulli_and_gaussian_injection_at_b_one_are_sgd_at_matched_batch(kind, noise_class):
    """x = B/p is the mean-normalised sgd selection at b = p, drawn from the same stream: identical
    runs (gaussian: 1 + sigma z against (b + sqrt(b(1-b)) z)/b, equal up to round-off, which the
    simulations' finite-difference chi = dC/eps amplifies to ~1e-10)."""
    atol = 0.0 if noise_class == "bernoulli" else (1e-12 if kind == "dmft" else 1e-8)
    var = 0.7
    method = DMFTMethod(n_paths=512) if kind == "dmft" else ParticleMethod(n=150, n_samples=2)
    a = dmft.run(Params(**BASE, dynamics="injected", b=1.0, noise_var=var, noise_class=noise_class), method)
    b = dmft.run(Params(**BASE, dynamics="sgd", b=1 / (1 + var), normalization="mean",
                        noise_class=noise_class), method)
    for name in ("energy", "C", "chi", "distance"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), atol=atol, rtol=0, equal_nan=True)
    np.testing.assert_allclose(a.extra["m"], b.extra["m"], atol=atol, rtol=0)
    assert a.distance[-1] > 1e-3     # the noise acts: not a comparison of two gradient descents


@pytest.mark.parametrize("kind", ["dmft", "simulation"])
def test_zero_injected_variance_is_the_plain_selection(kind):
    method = DMFTMethod(n_paths=256) if kind == "dmft" else ParticleMethod(n=100, n_samples=1)
    for b, plain in ((1.0, dict(dynamics="gd")), (0.5, dict(dynamics="sgd", b=0.5))):
        a = dmft.run(Params(**BASE, dynamics="injected", b=b, noise_class="gamma"), method)
        ref = dmft.run(Params(**BASE, **plain), method)
        np.testing.assert_array_equal(a.energy, ref.energy)
        np.testing.assert_array_equal(a.distance, ref.distance)


def test_linear_model_sees_only_the_covariance_of_the_weights():
    """Square loss + ridge is linear in w: E[w] follows gradient descent whatever the weights (so
    m(t) is gd's), and second moments (the energy) depend on the weights only through sigma^2.
    DMFT, 6 replicates of 2048 paths each: the four classes agree within 3.5 combined standard
    errors, and differ from sigma^2 = 0 by many (the check is not vacuous)."""
    base = dict(alpha=3.0, delta=0.3, loss="square", constraint="ridge", ridge=0.5, dt=0.2, t_max=6.0,
                data="teacher", dynamics="injected", b=1.0)
    method = DMFTMethod(n_paths=2048, replicates=6)
    gd = dmft.solve(Params(**{**base, "dynamics": "gd"}), method)
    runs = {c: dmft.solve(Params(**base, noise_var=1.0, noise_class=c), method) for c in CLASSES}
    e_gd = gd.energy[-1]
    for c, r in runs.items():
        e, se = r.energy[-1], r.sem["energy"][-1]
        assert e - e_gd > 10 * np.hypot(se, gd.sem["energy"][-1]), (c, e, e_gd)
        m, sm = r.extra["m"], r.sem["m"]
        dev = np.abs(m - gd.extra["m"])[1:] / np.hypot(sm, gd.sem["m"])[1:]
        assert dev.max() < 4.0, (c, dev.max())
        for c2, r2 in runs.items():
            z = abs(e - r2.energy[-1]) / np.hypot(se, r2.sem["energy"][-1])
            assert z < 3.5, (c, c2, z)


@pytest.mark.parametrize("noise_class", ["rademacher", "gamma"])
def test_dmft_matches_simulations_for_the_injected_classes(noise_class):
    """Stationary UNSAT point (alpha = 2, delta = 0.5), gradient descent with injected weights of
    variance 1: energy, m, C(t, tw) and the replica distance of the DMFT (4 replicates of 2048 paths)
    against simulations (N = 400, 8 samples) within 4 combined standard errors plus 3% (the
    finite-N bias measured at this size for sgd, docs/validation.md)."""
    p = Params(**{**BASE, "t_max": 12.0, "tw": (6.0,)}, dynamics="injected", b=1.0, noise_var=1.0,
               noise_class=noise_class, seed=5)
    th = dmft.solve(p, DMFTMethod(n_paths=2048, replicates=4))
    sim = dmft.simulate(p, ParticleMethod(n=400, n_samples=8))
    i = slice(20, None, 10)
    checks = {"energy": (th.energy, sim.energy, th.sem["energy"], sim.sem["energy"]),
              "m": (th.extra["m"], sim.extra["m"], th.sem["m"], sim.sem["m"]),
              "1 - C": (1 - th.C[0], 1 - sim.C[0], th.sem["C"][0], sim.sem["C"][0]),
              "distance": (th.distance, sim.distance, th.sem["distance"], sim.sem["distance"])}
    for name, (a, b, ea, eb) in checks.items():
        a, b, err = a[i], b[i], np.hypot(ea, eb)[i]
        keep = np.isfinite(a) & (np.abs(b) > 0)
        assert keep.sum() >= 5, name
        ok = np.abs(a - b)[keep] <= 4 * err[keep] + 0.03 * np.abs(b[keep])
        assert ok.all(), (name, a[keep], b[keep], err[keep])
    assert th.distance[-1] > 1e-3   # the injected noise separates the replicas


@pytest.mark.parametrize("changes,name", [
    (dict(dynamics="sgd", noise_var=0.5), "noise_var"),
    (dict(dynamics="injected", noise_var=-1.0), "noise_var"),
    (dict(dynamics="sgd", noise_class="gamma"), "noise_class"),
    (dict(dynamics="psgd", noise_class="rademacher"), "noise_class"),
])
def test_bad_injection_settings_name_the_parameter(changes, name):
    with pytest.raises(ParameterError) as info:
        Params(**changes)
    assert info.value.name == name


def test_cli_refuses_noise_var_without_injection(tmp_path):
    out = tmp_path / "x.h5"
    r = subprocess.run([sys.executable, "-m", "dmft", "solve", "--dynamics", "sgd", "--noise-var", "0.5",
                        "--t-max", "1", "-o", str(out)], capture_output=True, text=True)
    assert r.returncode == 2 and "noise_var" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_injected_runs_from_the_cli_and_records_the_settings(tmp_path):
    out = tmp_path / "inj.h5"
    r = subprocess.run([sys.executable, "-m", "dmft", "solve", "--dynamics", "injected", "--b", "1",
                        "--noise-var", "0.5", "--noise-class", "rademacher", "--t-max", "2", "--n-paths", "256",
                        "-o", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    p = dmft.load(out).params
    assert (p.dynamics, p.noise_var, p.noise_class, p.b) == ("injected", 0.5, "rademacher", 1.0)
