"""The n_paths -> infinity extrapolation of DMFT results (dmft.core.extrapolation, issue 22).

Exact cases: data linear in 1/n_paths are extrapolated to their intercept to round-off; the
extrapolated solve carries the plain solve at the largest count exactly (``at_largest_paths``).
The point of the method: replicates at one path count cannot see a finite-path bias, the
extrapolation removes it and its error covers the truth (a test that fails when the correction is
dropped).
"""

import dataclasses
import subprocess
import sys

import numpy as np
import pytest

from dmft import DMFTMethod, Params, load, save
from dmft.analysis import fit_teff
from dmft.core.extrapolation import (BIAS_SUFFIX, at_largest_paths, extrapolate_paths,
                                     richardson_coefficients)
from dmft.core.result import Errors
from dmft.solver.assemble import solve

from test_teff import modes_result


def test_coefficients_are_the_line_through_the_means_at_zero():
    for n, r in (([4096, 1024], [4, 4]), ([16384, 4096, 1024], [4, 8, 2]), ([100, 30, 7, 2], [1, 1, 1, 1])):
        c = richardson_coefficients(n, r)
        assert c.sum() == pytest.approx(1.0, abs=1e-12)
        assert (c / np.asarray(n)).sum() == pytest.approx(0.0, abs=1e-15)
    assert np.allclose(richardson_coefficients([4096, 1024], [4, 4]), [4 / 3, -1 / 3])
    for bad in (([4096], [4]), ([4096, 4096], [4, 4]), ([4096, 0], [4, 4])):
        with pytest.raises(ValueError):
            richardson_coefficients(*bad)


def _at(n_paths: int, beta: float, noise: float = 0.0, seed: int = 0, replicates: int = 8):
    """A DMFT-like result at ``n_paths`` whose energy is ``0.3 + beta/n`` and whose chi is
    ``chi_inf (1 + beta/n)`` (so T_static is ``T_inf / (1 + beta/n)``), with ``replicates``
    noisy batches of relative size ``noise / sqrt(n_paths)`` when ``noise``."""
    shift = beta / n_paths
    r = modes_result(energy=lambda t: 0.3 + shift + 0 * t, batches=replicates if noise else 0,
                     noise=noise / np.sqrt(n_paths), seed=seed)
    r = r.replace(chi=r.chi * (1 + shift), method=DMFTMethod(n_paths=n_paths, replicates=replicates))
    if r.errors is not None:
        b = dict(r.errors.batches)
        b["chi"] = b["chi"] * (1 + shift)
        sem = {k: v.std(0, ddof=1) / np.sqrt(replicates) for k, v in b.items()}
        r = r.replace(errors=dataclasses.replace(r.errors, source="replicates", sem=sem, batches=b))
    return r


def test_data_linear_in_one_over_n_give_their_intercept():
    levels = [_at(n, beta=40.0) for n in (4096, 1024, 256)]
    x = extrapolate_paths(levels)
    assert np.allclose(x.energy, 0.3, atol=1e-13)
    assert np.allclose(x.extra["energy" + BIAS_SUFFIX], 40.0 / 4096, atol=1e-13)
    plain = modes_result()
    assert np.allclose(x.chi, plain.chi, equal_nan=True, atol=1e-12)
    back = at_largest_paths(x)
    assert np.allclose(back.energy, levels[0].energy, atol=1e-13)
    assert np.allclose(back.chi, levels[0].chi, equal_nan=True, atol=1e-12)
    assert x.method.n_paths == 4096      # the caller records how it was made


def test_a_bias_replicates_cannot_see_is_removed_and_its_error_covers_the_truth():
    """T_static at 4096 paths misses the infinite-path value by many of its errors; the
    extrapolation from 4096 and 1024 paths covers it within 3 combined errors, at every seed."""
    truth = fit_teff(modes_result(), warn=False).T_static
    for seed in range(5):
        hi, lo = _at(4096, beta=400.0, noise=0.05, seed=seed), _at(1024, beta=400.0, noise=0.05, seed=100 + seed)
        plain = fit_teff(hi, warn=False)
        x = fit_teff(extrapolate_paths([hi, lo]), warn=False)
        assert abs(plain.T_static - truth) > 5 * plain.T_static_err
        assert abs(x.T_static - truth) < 3 * x.T_static_err
        assert x.T_static_err > plain.T_static_err     # the correction's uncertainty is in the error


def test_errors_combine_in_quadrature_and_batches_are_regrouped():
    hi, lo = _at(4096, 10.0, noise=0.05, seed=1, replicates=10), _at(1024, 10.0, noise=0.05, seed=2, replicates=4)
    x = extrapolate_paths([lo, hi])                         # any order
    c = richardson_coefficients([4096, 1024], [10, 4])
    assert np.allclose(x.sem["energy"], np.hypot(c[0] * hi.sem["energy"], c[1] * lo.sem["energy"]))
    assert x.errors.n_batches == 4 and x.errors.batches["chi"].shape == (4,) + hi.chi.shape
    # the batch means average to the extrapolated means: exactly where the regrouped sizes are in
    # proportion (4 and 4), to a small part of the error otherwise (10 regrouped into 3+2+3+2)
    w = x.errors.batch_size / x.errors.batch_size.sum()
    assert np.all(np.abs(np.tensordot(w, x.errors.batches["energy"], 1) - x.energy) < 0.2 * x.sem["energy"])
    even = extrapolate_paths([hi, _at(1024, 10.0, noise=0.05, seed=2, replicates=10)])
    w = even.errors.batch_size / even.errors.batch_size.sum()
    assert np.allclose(np.tensordot(w, even.errors.batches["energy"], 1), even.energy, rtol=0, atol=1e-14)


def test_refusals():
    a = _at(4096, 1.0)
    with pytest.raises(ValueError):
        extrapolate_paths([a])
    with pytest.raises(ValueError):
        extrapolate_paths([a, a])                            # one path count
    with pytest.raises(ValueError):
        extrapolate_paths([a, a.replace(method=a.method.replace(n_paths=1024), params=a.params.replace(alpha=2.0))])
    with pytest.raises(Exception):
        DMFTMethod(n_paths=1024, extrapolation_paths=1024)
    with pytest.raises(Exception):
        DMFTMethod(n_paths=1024, extrapolation_paths=1)


POINT = dict(alpha=4.0, delta=0.5, dynamics="sgd", b=0.5, dt=0.1, t_max=6.0, tw=(2.0, 3.0), seed=5)


def test_extrapolated_solve_contains_the_plain_solve_exactly(tmp_path):
    p = Params(**POINT)
    method = DMFTMethod(n_paths=256, replicates=3, extrapolation_paths=64)
    x = solve(p, method)
    plain = solve(p, method.replace(extrapolation_paths=0))
    low = solve(p, method.replace(extrapolation_paths=0, n_paths=64))
    assert x.ok and x.method == method
    back = at_largest_paths(x)
    for name in ("energy", "C", "chi"):
        assert np.allclose(getattr(back, name), getattr(plain, name), equal_nan=True, rtol=0, atol=1e-12)
    # the second count has its own streams: not the first count's replicates cut short
    assert not np.allclose(low.energy, plain.energy)
    # 4/3 of the first minus 1/3 of an independent second count
    second = (4 * plain.energy - 3 * x.energy)
    assert np.all(np.isfinite(second)) and not np.allclose(second, low.energy)
    assert np.all(x.sem["energy"][1:] > plain.sem["energy"][1:])
    path = tmp_path / "x.h5"
    save(x, str(path))
    again = load(str(path))
    assert again.method == method
    assert np.array_equal(again.extra["energy" + BIAS_SUFFIX], x.extra["energy" + BIAS_SUFFIX])


def test_cli_solve_extrapolates_and_refuses_a_bad_count(tmp_path):
    out = tmp_path / "x.h5"
    base = [sys.executable, "-m", "dmft", "solve", "--alpha", "4", "--delta", "0.5", "--dynamics", "sgd",
            "--b", "0.5", "--t-max", "3", "--tw", "1", "--n-paths", "128", "--replicates", "2"]
    bad = subprocess.run(base + ["--extrapolation-paths", "128", "-o", str(out)], capture_output=True, text=True)
    assert bad.returncode == 2 and "extrapolation_paths" in bad.stderr and not out.exists()
    ok = subprocess.run(base + ["--extrapolation-paths", "32", "-o", str(out)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    r = load(str(out))
    assert r.method.extrapolation_paths == 32 and "energy" + BIAS_SUFFIX in r.extra


def test_measure_and_scans_take_an_extrapolated_method(tmp_path):
    from dmft.app.scan import parse_config

    config = parse_config({"mode": "measure", "measure": {"quantity": "teff"},
                           "base": {"alpha": 4.0, "t_max": 20.0, "n_paths": 256, "extrapolation_paths": 64},
                           "axes": {"delta": [0.5, 1.0]}})
    assert all(task.method.extrapolation_paths == 64 for task in config.tasks())
    bad = subprocess.run([sys.executable, "-m", "dmft", "measure", "teff", "--extrapolation-paths", "1",
                          "-o", str(tmp_path / "m.h5")], capture_output=True, text=True)
    assert bad.returncode == 2 and "extrapolation_paths" in bad.stderr and not (tmp_path / "m.h5").exists()


@pytest.mark.parametrize("extrapolation_paths", [64, -1])
def test_repetitions_continued_with_their_companions_equal_one_solve(extrapolation_paths):
    """dmft measure's repetitions: replicate i of n_paths and of the companion count, continued to
    a longer horizon (the companions too when their count stays, made anew at the new count when
    the automatic count grows with the steps) give the solve at that horizon to round-off."""
    from dmft.app.repetitions import Repetitions

    method = DMFTMethod(n_paths=256, exact_lags=4, extrapolation_paths=extrapolation_paths)   # a band that stays
    short, long = Params(**{**POINT, "t_max": 4.0, "tw": (2.0,)}), Params(**{**POINT, "t_max": 8.0, "tw": (2.0,)})
    reps = Repetitions(short, method, continuable=2)
    assert reps.add(2, deadline=float("inf")) == 2 and reps.companions.count == 2
    assert reps.companions.level == method.companion(short)
    half = reps.result()
    reps.extend(long)
    assert reps.companions.level == method.companion(long) == (64 if extrapolation_paths == 64 else 80)
    x, ref = reps.result(), solve(long, method.replace(replicates=2))
    assert x.meta["companion_paths"] == ref.meta["companion_paths"] == reps.companions.level
    for name in ("energy", "C", "chi"):
        assert np.allclose(getattr(x, name), getattr(ref, name), equal_nan=True, rtol=0, atol=1e-12)
        assert np.allclose(x.sem[name], ref.sem[name], equal_nan=True, rtol=0, atol=1e-12)
    if extrapolation_paths == 64:       # the kept marches give the shorter horizon's result at no cost
        again = reps.result_at(short)
        assert np.allclose(again.energy, half.energy, rtol=0, atol=1e-12)


def test_default_companion_count():
    p = Params(**POINT)                                  # 60 steps
    assert DMFTMethod().companion(Params()) == 1250      # the canonical grid: 1250 steps > 16384 / 16
    assert DMFTMethod().companion(Params(t_max=50.0)) == 1024
    assert DMFTMethod(n_paths=65536).companion(p) == 4096
    assert DMFTMethod(n_paths=256).companion(p) == 64            # a quarter below 4096 paths
    assert DMFTMethod(n_paths=256).companion(p.replace(replicas=2)) == 120   # the steps it represents
    assert DMFTMethod(n_paths=100).companion(p) == 0             # 60 steps > 100 / 2: none
    # with a window the companion must hold a field's regressors: W + blocks (64 + 125 at 500 steps)
    assert DMFTMethod(n_paths=1024, memory_window=64).companion(Params(t_max=50.0)) == 256
    assert DMFTMethod(n_paths=256, memory_window=64).companion(Params(t_max=50.0)) == 0
    assert DMFTMethod(n_paths=256, extrapolation_paths=0).companion(p) == 0
    assert DMFTMethod(n_paths=256, extrapolation_paths=10).companion(p) == 10
    plain = solve(p, DMFTMethod(n_paths=100, replicates=2))
    assert "energy" + BIAS_SUFFIX not in plain.extra and "finite-n_paths bias" in plain.meta["paths_bias"]


def test_the_default_removes_a_finite_path_bias_that_replicates_cannot_see():
    """At a small size where the bias is large: gd with i.i.d. Gaussian inputs (whose empirical
    moments fluctuate, unlike the default orthogonal ones) at 32 paths, 15 steps.  1 - C is biased
    like -0.17 / n_paths (exploratory runs to t = 2, tw = 1, at 12, 24, 48 and 4096 paths); 512 replicates
    see the plain mean miss the 8192-path value by > 4 combined errors (chi by > 2), and the
    default method (its automatic companion of 15 paths, extrapolated) agrees within 2 (seeds 0,
    1, 3 with 1024 replicates: plain 7.9-8.9 and 4.1-4.8, extrapolated 1.2 at most).  Fails if
    the bias estimate is dropped from the default."""
    p = Params(alpha=4.0, delta=0.5, dynamics="gd", t_max=1.5, tw=(0.75,), seed=1)
    default = DMFTMethod(n_paths=32, replicates=512, orthogonal_inputs=False)
    assert default.companion(p) == 15
    x = solve(p, default)
    plain = solve(p, default.replace(extrapolation_paths=0))
    ref = solve(p, DMFTMethod(n_paths=8192, replicates=16, orthogonal_inputs=False, extrapolation_paths=0))

    def z(r, name):
        a, b = getattr(r, name)[0, -1], getattr(ref, name)[0, -1]
        return (a - b) / np.hypot(r.sem[name][0, -1], ref.sem[name][0, -1])

    assert z(plain, "C") > 4 and z(plain, "chi") > 2          # 1 - C too small, chi too large
    assert abs(z(x, "C")) < 2 and abs(z(x, "chi")) < 2
    assert x.extra["C" + BIAS_SUFFIX][0, -1] > 0               # the correction, kept in the result
    assert x.meta["companion_paths"] == 15 and "paths_bias" in plain.meta


def test_cost_estimate_and_progress_weights_count_the_second_path_count():
    from dmft.core.resources import estimate, step_costs

    p = Params(**POINT)
    plain = DMFTMethod(n_paths=256, replicates=3, extrapolation_paths=0)
    x = DMFTMethod(n_paths=256, replicates=3, extrapolation_paths=64)
    assert estimate(p, x).work == pytest.approx(1.25 * estimate(p, plain).work)
    assert estimate(p, x).memory == estimate(p, plain).memory      # one march in memory at a time
    costs = step_costs(p, x)
    assert len(costs) == 2 * 3 * p.n_steps                          # the units of solve's progress bar
    assert costs[: 3 * p.n_steps].sum() == pytest.approx(4 * costs[3 * p.n_steps:].sum())


def test_a_diverged_companion_ends_the_solve_and_says_so():
    import dataclasses as dc

    from dmft.core.status import Status
    from dmft.solver.assemble import extrapolated, solve_replicate

    p = Params(**{**POINT, "t_max": 2.0, "tw": (1.0,)})
    method = DMFTMethod(n_paths=64, extrapolation_paths=16)
    reps = [solve_replicate(p, method, i) for i in range(2)]
    companions = [solve_replicate(p, method, i, extrapolation_paths=16) for i in range(2)]
    companions[1] = dc.replace(companions[1], status=Status.DIVERGED, message="non-finite energy at step 9")
    r = extrapolated(p, method, reps, companions, 16)
    assert r.status == Status.DIVERGED and r.method == method.replace(replicates=2)
    assert "companion count (16 paths)" in r.meta["message"] and "step 9" in r.meta["message"]
    ok = extrapolated(p, method, reps, companions[:1], 16)
    assert ok.ok and ok.meta["companion_paths"] == 16
