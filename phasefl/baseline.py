"""The kernel baseline: the same network with its NTK frozen at initialization.

Linearizing the network around its initial weights freezes the NTK at K0, so the slope obeys
dF/dt = -a K0 (F - m) and F_kernel(t) = m + (F0 - m) exp(-a K0 t) (spec D.5).
"""

from __future__ import annotations

import numpy as np

from . import kernels
from .gram import gram
from .params import check_times
from .solve import cell_inputs, model_cell


def kernel_baseline_batch(output_scale, lr_u, lr_w, x_var, xy_cov, uu, ww, uw, d2, times) -> np.ndarray:
    """F_kernel for a batch of cells: array of shape S + (T,) (arguments as in ``solve_batch``)."""
    inputs, shape = cell_inputs(output_scale, lr_u, lr_w, x_var, xy_cov, uu, ww, uw, d2)
    times = check_times(times)
    kernels.announce_compiling("phasefl.kernel_baseline", kernels._baselines)
    return kernels.baselines(inputs, times).reshape(shape + (times.size,))


def baseline_distance_batch(output_scale, lr_u, lr_w, x_var, xy_cov, uu, ww, uw, d2) -> np.ndarray:
    """Kernel-baseline distance sup_t |F(t) - F_kernel(t)| / |m - F0| for a batch of cells.

    0 means the exact dynamics are the kernel dynamics; Theta(1) means feature learning changed
    the function's path. Exact: the maximum is located at a root of the closed-form derivative
    (see ``phasefl.kernels._baseline_distance``); 0 when F0 = m (nothing to learn).
    """
    inputs, shape = cell_inputs(output_scale, lr_u, lr_w, x_var, xy_cov, uu, ww, uw, d2)
    kernels.announce_compiling("the kernel-baseline distance", kernels._baseline_distance)
    return kernels.baseline_distance(inputs).reshape(shape)


def kernel_baseline(model, u0, w0, times) -> np.ndarray:
    """Slope F(t) of the network linearized at (u0, w0): m + (F0 - m) exp(-a K0 t), over ``times``."""
    return kernel_baseline_batch(*model_cell(model, gram(u0, w0)), times)
