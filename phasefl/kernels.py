"""The numba loops over cells, called from Python: each function allocates its output and runs
one of the loops of the generated module (written in ``phasefl/loops.py``, compiled with the
closed form in ``phasefl/_generated/closed_form.py``).

``inputs`` is a float64 array of shape (9, n): the rows are kappa, lr_u, lr_w, x_var, xy_cov, uu,
ww, uw, d2 (the argument order of ``cell_constants``).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from numba.core import event

from ._generated.closed_form import (  # noqa: F401  (re-exported: the loops' tables and helpers)
    BLOCK_OUTPUTS,
    CONSTANTS,
    GD_DIVERGED,
    GD_FINAL_TOL,
    GD_SUMMARY,
    MEDIANS,
    N_EXPONENTS,
    N_MEDIANS,
    N_OBS,
    N_ORDER,
    QUARTILES,
    cell_constants,
    column_constants,
    fill_baseline_distance,
    fill_baselines,
    fill_exponent_grid,
    fill_finals,
    fill_gd_summaries,
    fill_gd_trajectories,
    fill_ntk_plain_finals,
    fill_orders,
    fill_representable,
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


def gd_trajectories(inputs: np.ndarray, step: float, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradient descent with step ``step`` observed after ``counts`` steps (sorted, non-negative integers):
    observables (N_OBS, n, T), their t -> infinity limit (N_OBS, n; nan unless converged by the last count)
    and the step after which each cell diverged (n,; -1 for none). See ``fill_gd_trajectories``."""
    n = inputs.shape[1]
    out, fin, diverged_at = _empty((N_OBS, n, counts.shape[0])), np.empty((N_OBS, n)), np.empty(n, dtype=np.int64)
    fill_gd_trajectories(
        np.ascontiguousarray(inputs, dtype=np.float64),
        float(step),
        np.ascontiguousarray(counts, dtype=np.int64),
        out,
        fin,
        diverged_at,
    )
    return out, fin, diverged_at


def gd_summaries(inputs: np.ndarray, step: float, horizons: np.ndarray) -> np.ndarray:
    """One gradient-descent run per cell, at most horizons[i] steps: array (len(GD_SUMMARY), n)."""
    out = np.empty((len(GD_SUMMARY), inputs.shape[1]))
    fill_gd_summaries(
        np.ascontiguousarray(inputs, dtype=np.float64),
        float(step),
        np.ascontiguousarray(horizons, dtype=np.int64),
        out,
    )
    return out


def slopes(inputs: np.ndarray, times: np.ndarray) -> np.ndarray:
    """The slope F of n cells at T times, alone: array (n, T), equal to trajectories(...)[0]."""
    out = _empty((inputs.shape[1], times.shape[0]))
    fill_slopes(np.ascontiguousarray(inputs, dtype=np.float64), np.ascontiguousarray(times, dtype=np.float64), out)
    return out


def representable(inputs: np.ndarray) -> np.ndarray:
    """Whether float64 holds each of n cells' solution (the cell constant ``representable``): bool (n,)."""
    out = np.empty(inputs.shape[1])
    fill_representable(np.ascontiguousarray(inputs, dtype=np.float64), out)
    return out == 1.0


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


class _CompileNotice(event.Listener):
    """Listens to numba's "numba:compile" event (numba's documented event API), which a dispatcher
    broadcasts when it compiles: a load from numba's on-disk cache broadcasts nothing. Inside a
    ``compile_notice`` block, the first one prints the notice, once per name and process."""

    def __init__(self) -> None:
        self.what: str | None = None
        self.said: set[str] = set()

    def on_start(self, ev) -> None:
        if self.what is not None and self.what not in self.said:
            self.said.add(self.what)
            print(
                f"phasefl: compiling the numba kernels of {self.what} (once after an install or update, up to a"
                " minute; later runs load them from numba's cache)",
                file=sys.stderr,
                flush=True,
            )

    def on_end(self, ev) -> None:
        pass


NOTICE = _CompileNotice()
event.register("numba:compile", NOTICE)


@contextmanager
def compile_notice(what: str) -> Iterator[None]:
    """Inside the block, numba compiling a kernel (not loading it from its cache) prints one line on
    stderr that names ``what`` (once per name and process; nested blocks: the outermost name)."""
    outer = NOTICE.what
    NOTICE.what = outer or what
    try:
        yield
    finally:
        NOTICE.what = outer
