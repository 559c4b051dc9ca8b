"""Width -> infinity exponents and the exponent-plane phase rule (spec E.3), numerically.

The rule is derived in ``phasefl.symbolic.asymptotics`` and lowered to the generated module
like the closed form, so this module never imports SymPy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import kernels
from ._generated.closed_form import EXPONENTS
from .regimes import LABELS
from .scalings import EXPONENT_NAMES, PARAMETRIZATIONS  # noqa: F401  (also re-exported: the exponent tables live in scalings)

EXPONENT_MEANING = {
    "alpha": "output scale kappa ~ d^-alpha",
    "b_u": "init scale of u, sigma_u ~ d^-b_u",
    "b_w": "init scale of w, sigma_w ~ d^-b_w",
    "c_u": "learning rate of u, eta_u ~ d^-c_u",
    "c_w": "learning rate of w, eta_w ~ d^-c_w",
}


@dataclass(frozen=True)
class Exponents:
    """Phase of a width scaling and the exponents that decide it (spec E.3)."""

    label: str  # kernel, alignment or rescaling (disalignment never survives d -> infinity)
    x: float  # -log_d(kappa d sigma_u sigma_w): effective output scale
    rho: float  # log_d r: layer imbalance
    gamma: float  # log_d Gamma: target strength
    gamma0: float  # log_d Gamma0 = -(1 + |rho|)/2 < 0
    phi0: float  # log_d |F0|
    k0: float  # log_d K0 (training time scale 1/(a K0))
    ntk_change: float  # log_d |K_inf/K0 - 1| (0 means Theta(1))


def exponent_table(alpha, b_u, b_w, c_u, c_w) -> dict[str, np.ndarray]:
    """Exponents for broadcastable arrays of settings: name -> array (``label`` as codes into LABELS)."""
    arrays = [np.asarray(v, dtype=float) for v in (alpha, b_u, b_w, c_u, c_w)]
    for name, arr in zip(EXPONENT_NAMES, arrays):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must be finite, got {float(arr[~np.isfinite(arr)].ravel()[0])!r}")
    shape = np.broadcast_shapes(*(a.shape for a in arrays))
    flat = np.stack([np.broadcast_to(a, shape).ravel() for a in arrays])
    out = kernels.exponent_grid(flat).reshape((len(EXPONENTS),) + shape)
    return dict(zip(EXPONENTS, out))


def phase_exponents(alpha: float, b_u: float, b_w: float, c_u: float, c_w: float) -> Exponents:
    """Phase of kappa ~ d^-alpha, sigma_u ~ d^-b_u, sigma_w ~ d^-b_w, eta_u ~ d^-c_u, eta_w ~ d^-c_w.

    Spec E.3: gamma = x - |rho|/2 < 0 is the kernel phase; gamma >= 0 is feature learning, by
    alignment when rho = 0 and by rescaling otherwise.
    """
    table = exponent_table(alpha, b_u, b_w, c_u, c_w)
    values = {name: float(v) for name, v in table.items()}
    return Exponents(label=LABELS[int(values.pop("label"))], **values)
