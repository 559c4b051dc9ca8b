"""The numba loops over cells, called from Python: each function allocates its output and runs
one of the loops of the generated module (written in ``phasefl/loops.py``, compiled with the
closed form in ``phasefl/_generated/closed_form.py``).

``inputs`` is a float64 array of shape (9, n): the rows are kappa, lr_u, lr_w, x_var, xy_cov, uu,
ww, uw, d2 (the argument order of ``cell_constants``).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from ._generated.closed_form import (  # noqa: F401  (re-exported: the loops' tables and helpers)
    BLOCK_OUTPUTS,
    MEDIANS,
    N_EXPONENTS,
    N_MEDIANS,
    N_OBS,
    N_ORDER,
    QUARTILES,
    column_constants,
    fill_baseline_distance,
    fill_baselines,
    fill_exponent_grid,
    fill_finals,
    fill_ntk_plain_finals,
    fill_orders,
    fill_slopes,
    fill_sweep_block,
    fill_trajectories,
    label_code,
    margin,
    sort_nan_last,
    sorted_median,
    sorted_quantile,
    touch_pages,
)


def _empty(shape: tuple[int, ...]) -> np.ndarray:
    """np.empty, with the pages of a large array mapped in by all threads first. Left to the
    kernels, whose every cell writes into N_OBS rows far apart, first-touch page faults cost about
    a second for the 4.4 GB of 10^6 cells x 64 times; each thread faulting one contiguous range
    first costs about a third of that."""
    out = np.empty(shape)
    if out.nbytes >= 1 << 24:
        touch_pages(out.reshape(-1))
    return out


def trajectories(inputs: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Observables of n cells at T times: array (N_OBS, n, T)."""
    out = _empty((N_OBS, inputs.shape[1], times.shape[0]))
    fill_trajectories(
        np.ascontiguousarray(inputs, dtype=np.float64), np.ascontiguousarray(times, dtype=np.float64), out
    )
    return out


def slopes(inputs: np.ndarray, times: np.ndarray) -> np.ndarray:
    """The slope F of n cells at T times, alone: array (n, T), equal to trajectories(...)[0]."""
    out = _empty((inputs.shape[1], times.shape[0]))
    fill_slopes(np.ascontiguousarray(inputs, dtype=np.float64), np.ascontiguousarray(times, dtype=np.float64), out)
    return out


def finals(inputs: np.ndarray) -> np.ndarray:
    """Observables of n cells at t = infinity: array (N_OBS, n)."""
    out = np.empty((N_OBS, inputs.shape[1]))
    fill_finals(np.ascontiguousarray(inputs, dtype=np.float64), out)
    return out


def ntk_plain_finals(inputs: np.ndarray) -> np.ndarray:
    """The un-weighted NTK of n cells at t = infinity: array (n,), equal to finals(...)[2]."""
    out = np.empty(inputs.shape[1])
    fill_ntk_plain_finals(np.ascontiguousarray(inputs, dtype=np.float64), out)
    return out


def orders(inputs: np.ndarray) -> np.ndarray:
    """Order parameters of n cells: array (N_ORDER, n), rows named in ORDER_PARAMETERS."""
    out = np.empty((N_ORDER, inputs.shape[1]))
    fill_orders(np.ascontiguousarray(inputs, dtype=np.float64), out)
    return out


def baselines(inputs: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Kernel-baseline slope of n cells at T times: array (n, T)."""
    out = np.empty((inputs.shape[1], times.shape[0]))
    fill_baselines(np.ascontiguousarray(inputs, dtype=np.float64), np.ascontiguousarray(times, dtype=np.float64), out)
    return out


def sweep_block(
    hyper: np.ndarray, gram: np.ndarray, kernel_threshold: float, zeta_threshold: float, time: float | None = None
) -> np.ndarray:
    """Per-cell results of a block of cells, reduced over seeds in the same pass: array
    (len(BLOCK_OUTPUTS), n), rows named in BLOCK_OUTPUTS (the at-time rows are nan without a time).

    hyper (5, n): kappa, lr_u, lr_w, x_var, xy_cov of each cell; gram (4, seeds, n): the Gram numbers
    uu, ww, uw, d2 of each seed's init. Medians and quartiles are numpy's (np.median, np.quantile)
    to the bit.
    """
    hyper = np.ascontiguousarray(hyper, dtype=np.float64)
    gram = np.ascontiguousarray(gram, dtype=np.float64)
    samples = np.empty((N_MEDIANS, hyper.shape[1], gram.shape[1]))
    out = np.empty((len(BLOCK_OUTPUTS), hyper.shape[1]))
    t = math.nan if time is None else float(time)
    fill_sweep_block(hyper, gram, float(kernel_threshold), float(zeta_threshold), t, samples, out)
    return out


def baseline_distance(inputs: np.ndarray) -> np.ndarray:
    """sup_t |F(t) - F_kernel(t)| / |m - F0| per cell (0 where F0 = m): array (n,). Exact, to
    ~1e-12 relative plus a few eps: the extrema are located as roots of the derivative (at most
    two, see ``fill_baseline_distance``), not sampled."""
    out = np.empty(inputs.shape[1])
    fill_baseline_distance(np.ascontiguousarray(inputs, dtype=np.float64), out)
    return out


def exponent_grid(exps: np.ndarray) -> np.ndarray:
    """Exponents of spec E.3 for n settings (rows alpha, b_u, b_w, c_u, c_w): array (N_EXPONENTS, n)."""
    out = np.empty((N_EXPONENTS, exps.shape[1]))
    fill_exponent_grid(np.ascontiguousarray(exps, dtype=np.float64), out)
    return out


# The numba dispatcher behind each public function of this module: what ``cache_is_warm`` and
# ``announce_compiling`` look at when given the function (a benchmark may also call one directly,
# with its output array allocated once).
DISPATCHERS: dict[Callable, Any] = {
    trajectories: fill_trajectories,
    slopes: fill_slopes,
    finals: fill_finals,
    ntk_plain_finals: fill_ntk_plain_finals,
    orders: fill_orders,
    baselines: fill_baselines,
    baseline_distance: fill_baseline_distance,
    sweep_block: fill_sweep_block,
    exponent_grid: fill_exponent_grid,
}


def cache_is_warm(*functions) -> bool:
    """Whether the numba kernels of the given public functions of this module (default:
    ``sweep_block``, a diagram sweep's) run without compiling: each is compiled in this process
    already, or numba's on-disk cache holds it, fresh (an index written for this file as it is
    now). False means the first call compiles them (about 30 s for a sweep's, once after an
    install or ``make generate``). This reads numba's private cache attributes; where they have
    changed (or the index cannot be read) it says True, and so nothing gets announced."""
    dispatchers: list[Any] = [DISPATCHERS[function] for function in functions] if functions else [fill_sweep_block]
    try:
        return all(kernel.signatures or kernel._cache._cache_file._load_index() for kernel in dispatchers)
    except Exception:  # numba's private cache layout changed: assume warm, say nothing
        return True


#: Names of the kernels ``announce_compiling`` has looked at in this process.
announced: set[str] = set()


def announce_compiling(what: str, *functions) -> None:
    """Say once on stderr that numba is compiling ``what``, before the first call of public
    functions of this module (``functions``) whose kernels are neither compiled in this process
    nor in numba's on-disk cache. Each kernel is looked at once per process: later calls cost a
    set lookup."""
    new = [function for function in functions if DISPATCHERS[function].__name__ not in announced]
    if not new:
        return
    announced.update(DISPATCHERS[function].__name__ for function in new)
    if not cache_is_warm(*new):
        print(
            f"phasefl: compiling the numba kernels of {what} (once after an install or update, up to a"
            " minute; later runs load them from numba's cache)",
            file=sys.stderr,
            flush=True,
        )
