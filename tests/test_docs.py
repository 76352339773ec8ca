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


def test_example_notebook_runs(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    monkeypatch.setenv("DMFT_EXAMPLE_SIZE", "tiny")
    monkeypatch.setenv("DMFT_EXAMPLE_DATA", os.path.join(ROOT, "data", "canonical"))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert not any(cell.get("outputs") for cell in nb.cells if cell.cell_type == "code"), \
        "commit the notebook without outputs"
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    text = "\n".join(out.get("text", "") for cell in nb.cells if cell.cell_type == "code"
                     for out in cell.outputs)
    images = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs
              if "image/png" in out.get("data", {})]
    assert "TqdmWarning" not in text  # importing tqdm.auto in a notebook without ipywidgets
    assert "T_eff" in text and "recorded command line: python: Jupyter kernel (API)" in text
    assert "b = 0.7: e(t_max)" in text and len(images) >= 3
    assert (tmp_path / "example-output" / "unsat-dmft.h5").exists()
