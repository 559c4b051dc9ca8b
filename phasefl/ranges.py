"""The quantities a diagram can sweep, and the one parser of their ranges (``START:STOP:N[:log|:lin]``
or one number) that every command uses."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class AxisInfo:
    long_name: str
    units: str
    default: str  # default range "start:stop:n"
    positive: bool = True  # log-spaced by default; must stay > 0


AXES: dict[str, AxisInfo] = {
    "width": AxisInfo("width d (rounded to whole units)", "hidden units", "1:1e6:64"),
    "init_scale": AxisInfo("init scale of both layers (sigma_u and sigma_w unless set)", "x base sigma", "1e-3:1e3:64"),
    "init_scale_u": AxisInfo("init scale of u", "x base sigma_u", "1e-3:1e3:64"),
    "init_scale_w": AxisInfo("init scale of w", "x base sigma_w", "1e-3:1e3:64"),
    "output_scale": AxisInfo("output scale", "x base kappa", "1e-3:1e3:64"),
    "lr_u": AxisInfo("learning rate of u", "x base eta_u", "1e-3:1e3:64"),
    "lr_w": AxisInfo("learning rate of w", "x base eta_w", "1e-3:1e3:64"),
    "lr_ratio": AxisInfo(
        "learning-rate ratio (eta_w = lr_ratio x eta_u, on the base)", "x base eta_w/eta_u", "1e-4:1e4:64"
    ),
    "target": AxisInfo("target slope m", "1", "-2:2:65", positive=False),
}


@dataclass(frozen=True)
class Axis:
    name: str
    values: np.ndarray = field(compare=False)
    spacing: str  # "log" or "linear"


def parse_range(name: str, text: str, info: AxisInfo | None = None) -> Axis | float:
    """``start:stop:n[:log|:lin]`` gives an axis; a single number gives a fixed value.

    Positive quantities are log-spaced by default, ``target`` linearly. ``info`` describes the
    quantity (default: ``AXES[name]``; the exponents of ``phasefl.asymptotics`` have their own).
    Raises ValueError with a message that names the option and the bad text.
    """
    info = AXES[name] if info is None else info
    parts = text.split(":")
    if len(parts) == 1:
        try:
            value = float(parts[0])
        except ValueError:
            raise ValueError(
                f"--{name.replace('_', '-')} expects START:STOP:N[:log|:lin] or a number, got {text!r}"
            ) from None
        _check_value(name, info, np.array([value]))
        return float(np.round(value)) if name == "width" else value
    try:
        if len(parts) not in (3, 4):
            raise ValueError
        start, stop, n = float(parts[0]), float(parts[1]), parts[2]
        n_points = int(n)
        if str(n_points) != n.strip():
            raise ValueError
    except ValueError:
        raise ValueError(
            f"--{name.replace('_', '-')} expects START:STOP:N[:log|:lin] or a number, got {text!r}"
        ) from None
    asked = parts[3] if len(parts) == 4 else ("log" if info.positive else "linear")
    spacing = {"lin": "linear", "linear": "linear", "log": "log"}.get(asked)
    if spacing is None:
        raise ValueError(f"--{name.replace('_', '-')}: spacing must be 'log' or 'lin', got {parts[3]!r}")
    if n_points < 1 or (n_points == 1 and start != stop) or (n_points > 1 and start == stop):
        raise ValueError(f"--{name.replace('_', '-')}: empty or degenerate range {text!r}")
    if n_points > 4096:
        raise ValueError(f"--{name.replace('_', '-')}: at most 4096 points per axis, got {n_points}")
    if spacing == "log":
        if not (start > 0 and stop > 0):
            raise ValueError(f"--{name.replace('_', '-')}: a log-spaced range needs START, STOP > 0, got {text!r}")
        values = 10.0 ** np.linspace(math.log10(start), math.log10(stop), n_points)
    else:
        values = np.linspace(start, stop, n_points)
    _check_value(name, info, values)
    if name == "width":  # a width counts hidden units: whole numbers, each once
        values = np.unique(np.round(values))
    return Axis(name, values, spacing)


def _check_value(name: str, info: AxisInfo, values: np.ndarray) -> None:
    bad = ~np.isfinite(values)
    if info.positive:
        bad |= values <= 0
    if name == "width":
        bad |= values < 1
    if bad.any():
        need = (
            "a finite number >= 1 (hidden units)"
            if name == "width"
            else ("a finite number > 0 (a multiplier)" if info.positive else "a finite number")
        )
        raise ValueError(f"--{name.replace('_', '-')} must be {need}, got {float(values[bad][0]):g}")
