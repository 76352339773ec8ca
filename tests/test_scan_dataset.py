"""A scan folder as one xarray Dataset (issue 24): open_scan holds the phase diagram's numbers,
load_scan the files' observables, and Result.from_xarray goes back to the file's Result."""

import math
import os

import numpy as np
import pytest

import dmft
from dmft.analysis.phase_diagram import QUANTITIES, collect
from dmft.app.scan import parse_config, run_scan
from dmft.core.methods import point_hash

xr = pytest.importorskip("xarray")

AXES = {"b": [0.5, 0.7], "t_max": [4.0, 6.0]}


@pytest.fixture(scope="module")
def scan(tmp_path_factory):
    """Both kinds, two axes, one of them the time grid (so the points' grids differ)."""
    folder = str(tmp_path_factory.mktemp("scan"))
    base = dict(dynamics="sgd", dt=0.1, seed=2, replicas=2, n=60, n_samples=3, n_paths=64, replicates=3)
    cfg = parse_config({"mode": "both", "base": base, "axes": AXES})
    assert run_scan(cfg, folder, workers=1, log=None).done == 8
    return folder


def test_open_scan_holds_what_the_phase_diagram_knows(scan):
    ds = dmft.open_scan(scan)
    assert dict(ds.sizes) == {"b": 2, "t_max": 2, "kind": 2}
    assert ds["b"].values.tolist() == AXES["b"] and ds["kind"].values.tolist() == ["dmft", "simulation"]
    assert ds.attrs["dynamics"] == "sgd" and ds.attrs["scan_mode"] == "both"
    # every quantity these points can have (no teacher data here), with its error, note and status
    for q in ("teff", "distance", "energy", "frac_unsat"):
        assert {q, f"{q}_err", f"{q}_note", f"{q}_measured_at"} <= set(ds.data_vars), q
    assert "gen_error" not in ds and "m" not in ds
    assert (ds["status"] == "ok").all()
    for q in ("teff", "distance", "energy", "frac_unsat"):
        _, rows, _ = collect(scan, q)   # what dmft phase-diagram and its CSV use
        for row in rows:
            point = ds.sel(b=row["b"], t_max=row["t_max"], kind=row["kind"])
            assert str(point["file"].values) == row["file"]
            for key, stored in ((q, row[q]), (f"{q}_err", row[f"{q}_err"])):
                value = float(point[key])
                assert (math.isnan(value) and math.isnan(stored)) or value == stored, (q, key)
            assert str(point[f"{q}_note"].values) == row["note"]
    # the energy at t_max is the file's last value, with its standard error
    r = dmft.load(os.path.join(scan, str(ds["file"].sel(b=0.7, t_max=6.0, kind="simulation").values)))
    point = ds.sel(b=0.7, t_max=6.0, kind="simulation")
    assert float(point["energy"]) == r.energy[-1] and float(point["energy_err"]) == r.sem["energy"][-1]


def test_open_scan_marks_a_missing_file_and_selects_a_kind(scan, tmp_path):
    import shutil

    copy = str(tmp_path / "copy")
    shutil.copytree(scan, copy)
    ds = dmft.open_scan(copy, kind="simulation")
    assert "kind" not in ds.dims and str(ds["kind"].values) == "simulation"
    os.remove(os.path.join(copy, str(ds["file"].sel(b=0.5, t_max=4.0).values)))
    ds = dmft.open_scan(copy, kind="simulation")
    gone = ds.sel(b=0.5, t_max=4.0)
    assert str(gone["status"].values) == "missing" and math.isnan(float(gone["energy"]))
    assert str(gone["energy_note"].values) == "file missing"
    assert (ds["status"] == "ok").sum() == 3


def test_load_scan_round_trip_gives_each_file_back(scan):
    ds = dmft.load_scan(scan)
    assert {"b", "t_max", "kind", "t", "tw"} <= set(ds.dims)
    assert ds["C"].dims == ("b", "t_max", "kind", "tw", "t")
    assert ds.sizes["t"] == 61   # the union of the grids of t_max = 4 and 6
    for b in AXES["b"]:
        for t_max in AXES["t_max"]:
            for kind in ("dmft", "simulation"):
                point = ds.sel(b=b, t_max=t_max, kind=kind)
                back = dmft.Result.from_xarray(point)
                ref = dmft.load(os.path.join(scan, str(point["file"].values)))
                assert back.params == ref.params and back.method == ref.method
                assert point_hash(back.params, back.method) == point_hash(ref.params, ref.method)
                for name in ("energy", "frac_unsat", "nu", "C", "chi", "distance"):
                    np.testing.assert_array_equal(getattr(back, name), getattr(ref, name), err_msg=name)
                for name in ref.sem:
                    np.testing.assert_array_equal(back.sem[name], ref.sem[name], err_msg=name)
                np.testing.assert_array_equal(back.extra["gap_hist"], ref.extra["gap_hist"])
                np.testing.assert_array_equal(back.extra["gap_edges"], ref.extra["gap_edges"])
                a = dmft.analysis.long_time_distance(back, warn=False)
                b_ = dmft.analysis.long_time_distance(ref, warn=False)
                assert a.to_dict() == b_.to_dict()   # the jackknife over the same batches


def test_from_xarray_of_one_file_keeps_t_eff_and_its_error():
    path = os.path.join(os.path.dirname(__file__), "..", "data", "canonical", "unsat-sim.h5")
    r = dmft.load(path)
    back = dmft.Result.from_xarray(r.to_xarray(batches=True))
    assert point_hash(back.params, back.method) == point_hash(r.params, r.method)
    a, b = dmft.fit_teff(r, warn=False), dmft.fit_teff(back, warn=False)
    assert a.T_eff == b.T_eff and a.T_eff_err == pytest.approx(b.T_eff_err, rel=1e-12)
    with xr.open_dataset(path, engine="h5netcdf") as ds:   # the file as xarray opens it
        opened = dmft.Result.from_xarray(ds)
    assert opened.params == r.params and np.array_equal(opened.C, r.C, equal_nan=True)


def test_from_xarray_refuses_more_than_one_point(scan):
    ds = dmft.load_scan(scan)
    with pytest.raises(ValueError, match="select one point first"):
        dmft.Result.from_xarray(ds)
    with pytest.raises(ValueError, match="kind"):
        dmft.Result.from_xarray(xr.Dataset({"energy": ("t", [1.0])}))


def test_plot_labels_read_well(scan):
    """xarray's axis labels: no '[1]' for dimensionless quantities, no wrapped long names."""
    from xarray.plot.utils import label_from_attrs

    for ds in (dmft.load_scan(scan), dmft.open_scan(scan)):
        for name in list(ds.data_vars) + list(ds.coords):
            label = label_from_attrs(ds[name])
            assert "[" not in label and "\n" not in label, (name, label)
    assert set(QUANTITIES) >= {"teff", "energy"}
