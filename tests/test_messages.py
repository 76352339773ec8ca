"""Messages: the library logs (no print), long steps send a heartbeat line when no bar shows,
progress bars end at their total."""

import ast
import glob
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import dmft
from dmft.app import runner
from dmft.app.cli import main
from dmft.core import progress

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: library modules: everything but the command line and the scripts' main functions
LIBRARY = [p for folder in ("dmft/core", "dmft/solver", "simulations", "analysis")
           for p in glob.glob(os.path.join(ROOT, folder, "*.py"))] + \
          [os.path.join(ROOT, "dmft", "app", f) for f in ("api.py", "runner.py", "scan.py", "demo.py")]


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: os.path.relpath(p, ROOT))
def test_library_code_does_not_print(path):
    with open(path) as fh:
        tree = ast.parse(fh.read())
    prints = [node.lineno for node in ast.walk(tree)
              if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print"]
    assert not prints, f"print() at lines {prints}: use logging.getLogger(__name__)"


P = dmft.Params(alpha=2, t_max=3, tw=(1,))


class Recording:
    """A stand-in for tqdm that remembers how far each bar went."""
    bars = []

    def __init__(self, total, desc=None, unit=None):
        self.total, self.n = total, 0
        Recording.bars.append(self)

    def update(self, n=1):
        self.n += n

    def set_postfix(self, **kw):
        pass

    def close(self):
        pass


def test_progress_bars_end_at_their_total(monkeypatch, tmp_path):
    monkeypatch.setattr(progress, "tqdm_bar", Recording)
    monkeypatch.setattr(runner, "tqdm_bar", Recording)
    Recording.bars = []
    dmft.solve(P, n_paths=16, replicates=2, progress=True)
    dmft.simulate(P, n=30, n_samples=3, progress=True)
    tasks = [runner.Task(P.replace(seed=s), dmft.ParticleMethod(n=30, n_samples=1)) for s in (1, 2)]
    runner.run_tasks(tasks, str(tmp_path), workers=1, progress=True)
    assert [(b.n, b.total) for b in Recording.bars] == [(60, 60), (90, 90), (2, 2)]


def test_heartbeat_when_no_bar(monkeypatch, caplog):
    monkeypatch.setattr(progress, "HEARTBEAT_S", 0.0)
    caplog.set_level(logging.INFO, logger="dmft")
    dmft.simulate(P, n=30, n_samples=2)
    beats = [r.getMessage() for r in caplog.records if r.name == "dmft.core.progress"]
    assert beats and beats[-1].startswith("simulate: 60/60 steps (100%)")
    assert "elapsed" in beats[0] and "left" in beats[0]


def test_heartbeat_every_interval_only():
    beat = progress.Heartbeat(100, "x", interval=3600)
    for _ in range(100):
        beat.update()
    assert beat.n == 100 and beat.last == beat.start  # no line within the interval


def test_cli_sends_status_lines_to_stderr_when_it_is_not_a_terminal(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(progress, "HEARTBEAT_S", 0.0)
    assert main(["simulate", "--t-max", "2", "--n", "30", "--n-samples", "1", "--tw", "1",
                 "-o", str(tmp_path / "x.h5")]) == 0
    out = capsys.readouterr()
    assert "simulate: 20/20 steps (100%)" in out.err and "steps" not in out.out
    assert main(["-q", "simulate", "--t-max", "2", "--n", "30", "--n-samples", "1", "--tw", "1",
                 "-o", str(tmp_path / "x.h5")]) == 0
    assert capsys.readouterr().err == ""


def test_task_runner_heartbeat_while_workers_compute():
    idle = []
    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(time.sleep, 0.3), pool.submit(time.sleep, 0.01)]
        finished = list(runner._as_completed(futures, idle.append, interval=0.05))
    assert len(finished) == 2 and idle and set(idle) == {1}


def test_api_warns_about_caveats(make_result):
    from dmft.analysis import FDTWarning

    single = make_result(kind="dmft")  # no repetitions, so no error bars
    with pytest.warns(FDTWarning, match="no error bars"):
        dmft.fit_teff(single)


def test_task_runner_heartbeat_while_dask_workers_compute():
    """The Dask path waits the same way: an idle call per interval without a finished task."""
    distributed = pytest.importorskip("distributed")
    idle = []
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        futures = [client.submit(time.sleep, 1.0, pure=False), client.submit(time.sleep, 0.01, pure=False)]
        # the short task first: Dask may take longer than one interval to report it (a CI run saw
        # an idle call with both pending), which is not what this test is about
        distributed.wait([futures[1]])
        finished = list(runner._as_completed(futures, idle.append, interval=0.05,
                                             wait_some=runner._dask_wait))
    assert len(finished) == 2 and idle and set(idle) == {1}


class Clock:
    """A stand-in for time.monotonic that the test advances."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_time_left_excludes_compilation_and_says_estimating_first(monkeypatch, caplog):
    """The first step takes 60 s (numba compiles), the others 0.01 s: the time left is that of the
    remaining steps at 0.01 s, and before 2% of the work it is 'estimating'."""
    clock = Clock()
    monkeypatch.setattr(progress.time, "monotonic", clock)
    caplog.set_level(logging.INFO, logger="dmft")
    beat = progress.Heartbeat(1000, "dmft", interval=1e9)
    clock.now += 60.0
    beat.update()
    beat.beat()
    assert "estimating the time left" in caplog.records[-1].getMessage()
    for _ in range(499):
        clock.now += 0.01
        beat.update()
    assert beat.left(clock.now) == pytest.approx(500 * 0.01, rel=1e-9)


def test_a_long_run_says_its_time_left_within_a_minute(monkeypatch, caplog):
    """A run of about 50 hours (1e6 steps at 0.18 s): after 100 steps (0.01% of the work, 18 s)
    it is still 'estimating'; after 400 steps (72 s) it states the days left."""
    clock = Clock()
    monkeypatch.setattr(progress.time, "monotonic", clock)
    caplog.set_level(logging.INFO, logger="dmft")
    beat = progress.Heartbeat(1_000_000, "simulate", interval=1e9)
    clock.now += 5.0
    beat.update()
    for _ in range(100):
        clock.now += 0.18
        beat.update()
    assert beat.left(clock.now) is None
    for _ in range(300):
        clock.now += 0.18
        beat.update()
    assert beat.left(clock.now) == pytest.approx((1_000_000 - 401) * 0.18, rel=1e-6)
    beat.beat()
    assert "about 2.1 days left" in caplog.records[-1].getMessage()


def test_time_left_weighs_dearer_later_steps(monkeypatch):
    """Step k costs k (the DMFT sweeps its history): at a quarter of the steps the time left is
    15 times the time spent since the first step, as the costs say (not 3 times, as a count would)."""
    clock = Clock()
    monkeypatch.setattr(progress.time, "monotonic", clock)
    costs = [float(k) for k in range(1, 401)]
    with progress.unit_costs(costs):
        beat = progress.progress_bar(400, "dmft", enabled=False)
    for k in range(1, 101):
        clock.now += 1e-3 * k
        beat.update()
    spent = 1e-3 * sum(range(2, 101))   # since the first step finished
    assert beat.left(clock.now) == pytest.approx(1e-3 * sum(range(101, 401)), rel=1e-9)
    assert beat.left(clock.now) / spent > 14
    assert progress.progress_bar(399, "x", enabled=False).weighted is False   # costs of another bar


def test_dmft_steps_are_weighted_by_their_cost():
    from dmft.core.resources import estimate, step_costs

    p, m = dmft.Params(t_max=20), dmft.DMFTMethod(n_paths=100, replicates=3)
    costs = step_costs(p, m)
    assert len(costs) == 3 * p.n_steps and costs[p.n_steps - 1] > 3 * costs[0]
    assert np.isclose(costs.sum() * m.n_paths, estimate(p, m).work, rtol=0.02)   # the same model
    assert step_costs(p, dmft.ParticleMethod()) is None
