"""Figures a referee accepts (issue 24), checked on the figure objects: only panels with data,
panel letters, the T_eff lines in the legend, the FDT plot as chi against x, error bars on the
gap densities and on the phase-diagram curves, the final times stated."""

import os

import numpy as np
import pytest
from matplotlib.container import ErrorbarContainer
from matplotlib.collections import PolyCollection

import dmft
from dmft.analysis import figures, phase_diagram
from dmft.app.scan import parse_config, run_scan

DATA = os.path.join(os.path.dirname(__file__), "..", "data", "canonical")


@pytest.fixture
def drawn(monkeypatch):
    """The figures that would have been written, instead of writing them."""
    out = []

    def keep(fig, path, dpi):
        out.append(fig)
        return path

    monkeypatch.setattr(figures, "save_figure", keep)
    monkeypatch.setattr(phase_diagram, "save_figure", keep)
    return out


def _canonical(name):
    return dmft.load(os.path.join(DATA, name))


def _panels(fig):
    """The main panels (not insets, not colorbars), in drawing order."""
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>" and ax.get_axes_locator() is None
            and not any(ax in other.child_axes for other in fig.axes)]


def _has_data(ax) -> bool:
    return any(len(line.get_xdata()) for line in ax.get_lines()) or bool(ax.collections) or bool(ax.containers)


def _letters(ax):
    return [t.get_text() for t in ax.texts if t.get_text().startswith("(")]


def test_unsat_comparison(drawn):
    figures.compare_figure(_canonical("unsat-dmft.h5"), _canonical("unsat-sim.h5"), "x.png")
    (fig,) = drawn
    panels = _panels(fig)
    assert len(panels) == 6 and all(_has_data(ax) for ax in panels)
    assert [_letters(ax) for ax in panels] == [[f"({c})"] for c in "abcdef"]
    energy, corr, fdt, ratio = panels[:4]
    assert energy.get_yscale() == "linear" and energy.child_axes   # the plateau, in an inset
    assert fdt.get_xlabel().startswith("x = C(tw,tw)") and "χ" in fdt.get_ylabel()   # as the notebook
    labels = ratio.get_legend_handles_labels()[1]
    teff = [label for label in labels if "T_eff" in label]
    assert any(label.startswith("DMFT") for label in teff) and any(label.startswith("sim") for label in teff)
    styles = {line.get_linestyle() for line in ratio.get_lines() if "T_eff" in str(line.get_label())}
    assert styles == {"--", ":"}
    assert "\n" not in fig._suptitle.get_text()   # one line: the fits are in the legend
    # error bars: DMFT bands and simulation bars
    assert any(isinstance(c, PolyCollection) for c in corr.collections)
    assert any(isinstance(c, ErrorbarContainer) for c in corr.containers)


def test_sat_comparison_shows_only_panels_with_data(drawn):
    figures.compare_figure(_canonical("sat-dmft.h5"), _canonical("sat-sim.h5"), "x.png")
    (fig,) = drawn
    panels = _panels(fig)
    assert len(panels) == 4 and all(_has_data(ax) for ax in panels)
    assert not any("no waiting times" in t.get_text() for ax in fig.axes for t in ax.texts)
    energy, distance, gaps, _ = panels
    assert energy.get_yscale() == "log"   # the energy vanishes (SAT)
    assert "replica distance" in distance.get_ylabel() and "gap" in gaps.get_xlabel()
    assert any(isinstance(c, ErrorbarContainer) for c in gaps.containers)      # simulation bars
    assert any(isinstance(c, PolyCollection) for c in gaps.collections)        # DMFT band


def test_gap_figure_two_panels_with_times_and_error_bars(drawn):
    runs = [(name, _canonical(f"{name}-{kind}.h5")) for name in ("unsat", "sat") for kind in ("dmft", "sim")]
    figures.gap_histogram_figure(runs, "x.png", title="gaps", panels={"UNSAT": ["unsat"], "SAT": ["sat"]})
    (fig,) = drawn
    panels = _panels(fig)
    assert [ax.get_title() for ax in panels] == ["UNSAT: final time t = 125", "SAT: final time t = 40"]
    for ax in panels:
        bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
        assert bars and any(isinstance(c, PolyCollection) for c in ax.collections)
    sim = runs[1][1]
    assert "gap_hist" in sim.sem or figures.gap_density_error(sim)[1] == "counting error"


@pytest.fixture(scope="module")
def two_axis_scan(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("pd"))
    base = {"dynamics": "sgd", "n": 40, "n_samples": 3, "t_max": 2.0, "dt": 0.1, "tw": []}
    cfg = parse_config({"mode": "simulate", "base": base, "axes": {"alpha": [1.0, 3.0], "b": [0.5, 1.0]}})
    assert run_scan(cfg, folder, workers=1, log=None).done == 4
    return folder


def _error_bars(ax):
    out = []
    for c in ax.containers:
        if isinstance(c, ErrorbarContainer) and c.has_yerr:
            for coll in c.lines[2]:
                out.extend(seg[1, 1] - seg[0, 1] for seg in coll.get_segments())
    return np.array(out)


def test_phase_diagram_of_one_axis_is_one_panel_with_error_bars(drawn, two_axis_scan, tmp_path):
    phase_diagram.phase_diagram(two_axis_scan, str(tmp_path / "pd.png"), quantity="energy", slices={"b": "0.5"})
    (fig,) = drawn
    panels = _panels(fig)
    assert len(panels) == 1   # no blank half
    (ax,) = panels
    assert (_error_bars(ax) > 0).all() and len(_error_bars(ax)) == 2
    assert any("α_J" in label for label in ax.get_legend_handles_labels()[1])


def test_cuts_of_a_map_have_error_bars(drawn, two_axis_scan, tmp_path):
    phase_diagram.phase_diagram(two_axis_scan, str(tmp_path / "pd.png"), quantity="energy")
    (fig,) = drawn
    mapped, cut = _panels(fig)
    assert mapped.collections and len(_error_bars(cut)) == 4 and (_error_bars(cut) > 0).all()
