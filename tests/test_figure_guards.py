"""No silently wrong figures (issue 11, class 8): compare refuses swapped kinds and different
physics; phase-diagram needs a plane (two axes, or --slice for the others) and a quantity with at
least one finite value."""

import csv
import os

import pytest

from dmft.analysis.phase_diagram import plane
from dmft.app.cli import main
from dmft.app.scan import parse_config, run_scan
from dmft.core.io import save
from dmft.core.manifest import load_manifest


def _one_error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


@pytest.fixture
def pair(tmp_path, make_result):
    def files(**sim_changes):
        th = save(make_result(kind="dmft", replicas=2), tmp_path / "th.h5")
        sm = save(make_result(kind="simulation", replicas=2, **sim_changes), tmp_path / "sm.h5")
        return th, sm
    return files


@pytest.mark.parametrize("order", ["swapped", "two simulations"])
def test_compare_refuses_wrong_kinds(tmp_path, capsys, pair, order):
    th, sm = pair()
    args = [sm, th] if order == "swapped" else [sm, sm]
    assert main(["compare", *args, "-o", str(tmp_path / "fig.png")]) == 2
    line = _one_error_line(capsys)
    assert "DMFT file then a simulation file" in line
    assert ("swapped" in line) == (order == "swapped")
    assert not (tmp_path / "fig.png").exists()


def test_compare_refuses_different_physics_unless_allowed(tmp_path, capsys, pair):
    th, sm = pair(alpha=2.0, b=0.7, seed=5, t_max=30.0)   # seed and t_max may differ
    assert main(["compare", th, sm, "-o", str(tmp_path / "fig.png")]) == 2
    line = _one_error_line(capsys)
    assert "alpha 4.0 vs 2.0" in line and "b 0.5 vs 0.7" in line and "seed" not in line
    assert not (tmp_path / "fig.png").exists()
    assert main(["compare", th, sm, "-o", str(tmp_path / "fig.png"), "--allow-different"]) == 0
    assert "warning" in capsys.readouterr().err
    assert (tmp_path / "fig.png").exists()


@pytest.fixture(scope="module")
def three_axis_scan(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scan3")
    base = {"dynamics": "sgd", "n": 20, "n_samples": 1, "t_max": 1.0, "dt": 0.1, "tw": []}
    cfg = parse_config({"mode": "simulate", "base": base,
                        "axes": {"alpha": [1.0, 3.0], "delta": [0.0, 0.5], "b": [0.5, 1.0]}})
    assert run_scan(cfg, str(folder), workers=1, log=None).done == 8
    return str(folder)


def test_phase_diagram_of_three_axes_needs_a_slice(tmp_path, capsys, three_axis_scan):
    out = str(tmp_path / "pd.png")
    assert main(["phase-diagram", three_axis_scan, "-o", out, "--quantity", "energy"]) == 2
    line = _one_error_line(capsys)
    assert "varies 3 axes" in line and "--slice b=" in line
    assert os.listdir(tmp_path) == []
    for bad in ("b=0.7", "foo=1", "b"):
        assert main(["phase-diagram", three_axis_scan, "-o", out, "--quantity", "energy", "--slice", bad]) == 2
        assert "slice" in _one_error_line(capsys)
    assert os.listdir(tmp_path) == []
    assert main(["phase-diagram", three_axis_scan, "-o", out, "--quantity", "energy", "--slice", "b=0.5"]) == 0
    with open(tmp_path / "pd.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 4 and {row["b"] for row in rows} == {"0.5"}


def test_the_plane_knows_the_fixed_values(three_axis_scan):
    """The Gardner line is drawn for the delta of the slice, not for the base delta."""
    manifest = load_manifest(three_axis_scan)
    axes = list(manifest["axes"])
    assert plane(axes, manifest, {"delta": "0.5"}) == ("alpha", "b", {"delta": 0.5})
    assert plane(axes, manifest, {"b": "1", "delta": "0"}) == ("alpha", None, {"b": 1.0, "delta": 0.0})


def test_phase_diagram_refuses_an_all_nan_quantity(tmp_path, capsys, three_axis_scan):
    out = str(tmp_path / "pd.png")
    assert main(["phase-diagram", three_axis_scan, "-o", out, "--quantity", "teff", "--slice", "b=0.5"]) == 2
    line = _one_error_line(capsys)
    assert "no finite value of teff" in line and "waiting times" in line
    assert os.listdir(tmp_path) == []
