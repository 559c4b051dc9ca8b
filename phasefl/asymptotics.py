"""Width -> infinity exponents and the exponent-plane phase rule (spec E.3), numerically.

The rule is derived in ``phasefl.symbolic.asymptotics`` and lowered to the generated module
like the closed form, so this module never imports SymPy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from . import __version__, kernels
from ._generated.closed_form import EXPONENTS
from .ranges import Axis, AxisInfo, parse_range
from .regimes import LABELS
from .scalings import EXPONENT_NAMES, PARAMETRIZATIONS  # (also re-exported: the exponent tables live in scalings)

EXPONENT_MEANING = {
    "alpha": "output scale kappa ~ d^-alpha",
    "b_u": "init scale of u, sigma_u ~ d^-b_u",
    "b_w": "init scale of w, sigma_w ~ d^-b_w",
    "c_u": "learning rate of u, eta_u ~ d^-c_u",
    "c_w": "learning rate of w, eta_w ~ d^-c_w",
}
#: Each exponent as a quantity of the range parser (any sign, linearly spaced), with its default axis range.
EXPONENT_AXES = {
    name: AxisInfo(EXPONENT_MEANING[name], "1", default, positive=False)
    for name, default in {
        "alpha": "-0.5:2.5:301", "b_u": "-1:1.5:251", "b_w": "-1:1.5:251", "c_u": "-2:2:201", "c_w": "-2:2:201",
    }.items()
}  # fmt: skip
#: What each variable of the exponent plane is.
PLANE_VARIABLES = {
    "x": "effective output scale exponent",
    "rho": "layer-imbalance exponent log_d r",
    "gamma": "log_d Gamma (target strength)",
    "gamma0": "log_d Gamma0",
    "phi0": "log_d |F0|",
    "k0": "log_d K0",
    "ntk_change": "log_d |K_inf/K0 - 1|",
    "label": "phase as width -> infinity",
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


#: How the named parametrizations are written in titles and on the exponent plane's markers.
PARAMETRIZATION_TITLES = {"ntk": "NTK", "mean-field": "mean-field", "mup": "μP", "standard": "standard"}


def plane_markers(names, values, fixed) -> list[dict]:
    """Markers of the named parametrizations on an exponent plane: each one on the plane, or else
    the plane point with the same (x, rho) (only those matter).

    ``names``: the one or two exponents of the plane's axes; ``values``: name -> increasing axis
    values (only points within their range get a marker); ``fixed``: the other exponents' values.
    Each marker is a dict with ``name``, ``x``, ``y``, ``on_plane`` and ``marker``; parametrizations
    at the same point share one, named "A = B".
    """
    dx = {"alpha": 1, "b_u": 1, "b_w": 1, "c_u": 0, "c_w": 0}
    drho = {"alpha": 0, "b_u": -2, "b_w": 2, "c_u": 1, "c_w": -1}
    out: list[dict[str, Any]] = []
    for pname, exps in PARAMETRIZATIONS.items():
        p = dict(zip(EXPONENT_NAMES, exps))
        on_plane = all(abs(p[n] - fixed[n]) < 1e-12 for n in fixed)
        if on_plane:
            point = [p[names[0]], p[names[1]] if len(names) > 1 else 0.0]
        else:
            if len(names) < 2:
                continue
            x_of = lambda e: e["alpha"] + e["b_u"] + e["b_w"] - 1  # noqa: E731
            rho_of = lambda e: e["c_u"] - e["c_w"] + 2 * (e["b_w"] - e["b_u"])  # noqa: E731
            here = {**fixed, names[0]: 0.0, names[1]: 0.0}
            a = np.array([[dx[names[0]], dx[names[1]]], [drho[names[0]], drho[names[1]]]], dtype=float)
            if abs(np.linalg.det(a)) < 1e-12:
                continue
            point = list(np.linalg.solve(a, [x_of(p) - x_of(here), rho_of(p) - rho_of(here)]))
        lo = [values[n][0] for n in names]
        hi = [values[n][-1] for n in names]
        if not all(lo[i] <= point[i] <= hi[i] for i in range(len(names))):
            continue
        same = [mk for mk in out if abs(mk["x"] - point[0]) < 1e-9 and abs(mk["y"] - point[-1]) < 1e-9]
        if same:  # parametrizations with the same (x, rho) share one marker
            same[0]["name"] += " = " + PARAMETRIZATION_TITLES[pname]
            same[0]["on_plane"] |= on_plane
        else:
            title = PARAMETRIZATION_TITLES[pname]
            out.append({"name": title, "x": point[0], "y": point[-1], "on_plane": on_plane, "marker": "o"})
    return out


def plane_settings(names: list[str], texts: dict[str, str | None], param: str) -> tuple[dict, dict]:
    """(axes, fixed) of an exponent plane: each axis in ``names`` as increasing values (its text, or its
    default range), every other exponent fixed at its text or at the base of ``param``. ValueError
    naming the option for a bad text."""
    base = dict(zip(EXPONENT_NAMES, PARAMETRIZATIONS[param]))
    axes, fixed = {}, {}
    for name in EXPONENT_NAMES:
        text, option = texts.get(name), f"--{name.replace('_', '-')}"
        if name in names:
            axis = parse_range(name, text or EXPONENT_AXES[name].default, EXPONENT_AXES[name])
            if not isinstance(axis, Axis) or axis.spacing != "linear" or not axis.values[0] < axis.values[-1]:
                raise ValueError(f"{option} is an axis: give finite START < STOP and N >= 2 (linear), got {text!r}")
            axes[name] = axis.values
        else:
            value = base[name] if text is None else parse_range(name, text, EXPONENT_AXES[name])
            if isinstance(value, Axis):
                raise ValueError(f"{option} is not an axis: give one number, got {text!r}")
            fixed[name] = float(value)
    return {name: axes[name] for name in names}, fixed  # the axes in the order asked for


def exponent_plane(axes: dict[str, np.ndarray], fixed: dict[str, float], param: str):
    """The width -> infinity exponent plane as an ``xarray.Dataset``: every variable of
    ``exponent_table`` (described in PLANE_VARIABLES) over the grid of ``axes`` (one or two exponents),
    with ``fixed`` the other exponents."""
    import xarray as xr

    names = list(axes)
    grids = dict(zip(names, np.meshgrid(*axes.values(), indexing="ij")))
    table = exponent_table(*({**fixed, **grids}[n] for n in EXPONENT_NAMES))
    coords = {n: (n, axes[n], {"long_name": f"{n}  ({EXPONENT_MEANING[n]})", "units": "1"}) for n in names}
    ds = xr.Dataset(coords=coords)
    for key, arr in table.items():
        ds[key] = (tuple(names), arr.astype(np.int8) if key == "label" else arr)
        ds[key].attrs.update(long_name=PLANE_VARIABLES[key], units="1")
    ds["label"].attrs.update(flag_values=np.arange(len(LABELS), dtype=np.int8), flag_meanings=" ".join(LABELS))
    ds.attrs.update(
        title="phasefl width -> infinity exponent plane",
        phasefl_version=__version__,
        parametrization=param,
        **{f"fixed_{k}": float(v) for k, v in fixed.items()},
    )
    return ds


def plane_title(fixed: dict[str, float]) -> str:
    """The exponent plane's figure title: the fixed exponents, then what each exponent scales."""
    symbol = {"alpha": r"\alpha", "b_u": "b_u", "b_w": "b_w", "c_u": "c_u", "c_w": "c_w"}
    fixed_text = ", ".join(f"${symbol[k]} = {v:g}$" for k, v in fixed.items())
    return (
        f"Width → ∞ phase plane ({fixed_text})\n"
        r"$\kappa \propto d^{-\alpha}$, $\sigma_u \propto d^{-b_u}$, $\sigma_w \propto d^{-b_w}$, "
        r"$\eta_u \propto d^{-c_u}$, $\eta_w \propto d^{-c_w}$"
    )
