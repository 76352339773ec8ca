"""Parameter validation: every bad value names its parameter; hashes are stable."""

import json

import pytest
from hypothesis import given, settings, strategies as st

from dmft.core.methods import DMFTMethod, ParticleMethod, point_hash, split_settings
from dmft.core.params import Params, ParameterError


@pytest.mark.parametrize("changes, name", [
    (dict(alpha=-1), "alpha"),
    (dict(alpha=0), "alpha"),
    (dict(b=0), "b"),
    (dict(b=1.5), "b"),
    (dict(dynamics="psgd", tau=0), "tau"),
    (dict(dynamics="psgd", tau=0.1, b=0.5, dt=0.1), "tau"),  # switching probability > 1
    (dict(dynamics="langevin"), "temperature"),
    (dict(temperature=-0.1), "temperature"),
    (dict(dt=0), "dt"),
    (dict(t_max=0.01), "t_max"),
    (dict(loss="hinge"), "loss"),
    (dict(constraint="box"), "constraint"),
    (dict(noise_class="poisson"), "noise_class"),
    (dict(normalization="median"), "normalization"),
    (dict(replicas=3), "replicas"),
    (dict(tw="5,200"), "tw"),
    (dict(tw=[-1]), "tw"),
    (dict(n=1), "n"),
    (dict(n_samples=0), "n_samples"),
    (dict(n_paths=1), "n_paths"),
    (dict(seed=-3), "seed"),
    (dict(alpha=float("nan")), "alpha"),
    (dict(n=2.5), "n"),
    (dict(data="planted"), "data"),
    (dict(data="teacher", label_noise=0.6), "label_noise"),
    (dict(data="teacher", label_noise=-0.1), "label_noise"),
    (dict(label_noise=0.1), "label_noise"),   # flips teacher labels: random data has none
])
def test_bad_values_name_the_parameter(changes, name):
    """Physics parameters are checked by Params, method settings by their method class."""
    cls = ParticleMethod if name in ("n", "n_samples") else DMFTMethod if name == "n_paths" else Params
    with pytest.raises(ParameterError) as info:
        cls(**changes)
    assert info.value.name == name
    assert f"'{name}'" in str(info.value)


def test_tw_snapped_sorted_and_indexed():
    p = Params(tw="20, 10.04,10", dt=0.1, t_max=40)
    assert p.tw == (10.0, 20.0)
    assert p.tw_index == (100, 200)
    assert p.n_steps == 400


def test_defaults_are_the_canonical_stationary_point():
    """Params() is the canonical UNSAT point of docs/effective-temperature.md (the demo's, whose
    files in data/canonical/ are stationary with a T_eff plateau: tests/test_reference_data.py);
    automatic waiting times follow t_max, explicit ones stay; () means none."""
    from dmft.app.demo import DEMO_POINTS

    assert Params() == Params(**{**DEMO_POINTS["unsat"], "seed": 0})
    assert Params().tw == (50.0, 75.0)
    assert Params(t_max=40).tw == (16.0, 24.0) and Params().replace(t_max=40).tw == (16.0, 24.0)
    assert Params(tw=(10.0,)).replace(t_max=40).tw == (10.0,)
    assert Params(tw=()).tw == () and Params(tw="").replace(t_max=40).tw == ()
    with pytest.raises(ParameterError, match="outside"):
        Params(tw=(50, 75)).replace(t_max=40)


def test_unknown_key_rejected():
    with pytest.raises(ParameterError, match="'lr'"):
        Params.from_dict({"lr": 0.1})


def test_hash_ignores_the_other_kind_options():
    """The hash covers the physics and the method's settings that change the numbers; a flat
    settings mapping gives each kind only its own method."""
    p = Params()
    flat = {**p.to_dict(), "n": 5000, "n_paths": 99}
    _, dm = split_settings(flat, "dmft", strict=False)
    _, pm = split_settings(flat, "simulation", strict=False)
    assert point_hash(p, dm) == point_hash(p, DMFTMethod(n_paths=99))
    assert point_hash(p, pm) == point_hash(p, ParticleMethod(n=5000))
    assert point_hash(p, ParticleMethod()) == point_hash(p, ParticleMethod(threads=2))
    assert point_hash(p, DMFTMethod()) != point_hash(p, DMFTMethod(n_paths=99))
    assert point_hash(p, DMFTMethod()) != point_hash(p, ParticleMethod())
    assert point_hash(p, DMFTMethod()) != point_hash(p.replace(alpha=2.0), DMFTMethod())
    with pytest.raises(ParameterError, match="'n'"):
        split_settings(flat, "dmft")


@settings(max_examples=60, deadline=None)
@given(alpha=st.floats(0.01, 20), b=st.floats(0.01, 1.0), delta=st.floats(-3, 3),
       seed=st.integers(0, 2**31), tw=st.lists(st.floats(0, 40), max_size=3))
def test_json_round_trip_and_stable_hash(alpha, b, delta, seed, tw):
    p = Params(alpha=alpha, b=b, delta=delta, seed=seed, tw=tw)
    q = Params.from_dict(json.loads(p.to_json()))
    assert q == p
    assert point_hash(q, DMFTMethod()) == point_hash(p, DMFTMethod())
    assert all(0 <= x <= p.t_max + 1e-9 for x in q.tw)


def test_teacher_fields_leave_old_hashes_unchanged():
    """data/label_noise came after files existed: at their defaults they are left out of the hash
    (the simulation files of data/canonical/ keep the hash they were written with), and any other
    value changes it."""
    import os

    import h5py

    from dmft.core.io import load

    folder = os.path.join(os.path.dirname(__file__), "..", "data", "canonical")
    for name in ("unsat-sim.h5", "sat-sim.h5"):
        path = os.path.join(folder, name)
        r = load(path)
        assert r.params.data == "random" and r.params.label_noise == 0.0
        with h5py.File(path) as f:
            assert point_hash(r.params, r.method) == f.attrs["point_hash"]
    p, m = Params(), ParticleMethod()
    assert "data" not in p.hashed_dict() and "data" in p.to_dict()
    t = p.replace(data="teacher")
    hashes = {point_hash(q, m) for q in (p, t, t.replace(label_noise=0.1))}
    assert len(hashes) == 3
