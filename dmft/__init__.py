"""sgd-dmft: dynamical mean-field theory of SGD on the spherical perceptron.

The front door.  A problem is a :class:`Params` (the physics); a method says how to compute it:
:class:`DMFTMethod` (the DMFT, :mod:`dmft.solver`) or :class:`ParticleMethod` (direct
simulations, :mod:`dmft.simulations`).  :func:`run` computes either and returns the same
:class:`Result`; :func:`solve` and :func:`simulate` are shortcuts; :func:`load` and :func:`save`
read and write result files; :func:`fit_teff` is in :mod:`dmft.analysis`; :func:`measure` chooses the
horizon and the statistics itself for a requested precision (``dmft measure``); :func:`open_scan`
(the phase diagram's quantities) and :func:`load_scan` (every file's observables) give a scan
folder as one ``xarray.Dataset`` over its axes, and :meth:`Result.from_xarray` goes back.

Layers, each importing only those below it::

    dmft.app                      command line, scans, task runner, demo, studies
    dmft.analysis                 T_eff, figures, phase diagrams (results and files only)
    dmft.solver, dmft.simulations the two methods
    dmft.core                     Params, methods, model, selection, Result, Status, files

Names are imported on first use, so ``import dmft`` stays light (the solver compiles numba
kernels, the figures import matplotlib).
"""

from __future__ import annotations

import importlib
import os

# Idle OpenMP threads sleep instead of spinning (set before numba starts its OpenMP pool; a
# setting of the user's wins).  With spinning threads numba's parallel kernels slow down several
# times over when the cores are shared with other work: four small DMFT solves took 38-66 s
# instead of 11 s on 2 cores at load 6 (issue 24, where a loaded machine took 43 min for the tests).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .core.provenance import package_version

__version__ = package_version()

_EXPORTS = {
    "Params": "dmft.core.params",
    "ParameterError": "dmft.core.params",
    "DMFTMethod": "dmft.core.methods",
    "ParticleMethod": "dmft.core.methods",
    "Result": "dmft.core.result",
    "Errors": "dmft.core.result",
    "Status": "dmft.core.status",
    "load": "dmft.core.io",
    "save": "dmft.core.io",
    "run": "dmft.app.api",
    "solve": "dmft.app.api",
    "simulate": "dmft.app.api",
    "fit_teff": "dmft.analysis.teff",
    "measure": "dmft.app.measure",
    "Measurement": "dmft.app.measure",
    "MeasureSettings": "dmft.app.measure",
    "open_scan": "dmft.analysis.scans",
    "load_scan": "dmft.analysis.scans",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'dmft' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
