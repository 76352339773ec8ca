"""The command line: bad input exits 2 with one line and writes nothing; a small end-to-end run."""

import json
import os
import subprocess
import sys

import pytest

from dmft.app.cli import main
from dmft.core.io import save

DMFT = [sys.executable, "-m", "dmft"]


def run(*args, **kw):
    return subprocess.run(DMFT + list(args), capture_output=True, text=True, timeout=300, **kw)


@pytest.mark.parametrize("flags, name", [
    (["--alpha", "-1"], "alpha"),
    (["--b", "0"], "b"),
    (["--b", "1.2"], "b"),
    (["--dynamics", "psgd", "--tau", "0"], "tau"),
    (["--dynamics", "langevin"], "temperature"),
    (["--alpha", "three"], "alpha"),
    (["--tw", "1000"], "tw"),
    (["--replicas", "3"], "replicas"),
])
@pytest.mark.parametrize("command", ["solve", "simulate"])
def test_bad_parameters_exit_2_one_line_nothing_written(tmp_path, capsys, command, flags, name):
    out = tmp_path / "run.h5"
    assert exit_code([command, *flags, "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert name in err
    assert not out.exists() and os.listdir(tmp_path) == []


def exit_code(argv):
    """Exit status of ``dmft argv`` run in-process (argparse errors raise SystemExit)."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


def test_parse_error_exit_status_is_2():
    r = run("simulate", "--alpha", "three", "-o", "x.h5")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("args", [["info", "missing.h5"], ["teff", "missing.h5"]])
def test_missing_or_unreadable_file(tmp_path, capsys, args):
    assert main([args[0], str(tmp_path / args[1])]) == 2
    (tmp_path / "garbage.h5").write_text("garbage")
    assert main([args[0], str(tmp_path / "garbage.h5")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all("error" in line for line in err)


def test_bad_scan_config_exit_2(tmp_path, capsys):
    cfg = tmp_path / "scan.toml"
    cfg.write_text('mode = "solve"\n[axes]\nalpha = [1.0, -1.0]\n')
    assert main(["scan", str(cfg), "-o", str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()
    assert "alpha" in capsys.readouterr().err


def test_simulate_info_teff_end_to_end(tmp_path):
    out = tmp_path / "run.h5"
    r = run("simulate", "--alpha", "3", "--dynamics", "sgd", "--b", "0.5", "--dt", "0.1", "--t-max", "6",
            "--n", "200", "--n-samples", "2", "--tw", "2,3", "--replicas", "2", "-o", str(out))
    assert r.returncode == 0, r.stderr
    info = run("info", str(out))
    assert info.returncode == 0
    for word in ("kind: simulation", "status: ok", "alpha = 3.0", "git_commit", "created_utc"):
        assert word in info.stdout
    t = run("teff", str(out), "--tw", "3", "--json")
    assert t.returncode == 0, t.stderr
    obj = json.loads(t.stdout)
    assert {"T_eff", "T_eff_err", "tw"} <= set(obj) and obj["tw"] == pytest.approx(3.0)
    bad = run("teff", str(out), "--tw", "4.5")
    assert bad.returncode == 2 and "tw" in bad.stderr
    short = run("teff", str(out), "--tw", "2", "--window", "2,4", "--json")
    assert short.returncode == 0, short.stderr
    # --window adds a straight-line fit over that window, reported apart from T_eff
    assert json.loads(short.stdout)["line_fit"]["window"] == pytest.approx([2.0, 4.0])
    for window in ("4,2", "x"):
        bad = run("teff", str(out), "--tw", "2", "--window", window)
        assert bad.returncode == 2 and "window" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


def test_compare_figure(tmp_path, make_result):
    th = save(make_result(kind="dmft", replicas=2), tmp_path / "th.h5")
    sm = save(make_result(kind="simulation", replicas=2), tmp_path / "sm.h5")
    assert main(["compare", th, sm, "-o", str(tmp_path / "fig.png")]) == 0
    assert os.path.getsize(tmp_path / "fig.png") > 20_000


@pytest.mark.parametrize("command, flag", [("solve", "--n"), ("solve", "--n-samples"),
                                           ("simulate", "--n-paths"), ("simulate", "--n-probes")])
def test_each_command_offers_only_its_own_method_flags(tmp_path, command, flag):
    """`dmft solve --n 500` was accepted and ignored; now it is a usage error."""
    out = tmp_path / "run.h5"
    assert exit_code([command, flag, "8", "-o", str(out)]) == 2
    assert not out.exists()


@pytest.mark.parametrize("command", ["solve", "simulate", "teff", "compare", "scan", "phase-diagram", "info", "demo"])
def test_every_command_has_working_help(command, capsys):
    """Help texts come from the field docstrings, which may hold a '%' (argparse formats them)."""
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    assert "usage: dmft " + command in capsys.readouterr().out
