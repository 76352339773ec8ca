"""Outputs (issue 11, classes 3 and 4): checked before any computation, only ever a regular file
written atomically; a symbolic link is refused; a full disk is exit 1 with one line and no
temporary file left."""

import errno
import os
import resource
import signal
import subprocess
import sys

import pytest

from dmft.app import cli
from dmft.app.cli import main
from dmft.core import outputs
from dmft.core.io import save
from dmft.core.outputs import OutputPathError, check_output, write_atomic

SMALL = {"solve": ["--t-max", "2", "--n-paths", "64", "--replicates", "1"],
         "simulate": ["--t-max", "2", "--n", "20", "--n-samples", "1"]}


def _listing(folder):
    return sorted((p, os.lstat(os.path.join(folder, p)).st_mtime_ns) for p in os.listdir(folder))


def _one_error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


@pytest.fixture
def no_computing(monkeypatch):
    """Any computation fails the test: the checks must come first."""
    def computed(*args, **kw):
        raise AssertionError("computed before checking the output")
    monkeypatch.setattr(cli, "run", computed)
    monkeypatch.setattr(cli, "compare_figure", computed)
    monkeypatch.setattr(cli, "phase_diagram", computed)


def _bad_output(tmp_path, kind):
    if kind == "inside a file":
        (tmp_path / "f").write_text("x")
        return str(tmp_path / "f" / "o.h5"), "not a folder"
    if kind == "empty":
        return "", "empty"
    if kind == "folder":
        (tmp_path / "d").mkdir()
        return str(tmp_path / "d"), "folder"
    if kind == "folder/":
        return str(tmp_path) + os.sep, "folder"
    if kind == "fifo":
        os.mkfifo(tmp_path / "fifo")
        return str(tmp_path / "fifo"), "FIFO"
    if kind == "symlink":
        (tmp_path / "target.h5").write_text("the target")
        os.symlink("target.h5", tmp_path / "link.h5")
        return str(tmp_path / "link.h5"), "symbolic link"
    if kind == "dangling symlink":
        os.symlink("nowhere.h5", tmp_path / "link.h5")
        return str(tmp_path / "link.h5"), "symbolic link"
    raise ValueError(kind)


BAD = ["inside a file", "empty", "folder", "folder/", "fifo", "symlink", "dangling symlink"]


@pytest.mark.parametrize("kind", BAD)
@pytest.mark.parametrize("command", ["solve", "simulate"])
def test_bad_output_exit_2_before_computing_nothing_written(tmp_path, capsys, no_computing, command, kind):
    path, word = _bad_output(tmp_path, kind)
    before = _listing(tmp_path)
    assert main([command, *SMALL[command], "-o", path]) == 2
    assert word in _one_error_line(capsys)
    assert _listing(tmp_path) == before
    if kind == "symlink":  # neither the link nor its target changed
        assert os.readlink(tmp_path / "link.h5") == "target.h5"
        assert (tmp_path / "target.h5").read_text() == "the target"


def test_devices_are_refused():
    """Checked without writing: as root a regression would replace the device."""
    with pytest.raises(OutputPathError, match="character device"):
        check_output("/dev/null")


def test_the_library_writer_refuses_what_the_cli_refuses(tmp_path, make_result):
    os.mkfifo(tmp_path / "fifo")
    os.symlink("target.h5", tmp_path / "link.h5")
    for name in ("fifo", "link.h5"):
        with pytest.raises(OutputPathError):
            save(make_result(), tmp_path / name)
    assert sorted(os.listdir(tmp_path)) == ["fifo", "link.h5"]


@pytest.mark.parametrize("command, name", [("compare", "fig.xyz"), ("compare", "fig"),
                                           ("phase-diagram", "pd.xyz"), ("phase-diagram", "pd.csv")])
def test_unsupported_figure_extension_refused_first(tmp_path, capsys, make_result, no_computing, command, name):
    if command == "compare":
        th = save(make_result(kind="dmft"), tmp_path / "th.h5")
        sm = save(make_result(kind="simulation"), tmp_path / "sm.h5")
        argv = ["compare", th, sm]
    else:
        (tmp_path / "scan").mkdir()
        argv = ["phase-diagram", str(tmp_path / "scan")]
    before = _listing(tmp_path)
    assert main([*argv, "-o", str(tmp_path / name)]) == 2
    assert "extension" in _one_error_line(capsys)
    assert _listing(tmp_path) == before   # no figure, no pd.csv


def _limit_file_size():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # a write past the limit fails with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))


def test_full_disk_exit_1_one_line_no_tmp(tmp_path):
    """The HDF5 library segfaulted (exit 139) when the disk filled up mid-write."""
    out = tmp_path / "o.h5"
    r = subprocess.run([sys.executable, "-m", "dmft", "solve", *SMALL["solve"], "--t-max", "4", "--tw", "2", "-o", str(out)],
                       capture_output=True, text=True, timeout=300, preexec_fn=_limit_file_size,
                       env=dict(os.environ, OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1"))
    assert r.returncode == 1, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot write" in lines[0] and "File too large" in lines[0], r.stderr
    assert os.listdir(tmp_path) == []


def test_failed_write_keeps_the_old_file_and_leaves_no_tmp(tmp_path, capsys, make_result, monkeypatch):
    th = save(make_result(kind="dmft"), tmp_path / "th.h5")
    sm = save(make_result(kind="simulation"), tmp_path / "sm.h5")
    (tmp_path / "fig.png").write_bytes(b"old figure")

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(outputs.os, "fsync", full)
    assert main(["compare", th, sm, "-o", str(tmp_path / "fig.png")]) == 1
    assert "No space left on device" in _one_error_line(capsys)
    assert (tmp_path / "fig.png").read_bytes() == b"old figure"
    assert sorted(os.listdir(tmp_path)) == ["fig.png", "sm.h5", "th.h5"]


def test_write_atomic_replaces_a_regular_file(tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(b"old")
    write_atomic(path, b"new")
    assert path.read_bytes() == b"new" and os.listdir(tmp_path) == ["x.bin"]


def test_input_that_is_not_a_regular_file(tmp_path, capsys):
    """Reading a FIFO blocked for ever."""
    os.mkfifo(tmp_path / "fifo")
    assert main(["info", str(tmp_path / "fifo")]) == 2
    assert "not a regular file" in _one_error_line(capsys)


def test_demo_output_must_be_a_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli, "run_demo", lambda *a, **kw: pytest.fail("ran the demo"))
    (tmp_path / "f").write_text("x")
    assert main(["demo", "-o", str(tmp_path / "f")]) == 2
    assert "not a folder" in _one_error_line(capsys)
