"""Resource estimates before allocating (issue 11, class 6): the estimate matches the memory the
run really takes, and what cannot fit is refused with exit 2, one line giving the estimate and
the limit, before any computation; --allow-large overrides."""

import os
import tracemalloc

import pytest

from dmft import DMFTMethod, Params, ParticleMethod, run
from dmft.app import cli
from dmft.app.cli import main
from dmft.core.resources import ResourceError, check, estimate

CASES = [
    (Params(t_max=20, tw=(10.0,)), DMFTMethod(n_paths=2048, replicates=2)),
    (Params(t_max=20, tw=(10.0,), replicas=2, temperature=0.1), DMFTMethod(n_paths=2048, replicates=1,
                                                                            history_dtype="float64")),
    (Params(t_max=10, tw=(2.0,)), DMFTMethod(n_paths=512, replicates=1, response="exact")),
    (Params(t_max=20, tw=(10.0,)), DMFTMethod(n_paths=1024, replicates=1, exact_lags=64)),
    (Params(t_max=60, tw=(10.0,), replicas=2), DMFTMethod(n_paths=2048, replicates=1, response="blocks")),
    (Params(t_max=60, tw=(10.0,)), DMFTMethod(n_paths=2048, replicates=1, response="probe")),
    (Params(t_max=60, tw=(10.0,)), DMFTMethod(n_paths=4096, replicates=1, memory_window=64)),
    (Params(t_max=20, tw=(5.0, 10.0)), ParticleMethod(n=500, n_samples=3)),
    (Params(t_max=20, tw=(5.0,)), ParticleMethod(n=500, n_samples=1)),
    (Params(t_max=100, tw=(5.0, 10.0), replicas=2), ParticleMethod(n=30, n_samples=10)),
]


@pytest.mark.parametrize("params, method", CASES, ids=range(len(CASES)))
def test_memory_estimate_matches_the_measured_peak(params, method):
    run(params.replace(t_max=1.0, tw=()), method.replace(**({"n_paths": 64} if method.kind == "dmft" else {})))
    tracemalloc.start()     # numpy reports its buffers to tracemalloc
    try:
        run(params, method)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert 0.75 < estimate(params, method).memory / peak < 1.5


def test_check_refuses_with_estimate_and_limit():
    est = estimate(Params(), DMFTMethod(n_paths=10**6))
    with pytest.raises(ResourceError, match=r"needs about .* GB of memory, more than the 1 GB available"):
        check(est, memory_limit=1e9)
    check(est, memory_limit=1e12)
    with pytest.raises(ResourceError, match="2 runs .* at once"):
        check(est, copies=2, memory_limit=1.5 * est.memory)


@pytest.fixture
def no_computing(monkeypatch):
    class Computed(Exception):
        pass

    def computed(*args, **kw):
        raise Computed
    monkeypatch.setattr(cli, "run", computed)
    return Computed


@pytest.mark.parametrize("argv, words", [
    (["solve", "--n-paths", "1000000000"], ["GB of memory", "available", "--allow-large"]),
    (["solve", "--t-max", "1e6"], ["GB of memory", "available"]),
    (["simulate", "--n", "1000000"], ["GB of memory", "available"]),
    (["simulate", "--n", "3000", "--n-samples", "20000"], ["days", "limit of 7 days", "--allow-large"]),
])
def test_cli_refuses_what_cannot_fit_before_computing(tmp_path, capsys, no_computing, argv, words):
    out = str(tmp_path / "o.h5")
    assert main([*argv, "-o", out]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and all(w in err[0] for w in words), err
    assert os.listdir(tmp_path) == []
    with pytest.raises(no_computing):   # told explicitly, it goes on to compute
        main([*argv, "-o", out, "--allow-large"])


def test_long_run_is_announced_with_its_estimate(tmp_path, capsys, no_computing):
    with pytest.raises(no_computing):
        main(["simulate", "--t-max", "1e6", "--alpha", "3", "--tw", "", "-o", str(tmp_path / "o.h5")])
    assert "at least 13.3 hours" in capsys.readouterr().err


@pytest.mark.parametrize("flag", [["--delta", "-1e300"], ["--delta=-1e300"], ["--t-max", "inf"]])
def test_absurd_values_exit_2(tmp_path, capsys, flag):
    code = None
    try:
        code = main(["solve", *flag, "-o", str(tmp_path / "o.h5")])
    except SystemExit as exc:   # argparse
        code = exc.code
    assert code == 2 and len(capsys.readouterr().err.strip().splitlines()) == 1


def test_scan_refuses_points_that_do_not_fit(tmp_path, capsys):
    cfg = tmp_path / "big.toml"
    cfg.write_text('mode = "solve"\n[base]\nn_paths = 100000000\n[axes]\nalpha = [1.0, 2.0]\n')
    assert main(["scan", str(cfg), "-o", str(tmp_path / "out"), "--workers", "2"]) == 2
    assert "2 runs of the DMFT" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_memory_window_makes_the_work_linear_in_the_horizon():
    """Doubling a long horizon more than triples the full march's work and about doubles the windowed one's
    (what ``dmft measure`` predicts the next horizon's cost from); the window also needs less memory."""
    from dmft.app.measure import _work_ratio

    p = Params(b=0.3, t_max=500.0, tw=())
    full, window = DMFTMethod(n_paths=8192, memory_window=0), DMFTMethod(n_paths=8192, memory_window=200)
    longer = p.replace(t_max=1000.0)
    assert _work_ratio(longer, p, DMFTMethod(n_paths=8192)) == _work_ratio(longer, p, window)   # automatic
    assert 3.0 < _work_ratio(p.replace(t_max=1000.0), p, full) < 4.2
    assert 1.8 < _work_ratio(p.replace(t_max=1000.0), p, window) < 2.4
    assert estimate(p, window).memory < 0.8 * estimate(p, full).memory   # the full march has no probe histories
