"""Scan configuration (docs/conventions.md section 6): grids, ranges, validation before anything runs."""

import pytest

from dmft.app.scan import ScanConfigError, parse_config


def test_grid_order_kinds_and_hashes():
    cfg = parse_config({"mode": "both", "base": {"dynamics": "sgd", "t_max": 5.0},
                        "axes": {"alpha": [1.0, 3.0], "b": [0.3, 0.7]}})
    tasks = cfg.tasks()
    assert len(tasks) == 8
    assert [t.coords for t in tasks[::2]] == [(1.0, 0.3), (1.0, 0.7), (3.0, 0.3), (3.0, 0.7)]
    assert {t.kind for t in tasks} == {"dmft", "simulation"}
    assert len({t.name for t in tasks}) == 8
    # the name is a stable function of the resolved parameters
    again = parse_config({"mode": "both", "base": {"t_max": 5.0, "dynamics": "sgd"},
                          "axes": {"alpha": [1.0, 3.0], "b": [0.3, 0.7]}})
    assert [t.name for t in again.tasks()] == [t.name for t in tasks]


def test_ranges():
    cfg = parse_config({"axes": {"alpha": {"start": 1.0, "stop": 2.0, "num": 3},
                                 "b": {"start": 0.2, "stop": 0.6, "step": 0.2}}})
    assert cfg.axes["alpha"] == (1.0, 1.5, 2.0)
    assert cfg.axes["b"] == pytest.approx((0.2, 0.4, 0.6))


@pytest.mark.parametrize("data, match", [
    ({"mode": "fit", "axes": {"alpha": [1]}}, "mode"),
    ({"axes": {}}, "axes"),
    ({"axes": {"alpha": [1.0, -2.0]}}, "'alpha'"),
    ({"base": {"learning_rate": 0.1}, "axes": {"alpha": [1]}}, "'learning_rate'"),
    ({"axes": {"b": {"start": 0.1}}}, "'b'"),
    ({"base": {"dynamics": "psgd", "tau": 0.01}, "axes": {"b": [0.5]}}, "'tau'"),
    ({"grid": {}, "axes": {"alpha": [1]}}, "grid"),
])
def test_invalid_configs(data, match):
    with pytest.raises(ScanConfigError, match=match):
        parse_config(data)
