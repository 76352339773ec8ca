"""What a user gives is checked before any work (issue 23): the simulated alpha, the time grid,
settings that do nothing, values that overflowed, output paths as the system resolves them and
write-protected files.  Each refusal is exit 2 with one line, nothing computed, nothing written."""

import json
import os

import h5py
import pytest

from dmft import Params, ParticleMethod, run
from dmft.app import cli
from dmft.app.cli import main
from dmft.core.io import save
from dmft.core.outputs import OutputPathError, check_output
from dmft.core.params import ParameterError

SIM = ["simulate", "--t-max", "2", "--n", "20", "--n-samples", "1"]
SOLVE = ["solve", "--t-max", "2", "--n-paths", "64", "--replicates", "1"]


@pytest.fixture
def no_computing(monkeypatch):
    """Any computation fails the test: the checks must come first."""
    def computed(*args, **kw):
        raise AssertionError("computed before checking")
    monkeypatch.setattr(cli, "run", computed)


def _refused(capsys, argv, *words):
    code = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, (code, err)
    for word in words:
        assert word in err[0], err[0]
    assert "Traceback" not in err[0]
    return err[0]


def _listing(folder):
    return sorted((p, os.lstat(os.path.join(folder, p)).st_mtime_ns) for p in os.listdir(folder))


# ----------------------------------------------------------------------------- item 3
@pytest.mark.parametrize("alpha", ["0.001", "1e-320", "0.125"])
def test_alpha_that_cannot_be_simulated_is_refused(tmp_path, capsys, no_computing, alpha):
    """P = max(1, round(alpha N)) = 1 pattern is alpha = 0.01, not 0.001 (the file said 0.001)."""
    _refused(capsys, ["simulate", "--alpha", alpha, "--n", "100", "--t-max", "1", "-o", str(tmp_path / "o.h5")],
             "'alpha'", "1%")
    assert os.listdir(tmp_path) == []


def test_alpha_rule_everywhere():
    """The library and scans apply the same rule; within 1% is accepted (the DMFT needs none)."""
    from dmft.core.checks import check_settings

    with pytest.raises(ParameterError, match="alpha"):
        run(Params(alpha=0.001, t_max=1.0), ParticleMethod(n=100, n_samples=1))
    with pytest.raises(ParameterError, match="alpha"):
        check_settings({"alpha": 0.55, "n": 30}, "simulation")          # P = 16 or 17: 3% off
    check_settings({"alpha": 1.004, "n": 200}, "simulation")            # P = 201: 0.1% off
    check_settings({"alpha": 0.001}, "dmft")


# ----------------------------------------------------------------------------- item 11
@pytest.mark.parametrize("argv, name", [
    (["--dt", "1e-320"], "'dt'"),                                  # OverflowError in round(t_max/dt)
    (["--seed", "18446744073709551616"], "'seed'"),                # computed, then failed in save
    (["--threads", "1000000000000000000000000000000"], "'threads'"),   # ctypes OverflowError
])
def test_values_that_overflowed_are_refused_first(tmp_path, capsys, no_computing, argv, name):
    _refused(capsys, [*SIM, *argv, "-o", str(tmp_path / "o.h5")], name)
    assert os.listdir(tmp_path) == []


def test_largest_seed_a_file_stores_is_accepted(tmp_path):
    r = run(Params(t_max=0.5, seed=2**64 - 1), ParticleMethod(n=20, n_samples=1))
    from dmft.core.io import load
    assert load(save(r, tmp_path / "o.h5")).params.seed == 2**64 - 1


def _scan_refused(tmp_path, capsys, base: str, axes: str, *words):
    """A scan of ``[base]`` plus ``base`` over ``axes`` is refused before its folder is made."""
    cfg = tmp_path / "s.toml"
    cfg.write_text(f'mode = "simulate"\n[base]\nn = 20\nn_samples = 1\nt_max = 1.0\n{base}[axes]\n{axes}\n')
    _refused(capsys, ["scan", str(cfg), "-o", str(tmp_path / "out")], *words)
    assert not (tmp_path / "out").exists()


def test_threads_from_a_scan_file_are_bounded(tmp_path, capsys):
    _scan_refused(tmp_path, capsys, "threads = 1e30\n", "alpha = [1.0]", "'threads'")


@pytest.mark.parametrize("command", ["info", "teff", "compare"])
def test_file_with_an_absurd_dt_is_refused(tmp_path, capsys, make_result, command):
    path = save(make_result(kind="dmft"), tmp_path / "th.h5")
    sim = save(make_result(kind="simulation"), tmp_path / "sim.h5")
    with h5py.File(path, "a") as f:
        settings = json.loads(f.attrs["config_json"])
        settings["dt"] = 1e-320
        f.attrs["config_json"] = json.dumps(settings)
    argv = {"info": ["info", path], "teff": ["teff", path],
            "compare": ["compare", path, sim, "-o", str(tmp_path / "fig.png")]}[command]
    _refused(capsys, argv, path, "'dt'")
    assert not (tmp_path / "fig.png").exists()


# ----------------------------------------------------------------------------- item 16
def test_t_max_off_the_grid_is_named_as_such(tmp_path, capsys, no_computing):
    """t_max = 1 with dt = 0.3 silently became 0.9, and tw = 1 was then 'outside [0, t_max = 1.0]'."""
    line = _refused(capsys, [*SIM, "--dt", "0.3", "--t-max", "1", "--tw", "1", "-o", str(tmp_path / "o.h5")],
                    "'t_max'", "not on the time grid", "dt = 0.3", "0.9 and 1.2")
    assert "waiting time" not in line


def test_tw_off_the_grid_is_refused(tmp_path, capsys, no_computing):
    _refused(capsys, [*SIM, "--tw", "0.45", "-o", str(tmp_path / "o.h5")], "'tw'", "0.4 and 0.5")


def test_scan_points_off_the_grid_are_refused(tmp_path, capsys):
    _scan_refused(tmp_path, capsys, "", "dt = [0.1, 0.3]", "'t_max'", "dt = 0.3")


# ----------------------------------------------------------------------------- item 17
def test_negative_infinity_is_a_value_not_an_option(tmp_path, capsys, no_computing):
    """--alpha -inf was 'expected one argument'."""
    _refused(capsys, [*SIM, "--alpha", "-inf", "-o", str(tmp_path / "o.h5")], "'alpha'", "finite")
    _refused(capsys, [*SIM, "--delta", "-1e300", "-o", str(tmp_path / "o.h5")], "'delta'")
    _refused(capsys, [*SIM, "--alpha", "-.5", "-o", str(tmp_path / "o.h5")], "'alpha'", "> 0")


# ----------------------------------------------------------------------------- item 18
@pytest.mark.parametrize("argv, name", [
    (["--ridge", "5"], "'ridge'"),                              # constraint sphere (the default)
    (["--tau", "123"], "'tau'"),                                # dynamics sgd (the default)
    (["--dynamics", "gd", "--b", "0.01"], "'b'"),
    (["--dynamics", "langevin", "--temperature", "0.1", "--normalization", "mean"], "'normalization'"),
    (["--dynamics", "gd", "--noise-class", "gaussian"], "'noise_class'"),
])
@pytest.mark.parametrize("command", [SIM, SOLVE], ids=["simulate", "solve"])
def test_settings_that_do_nothing_are_refused(tmp_path, capsys, no_computing, command, argv, name):
    """They changed the point hash (a second file, a second computation) without changing the run."""
    _refused(capsys, [*command, *argv, "-o", str(tmp_path / "o.h5")], name, "does nothing")
    assert os.listdir(tmp_path) == []


def test_settings_that_act_are_accepted():
    from dmft.core.checks import unused_settings

    assert unused_settings(Params(dynamics="psgd", tau=3.0)) == {}
    assert unused_settings(Params(constraint="ridge", ridge=5.0)) == {}
    assert unused_settings(Params(dynamics="gd")) == {}               # at their defaults: no hash change
    assert set(unused_settings(Params(dynamics="gd", b=0.1, tau=2.0))) == {"b", "tau"}


def test_scan_with_a_setting_that_does_nothing_is_refused(tmp_path, capsys):
    _scan_refused(tmp_path, capsys, "tau = 2.0\n", "alpha = [1.0, 2.0]", "'tau'")


# ----------------------------------------------------------------------------- item 2
@pytest.mark.parametrize("command", [SIM, SOLVE], ids=["simulate", "solve"])
def test_write_protected_result_is_not_replaced(tmp_path, capsys, no_computing, command):
    """chmod 444 keep.h5, then -o keep.h5 replaced it with exit 0 (as cp would not)."""
    keep = tmp_path / "keep.h5"
    keep.write_bytes(b"precious")
    os.chmod(keep, 0o444)
    before = _listing(tmp_path)
    _refused(capsys, [*command, "-o", str(keep)], "write-protected")
    assert keep.read_bytes() == b"precious" and _listing(tmp_path) == before


def test_library_writer_refuses_a_write_protected_file(tmp_path, make_result):
    keep = tmp_path / "keep.h5"
    keep.write_bytes(b"precious")
    os.chmod(keep, 0o444)
    with pytest.raises(OutputPathError, match="write-protected"):
        save(make_result(), keep)
    assert keep.read_bytes() == b"precious" and os.listdir(tmp_path) == ["keep.h5"]


# ----------------------------------------------------------------------------- item 15
def _odd_output(tmp_path, kind):
    if kind == "name over the limit":
        return str(tmp_path / ("a" * 300 + ".h5")), "bytes long"
    if kind == "temporary name too long":     # a legal 250-byte name; '.NAME.XXXXXXXX.tmp' is not
        return str(tmp_path / ("b" * 247 + ".h5")), "temporary file"
    if kind == "folder name over the limit":
        return str(tmp_path / ("c" * 300) / "o.h5"), "bytes long"
    if kind == "through a missing folder":
        (tmp_path / "a").mkdir()
        return str(tmp_path / "a" / "missing" / ".." / "o.h5"), "missing folder"
    if kind == "sysfs":
        return "/sys/o.h5", "cannot write"
    if kind == "procfs":
        return "/proc/o.h5", "cannot write"
    raise ValueError(kind)


@pytest.mark.parametrize("kind", ["name over the limit", "temporary name too long", "folder name over the limit",
                                  "through a missing folder", "sysfs", "procfs"])
def test_output_paths_checked_as_the_system_resolves_them(tmp_path, capsys, no_computing, kind):
    """These were found bad only after computing (exit 1, the result lost)."""
    if kind in ("sysfs", "procfs") and not os.path.isdir("/sys" if kind == "sysfs" else "/proc"):
        pytest.skip("no such file system here")
    path, words = _odd_output(tmp_path, kind)
    before = _listing(tmp_path)
    _refused(capsys, [*SIM, "-o", path], words)
    assert _listing(tmp_path) == before
    assert not (tmp_path / "a" / "missing").exists()


def test_longest_name_whose_temporary_fits_is_written(tmp_path, make_result):
    name = "d" * (255 - 14 - 3) + ".h5"          # 241 bytes: '.NAME.XXXXXXXX.tmp' is 255
    save(make_result(), tmp_path / name)
    assert os.listdir(tmp_path) == [name]
    with pytest.raises(OutputPathError):
        check_output(tmp_path / ("d" + name))


def test_scan_folder_that_cannot_be_created_is_refused(tmp_path, capsys):
    cfg = tmp_path / "s.toml"
    cfg.write_text('mode = "simulate"\n[base]\nn = 20\nn_samples = 1\nt_max = 1.0\n[axes]\nalpha = [1.0]\n')
    for out in (str(tmp_path / ("e" * 300)), "/proc/dmft-scan", str(tmp_path / "f" / "missing" / ".." / "x")):
        _refused(capsys, ["scan", str(cfg), "-o", out], "cannot write")
    assert sorted(os.listdir(tmp_path)) == ["s.toml"]


def test_read_only_folder_is_refused_by_trying_it(tmp_path, capsys, no_computing, monkeypatch):
    """A read-only file system (EROFS) passes os.access as root; the probe finds it."""
    import errno
    import tempfile

    def read_only(*args, **kw):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    _refused(capsys, [*SIM, "-o", str(tmp_path / "o.h5")], "Read-only file system")
