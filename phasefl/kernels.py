"""Hand-written numba loops over cells, calling the generated closed form.

One cell per ``prange`` iteration; every cell is independent, so the loops scale across
cores. ``inputs`` is a float64 array of shape (9, n): the rows are kappa, lr_u, lr_w, x_var,
xy_cov, uu, ww, uw, d2 (the argument order of ``cell_constants``).
"""

from __future__ import annotations

import math
import os

import numba
import numpy as np

from ._generated.closed_form import (
    EXPONENTS,
    OBSERVABLES,
    ORDER_PARAMETERS,
    cell_constants,
    exponents,
    kernel_baseline_at,
    ntk_plain_final,
    observables_at,
    observables_final,
    order_parameters,
    slope_at,
)

N_OBS = len(OBSERVABLES)
N_ORDER = len(ORDER_PARAMETERS)
N_EXPONENTS = len(EXPONENTS)


@numba.njit(cache=True, inline="always")
def _constants(inputs, i):
    """Cell constants of column i of the (9, n) input array."""
    return cell_constants(
        inputs[0, i], inputs[1, i], inputs[2, i], inputs[3, i], inputs[4, i],
        inputs[5, i], inputs[6, i], inputs[7, i], inputs[8, i],
    )  # fmt: skip


@numba.njit(parallel=True, cache=True)
def _trajectories(inputs, times, out):
    n = inputs.shape[1]
    for i in numba.prange(n):
        c = _constants(inputs, i)
        for j in range(times.shape[0]):
            obs = observables_at(times[j], c)
            for k in range(N_OBS):
                out[k, i, j] = obs[k]


@numba.njit(parallel=True, cache=True)
def _slopes(inputs, times, out):
    for i in numba.prange(inputs.shape[1]):
        c = _constants(inputs, i)
        for j in range(times.shape[0]):
            out[i, j] = slope_at(times[j], c)[0]


@numba.njit(parallel=True, cache=True)
def _finals(inputs, out):
    for i in numba.prange(inputs.shape[1]):
        c = _constants(inputs, i)
        obs = observables_final(c)
        for k in range(N_OBS):
            out[k, i] = obs[k]


@numba.njit(parallel=True, cache=True)
def _ntk_plain_finals(inputs, out):
    for i in numba.prange(inputs.shape[1]):
        out[i] = ntk_plain_final(_constants(inputs, i))[0]


@numba.njit(parallel=True, cache=True)
def _orders(inputs, out):
    for i in numba.prange(inputs.shape[1]):
        c = _constants(inputs, i)
        par = order_parameters(c)
        for k in range(N_ORDER):
            out[k, i] = par[k]


@numba.njit(parallel=True, cache=True)
def _touch_pages(flat):
    for page in numba.prange((flat.size + 511) // 512):  # 512 float64 = one 4 KiB page
        flat[page * 512] = 0.0


def _empty(shape: tuple[int, ...]) -> np.ndarray:
    """np.empty, with the pages of a large array mapped in by all threads first. Left to the
    kernels, whose every cell writes into N_OBS rows far apart, first-touch page faults cost about
    a second for the 4.4 GB of 10^6 cells x 64 times; each thread faulting one contiguous range
    first costs about a third of that."""
    out = np.empty(shape)
    if out.nbytes >= 1 << 24:
        _touch_pages(out.reshape(-1))
    return out


def trajectories(inputs: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Observables of n cells at T times: array (N_OBS, n, T)."""
    out = _empty((N_OBS, inputs.shape[1], times.shape[0]))
    _trajectories(np.ascontiguousarray(inputs, dtype=np.float64), np.ascontiguousarray(times, dtype=np.float64), out)
    return out


def slopes(inputs: np.ndarray, times: np.ndarray) -> np.ndarray:
    """The slope F of n cells at T times, alone: array (n, T), equal to trajectories(...)[0]."""
    out = _empty((inputs.shape[1], times.shape[0]))
    _slopes(np.ascontiguousarray(inputs, dtype=np.float64), np.ascontiguousarray(times, dtype=np.float64), out)
    return out


def finals(inputs: np.ndarray) -> np.ndarray:
    """Observables of n cells at t = infinity: array (N_OBS, n)."""
    out = np.empty((N_OBS, inputs.shape[1]))
    _finals(np.ascontiguousarray(inputs, dtype=np.float64), out)
    return out


def ntk_plain_finals(inputs: np.ndarray) -> np.ndarray:
    """The un-weighted NTK of n cells at t = infinity: array (n,), equal to finals(...)[2]."""
    out = np.empty(inputs.shape[1])
    _ntk_plain_finals(np.ascontiguousarray(inputs, dtype=np.float64), out)
    return out


def orders(inputs: np.ndarray) -> np.ndarray:
    """Order parameters of n cells: array (N_ORDER, n), rows named in ORDER_PARAMETERS."""
    out = np.empty((N_ORDER, inputs.shape[1]))
    _orders(np.ascontiguousarray(inputs, dtype=np.float64), out)
    return out


@numba.njit(parallel=True, cache=True)
def _baselines(inputs, times, out):
    for i in numba.prange(inputs.shape[1]):
        c = _constants(inputs, i)
        for j in range(times.shape[0]):
            out[i, j] = kernel_baseline_at(times[j], c)[0]


def baselines(inputs: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Kernel-baseline slope of n cells at T times: array (n, T)."""
    out = np.empty((inputs.shape[1], times.shape[0]))
    _baselines(np.ascontiguousarray(inputs, dtype=np.float64), np.ascontiguousarray(times, dtype=np.float64), out)
    return out


@numba.njit(parallel=True, cache=True)
def _at_time(inputs, t, out):
    for i in numba.prange(inputs.shape[1]):
        c = _constants(inputs, i)
        obs = observables_at(t, c)
        for k in range(N_OBS):
            out[k, i] = obs[k]


@numba.njit(parallel=True, cache=True)
def _baseline_distance(inputs, n_times, out):
    for i in numba.prange(inputs.shape[1]):
        kappa, lr_u, lr_w, a = inputs[0, i], inputs[1, i], inputs[2, i], inputs[3, i]
        uu, ww = inputs[5, i], inputs[6, i]
        c = _constants(inputs, i)
        k0 = kappa * kappa * (lr_u * ww + lr_w * uu)
        kinf = observables_final(c)[1]
        if kinf == 0.0:  # degenerate collapse: F -> 0 on the time scale of the start
            kinf = k0
        f0 = slope_at(0.0, c)[0]
        m = inputs[4, i] / a
        # log-spaced times from well before the faster to well after the slower rate
        lo = 0.01 / (a * max(k0, kinf))
        hi = 100.0 / (a * min(k0, kinf))
        step = (math.log(hi) - math.log(lo)) / (n_times - 1)
        worst = 0.0
        for j in range(n_times):
            t = math.exp(math.log(lo) + j * step)
            gap = abs(slope_at(t, c)[0] - kernel_baseline_at(t, c)[0])
            worst = max(worst, gap)
        out[i] = worst / abs(m - f0) if m != f0 else 0.0


@numba.njit(parallel=True, cache=True)
def _exponent_grid(exps, out):
    for i in numba.prange(exps.shape[1]):
        res = exponents(exps[0, i], exps[1, i], exps[2, i], exps[3, i], exps[4, i])
        for k in range(N_EXPONENTS):
            out[k, i] = res[k]


def at_time(inputs: np.ndarray, t: float) -> np.ndarray:
    """Observables of n cells at one time t: array (N_OBS, n)."""
    out = np.empty((N_OBS, inputs.shape[1]))
    _at_time(np.ascontiguousarray(inputs, dtype=np.float64), float(t), out)
    return out


def baseline_distance(inputs: np.ndarray, n_times: int = 128) -> np.ndarray:
    """max_t |F(t) - F_kernel(t)| / |m - F0| per cell, sampled on n_times log-spaced times.

    The times run from 0.01/(a max(K0, K_inf)) to 100/(a min(K0, K_inf)): the distance starts at
    0, and both F and F_kernel have converged (to m, up to e^-100) at the end.
    """
    out = np.empty(inputs.shape[1])
    _baseline_distance(np.ascontiguousarray(inputs, dtype=np.float64), n_times, out)
    return out


def exponent_grid(exps: np.ndarray) -> np.ndarray:
    """Exponents of spec E.3 for n settings (rows alpha, b_u, b_w, c_u, c_w): array (N_EXPONENTS, n)."""
    out = np.empty((N_EXPONENTS, exps.shape[1]))
    _exponent_grid(np.ascontiguousarray(exps, dtype=np.float64), out)
    return out


def cache_is_warm() -> bool:
    """Whether numba's on-disk cache holds the kernels of a diagram sweep; False means their first
    call compiles them (about 30 s, once after an install or ``make generate``)."""
    try:
        return all(
            os.path.exists(kernel._cache._cache_file._index_path)
            for kernel in (_orders, _ntk_plain_finals, _baseline_distance)
        )
    except AttributeError:  # numba's private cache layout changed: assume warm, say nothing
        return True
