"""Odd environments (issue 23): never a traceback.  A bad NUMBA_NUM_THREADS is exit 2 before any
work; an output name the locale cannot encode, an ASCII-only terminal and a closed stderr do not
stop a run; stdout on a full disk and an address-space limit too small for numba are one line
and exit 1."""

import os
import resource
import subprocess
import sys

import pytest

from dmft.core.io import load

RUN = [sys.executable, "-m", "dmft", "simulate", "--t-max", "1", "--n", "20", "--n-samples", "1"]


def _env(**changes):
    env = dict(os.environ, OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
    env.update(changes)
    return env


def _run(argv, **kw):
    kw.setdefault("env", _env())
    return subprocess.run(argv, capture_output=True, timeout=300, **kw)


def _lines(data: bytes) -> list:
    return data.decode(errors="replace").strip().splitlines()


@pytest.mark.parametrize("value", ["0", "abc", "-2"])
def test_bad_numba_num_threads_exit_2_one_line(tmp_path, value):
    """NUMBA_NUM_THREADS=0 was a ValueError traceback from the numba import; 'abc' a warning
    with a traceback in it."""
    r = _run([*RUN, "-o", str(tmp_path / "o.h5")], env=_env(NUMBA_NUM_THREADS=value))
    assert r.returncode == 2 and _lines(r.stderr) == [
        f"dmft: error: environment variable NUMBA_NUM_THREADS='{value}' must be a positive integer"]
    assert os.listdir(tmp_path) == []


def test_output_name_the_locale_cannot_encode(tmp_path):
    """Under LC_ALL=C a name with a byte that is not UTF-8 computed, then failed writing the
    command line into the file."""
    out = os.path.join(os.fsencode(tmp_path), b"\xff.h5")
    r = _run([*RUN, "-o", out], env=_env(LC_ALL="C", LANG="C"))
    assert r.returncode == 0, r.stderr
    assert load(out).meta["command_line"].endswith("-o '" + os.fsdecode(tmp_path) + "/\\xff.h5'")


def test_ascii_only_terminal(tmp_path):
    """PYTHONIOENCODING=ascii: the file was saved, then the report line failed (exit 1)."""
    out = tmp_path / "café.h5"
    r = _run([*RUN, "-o", str(out)], env=_env(PYTHONIOENCODING="ascii"))
    assert r.returncode == 0, r.stderr
    assert "caf\\xe9.h5" in r.stdout.decode() and out.exists()


def test_stdout_on_a_full_disk_is_one_line_exit_1(tmp_path):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    with open("/dev/full", "w") as full:
        r = subprocess.run([*RUN, "-q", "-o", str(tmp_path / "o.h5")], stdout=full, stderr=subprocess.PIPE,
                           env=_env(), timeout=300)
    assert r.returncode == 1 and len(_lines(r.stderr)) == 1, r.stderr
    assert "No space left on device" in _lines(r.stderr)[0]


def test_closed_stderr_does_not_stop_the_run(tmp_path):
    """2>&-: exit 1 with no message and nothing computed."""
    out = tmp_path / "o.h5"
    r = subprocess.run([*RUN, "-o", str(out)], stdout=subprocess.PIPE, env=_env(), timeout=300,
                       preexec_fn=lambda: os.close(2))
    assert r.returncode == 0 and load(out).status == "ok"
    assert b"-> " in r.stdout


def _small_address_space():
    resource.setrlimit(resource.RLIMIT_AS, (200 * 2**20, 200 * 2**20))


def test_address_space_too_small_for_numba_is_one_line(tmp_path):
    r = subprocess.run([*RUN, "-o", str(tmp_path / "o.h5")], capture_output=True, env=_env(), timeout=300,
                       preexec_fn=_small_address_space)
    lines = _lines(r.stderr)
    assert r.returncode == 1 and len(lines) == 1, r.stderr
    assert "ulimit -v" in lines[0] and "Traceback" not in lines[0]
    assert os.listdir(tmp_path) == []
