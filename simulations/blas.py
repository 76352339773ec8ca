"""Limiting the number of BLAS threads around the matrix products of a simulation.

A step is two matrix products of shapes ``(m x N)(N x P)`` and ``(m x P)(P x N)`` with
``m`` ~ 2-8 copies: thin, memory-bound products.  Multi-threaded OpenBLAS gains little on
them and, when another process shares the cores, its threads wait for each other at every
product.  Measured on the 2-core development machine (alpha = 3, 2 replicas, 2 waiting
times, i.e. m = 6), ms per step:

=========  ==============================  ============================
N          1 thread                        2 threads (BLAS default)
=========  ==============================  ============================
1000       6.4 - 7.6                       4.3 idle; 31 - 112 when shared
2000       26 - 28                         17 idle; 30 - 55 when shared
200        (whole slow test) 9 s           88 s when shared
=========  ==============================  ============================

so :func:`simulations.simulate` runs single-threaded by default (``DEFAULT_THREADS``).
:func:`blas_threads` sets the thread count for the duration of a ``with`` block, through
``threadpoolctl`` when it is installed, else by calling OpenBLAS's own ``*_set_num_threads``
found in the loaded libraries; if neither works it does nothing.  Thread counts can change the
results at the rounding level (OpenBLAS may split a sum between threads), so bit-for-bit
reproducibility holds for the same machine and thread setting.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
from typing import Optional

#: BLAS threads used by :func:`simulations.simulate` unless told otherwise.
DEFAULT_THREADS = 1


@functools.lru_cache(maxsize=1)
def _openblas_api():
    """(get, set) functions of the loaded OpenBLAS, or None."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "openblas" in line.lower() and "/" in line}
    except OSError:
        return None
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in ("scipy_openblas", "openblas"):
            for suffix in ("64_", ""):
                try:
                    get = getattr(lib, f"{prefix}_get_num_threads{suffix}")
                    put = getattr(lib, f"{prefix}_set_num_threads{suffix}")
                except AttributeError:
                    continue
                get.restype = ctypes.c_int
                put.argtypes = [ctypes.c_int]
                return get, put
    return None


@contextlib.contextmanager
def blas_threads(n: Optional[int]):
    """Run the block with at most ``n`` BLAS threads (``None``: leave the setting alone)."""
    if n is None:
        yield
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        threadpool_limits = None
    if threadpool_limits is not None:
        with threadpool_limits(limits=int(n), user_api="blas"):
            yield
        return
    api = _openblas_api()
    if api is None:
        yield
        return
    get, put = api
    old = get()
    put(int(n))
    try:
        yield
    finally:
        put(old)
