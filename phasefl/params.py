"""Hyperparameters of the model and validation of user input.

Spec section A: f(x) = kappa * sum_i u_i w_i x, trained by gradient flow on
L = E[(f(x) - y)^2] / 2 with layer-wise learning rates lr_u (output layer u)
and lr_w (hidden layer w). The data enter only through x_var = E[x^2] and
xy_cov = E[x y]; the least-squares target slope is m = xy_cov / x_var.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def check_positive(name: str, value: float) -> float:
    """Return ``value`` as float, or raise ValueError naming ``name`` unless it is finite and > 0."""
    value = float(value)
    if not math.isfinite(value) or value <= 0.0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return value


def check_finite(name: str, value: float) -> float:
    """Return ``value`` as float, or raise ValueError naming ``name`` unless it is finite."""
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return value


@dataclass(frozen=True)
class Model:
    """The network's hyperparameters and the two data moments it sees.

    Parameters
    ----------
    output_scale : float
        kappa > 0, the multiplier of the output (NTK: width**-0.5, mean field: 1/width).
    lr_u, lr_w : float
        Learning rates eta_u of the output layer u and eta_w of the hidden layer w (> 0).
    x_var : float
        a = E[x^2] > 0.
    xy_cov : float
        b = E[x y], any sign (zero gives the zero target).
    """

    output_scale: float
    lr_u: float
    lr_w: float
    x_var: float = 1.0
    xy_cov: float = 1.0

    def __post_init__(self) -> None:
        for name in ("output_scale", "lr_u", "lr_w", "x_var"):
            object.__setattr__(self, name, check_positive(name, getattr(self, name)))
        object.__setattr__(self, "xy_cov", check_finite("xy_cov", self.xy_cov))

    @property
    def target(self) -> float:
        """Least-squares target slope m = b / a (spec section A)."""
        return self.xy_cov / self.x_var

    def as_tuple(self) -> tuple[float, float, float, float, float]:
        """(kappa, eta_u, eta_w, a, b), the argument order of the generated kernels."""
        return (self.output_scale, self.lr_u, self.lr_w, self.x_var, self.xy_cov)


def check_weights(u0, w0) -> tuple[np.ndarray, np.ndarray]:
    """Validate initial weight vectors: 1-D, same non-zero length, finite, not both zero."""
    arrays = []
    for name, vec in (("u0", u0), ("w0", w0)):
        arr = np.asarray(vec, dtype=float)
        if arr.ndim != 1:
            raise ValueError(f"{name} must be a 1-D array (one entry per hidden unit), got shape {arr.shape}")
        if arr.size == 0:
            raise ValueError(f"{name} must not be empty (width >= 1)")
        bad = ~np.isfinite(arr)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{name} must be finite, got {name}[{i}] = {arr[i]!r}")
        arrays.append(arr)
    u, w = arrays
    if u.shape != w.shape:
        raise ValueError(f"u0 and w0 must have the same length (the width), got {u.size} and {w.size}")
    if not (u.any() or w.any()):
        raise ValueError("u0 and w0 are both zero: the network never moves and its NTK is 0")
    return u, w


def check_times(times) -> np.ndarray:
    """Validate a 1-D array of finite, non-negative times (a scalar becomes a length-1 array)."""
    arr = np.atleast_1d(np.asarray(times, dtype=float))
    if arr.ndim != 1:
        raise ValueError(f"times must be a 1-D array, got shape {arr.shape}")
    bad = ~np.isfinite(arr) | (arr < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"times must be finite and >= 0, got times[{i}] = {arr[i]!r}")
    return arr
