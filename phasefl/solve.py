"""Exact trajectories and t -> infinity limits, for one network or a batch of Gram numbers.

Spec section D: the trajectory depends on the initial weights only through their Gram
numbers, so a batch of cells is a set of arrays (hyperparameters and Gram numbers) that
broadcast together.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import kernels
from .gram import Gram, gram
from .params import Model, check_times
from .results import State, Trajectory, one_network
from .schema import INPUTS, OBSERVABLES

#: The cell arguments, in the order of the rows of the kernels' (9, n) input.
CELL_ARGS = INPUTS
_POSITIVE = {"output_scale", "lr_u", "lr_w", "x_var"}
_NONNEGATIVE = {"uu", "ww", "d2"}


def check_cell_arguments(values: dict[str, object]) -> dict[str, np.ndarray]:
    """The cell arguments (named as in ``cell_inputs``) as float arrays; ValueError naming the first bad value."""
    arrays = {}
    for name, value in values.items():
        arr = np.asarray(value, dtype=float)
        bad = ~np.isfinite(arr)
        if name in _POSITIVE:
            bad |= ~(arr > 0)
            what = "finite and > 0"
        elif name in _NONNEGATIVE:
            bad |= ~(arr >= 0)
            what = "finite and >= 0"
        else:
            what = "finite"
        if bad.any():
            raise ValueError(f"{name} must be {what}, got {float(arr[bad].ravel()[0])!r}")
        arrays[name] = arr
    if "uu" in arrays and "ww" in arrays and np.any((arrays["uu"] == 0) & (arrays["ww"] == 0)):
        raise ValueError("uu and ww are both 0 in some cell: with u0 = w0 = 0 the network never moves")
    return arrays


def cell_inputs(output_scale, lr_u, lr_w, x_var, xy_cov, uu, ww, uw, d2) -> tuple[np.ndarray, tuple[int, ...]]:
    """Validate and broadcast the cell arguments; return the (9, n) kernel input and the cell shape."""
    arrays = check_cell_arguments(dict(zip(CELL_ARGS, (output_scale, lr_u, lr_w, x_var, xy_cov, uu, ww, uw, d2))))
    shape = np.broadcast_shapes(*(a.shape for a in arrays.values()))
    stacked = np.stack([np.broadcast_to(arrays[n], shape).ravel() for n in CELL_ARGS])
    return stacked, shape


#: What ``require_representable`` says of a cell the kernels cannot evaluate in float64.
DOMAIN = (
    "outside float64's range (1e-308 to 1e308), which the exact solution needs for K0, K_inf, a K_inf, |F0|/kappa, "
    "|m|/kappa, K/kappa^2 and, unless u0 and w0 are parallel, g|F0|/Kc and g|m|/Kc"
)
_LOG10_RANGE = (math.log10(np.finfo(float).tiny), math.log10(np.finfo(float).max))


def require_representable(inputs: np.ndarray) -> None:
    """ValueError naming the first cell whose solution float64 cannot hold (see ``DOMAIN``) and the
    quantity furthest outside its range."""
    bad = ~kernels.representable(inputs)
    if not bad.any():
        return
    i = int(np.flatnonzero(bad)[0])
    c = dict(zip(kernels.CONSTANTS, kernels.cell_constants(*inputs[:, i])))
    with np.errstate(all="ignore"):
        lg = {k: np.log10(abs(c[k])) for k in ("kappa", "g", "Kc", "F0", "m", "K0", "Kinf_fwd", "lam")}
        logs = {
            "K0": lg["K0"],
            "K_inf": lg["Kinf_fwd"],
            "a K_inf": lg["lam"],
            "|F0|/kappa": lg["F0"] - lg["kappa"],
            "|m|/kappa": lg["m"] - lg["kappa"],
            "K/kappa^2": max(lg["K0"], lg["Kinf_fwd"]) - 2 * lg["kappa"],
            "g|F0|/Kc": lg["g"] + lg["F0"] - lg["Kc"],
            "g|m|/Kc": lg["g"] + lg["m"] - lg["Kc"],
        }
    lo, hi = _LOG10_RANGE
    outside = {k: max(lo - v, v - hi) for k, v in logs.items() if v > -np.inf and not lo <= v <= hi}  # (0 is fine)
    cell = ", ".join(f"{k} = {float(inputs[j, i])!r}" for j, k in enumerate(CELL_ARGS))
    if outside:
        name = max(outside, key=outside.__getitem__)
        size = f"{name} ~ 1e{logs[name]:.0f}" if np.isfinite(logs[name]) else f"{name} overflows"
    else:
        size = "an intermediate of the closed form overflows, though none of these quantities does"
    raise ValueError(f"cell {i} ({cell}): {size}: {DOMAIN}")


def solve_batch(output_scale, lr_u, lr_w, x_var, xy_cov, uu, ww, uw, d2, times) -> Trajectory:
    """Exact observables of a batch of cells at ``times`` and at t = infinity.

    Arguments other than ``times`` broadcast to a common cell shape S; ``times`` is 1-D of
    length T. Returns a ``Trajectory`` whose fields have shape S + (T,) and whose ``final``
    fields have shape S. Evaluates the product form of spec D.3 (see
    ``phasefl.symbolic.solution``) with the generated numba kernels. A cell outside float64's
    range (see ``DOMAIN``) raises ValueError naming it; an observable whose own value overflows
    (the excess loss of a target of 1e200) is inf.
    """
    inputs, shape = cell_inputs(output_scale, lr_u, lr_w, x_var, xy_cov, uu, ww, uw, d2)
    times = check_times(times)
    with kernels.compile_notice("phasefl.solve"):
        require_representable(inputs)
        traj = kernels.trajectories(inputs, times).reshape((len(OBSERVABLES),) + shape + (times.size,))
        final = final_batch_from_inputs(inputs, shape)
    return Trajectory(times=times, **dict(zip(OBSERVABLES, traj)), final=final)


def slope_batch(output_scale, lr_u, lr_w, x_var, xy_cov, uu, ww, uw, d2, times) -> np.ndarray:
    """The slope F(t) alone, for a batch of cells: array of shape S + (T,), equal to
    ``solve_batch(...).F``. A ninth of the memory and about a third of the time of
    ``solve_batch``: the weights' norms, cosine and rotations (two atan2 per time) are skipped."""
    inputs, shape = cell_inputs(output_scale, lr_u, lr_w, x_var, xy_cov, uu, ww, uw, d2)
    times = check_times(times)
    with kernels.compile_notice("phasefl.slope_batch"):
        require_representable(inputs)
        return kernels.slopes(inputs, times).reshape(shape + (times.size,))


def final_batch_from_inputs(inputs: np.ndarray, shape: tuple[int, ...]) -> State:
    fin = kernels.finals(inputs).reshape((len(OBSERVABLES),) + shape)
    return State(**dict(zip(OBSERVABLES, fin)))


def final_batch(output_scale, lr_u, lr_w, x_var, xy_cov, uu, ww, uw, d2) -> State:
    """Exact observables at t = infinity for a batch of cells (fields of the broadcast shape)."""
    inputs, shape = cell_inputs(output_scale, lr_u, lr_w, x_var, xy_cov, uu, ww, uw, d2)
    with kernels.compile_notice("phasefl.final_batch"):
        require_representable(inputs)
        return final_batch_from_inputs(inputs, shape)


def model_cell(model: Model, g: Gram) -> tuple[Any, Any, Any, Any, Any, Any, Any, Any, Any]:
    """The nine cell arguments of one network."""
    if not isinstance(model, Model):
        raise TypeError(f"model must be a phasefl.Model, got {type(model).__name__}")
    return model.as_tuple() + tuple(g)


def solve(model: Model, u0, w0, times, dynamics: str = "flow", **options) -> Trajectory:
    """Trajectory of the network f(x) = kappa u.w x from weights u0, w0, trained by ``dynamics``.

    Parameters
    ----------
    model : Model
    u0, w0 : 1-D arrays of the same length (the width)
    times : 1-D array of finite times >= 0
    dynamics : str
        A name in ``phasefl.dynamics.BACKENDS``: ``"flow"`` (default: gradient flow, exact, spec D),
        ``"kernel"`` (the network linearized at init, NTK frozen), ``"reference"`` (the network
        simulated; options ``method="gd"`` and ``step=h`` for gradient descent), ``"gd"`` (gradient
        descent with step ``step=h``, exact and width-independent; ``times`` whole numbers of steps).
    **options
        Options of that dynamics (TypeError for one it does not take).

    Returns
    -------
    Trajectory
        F, ntk (learning-rate-weighted K), ntk_plain, norm_u2, norm_w2, cos_uw, rot_u, rot_w
        (radians) and loss_excess at each time, and ``.final`` at t = infinity.
    """
    from .dynamics import backend  # it registers this module's functions: imported on use

    chosen = backend(dynamics)
    chosen.check_options(options)
    return chosen.trajectory(model, u0, w0, times, **options)


def flow_trajectory(model: Model, u0, w0, times) -> Trajectory:
    """The exact gradient-flow trajectory of one network (spec D): ``solve``'s default dynamics."""
    cell = model_cell(model, gram(u0, w0))
    return one_network(solve_batch(*cell, times))
