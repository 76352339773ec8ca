"""A march continued to a longer horizon equals a single march to it, bit for bit (issue 20).

A continued march draws exactly the random numbers of a single one -- the Gaussian inputs do not
depend on the total count, the probe design is drawn an epoch at a time, the band width is
resolved at the first horizon -- so ``March(p1).run(); extend(p2).run()`` and ``march(p2)`` agree
in every kernel and observable, for one and two replicas, thermal noise, persistent selection
and teacher data, and through a freeze.
"""

import numpy as np
import pytest

from dmft import DMFTMethod, Params
from dmft.solver.march import March, march

METHOD = DMFTMethod(n_paths=256, exact_lags=8)
NAMES = ("energy", "frac_unsat", "nu", "distance", "C", "R", "M_C", "M_R", "A", "C12", "m")


def assert_same(a, b):
    for name in NAMES:
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        if x is not None:
            np.testing.assert_array_equal(x, y, err_msg=name)
    assert sorted(a.hists) == sorted(b.hists)
    for k in a.hists:
        np.testing.assert_array_equal(a.hists[k], b.hists[k])
    assert a.frozen_at == b.frozen_at and a.status == b.status


@pytest.mark.parametrize("kw", [
    dict(dynamics="sgd", b=0.5),
    dict(dynamics="langevin", temperature=0.05, replicas=2),
    dict(dynamics="psgd", b=0.5, tau=1.0, data="teacher", label_noise=0.1),
    dict(dynamics="sgd", b=0.5, replicas=2, response="blocks"),
])
def test_continued_march_equals_a_single_march(kw):
    kw = dict(kw)
    method = METHOD.replace(response=kw.pop("response", "probe"))
    p = Params(alpha=4, delta=0.5, dt=0.1, t_max=20, tw=(4.0, 12.0), **kw)
    c = March(p.replace(t_max=5, tw=(4.0,)), method, continuable=True).run()
    c.extend(p.replace(t_max=10, tw=(4.0,))).run()
    c.extend(p).run()
    assert_same(march(p, method), c.output())


def test_continued_through_a_freeze():
    """Gradient descent at a SAT point freezes (with the probe estimator, whose noise empties the
    contacts: tests/test_solver_freeze.py); extending a frozen march fills the new steps."""
    p = Params(alpha=0.5, delta=0.5, dynamics="gd", dt=0.2, t_max=120, tw=(10.0,), replicas=2, seed=3)
    method = METHOD.replace(response="probe")
    single = march(p, method)
    assert single.frozen_at is not None and single.frozen_at < 70
    c = March(p.replace(t_max=70), method, continuable=True).run()
    assert c.frozen_at == single.frozen_at
    c.extend(p).run()
    assert_same(single, c.output())


def test_what_cannot_be_continued():
    p = Params(alpha=4, delta=0.5, dt=0.1, t_max=5, tw=(2.0,))
    with pytest.raises(ValueError, match="not made continuable"):
        March(p, METHOD).run().extend(p.replace(t_max=10))
    c = March(p, METHOD, continuable=True).run()
    with pytest.raises(ValueError, match="same point"):
        c.extend(p.replace(t_max=10, alpha=3.0))
    with pytest.raises(ValueError, match="shorten"):
        c.extend(p.replace(t_max=2))
    with pytest.raises(NotImplementedError):
        March(p, METHOD.replace(response="exact", n_paths=16), continuable=True).run().extend(p.replace(t_max=10))


def test_band_width_is_resolved_at_the_first_horizon():
    """exact_lags = -1 resolves to min(K // 8, max(64, 6.4 / dt)) at the first horizon and is kept."""
    p = Params(alpha=4, delta=0.5, dt=0.1, t_max=20, tw=(4.0,))
    c = March(p, DMFTMethod(n_paths=256), continuable=True)
    assert c.method.exact_lags == 25
    c.run().extend(p.replace(t_max=80)).run()
    assert c.method.exact_lags == 25 and c.estimator.L == 25
