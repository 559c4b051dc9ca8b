"""Hand-written numba loops over cells, calling the generated closed form.

One cell per ``prange`` iteration; every cell is independent, so the loops scale across
cores. ``inputs`` is a float64 array of shape (9, n): the rows are kappa, lr_u, lr_w, x_var,
xy_cov, uu, ww, uw, d2 (the argument order of ``cell_constants``).
"""

from __future__ import annotations

import numba
import numpy as np

from ._generated.closed_form import (
    OBSERVABLES,
    ORDER_PARAMETERS,
    cell_constants,
    observables_at,
    observables_final,
    order_parameters,
)

N_OBS = len(OBSERVABLES)
N_ORDER = len(ORDER_PARAMETERS)


@numba.njit(parallel=True, cache=True)
def _trajectories(inputs, times, out):
    n = inputs.shape[1]
    for i in numba.prange(n):
        c = cell_constants(
            inputs[0, i], inputs[1, i], inputs[2, i], inputs[3, i], inputs[4, i],
            inputs[5, i], inputs[6, i], inputs[7, i], inputs[8, i],
        )  # fmt: skip
        for j in range(times.shape[0]):
            obs = observables_at(times[j], c)
            for k in range(N_OBS):
                out[k, i, j] = obs[k]


@numba.njit(parallel=True, cache=True)
def _finals(inputs, out):
    for i in numba.prange(inputs.shape[1]):
        c = cell_constants(
            inputs[0, i], inputs[1, i], inputs[2, i], inputs[3, i], inputs[4, i],
            inputs[5, i], inputs[6, i], inputs[7, i], inputs[8, i],
        )  # fmt: skip
        obs = observables_final(c)
        for k in range(N_OBS):
            out[k, i] = obs[k]


@numba.njit(parallel=True, cache=True)
def _orders(inputs, out):
    for i in numba.prange(inputs.shape[1]):
        c = cell_constants(
            inputs[0, i], inputs[1, i], inputs[2, i], inputs[3, i], inputs[4, i],
            inputs[5, i], inputs[6, i], inputs[7, i], inputs[8, i],
        )  # fmt: skip
        par = order_parameters(c)
        for k in range(N_ORDER):
            out[k, i] = par[k]


def trajectories(inputs: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Observables of n cells at T times: array (N_OBS, n, T)."""
    out = np.empty((N_OBS, inputs.shape[1], times.shape[0]))
    _trajectories(np.ascontiguousarray(inputs, dtype=np.float64), np.ascontiguousarray(times, dtype=np.float64), out)
    return out


def finals(inputs: np.ndarray) -> np.ndarray:
    """Observables of n cells at t = infinity: array (N_OBS, n)."""
    out = np.empty((N_OBS, inputs.shape[1]))
    _finals(np.ascontiguousarray(inputs, dtype=np.float64), out)
    return out


def orders(inputs: np.ndarray) -> np.ndarray:
    """Order parameters of n cells: array (N_ORDER, n), rows named in ORDER_PARAMETERS."""
    out = np.empty((N_ORDER, inputs.shape[1]))
    _orders(np.ascontiguousarray(inputs, dtype=np.float64), out)
    return out
