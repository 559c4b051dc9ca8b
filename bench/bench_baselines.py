"""Simulation baselines (bench/baselines.py) against phasefl on the same cells, at fixed tolerances.

Cells: width (10, 100, 1000) x init scale (0.3, 3) in the NTK parametrization (``make_cells``; tiny:
widths 4 and 16), F at 32 log-spaced times in [1e-3, 1e4] (all cells have converged by then).
Settings (chosen to be accurate; ``make figures``' work-precision figure, fig10, sweeps them):

* ``ivp_full``, ``ivp_reduced``: DOP853 at rtol 1e-8 (atol 1e-3 rtol x the state's scale);
* ``gd_numpy``, ``gd_torch``: step h = 1e-3 / (a K0) (first order: error ~ 1e-3 relative);
* phasefl: ``kernels.trajectories`` (all 9 observables) on all cells in one call.

Each checks its max error of F against phasefl's closed form (relative to max |F|): at most
``BOUND``. cells/s in the table is per cell of this grid (phasefl's call is dominated by its
fixed overhead at 6 cells; ``bench_phasefl.py`` has its throughput).
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from baselines import gd_numpy, gd_torch, ivp_full, ivp_reduced, kernel_inputs, make_cells, rel_error

from phasefl import kernels

RTOL, STEP = 1e-8, 1e-3
BOUND = {"phasefl": 1e-12, "ivp_full": 1e-6, "ivp_reduced": 1e-6, "gd_numpy": 1e-2, "gd_torch": 1e-2}


@pytest.fixture(scope="module")
def grid(tiny):
    cells = make_cells((4, 16) if tiny else (10, 100, 1000), (0.3, 3.0))
    times = np.geomspace(1e-3, 1e3 if tiny else 1e4, 8 if tiny else 32)
    x = kernel_inputs(cells)
    return cells, x, times, kernels.trajectories(x, times)[0]


def run(cells, x, times, method):
    if method == "phasefl":
        return kernels.trajectories(x, times)[0]
    if method == "ivp_full":
        return np.array([ivp_full(c, times, "DOP853", RTOL) for c in cells])
    if method == "ivp_reduced":
        return np.array([ivp_reduced(x[:, i], times, "DOP853", RTOL) for i in range(len(cells))])
    if method == "gd_numpy":
        return np.array([gd_numpy(c, times, STEP) for c in cells])
    widths = sorted({c.width for c in cells})  # gd_torch: one batch per width
    return np.concatenate([gd_torch([c for c in cells if c.width == w], times, STEP) for w in widths])


@pytest.mark.parametrize("method", list(BOUND))
def bench_baseline(bench, benchmark, grid, method):
    if method == "gd_torch":
        if importlib.util.find_spec("torch") is None:
            pytest.skip("gd_torch needs PyTorch (pip install -e '.[empirical]')")
        import torch

        torch.set_num_threads(1)  # (cells, d) tensors are too small to gain from a second thread
    benchmark.group = "simulation baselines, per cell of the grid"
    cells, x, times, exact = grid
    F = bench(lambda: run(cells, x, times, method), len(cells), rounds=3,
              **({"peak_mib": None} if method == "gd_torch" else {}))  # fmt: skip
    error = max(rel_error(F[i], exact[i]) for i in range(len(cells)))
    benchmark.extra_info["max_error"] = error
    assert error <= BOUND[method], (method, error)
