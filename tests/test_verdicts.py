"""Failed tests of the data say how large the change is in units of its error and what to do
(issue 24, item 2): within a few errors more statistics decide, beyond a longer run is needed,
and `dmft measure` chooses both; without error bars, repetitions come first."""

import numpy as np
import pytest

from dmft.analysis import check_stationarity, fit_teff, long_time_distance
from dmft.analysis.remedies import MEASURE, NOISE_SIGMAS, remedy
from dmft.core.result import Errors

B = 8            # batches
ERR = 0.01       # the jackknife error of C(tw,tw) - C(tw+s,tw) at the later waiting time


@pytest.mark.parametrize("kind, statistics", [("dmft", "--n-paths"), ("simulation", "--n-samples")])
def test_remedy_by_size_of_the_change(kind, statistics):
    noise = remedy(0.03, 0.01, kind, "plateau")
    assert "possibly sampling noise" in noise and statistics in noise and MEASURE in noise
    real = remedy(0.03, 0.001, kind, "plateau")
    assert "a real change" in real and "run longer after tw" in real and MEASURE in real
    assert statistics not in real
    unknown = remedy(0.03, float("nan"), kind, "plateau")
    assert "without error bars" in unknown and "2 or more" in unknown
    assert NOISE_SIGMAS == 5


def _with_batches(result, offset: float):
    """``result`` whose C(tw, tw) at the later waiting time is lowered by ``offset`` and scattered
    over B batches by +-ERR sqrt(B - 1): the jackknife error of x(s) there is ERR exactly."""
    k, i0 = 1, int(round(result.tw[1] / result.params.dt))
    C = result.C.copy()
    C[k, i0] -= offset
    batches = np.repeat(C[None], B, axis=0)
    batches[:, k, i0] += ERR * np.sqrt(B - 1) * np.where(np.arange(B) % 2 == 0, 1.0, -1.0)
    chi = np.repeat(result.chi[None], B, axis=0)
    source = "replicates" if result.kind == "dmft" else "samples"
    errors = Errors(source=source, count=B, sem={},
                    batches={"C": batches, "chi": chi}, batch_size=np.ones(B, dtype=int))
    return result.replace(C=C, errors=errors)


@pytest.mark.parametrize("offset, sigmas, verdict", [(0.04, "4.0", "possibly sampling noise"),
                                                      (0.5, "50.0", "a real change")])
def test_aging_verdict_gives_the_size_in_errors_and_the_remedy(make_result, offset, sigmas, verdict):
    r = _with_batches(make_result(kind="dmft", tw=(10.0, 20.0), t_max=40.0), offset)
    stat = check_stationarity(r)
    assert not stat.stationary
    (reason,) = stat.reasons
    assert reason.startswith("C(tw+s, tw) ages at s = 0.1")
    assert f"{sigmas} times its error 0.01" in reason and verdict in reason and MEASURE in reason
    assert ("--n-paths" in reason) == (verdict == "possibly sampling noise")
    assert fit_teff(r, warn=False).stationarity.describe() == "not stationary: " + reason


def test_no_plateau_without_error_bars_asks_for_repetitions(make_result):
    r = make_result(kind="simulation", tw=(10.0, 20.0), t_max=40.0)
    r = r.replace(chi=r.chi + np.where(np.isfinite(r.chi), 0.05 * r.t, np.nan), errors=None)   # still growing
    est = fit_teff(r, warn=False)
    assert est.stationary and np.isnan(est.T_eff)
    note = est.notes["T_static"]
    assert note.startswith("no plateau: chi still changes by") and "(no error bar)" in note
    assert "repeat with --n-samples 2 or more" in note and "plateau t in [nan" not in est.describe()
    assert "no plateau]" in est.describe().splitlines()[0]


def test_distance_still_moving_says_by_how_many_errors(make_result):
    r = make_result(kind="simulation", replicas=2, t_max=2.0, tw=(1.0,))
    d = long_time_distance(r, warn=False)   # d = 1e-3 (1 - exp(-t)): still rising at t = 2
    assert not d.converged and np.isnan(d.d_inf)
    assert d.note.startswith("d(t) still changes by +") and "(no error bar)" in d.note
    assert "repeat with --n-samples 2 or more" in d.note and MEASURE in d.note


def test_teff_strict_exit_status_and_header(tmp_path, capsys, make_result):
    """dmft teff: status 0 when the file was measured, T_eff or not; with --strict 3 when T_eff is
    not available; the header names the method once and a missing plateau is 'no plateau'."""
    from dmft.app.cli import EXIT_NO_VALUE, main
    from dmft.core.io import save

    path = save(make_result(kind="simulation", tw=(20.0,), t_max=40.0), tmp_path / "one_tw.h5")
    assert main(["teff", path]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"{path} (simulation, N = 1000, 4 samples)"
    assert "T_eff = not available" in out and "no plateau" in out and "nan" not in out
    assert main(["teff", path, "--strict"]) == EXIT_NO_VALUE == 3
    assert main(["teff", path, "--strict", "--json"]) == 3
    good = save(make_result(kind="simulation", tw=(10.0, 20.0), t_max=40.0), tmp_path / "good.h5")
    assert main(["teff", good, "--strict"]) == 0
