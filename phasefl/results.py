"""The result type shared by the exact solution and the simulators.

``solve`` (closed form) and ``simulate`` (the actual d-dimensional network) return
the same ``Trajectory``, so tests and figures compare them field by field.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

#: Observables of spec section D.4/D.6, in the order the kernels return them.
OBSERVABLES = (
    "F",  # network slope F = kappa u.w; the function is f(x) = F x
    "ntk",  # learning-rate-weighted NTK scale K = kappa^2 (eta_u |w|^2 + eta_w |u|^2)
    "ntk_plain",  # un-weighted NTK scale kappa^2 (|u|^2 + |w|^2)
    "norm_u2",  # |u|^2
    "norm_w2",  # |w|^2
    "cos_uw",  # cos of the angle between u and w
    "rot_u",  # angle between u(t) and u(0), radians (nan if u(0) = 0)
    "rot_w",  # angle between w(t) and w(0), radians (nan if w(0) = 0)
    "loss_excess",  # L - L_min = (a/2) (F - m)^2
)


@dataclass(frozen=True)
class State:
    """All observables at one time (floats), e.g. ``Trajectory.final`` at t = infinity."""

    F: float
    ntk: float
    ntk_plain: float
    norm_u2: float
    norm_w2: float
    cos_uw: float
    rot_u: float
    rot_w: float
    loss_excess: float


@dataclass(frozen=True)
class Trajectory:
    """Observables over ``times`` (each a float array of the same length) and at t = infinity."""

    times: np.ndarray
    F: np.ndarray
    ntk: np.ndarray
    ntk_plain: np.ndarray
    norm_u2: np.ndarray
    norm_w2: np.ndarray
    cos_uw: np.ndarray
    rot_u: np.ndarray
    rot_w: np.ndarray
    loss_excess: np.ndarray
    final: State | None = None

    def at(self, i: int) -> State:
        """The observables at ``times[i]``."""
        return State(**{name: float(getattr(self, name)[i]) for name in OBSERVABLES})

    def __repr__(self) -> str:
        """A few rows (first, last, and t = infinity) instead of nine full arrays."""
        n = len(self.times)
        rows = sorted({0, n - 1}) if n else []
        head = f"Trajectory({n} times from {self.times[0]:.4g} to {self.times[-1]:.4g}" if n else "Trajectory(0 times"
        lines = [head + ", observables: " + ", ".join(OBSERVABLES) + ")"]
        lines.append("  " + f"{'t':>11}" + "".join(f"{name:>13}" for name in OBSERVABLES))
        for i in rows:
            lines.append(
                "  " + f"{self.times[i]:>11.4g}" + "".join(f"{getattr(self, k)[i]:>13.6g}" for k in OBSERVABLES)
            )
        if self.final is not None:
            lines.append("  " + f"{'inf':>11}" + "".join(f"{getattr(self.final, k):>13.6g}" for k in OBSERVABLES))
        return "\n".join(lines)


assert tuple(f.name for f in fields(State)) == OBSERVABLES
