"""Reference files in data/ stay readable, and their content is consistent with itself."""

import json
import math
import os

import numpy as np
import pytest

from dmft.analysis import fit_teff, long_time_distance
from dmft.core.io import load

DATA = os.path.join(os.path.dirname(__file__), "..", "data")


def test_format_v1_files_load_and_agree():
    th = load(os.path.join(DATA, "format-v1", "demo-sgd-dmft.h5"))
    sim = load(os.path.join(DATA, "format-v1", "demo-sgd-sim.h5"))
    assert th.kind == "dmft" and sim.kind == "simulation"
    assert th.meta["format_version"] == 1 and th.status == "ok"
    assert th.params == sim.params
    assert th.method.n_paths == 16384 and sim.method.n == 1000 and sim.method.n_samples == 4
    # theory and simulation of the same point: energy within 5%, C(t, tw) within 0.02
    assert np.all(np.abs(th.energy[10:] / sim.energy[10:] - 1) < 0.05)
    m = np.isfinite(sim.C)
    assert np.nanmax(np.abs(th.C[m] - sim.C[m])) < 0.02
    assert th.distance is not None and sim.distance is not None


def _canonical(name):
    return load(os.path.join(DATA, "canonical", name))


def test_canonical_unsat_teff_theory_against_simulation():
    """The demo's UNSAT files: both stationary, T_eff and T_short of DMFT and simulation agree
    within 3 combined standard errors, and summary.json holds what fit_teff gives."""
    summary = json.load(open(os.path.join(DATA, "canonical", "summary.json")))
    th, sm = (fit_teff(_canonical(f"unsat-{k}.h5"), warn=False) for k in ("dmft", "sim"))
    for est, kind in ((th, "dmft"), (sm, "simulation")):
        assert est.stationary and math.isfinite(est.T_eff) and est.T_eff_err > 0
        assert summary["unsat"][kind]["teff"]["T_eff"] == pytest.approx(est.T_eff, rel=1e-12)
    for key in ("T_eff", "T_short"):
        a, b = getattr(th, key), getattr(sm, key)
        assert abs(a - b) < 3 * math.hypot(getattr(th, key + "_err"), getattr(sm, key + "_err")), key
    assert th.T_short > 1.5 * th.T_eff  # the FDT plot is curved: fast modes hotter


def test_canonical_sat_distance_theory_against_simulation():
    th, sm = (long_time_distance(_canonical(f"sat-{k}.h5")) for k in ("dmft", "sim"))
    assert th.sat and sm.sat and th.converged and sm.converged
    assert abs(th.d_inf - sm.d_inf) < 3 * math.hypot(th.d_inf_err, sm.d_inf_err)


def test_reference_files_keep_their_point_hash():
    """Every file under data/ (written before exact_lags and the teacher parameters existed) still
    has the point hash it was written with: settings added later do not move old points."""
    import glob

    from dmft.core.io import read_header
    from dmft.core.methods import point_hash

    paths = sorted(glob.glob(os.path.join(DATA, "**", "*.h5"), recursive=True))
    assert len(paths) >= 4
    for path in paths:
        stored = read_header(path)["point_hash"]
        if stored is None:  # format 1 files carry no hash
            continue
        r = load(path)
        assert point_hash(r.params, r.method) == stored, path


# --------------------------------------------------------------------------- kept current (issue 24)
#: the code that determines the numbers of the canonical files
NUMERICS = ("dmft/solver", "simulations", "dmft/core/model.py", "dmft/core/selection.py",
            "dmft/core/averaging.py")


def test_canonical_files_are_the_demo_from_a_clean_commit():
    """data/canonical/ holds dmft demo at its points and sizes (python -m dmft.app.reference), from
    a commit without uncommitted changes."""
    from dmft.app.demo import DEMO_METHODS, DEMO_POINTS
    from dmft.app.reference import FILES
    from dmft.core.methods import DMFTMethod, ParticleMethod
    from dmft.core.params import Params

    for (point, kind), name in FILES.items():
        r = _canonical(name)
        assert r.params == Params(**DEMO_POINTS[point]), name
        method = DMFTMethod(**DEMO_METHODS["dmft"]) if kind == "dmft" else ParticleMethod(**DEMO_METHODS["simulation"])
        assert r.method == method, name
        commit = str(r.meta.get("git_commit", ""))
        assert len(commit) >= 40 and not commit.endswith("-dirty"), (name, commit)
    assert Params(seed=1) == _canonical("unsat-dmft.h5").params   # the defaults are this point


def test_canonical_files_were_computed_by_the_current_numerics():
    """The solver and the simulations have not changed since the commit the files record; after a
    change, python -m dmft.app.reference remakes them (and everything quoted from them)."""
    import shutil
    import subprocess

    root = os.path.join(DATA, "..")
    commit = str(_canonical("unsat-dmft.h5").meta["git_commit"])[:40]
    if shutil.which("git") is None or subprocess.run(["git", "-C", root, "cat-file", "-e", commit + "^{commit}"],
                                                     capture_output=True).returncode != 0:
        pytest.skip(f"no git history with commit {commit} here")
    changed = subprocess.run(["git", "-C", root, "diff", "--name-only", commit, "HEAD", "--", *NUMERICS],
                             capture_output=True, text=True, check=True).stdout.split()
    assert not changed, f"the numerics changed since {commit[:12]} ({', '.join(changed)}): python -m dmft.app.reference"


def test_summary_and_gallery_belong_to_the_files():
    """summary.json is what the estimators give for the files; reference.json records the files
    and the figures drawn from them together."""
    from dmft.app import reference

    with open(os.path.join(DATA, "canonical", "summary.json")) as fh:
        summary = json.load(fh)
    d = long_time_distance(_canonical("sat-dmft.h5"), warn=False)
    assert summary["sat"]["dmft"]["distance"]["d_inf"] == pytest.approx(d.d_inf, rel=1e-12)
    with open(os.path.join(DATA, "canonical", reference.RECORD)) as fh:
        record = json.load(fh)
    for name, digest in record["files"].items():
        assert reference.sha256(os.path.join(DATA, "canonical", name)) == digest, name
    gallery = os.path.join(DATA, "..", reference.GALLERY)
    for name, digest in record["figures"].items():
        assert reference.sha256(os.path.join(gallery, name)) == digest, f"{name}: python -m dmft.app.reference"


def test_quoted_numbers_are_those_of_their_sources():
    """Every number the README and the docs quote between <!-- quote:KEY --> marks is what its
    source gives now (the canonical files, the benchmark records)."""
    from dmft.app import reference

    values = reference.quotes()
    assert reference.stale_quotes(values) == []
    used = {m["key"] for _, text in reference.documents() for m in reference.QUOTE.finditer(text)}
    assert {"canonical.teff-output", "canonical.unsat.dmft.T_eff", "bench.teff", "bench.solver"} <= used


def test_measurement_quotes_name_the_confirming_horizon_and_a_missing_comparison(tmp_path):
    import json

    from dmft.app import reference

    row = {"name": "unsat-dmft", "value": 0.00636, "error": 0.00017, "rel_error": 0.0267, "t_max": 320.0,
           "repetitions": 4, "wall_s": 403.0, "cost_ratio": 1.0, "started": {"load": 0.8},
           "values": {"T_static": [0.00636, 4.6e-05]},
           "confirmed_by": {"t_max": 160.0, "value": 0.00653, "error": 2.9e-05}}
    record = {"date": "2026-12-05", "rows": [row],
              "comparisons": [{"value": "T_static", "z": 0.44}, {"value": "T_slow", "z": float("nan")}]}
    (tmp_path / "bench_measure.json").write_text(json.dumps(record))
    quotes = reference.measure_quotes(str(tmp_path))
    assert quotes["bench.measure.unsat-dmft"].startswith("T_static = 0.0064 ± 0.0002 (2.7%) at t_max = 320")
    moved = quotes["bench.measure.unsat-dmft.moved"]
    assert "0.00653 +- 2.9e-05 at `t_max = 160`" in moved and "2.7% against 0.72%" in moved
    assert quotes["bench.measure.z"] == "T_static +0.44, T_slow n/a (recorded 2026-12-05)"
    # comparisons against simulations of several sizes are grouped by N
    record["comparisons"] = [{"value": "T_short", "n": 2000, "z": -4.15}, {"value": "T_short", "n": 4000, "z": -1.2},
                             {"value": "d_inf", "n": 2000, "z": -0.45}]
    (tmp_path / "bench_measure.json").write_text(json.dumps(record))
    assert (reference.measure_quotes(str(tmp_path))["bench.measure.z"]
            == "N = 2000: T_short -4.15, d_inf -0.45; N = 4000: T_short -1.20 (recorded 2026-12-05)")
