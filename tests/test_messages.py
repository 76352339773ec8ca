"""Messages: the library logs (no print), long steps send a heartbeat line when no bar shows,
progress bars end at their total."""

import ast
import glob
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor

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
        futures = [client.submit(time.sleep, 0.5, pure=False), client.submit(time.sleep, 0.01, pure=False)]
        finished = list(runner._as_completed(futures, idle.append, interval=0.05,
                                             wait_some=runner._dask_wait))
    assert len(finished) == 2 and idle and set(idle) == {1}
