"""How the network is trained: registered backends behind one protocol.

Every backend answers in the schema of ``phasefl.schema`` (a ``Trajectory``: each observable at
the requested times, and ``final`` at t = infinity), in two forms:

* ``trajectory(model, u0, w0, times, **options)``: one network, from its weights;
* ``batch(output_scale, lr_u, lr_w, x_var, xy_cov, uu, ww, uw, d2, times, **options)``: cells given
  by their hyperparameters and Gram numbers (arrays that broadcast to a cell shape S), fields of
  shape S + (T,), ``final`` fields of shape S.

Registered here:

* ``"flow"``: gradient flow, exact (the closed form, ``phasefl.solve``);
* ``"kernel"``: gradient flow of the network linearized at its initialization, its NTK frozen at K0
  (``phasefl.kernel_baseline``);
* ``"reference"``: the network itself simulated (``phasefl.simulate``): gradient flow by an
  8th-order integrator, or gradient descent (``method="gd"``, ``step=h``). Its ``batch`` simulates,
  cell by cell, a two-dimensional network with the cell's Gram numbers: the trajectory depends on
  the weights only through them, so it is the trajectory of every width;
* ``"gd"``: gradient descent with step ``step=h``, exact (``phasefl.descent``): the finite-step map iterated on
  two multipliers, at a cost independent of the width; ``times`` are whole numbers of steps, and ``final`` is
  the limit only where the run has converged by the last time (else nan).

``phasefl.solve(..., dynamics=NAME)`` and ``phasefl.sweep.sweep`` (through ``SweepSpec.dynamics``)
pick a backend by name; ``register`` adds one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .baseline import kernel_baseline, kernel_baseline_trajectories
from .descent import gd_batch, gd_trajectory
from .params import Model
from .results import State, Trajectory
from .schema import OBSERVABLES
from .solve import cell_inputs, flow_trajectory, solve_batch


@dataclass(frozen=True)
class Dynamics:
    """A training dynamics: its name, what it is, and its two entry points (see the module's text)."""

    name: str
    description: str
    trajectory: Callable[..., Trajectory]
    batch: Callable[..., Trajectory]
    options: tuple[str, ...] = ()  # keyword options that both entry points accept

    def check_options(self, options: dict) -> None:
        """TypeError naming an option this dynamics does not take."""
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            takes = f"takes only {', '.join(self.options)}" if self.options else "takes no options"
            raise TypeError(f"dynamics {self.name!r} {takes}; got {', '.join(unknown)}")


#: name -> Dynamics, in the order registered.
BACKENDS: dict[str, Dynamics] = {}


def register(dynamics: Dynamics) -> Dynamics:
    """Add a dynamics to ``BACKENDS`` (ValueError if its name is taken)."""
    if dynamics.name in BACKENDS:
        raise ValueError(f"a dynamics named {dynamics.name!r} is registered already")
    BACKENDS[dynamics.name] = dynamics
    return dynamics


def backend(name: str) -> Dynamics:
    """The registered dynamics ``name`` (ValueError listing the registered names otherwise)."""
    if not isinstance(name, str) or name not in BACKENDS:
        raise ValueError(f"dynamics must be one of {', '.join(map(repr, BACKENDS))}, got {name!r}")
    return BACKENDS[name]


def reference_trajectory(model: Model, u0, w0, times, method: str = "flow", step: float | None = None) -> Trajectory:
    """``phasefl.simulate``: the network itself, simulated."""
    from .simulation import simulate  # scipy.integrate: loaded on first use

    return simulate(model, u0, w0, times, method=method, step=step)


def reference_batch(
    output_scale, lr_u, lr_w, x_var, xy_cov, uu, ww, uw, d2, times, method: str = "flow", step: float | None = None
) -> Trajectory:
    """The simulated network of every cell, one at a time: the two-dimensional weights u0 = (|u0|, 0),
    w0 = (u0.w0/|u0|, D/|u0|) (or u0 = 0, w0 = (|w0|, 0)) have the cell's Gram numbers."""
    inputs, shape = cell_inputs(output_scale, lr_u, lr_w, x_var, xy_cov, uu, ww, uw, d2)
    runs = []
    for kappa, eta_u, eta_w, a, b, nu, nw, dot, dd in inputs.T:
        if nu > 0:
            root = np.sqrt(nu)
            u0, w0 = np.array([root, 0.0]), np.array([dot / root, np.sqrt(dd) / root])
        else:
            u0, w0 = np.zeros(2), np.array([np.sqrt(nw), 0.0])
        runs.append(reference_trajectory(Model(kappa, eta_u, eta_w, a, b), u0, w0, times, method, step))
    times = runs[0].times if runs else np.asarray(times, dtype=float)

    def stacked(values: list, tail: tuple[int, ...]) -> np.ndarray:
        return np.array(values, dtype=float).reshape(shape + tail)

    fields = {name: stacked([getattr(run, name) for run in runs], (times.size,)) for name in OBSERVABLES}
    final = State(**{name: stacked([getattr(run.final, name) for run in runs], ()) for name in OBSERVABLES})
    return Trajectory(times=times, final=final, **fields)


register(Dynamics("flow", "gradient flow, exact (closed form)", flow_trajectory, solve_batch))
register(
    Dynamics(
        "kernel",
        "gradient flow of the network linearized at init (NTK frozen at K0)",
        kernel_baseline,
        kernel_baseline_trajectories,
    )
)
register(
    Dynamics(
        "reference",
        "the network simulated: gradient flow (DOP853) or gradient descent (method='gd', step=h)",
        reference_trajectory,
        reference_batch,
        options=("method", "step"),
    )
)
register(
    Dynamics(
        "gd",
        "gradient descent with step h, exact (the finite-step map; final: the limit if converged, else nan)",
        gd_trajectory,
        gd_batch,
        options=("step",),
    )
)
