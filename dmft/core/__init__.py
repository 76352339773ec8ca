"""The shared core: what the DMFT solver, the simulations and the analysis all speak.

Physics :class:`Params`; method objects :class:`DMFTMethod`, :class:`ParticleMethod`; the loss
and per-step observables (:mod:`.model`); the selection processes (:mod:`.selection`); the
:class:`Result` with its :class:`Errors` and :class:`Status`; HDF5 files (:mod:`.io`).  Nothing
here imports the solver, the simulations, the analysis or the application layer.
"""

from .methods import DMFTMethod, Method, ParticleMethod, point_hash, split_settings
from .params import ParameterError, Params
from .result import Errors, Result
from .status import Status

__all__ = ["DMFTMethod", "Errors", "Method", "ParameterError", "Params", "ParticleMethod", "Result",
           "Status", "point_hash", "split_settings"]
