"""Gradient descent with a finite step, exactly: the ``"gd"`` dynamics.

Full-batch gradient descent u' = u - h eta_u kappa (aF - b) w, w' = w - h eta_w kappa (aF - b) u multiplies
every neuron pair by the same 2x2 matrix, so after n steps u_n = sigma_n u0 + delta_n r w0 and
w_n = delta_n u0/r + sigma_n w0 (r = sqrt(eta_u/eta_w)) with two scalar multipliers (derivation:
``phasefl.symbolic.gd``, notebook ``derivations/08_gradient_descent.md``). The whole run stays in the plane
of u0 and w0, so the kernels iterate the rescaled weights as two 2-vectors in an orthonormal basis of that
plane (built from the Gram numbers; the network's own arithmetic, with the residual F - m carried by its
own product map so that it keeps its digits near m): a step costs the same at every width, and the
trajectory of any width follows from its Gram numbers.

Times are whole numbers of steps: ``times`` must be non-negative multiples of ``step`` (to a relative
1e-12, for times computed as n * step or by np.linspace), else ValueError.

``final`` is the limit t -> infinity, where the run has reached it by the last requested time: the residual
contracts there (|R'/R| < 1) and the multipliers have less than 1e-12 of relative motion left
(``GD_FINAL_TOL``); then F = m, loss_excess = 0 and the rest is the state at the last requested time (to
1e-12). Otherwise gradient descent has no closed-form limit: every field of ``final`` is nan (request a
later time). A run whose state leaves float64's range (the loss grows without bound, h a K far above 2)
is diverged: from the first requested time after that step on, and in ``final``, F and the angles are nan,
and ntk, ntk_plain, the norms and loss_excess are inf (``kernels.GD_DIVERGED``): ``np.isinf(loss_excess)`` is
the per-cell flag (``kernels.gd_trajectories`` also returns the step at which each cell diverged).
"""

from __future__ import annotations

import numpy as np

from . import kernels
from .gram import gram
from .params import Model, check_positive, check_times
from .results import State, Trajectory, one_network
from .schema import OBSERVABLES
from .solve import cell_inputs, model_cell

__all__ = ["gd_batch", "gd_trajectory", "step_counts"]

#: times / step may differ from a whole number by this much relative (rounding of n * step or linspace).
STEP_RTOL = 1e-12
_MAX_STEPS = 2**53


def step_counts(times, step) -> tuple[np.ndarray, np.ndarray, float]:
    """(times as a float array, the number of steps of each, step): ValueError unless every time is a
    whole number of steps."""
    times = check_times(times)
    if step is None:
        raise TypeError("dynamics 'gd' needs the step: pass step=h (h > 0)")
    step = check_positive("step", step)
    ratio = times / step
    counts = np.rint(ratio)
    bad = (np.abs(ratio - counts) > STEP_RTOL * np.maximum(counts, 1.0)) | (counts > _MAX_STEPS)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"times must be whole multiples of step = {step!r} (gradient descent takes whole steps), "
            f"got times[{i}] = {float(times[i])!r} = {float(ratio[i])!r} steps"
        )
    return times, counts.astype(np.int64), step


def gd_batch(output_scale, lr_u, lr_w, x_var, xy_cov, uu, ww, uw, d2, times, step=None) -> Trajectory:
    """Gradient descent with step ``step`` from a batch of cells, observed at ``times`` (whole numbers of
    steps): a ``Trajectory`` with fields of shape S + (T,) and ``final`` of shape S (see the module's text)."""
    inputs, shape = cell_inputs(output_scale, lr_u, lr_w, x_var, xy_cov, uu, ww, uw, d2)
    times, counts, step = step_counts(times, step)
    order, inverse = np.unique(counts, return_inverse=True)
    with kernels.compile_notice("phasefl.solve (dynamics='gd')"):
        out, fin, _ = kernels.gd_trajectories(inputs, step, order)
    traj = out[:, :, inverse.ravel()].reshape((len(OBSERVABLES),) + shape + (times.size,))
    final = State(**dict(zip(OBSERVABLES, fin.reshape((len(OBSERVABLES),) + shape))))
    return Trajectory(times=times, **dict(zip(OBSERVABLES, traj)), final=final)


def gd_trajectory(model: Model, u0, w0, times, step=None) -> Trajectory:
    """Gradient descent with step ``step`` of one network from its weights (width-independent cost)."""
    return one_network(gd_batch(*model_cell(model, gram(u0, w0)), times, step=step))
