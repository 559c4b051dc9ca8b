"""Order parameters first, then regime labels with thresholds as settings (spec E.1, F).

Default rule of spec F, with rK = K_inf/K0 - 1 computed without cancellation:

    |rK| <  kernel_threshold                          -> kernel
    |rK| >= kernel_threshold and zeta >= zeta_threshold -> rescaling (dominant layer u or w)
    rK   <= -kernel_threshold and zeta < zeta_threshold -> disalignment
    rK   >=  kernel_threshold and zeta < zeta_threshold -> alignment
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import kernels
from .gram import gram
from .schema import ORDER_PARAMETERS
from .solve import cell_inputs, model_cell, require_representable

LABELS = ("kernel", "alignment", "disalignment", "rescaling")
KERNEL, ALIGNMENT, DISALIGNMENT, RESCALING = range(4)
KERNEL_THRESHOLD = 0.05  # epsilon_K of spec F
ZETA_THRESHOLD = 0.9  # zeta* of spec F


def _check_thresholds(kernel_threshold: float, zeta_threshold: float) -> None:
    if not (np.isfinite(kernel_threshold) and kernel_threshold > 0):
        raise ValueError(f"kernel_threshold must be finite and > 0, got {kernel_threshold!r}")
    if not (0 <= zeta_threshold <= 1):
        raise ValueError(f"zeta_threshold must be in [0, 1], got {zeta_threshold!r}")


def label_codes(ntk_rel_change, zeta, kernel_threshold=KERNEL_THRESHOLD, zeta_threshold=ZETA_THRESHOLD):
    """Label codes (indices into LABELS) from the relative NTK change and the imbalance fraction."""
    _check_thresholds(kernel_threshold, zeta_threshold)
    rk = np.asarray(ntk_rel_change, dtype=float)
    zeta = np.asarray(zeta, dtype=float)
    return np.select(
        [np.abs(rk) < kernel_threshold, zeta >= zeta_threshold, rk < 0],
        [KERNEL, RESCALING, DISALIGNMENT],
        default=ALIGNMENT,
    )


def margin(ntk_rel_change, zeta, kernel_threshold=KERNEL_THRESHOLD, zeta_threshold=ZETA_THRESHOLD):
    """Decades between the deciding order parameters and their thresholds (the nearest one):
    |log10(|rK| / kernel_threshold)| in the kernel regime, else also |log10(zeta / zeta_threshold)|."""
    rk, zeta = np.asarray(ntk_rel_change, dtype=float), np.asarray(zeta, dtype=float)
    with np.errstate(divide="ignore"):
        m_k = np.abs(np.log10(np.abs(rk) / kernel_threshold))
        m_z = np.abs(np.log10(zeta / zeta_threshold)) if zeta_threshold > 0 else np.inf
    return np.where(np.abs(rk) < kernel_threshold, m_k, np.minimum(m_k, m_z))


@dataclass(frozen=True)
class Classification:
    """Regime of one network (or arrays of codes for a batch) and its order parameters (spec E.1)."""

    label: str | np.ndarray  # a name in LABELS (one network) or an array of codes (batch)
    ntk_ratio: float | np.ndarray  # K_inf / K0
    ntk_rel_change: float | np.ndarray  # K_inf / K0 - 1, without cancellation
    gamma: float | np.ndarray  # target strength g|m| / K0
    gamma0: float | np.ndarray  # initial-output strength g|F0| / K0
    zeta: float | np.ndarray  # imbalance fraction |C| / sqrt(C^2 + 4 eta_u eta_w D^2)
    imbalance: float | np.ndarray  # r = eta_w |u0|^2 / (eta_u |w0|^2)
    dominant_layer: str | np.ndarray  # "u" or "w": the layer whose norm carries the NTK
    #: every order parameter of ``phasefl.schema.ORDER_PARAMETERS`` by name (those above, the dominant layer
    #: as 0 for u and 1 for w, the learning time t_half), described by ``phasefl.schema.describe``
    order: dict = field(default_factory=dict)


def classify_batch(
    output_scale, lr_u, lr_w, x_var, xy_cov, uu, ww, uw, d2,
    kernel_threshold=KERNEL_THRESHOLD, zeta_threshold=ZETA_THRESHOLD,
) -> Classification:  # fmt: skip
    """Classify a batch of cells (arguments broadcast as in ``solve_batch``); labels are codes."""
    inputs, shape = cell_inputs(output_scale, lr_u, lr_w, x_var, xy_cov, uu, ww, uw, d2)
    with kernels.compile_notice("phasefl.classify"):
        require_representable(inputs)
        par = dict(zip(ORDER_PARAMETERS, kernels.orders(inputs).reshape((len(ORDER_PARAMETERS),) + shape)))
    codes = label_codes(par["ntk_rel_change"], par["zeta"], kernel_threshold, zeta_threshold)
    return Classification(
        label=codes,
        ntk_ratio=par["ntk_ratio"],
        ntk_rel_change=par["ntk_rel_change"],
        gamma=par["gamma"],
        gamma0=par["gamma0"],
        zeta=par["zeta"],
        imbalance=par["imbalance"],
        dominant_layer=np.where(par["dominant_w"] > 0, "w", "u"),
        order=par,
    )


def classify(
    model, u0, w0, kernel_threshold=KERNEL_THRESHOLD, zeta_threshold=ZETA_THRESHOLD, dynamics="flow", **options
):
    """Regime of the network trained from u0, w0: kernel, alignment, disalignment or rescaling.

    Uses the default rule of spec F with changeable thresholds; see the module docstring. With
    ``dynamics="gd"`` and ``step=h`` (and optionally ``horizon``), gradient descent with that step:
    a ``phasefl.descent.DescentClassification``, whose labels add catapult, oscillating and divergent.
    """
    if dynamics == "gd":
        from .descent import classify_gd  # (descent builds on this module)

        return classify_gd(model, u0, w0, kernel_threshold=kernel_threshold, zeta_threshold=zeta_threshold, **options)
    if dynamics != "flow":
        raise ValueError(f"classify takes dynamics 'flow' or 'gd', got {dynamics!r}")
    if options:
        raise TypeError(f"dynamics 'flow' takes no options; got {', '.join(sorted(options))}")
    batch = classify_batch(*model_cell(model, gram(u0, w0)), kernel_threshold, zeta_threshold)
    return Classification(
        label=LABELS[int(batch.label)],
        dominant_layer=str(batch.dominant_layer),
        order={name: float(value) for name, value in batch.order.items()},
        **{
            f: float(getattr(batch, f)) for f in ("ntk_ratio", "ntk_rel_change", "gamma", "gamma0", "zeta", "imbalance")
        },
    )
