"""The generalisation study's key SAT comparisons redone with the exact response: the band of the
response estimator over all 200 lags (``exact_lags = 200``), which removes the late-time bias of the
probe estimator after convergence (docs/generalisation.md section 6).  Prints the values and the
seed-by-seed differences quoted there.  Run (about 30 minutes on 2 cores)::

    python docs/generalisation/exact_check.py
"""
import numpy as np, dmft
from multiprocessing import Pool
from dmft import Params, DMFTMethod
SAT = dict(alpha=3.0, delta=0.0, data="teacher", normalization="mean", dt=0.2, t_max=40.0)
RUNS = {"gd": dict(dynamics="gd"), "sgd b=0.8": dict(dynamics="sgd", b=0.8), "sgd b=0.5": dict(dynamics="sgd", b=0.5),
        "sgd b=0.2": dict(dynamics="sgd", b=0.2),
        "gaussian s2=4": dict(dynamics="injected", b=1.0, noise_var=4.0, noise_class="gaussian"),
        "rademacher s2=4": dict(dynamics="injected", b=1.0, noise_var=4.0, noise_class="rademacher"),
        "gamma s2=4": dict(dynamics="injected", b=1.0, noise_var=4.0, noise_class="gamma"),
        "b=0.8 + gaussian s2=3": dict(dynamics="injected", b=0.8, noise_var=3.0, noise_class="gaussian")}
def one(args):
    label, seed = args
    r = dmft.solve(Params(**SAT, **RUNS[label], seed=seed), DMFTMethod(n_paths=8192, exact_lags=200))
    return label, seed, r.extra["gen_error"][-1], r.energy[-1]
if __name__ == "__main__":
    with Pool(2) as pool:
        out = pool.map(one, [(l, s) for l in RUNS for s in range(8)])
    eps = {l: np.array([e for (ll, s, e, E) in out if ll == l]) for l in RUNS}
    en = {l: max(E for (ll, s, e, E) in out if ll == l) for l in RUNS}
    for l, v in eps.items():
        print(f"{l:24s} eps_g {v.mean():.4f} +- {v.std(ddof=1)/8**.5:.4f}  max final energy {en[l]:.1e}")
    for run, ref in (("sgd b=0.8", "gd"), ("sgd b=0.5", "gd"), ("sgd b=0.2", "gd"), ("gaussian s2=4", "sgd b=0.2"),
                     ("rademacher s2=4", "sgd b=0.2"), ("gamma s2=4", "sgd b=0.2"), ("b=0.8 + gaussian s2=3", "sgd b=0.2"),
                     ("b=0.8 + gaussian s2=3", "sgd b=0.8")):
        d = eps[run] - eps[ref]
        print(f"paired {run} - {ref}: {d.mean():+.4f} +- {d.std(ddof=1)/8**.5:.4f}")
