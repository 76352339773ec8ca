"""Assemble a :class:`dmft.result.Result` from the DMFT march (:mod:`dmft.solver.process`).

Two-time observables from the deterministic weight-side kernels:
    C[k, i]   = C(t_i, tw_k)                                   (NaN for t_i < tw_k)
    chi[k, i] = dt sum_{j=kw}^{i-1} R(i, j),  kw = tw_k / dt    (integrated response)
"""

from __future__ import annotations

import numpy as np

from ..result import Result
from .process import march

#: full kernels are stored in the result when the grid has at most this many points
KERNELS_MAX_T = 600


def two_time(C: np.ndarray, R: np.ndarray, tw_index, dt: float):
    """(K, T) arrays C(t_i, tw_k) and chi(t_i, tw_k) from the kernels."""
    T = C.shape[0]
    Cout = np.full((len(tw_index), T), np.nan)
    chi = np.full((len(tw_index), T), np.nan)
    for row, kw in enumerate(tw_index):
        Cout[row, kw:] = C[kw:, kw]
        # chi(t_i) = dt sum_{j=kw}^{i-1} R(i, j)
        chi[row, kw] = 0.0
        for i in range(kw + 1, T):
            chi[row, i] = dt * R[i, kw:i].sum()
    return Cout, chi


def solve(params, progress: bool = False, **options) -> Result:
    """Solve the discrete-time DMFT of SPEC sections 1-2 for ``params``.

    Options (keyword, for experts/tests): ``history_dtype`` (float32 default; float64 for exact
    checks), ``response`` ("probe" default, or "exact" per-path response, O(n T^3)),
    ``probe_signal`` ("y" default or "dr"), ``store_kernels`` (default: T <= 600).
    Non-finite values give ``status = "diverged"`` with ``meta["message"]``, never an exception.
    ``replicas = 2``: two replicas (same data and w(0), independent selection and thermal noise);
    one-time observables, C and chi are averaged over the replicas, ``distance`` is
    ``(C11(t,t) + C22(t,t))/2 - C12(t,t)`` (= 1 - C12 on the sphere), ``kernels["C12"]`` the full
    cross-correlation E[w^1(t) w^2(t')].
    """
    store_kernels = options.pop("store_kernels", None)
    out = march(params, progress=progress, **options)
    T = len(out["t"])
    C, R = out["C"], out["R"]
    Cout, chi = two_time(C, R, params.tw_index, params.dt)
    gap_t = np.array(sorted(out["hists"])) * params.dt
    gap_hist = np.array([out["hists"][k] for k in sorted(out["hists"])]) if out["hists"] else np.zeros((0, len(out["gap_edges"]) - 1))
    extra = {
        "norm": np.diag(C).copy(),
        "gap_t": gap_t,
        "gap_edges": out["gap_edges"],
        "gap_hist": gap_hist,
        "proj_A": out["A"],   # projection factors A_k (sphere), 1 for ridge
    }
    if store_kernels is None:
        store_kernels = T <= KERNELS_MAX_T
    kernels = {}
    if store_kernels:
        kernels = {"C": C, "R": R, "M_C": out["M_C"], "M_R": out["M_R"]}
        if out.get("C12") is not None:
            kernels["C12"] = out["C12"]
    meta = {"seed": params.seed, "wall_time_s": out["wall_time_s"]}
    if out["message"]:
        meta["message"] = out["message"]
    return Result(
        params=params, kind="dmft", status=out["status"], t=out["t"], energy=out["energy"],
        frac_unsat=out["frac_unsat"], nu=out["nu"], tw=np.asarray(params.tw, dtype=float),
        C=Cout, chi=chi, distance=out["distance"], extra=extra, kernels=kernels, meta=meta,
    )
