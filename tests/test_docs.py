"""Documentation that stays true: the API page is what the generator writes from the
docstrings, and the example notebook runs (at tiny sizes) from top to bottom."""

import os

import pytest

from dmft.app import apidoc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOK = os.path.join(ROOT, "docs", "example.ipynb")


def test_api_page_is_up_to_date():
    with open(os.path.join(ROOT, apidoc.PAGE), encoding="utf-8") as fh:
        committed = fh.read()
    assert committed == apidoc.render(), "docs/api.md is out of date: run python -m dmft.app.apidoc"


def test_api_page_covers_the_public_names():
    import dmft
    import dmft.analysis

    text = apidoc.render()
    for name in [n for n in dmft.__all__ if not n.startswith("__")] + dmft.analysis.__all__:
        assert f"### `{name}`" in text, name
    assert "Result.to_xarray" in text and "(no docstring)" not in text.split("## Analysis")[0]


def test_apidoc_check_mode(tmp_path, capsys):
    page = tmp_path / "api.md"
    assert apidoc.main(["--check", "-o", str(page)]) == 1
    assert apidoc.main(["-o", str(page)]) == 0
    assert apidoc.main(["--check", "-o", str(page)]) == 0
    assert "up to date" in capsys.readouterr().out


def _code_cells(nb):
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def _text(cells) -> str:
    return "\n".join(out.get("text", "") + "".join(out.get("data", {}).get("text/plain", ""))
                     for cell in cells for out in cell.get("outputs", []))


def test_example_notebook_is_stored_executed_and_current():
    """The notebook is shipped with its outputs (python -m dmft.app.reference --parts notebook):
    every code cell ran, none failed, the figures are there, and what it printed from the
    reference files is what those files give now."""
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    cells = _code_cells(nb)
    assert all(cell.get("execution_count") for cell in cells), "run python -m dmft.app.reference --parts notebook"
    assert not [out for cell in cells for out in cell.outputs if out.output_type == "error"]
    images = [out for cell in cells for out in cell.outputs if "image/png" in out.get("data", {})]
    assert len(images) >= 5
    text = _text(cells)
    assert "(tiny sizes)" not in text and "T_eff" in text
    import dmft

    for kind in ("dmft", "sim"):
        e = dmft.fit_teff(dmft.load(os.path.join(ROOT, "data", "canonical", f"unsat-{kind}.h5")), warn=False)
        line = (f"{kind:4s}: T_eff = {e.T_eff:.4g} +/- {e.T_eff_err:.2g}, T_short = {e.T_short:.4g} +/- "
                f"{e.T_short_err:.2g}, tw = {e.tw:g}, {e.plateau}")
        assert line in text, f"stale notebook output (expected {line!r}): python -m dmft.app.reference --parts notebook"


def test_example_notebook_runs(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    monkeypatch.setenv("DMFT_EXAMPLE_SIZE", "tiny")
    monkeypatch.setenv("DMFT_EXAMPLE_DATA", os.path.join(ROOT, "data", "canonical"))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in _code_cells(nb):
        cell.outputs, cell.execution_count = [], None
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    text = _text(_code_cells(nb))
    images = [out for cell in _code_cells(nb) for out in cell.outputs if "image/png" in out.get("data", {})]
    assert "TqdmWarning" not in text  # importing tqdm.auto in a notebook without ipywidgets
    assert "T_eff" in text and "recorded command line: python: Jupyter kernel (API)" in text
    assert "b = 0.7: e(t_max)" in text and "status ok" in text and len(images) >= 5
    assert (tmp_path / "example-output" / "unsat-dmft.h5").exists()
    # no internals: the scan is the command line and the public dmft.open_scan / dmft.load_scan
    source = "\n".join(cell.source for cell in _code_cells(nb))
    assert "dmft.app" not in source and "phase_diagram import" not in source
    assert "dmft.open_scan(" in source and "dmft.load_scan(" in source and "from_xarray(" in source
