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

from dataclasses import dataclass

import numpy as np

from . import kernels
from .baseline import initial_ntk
from .gram import gram
from .params import Model, check_positive, check_times
from .regimes import KERNEL_THRESHOLD, LABELS, ZETA_THRESHOLD, classify_batch, label_codes
from .results import State, Trajectory, one_network
from .schema import OBSERVABLES
from .solve import cell_inputs, model_cell

__all__ = [
    "DescentClassification",
    "GD_LABELS",
    "classify_gd",
    "classify_gd_batch",
    "gd_batch",
    "gd_trajectory",
    "step_counts",
]

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


#: The labels of a finite-step run: the four of gradient flow (a run that converged without its loss ever
#: rising above the initial one, or with the NTK ending above its initial value), then the finite-step ones.
GD_LABELS = LABELS + ("catapult", "oscillating", "divergent")
CATAPULT, OSCILLATING, DIVERGENT = range(len(LABELS), len(GD_LABELS))
#: The default horizon: HORIZON_SCALES times the flow's slowest time scale max(t_1/2, 1/(a K0), 1/(a K_inf)) of
#: the same cell, but at least MIN_STEPS steps (near h a K = 2 the residual contracts by |1 - h a K| per step)
#: and at most MAX_STEPS. A run stops as soon as it has converged, so only oscillating runs take them all.
HORIZON_SCALES, MIN_STEPS, MAX_STEPS = 50.0, 10**4, 10**6


@dataclass(frozen=True)
class DescentClassification:
    """Regime of a gradient-descent run (one network, or arrays of codes into GD_LABELS for a batch)."""

    label: str | np.ndarray  # a name in GD_LABELS (one network) or an array of codes (batch)
    steps: int | np.ndarray  # steps taken: to convergence, to the horizon, or to the last finite state
    converged: bool | np.ndarray
    loss_rise: float | np.ndarray  # the largest excess loss over the run / the initial one (1: it never rose)
    loss_rise_step: int | np.ndarray  # where that largest excess loss occurred
    ntk_ratio: float | np.ndarray  # NTK at the last step / NTK at init
    zeta: float | np.ndarray  # imbalance fraction: gradient descent keeps it (C and D^2 scale by 1 - alpha^2)
    sharpness_max: float | np.ndarray  # the largest h a K met (2: the edge of stability)


def classify_gd_batch(
    output_scale, lr_u, lr_w, x_var, xy_cov, uu, ww, uw, d2, step, horizon=None,
    kernel_threshold=KERNEL_THRESHOLD, zeta_threshold=ZETA_THRESHOLD,
) -> DescentClassification:  # fmt: skip
    """Classify gradient descent with step ``step`` from a batch of cells (broadcast as in ``solve_batch``):

    * ``"divergent"``: the state left float64's range (the loss grew without bound);
    * ``"oscillating"``: no convergence within ``horizon`` (time units; default: see HORIZON_SCALES, at most
      MAX_STEPS steps either way): a period-2 orbit, chaos, or too slow;
    * ``"catapult"``: converged after the excess loss rose above its initial value, with the NTK ending below
      its initial value;
    * else the flow's rule on K_end/K0 - 1 and zeta (``phasefl.regimes``), with the same thresholds.
    """
    inputs, shape = cell_inputs(output_scale, lr_u, lr_w, x_var, xy_cov, uu, ww, uw, d2)
    step = check_positive("step", step)
    cell = (output_scale, lr_u, lr_w, x_var, xy_cov, uu, ww, uw, d2)
    flow = classify_batch(*cell, kernel_threshold, zeta_threshold).order  # (the flow's zeta and time scales)
    flow = {name: np.broadcast_to(value, shape).ravel() for name, value in flow.items()}
    k0 = initial_ntk(inputs[0], inputs[1], inputs[2], inputs[5], inputs[6])
    if horizon is None:  # the flow's slowest time scale: t_1/2, 1/(a K0), 1/(a K_inf)
        rate0 = inputs[3] * k0
        with np.errstate(divide="ignore"):
            scale = np.fmax(flow["t_half"], 1.0 / np.fmin(rate0, rate0 * flow["ntk_ratio"]))
        horizons = np.ceil(np.clip(HORIZON_SCALES * scale / step, MIN_STEPS, MAX_STEPS))
    else:
        horizons = np.full(inputs.shape[1], np.ceil(min(check_positive("horizon", horizon) / step, MAX_STEPS)))
    with kernels.compile_notice("phasefl.classify (dynamics='gd')"):
        summary = dict(zip(kernels.GD_SUMMARY, kernels.gd_summaries(inputs, step, horizons.astype(np.int64))))
    ratio = summary["ntk_end"] / k0
    codes = label_codes(ratio - 1.0, flow["zeta"], kernel_threshold, zeta_threshold)
    codes = np.where((summary["loss_rise"] > 1.0) & (ratio < 1.0), CATAPULT, codes)
    codes = np.where(summary["converged"] == 0.0, OSCILLATING, codes)
    codes = np.where(summary["diverged"] == 1.0, DIVERGENT, codes)
    return DescentClassification(
        label=codes.reshape(shape),
        steps=summary["steps"].astype(np.int64).reshape(shape),
        converged=(summary["converged"] == 1.0).reshape(shape),
        loss_rise=summary["loss_rise"].reshape(shape),
        loss_rise_step=summary["loss_rise_step"].astype(np.int64).reshape(shape),
        ntk_ratio=ratio.reshape(shape),
        zeta=flow["zeta"].reshape(shape),
        sharpness_max=summary["sharpness_max"].reshape(shape),
    )


def classify_gd(model: Model, u0, w0, step, horizon=None, **thresholds) -> DescentClassification:
    """Regime of gradient descent with step ``step`` of the network from u0, w0 (see ``classify_gd_batch``)."""
    batch = classify_gd_batch(*model_cell(model, gram(u0, w0)), step, horizon, **thresholds)
    return DescentClassification(
        label=GD_LABELS[int(batch.label)],
        steps=int(batch.steps),
        converged=bool(batch.converged),
        loss_rise=float(batch.loss_rise),
        loss_rise_step=int(batch.loss_rise_step),
        ntk_ratio=float(batch.ntk_ratio),
        zeta=float(batch.zeta),
        sharpness_max=float(batch.sharpness_max),
    )
