"""The kernel baseline: the same network with its NTK frozen at initialization.

Linearizing the network around its initial weights freezes the NTK at K0, so the slope obeys
dF/dt = -a K0 (F - m) and F_kernel(t) = m + (F0 - m) exp(-a K0 t) (spec D.5).
"""

from __future__ import annotations

import numpy as np

from . import kernels
from .gram import gram
from .params import check_times
from .results import State, Trajectory, one_network
from .schema import OBSERVABLES
from .solve import cell_inputs, model_cell


def kernel_baseline_batch(output_scale, lr_u, lr_w, x_var, xy_cov, uu, ww, uw, d2, times) -> np.ndarray:
    """F_kernel for a batch of cells: array of shape S + (T,) (arguments as in ``solve_batch``)."""
    inputs, shape = cell_inputs(output_scale, lr_u, lr_w, x_var, xy_cov, uu, ww, uw, d2)
    times = check_times(times)
    with kernels.compile_notice("phasefl.kernel_baseline"):
        return kernels.baselines(inputs, times).reshape(shape + (times.size,))


def baseline_distance_batch(output_scale, lr_u, lr_w, x_var, xy_cov, uu, ww, uw, d2) -> np.ndarray:
    """Kernel-baseline distance sup_t |F(t) - F_kernel(t)| / |m - F0| for a batch of cells.

    0 means the exact dynamics are the kernel dynamics; Theta(1) means feature learning changed
    the function's path. Exact: the maximum is located at a root of the closed-form derivative
    (see ``phasefl.kernels.baseline_distance``); 0 when F0 = m (nothing to learn).
    """
    inputs, shape = cell_inputs(output_scale, lr_u, lr_w, x_var, xy_cov, uu, ww, uw, d2)
    with kernels.compile_notice("the kernel-baseline distance"):
        return kernels.baseline_distance(inputs).reshape(shape)


def initial_ntk(output_scale, lr_u, lr_w, uu, ww):
    """K0 = kappa^2 (eta_u |w0|^2 + eta_w |u0|^2), the learning-rate-weighted NTK at init (spec D.6)."""
    return output_scale * output_scale * (lr_u * ww + lr_w * uu)


def kernel_baseline(model, u0, w0, times) -> Trajectory:
    r"""The network linearized at (u0, w0), trained by gradient flow: every observable, like ``solve``.

    The NTK is frozen at :math:`K_0 = \kappa^2(\eta_u|w_0|^2 + \eta_w|u_0|^2)`, so the slope is
    :math:`F(t) = m + (F_0 - m)e^{-aK_0 t}` and the weights move along their gradient at init,
    :math:`u(t) = u_0 - \eta_u\kappa S(t)\, w_0`, :math:`w(t) = w_0 - \eta_w\kappa S(t)\, u_0` with
    :math:`S(t) = (F_0 - m)(1 - e^{-aK_0 t})/K_0`. ``F`` is the linearized output (not
    :math:`\kappa\, u(t)\cdot w(t)`), ``ntk`` and ``ntk_plain`` stay at their values at init; the norms,
    the cosine between the layers and the rotations are those of the moved weights, from the Gram
    numbers (rotations as atan2 of the perpendicular and parallel parts). ``final`` is t = infinity.
    """
    return one_network(kernel_baseline_trajectories(*model_cell(model, gram(u0, w0)), check_times(times)))


def kernel_baseline_trajectories(output_scale, lr_u, lr_w, x_var, xy_cov, uu, ww, uw, d2, times) -> Trajectory:
    """Every observable of the kernel baseline (as ``kernel_baseline``) for a batch of cells: arguments
    as in ``solve_batch``; fields of shape S + (T,), ``final`` fields of shape S."""
    inputs, shape = cell_inputs(output_scale, lr_u, lr_w, x_var, xy_cov, uu, ww, uw, d2)
    kappa, eta_u, eta_w, a, b, uu, ww, uw, d2 = (row.reshape(shape + (1,)) for row in inputs)
    times = check_times(times)
    m = b / a
    k0 = initial_ntk(kappa, eta_u, eta_w, uu, ww)
    f0 = kappa * uw

    def observe(decayed: np.ndarray) -> dict[str, np.ndarray]:
        """Observables where e^{-a K0 t} = decayed (0 at t = infinity), of shape S + decayed's."""
        s = (f0 - m) * (1.0 - decayed) / k0
        r_u, r_w = eta_u * kappa * s, eta_w * kappa * s  # u = u0 - r_u w0, w = w0 - r_w u0
        nu = uu - 2 * r_u * uw + r_u * r_u * ww
        nw = ww - 2 * r_w * uw + r_w * r_w * uu
        dot = uw - r_u * ww - r_w * uu + r_u * r_w * uw
        F = m + (f0 - m) * decayed
        with np.errstate(invalid="ignore", divide="ignore"):
            cos = np.clip(dot / np.sqrt(nu * nw), -1.0, 1.0)
            rot_u = np.where(uu > 0, np.arctan2(np.abs(r_u) * np.sqrt(d2), uu - r_u * uw), np.nan)
            rot_w = np.where(ww > 0, np.arctan2(np.abs(r_w) * np.sqrt(d2), ww - r_w * uw), np.nan)
        values = {
            "F": F,
            "ntk": k0,
            "ntk_plain": kappa * kappa * (uu + ww),
            "norm_u2": nu,
            "norm_w2": nw,
            "cos_uw": cos,
            "rot_u": rot_u,
            "rot_w": rot_w,
            "loss_excess": 0.5 * a * (F - m) * (F - m),
        }
        return {name: np.array(np.broadcast_to(values[name], F.shape)) for name in OBSERVABLES}

    at = observe(np.exp(-a * k0 * times))
    final = State(**{name: v[..., 0] for name, v in observe(np.zeros(1)).items()})
    return Trajectory(times=times, final=final, **at)
