"""Prototype trajectory kernels (bench only): what storing fewer observables would buy.

``phasefl.kernels.trajectories`` returns all 9 observables in float64: (9, n, T) x 8 bytes,
4.6 GB for 10^6 cells x 64 times. The variants below call the same generated closed form but
store only F (float64) or F and K (float32). The generated functions are inlined into these
loops (``inline="always"``), so LLVM drops the observables a loop does not store: the timings
show the price of the other seven (two of them atan2). They measure a proposed
``observables=`` / ``dtype=`` option of phasefl; they are not part of it. Not cached on disk:
numba keys a cache on this file alone, so it would keep running an older closed form after
``make generate`` (phasefl's own caches are cleared by ``phasefl.codegen``).
"""

from __future__ import annotations

import numba
import numpy as np

from phasefl._generated.closed_form import observables_at
from phasefl.kernels import column_constants  # the cell constants of one input column, as phasefl's loops take them


@numba.njit(parallel=True)
def _traj_F(inputs, times, out):
    for i in numba.prange(inputs.shape[1]):
        c = column_constants(inputs, i)
        for j in range(times.shape[0]):
            out[i, j] = observables_at(times[j], c)[0]


@numba.njit(parallel=True)
def _traj_FK(inputs, times, out):
    for i in numba.prange(inputs.shape[1]):
        c = column_constants(inputs, i)
        for j in range(times.shape[0]):
            obs = observables_at(times[j], c)
            out[0, i, j] = obs[0]
            out[1, i, j] = obs[1]


VARIANTS = {
    # name: (description, observables stored, dtype)
    "F_f64": ("F only, float64", 1, np.float64),
    "FK_f32": ("F and K, float32", 2, np.float32),
}


def trajectories(variant: str, inputs: np.ndarray, times: np.ndarray) -> np.ndarray:
    _, n_obs, dtype = VARIANTS[variant]
    inputs = np.ascontiguousarray(inputs, dtype=np.float64)
    times = np.ascontiguousarray(times, dtype=np.float64)
    if n_obs == 1:
        out = np.empty((inputs.shape[1], times.size), dtype=dtype)
        _traj_F(inputs, times, out)
    else:
        out = np.empty((2, inputs.shape[1], times.size), dtype=dtype)
        _traj_FK(inputs, times, out)
    return out
