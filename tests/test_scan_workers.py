"""Scans whose workers or scheduler fail (issue 23): a killed local worker fails its own point
only; a stopped worker is found within a bounded time, whether it holds a point or the scan is
finished; a Dask scan with no worker left, or whose scheduler is killed, stops with one line and
exit 1; a task of a scan that is gone never writes into the folder."""

import contextlib
import glob
import logging
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from dmft.app import runner, workers
from dmft.app.cli import main
from dmft.app.scan import parse_config, run_scan
from dmft.core import progress

#: a point of about 2 s on one core, and a quick one
LONG = {"n": 800, "n_samples": 2, "t_max": 120.0, "alpha": 3.0}
QUICK = {"n": 40, "n_samples": 1, "t_max": 1.0, "alpha": 3.0}


def _children() -> dict:
    """pid -> CPU seconds of the worker processes this process started."""
    return {p.pid: workers.cpu_seconds(p.pid) or 0.0 for p in multiprocessing.active_children()}


def _busy_worker(cpu: float = 1.0, timeout: float = 60.0) -> int:
    """A child that has used ``cpu`` s of CPU time (it is computing a point)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pid, used in _children().items():
            if used >= cpu:
                return pid
        time.sleep(0.05)
    raise AssertionError("no worker got busy")


class _Watchdog:
    """Resumes and kills ``pid`` after ``after`` s, so that a regression fails the test instead of
    hanging it."""

    def __init__(self, after: float = 60.0):
        self.pids, self.after, self.done = [], after, threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        if not self.done.wait(self.after):
            for pid in self.pids:
                for sig in (signal.SIGCONT, signal.SIGKILL):
                    try:
                        os.kill(pid, sig)
                    except ProcessLookupError:
                        pass


@pytest.fixture
def quick_bounds(monkeypatch):
    monkeypatch.setattr(workers, "STALL_S", 3.0)
    monkeypatch.setattr(workers, "SHUTDOWN_S", 1.0)
    monkeypatch.setattr(progress, "HEARTBEAT_S", 0.3)
    monkeypatch.setattr(runner, "DASK_NO_WORKER_S", 1.0)


# ----------------------------------------------------------------------------- item 9
@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads /proc")
def test_killed_worker_fails_only_its_point(tmp_path):
    """One worker killed as the OOM killer would: every point failed (BrokenProcessPool, 0 files)."""
    cfg = parse_config({"mode": "simulate", "base": {k: v for k, v in LONG.items() if k != "alpha"},
                        "axes": {"alpha": [2.0, 3.0, 4.0]}})
    killed = []

    def kill():
        pid = _busy_worker()
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    thread = threading.Thread(target=kill, daemon=True)
    thread.start()
    summary = run_scan(cfg, str(tmp_path), workers=2, threads=1, log=None)
    thread.join()
    assert (summary.done, summary.failed) == (2, 1), summary.describe()
    assert f"worker process {killed[0]} was killed by SIGKILL" in summary.errors[0]
    assert len(glob.glob(str(tmp_path / "*.h5"))) == 2


# ----------------------------------------------------------------------------- item 7
@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads /proc")
def test_stopped_worker_holding_a_point_is_killed_after_the_bound(tmp_path, quick_bounds):
    cfg = parse_config({"mode": "simulate", "base": {k: v for k, v in LONG.items() if k != "alpha"},
                        "axes": {"alpha": [2.0, 3.0, 4.0]}})
    dog = _Watchdog()

    def stop():
        pid = _busy_worker()
        dog.pids.append(pid)
        os.kill(pid, signal.SIGSTOP)

    threading.Thread(target=stop, daemon=True).start()
    summary = run_scan(cfg, str(tmp_path), workers=2, threads=1, log=None)
    dog.done.set()
    assert (summary.done, summary.failed) == (2, 1), summary.describe()
    assert "used no CPU time for 3 s (it was stopped) and was killed" in summary.errors[0]


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads /proc")
@pytest.mark.slow   # about 20 s; the stopped worker holding a point runs by default
def test_stopped_idle_worker_does_not_keep_a_finished_scan_alive(tmp_path, quick_bounds, caplog):
    """Every point was written, and pool.shutdown(wait=True) waited for the stopped worker for ever."""
    quick = parse_config({"mode": "simulate", "base": {k: v for k, v in LONG.items() if k != "t_max"},
                          "axes": {"t_max": [1.0, 2 * LONG["t_max"]]}})
    dog = _Watchdog()

    def stop_the_idle_one():
        while not glob.glob(str(tmp_path / "*.h5")):
            time.sleep(0.02)
        first = _children()
        time.sleep(0.5)
        idle = [pid for pid, cpu in _children().items() if first.get(pid) == cpu]
        dog.pids.extend(idle)
        for pid in idle:
            os.kill(pid, signal.SIGSTOP)

    threading.Thread(target=stop_the_idle_one, daemon=True).start()
    start = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="dmft"):
        summary = run_scan(quick, str(tmp_path), workers=2, threads=1, log=None)
    dog.done.set()
    assert (summary.done, summary.failed) == (2, 0)
    assert time.monotonic() - start < 40
    assert dog.pids and "did not exit within 1 s of the end; killed" in caplog.text


def test_dask_scan_with_no_worker_left_stops(tmp_path, capsys, quick_bounds):
    """It waited for ever with '8 computing or queued'."""
    distributed = pytest.importorskip("dask.distributed")
    cfg = tmp_path / "s.toml"
    cfg.write_text('mode = "simulate"\n[base]\nn = 40\nn_samples = 1\nt_max = 1.0\n[axes]\nalpha = [1.0, 2.0]\n')
    with distributed.LocalCluster(n_workers=0, processes=False, protocol="tcp", host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        codes = []
        thread = threading.Thread(target=lambda: codes.append(
            main(["scan", str(cfg), "-o", str(tmp_path / "out"), "-q", "--dask", cluster.scheduler_address])), daemon=True)
        thread.start()
        thread.join(timeout=30)
        assert codes == [1], "the scan should have stopped"
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no Dask worker has been connected" in err[0] and "2 of 2 point(s)" in err[0], err


# ----------------------------------------------------------------------------- item 10
@pytest.mark.slow   # about 30 s; the killed client and the unreachable scheduler run by default
def test_killed_dask_scheduler_is_one_line_exit_1_and_resumable(tmp_path, capsys):
    """It was a FuturesCancelledError traceback."""
    distributed = pytest.importorskip("dask.distributed")
    cfg = tmp_path / "s.toml"
    cfg.write_text('mode = "simulate"\n[base]\nn = 800\nn_samples = 2\nt_max = 200.0\n[axes]\nalpha = [2.0, 3.0]\n')
    out = tmp_path / "out"
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp",
                                       host="127.0.0.1", dashboard_address=None)
    codes = []
    thread = threading.Thread(target=lambda: codes.append(
        main(["scan", str(cfg), "-o", str(out), "--dask", cluster.scheduler_address])), daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(
            ts.state == "processing" for ts in cluster.scheduler.tasks.values()):
        time.sleep(0.05)
    cluster.sync(cluster.scheduler.close)   # the scheduler goes away
    thread.join(timeout=60)
    for worker in list(cluster.workers.values()):   # else they retry the scheduler for 30 s
        cluster.sync(worker.close, executor_wait=False, timeout=5)
    with contextlib.suppress(TimeoutError):          # closing waits for the dead scheduler
        cluster.close(timeout=1)
    assert codes == [1]
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "lost the Dask scheduler" in err[0] and "run the scan again" in err[0], err
    assert not (out / runner.OWNER).exists()
    assert main(["scan", str(cfg), "-o", str(out), "--workers", "1"]) == 0   # the folder resumes


# ----------------------------------------------------------------------------- item 8
def test_task_of_a_scan_that_is_gone_writes_nothing(tmp_path):
    """A Dask worker went on after its client was killed and wrote into the folder, racing the resume."""
    cfg = parse_config({"mode": "simulate", "base": {k: v for k, v in QUICK.items() if k != "alpha"},
                        "axes": {"alpha": [3.0]}})
    task = cfg.tasks()[0]
    path = str(tmp_path / task.filename)
    old = runner.claim_folder(str(tmp_path))
    runner.claim_folder(str(tmp_path))           # a resume took the folder over
    with pytest.raises(runner.FolderTaken):
        runner.compute_task(task, path, owner=(str(tmp_path), old))
    assert sorted(os.listdir(tmp_path)) == [runner.OWNER]
    runner.release_folder(str(tmp_path), old)     # not the owner: the mark stays
    assert os.listdir(tmp_path) == [runner.OWNER]


def test_a_scan_leaves_no_ownership_mark(tmp_path):
    cfg = parse_config({"mode": "simulate", "base": {k: v for k, v in QUICK.items() if k != "alpha"},
                        "axes": {"alpha": [3.0]}})
    run_scan(cfg, str(tmp_path), workers=1, log=None)
    assert sorted(os.listdir(tmp_path)) == sorted([cfg.tasks()[0].filename, "scan.json"])


def test_killed_dask_client_leaves_no_late_file(tmp_path, monkeypatch):
    """kill -9 of a Dask scan's client: its worker went on and wrote a file after the scan died."""
    distributed = pytest.importorskip("dask.distributed")
    cfg = tmp_path / "s.toml"
    cfg.write_text('mode = "simulate"\n[base]\n' + "".join(f"{k} = {v}\n" for k, v in LONG.items() if k != "alpha")
                   + '[axes]\nalpha = [3.0]\n')
    out = tmp_path / "out"
    checked = []
    check_owner = runner.check_owner

    def recording(*args):   # the worker runs in this process: see what its task decides
        try:
            check_owner(*args)
        except runner.FolderTaken:
            checked.append("refused")
            raise
        checked.append("allowed")

    monkeypatch.setattr(runner, "check_owner", recording)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp",
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        proc = subprocess.Popen([sys.executable, "-m", "dmft", "scan", str(cfg), "-o", str(out), "-q",
                                 "--dask", cluster.scheduler_address], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(
                ts.state == "processing" for ts in cluster.scheduler.tasks.values()):
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        while time.monotonic() < deadline and not checked:
            time.sleep(0.05)
    assert checked == ["refused"]
    assert not glob.glob(str(out / "*.h5")) and not glob.glob(str(out / ".*.tmp"))
