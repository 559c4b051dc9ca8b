"""Named parametrizations: how kappa, the init scales and the learning rates scale with width.

A parametrization fixes exponents (alpha, b_u, b_w, c_u, c_w) of the width d; on top of that base
a user sets multipliers. The absolute hyperparameters of a width-d network are

    kappa   = d^-alpha * output_scale
    sigma_u = d^-b_u   * init_scale_u     (init_scale_u defaults to init_scale)
    sigma_w = d^-b_w   * init_scale_w     (init_scale_w defaults to init_scale)
    eta_u   = d^-c_u   * lr_u
    eta_w   = d^-c_w   * lr_w             (or lr_u * lr_ratio when lr_ratio is given)

Every multiplier defaults to 1 (``init_scale`` too). ``lr_ratio`` is the other way to set
``lr_w``: it makes eta_w / eta_u = lr_ratio * d^(c_u - c_w), lr_ratio times the base ratio.
Giving both ``lr_w`` and ``lr_ratio``, or ``init_scale`` together with both per-layer init
scales, is refused: one of them would have no effect.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .gram import Gram, sample_gram
from .params import Model, check_finite, check_positive

EXPONENT_NAMES = ("alpha", "b_u", "b_w", "c_u", "c_w")
#: (alpha, b_u, b_w, c_u, c_w) of the named parametrizations.
PARAMETRIZATIONS = {
    "ntk": (0.5, 0.0, 0.0, 0.0, 0.0),
    "mean-field": (1.0, 0.0, 0.0, 0.0, 0.0),
    "mup": (0.0, 1.0, 0.0, 1.0, -1.0),
    "standard": (0.0, 0.5, 0.0, 0.0, 0.0),
}
#: The multipliers a user may set, each > 0 (absent means its default).
MULTIPLIERS = ("output_scale", "init_scale", "init_scale_u", "init_scale_w", "lr_u", "lr_w", "lr_ratio")
#: The absolute hyperparameters, in the order of ``Model`` and of the cell inputs.
ABSOLUTE = {  # name -> (symbol, width exponent)
    "output_scale": ("κ", "alpha"),
    "init_scale_u": ("σ_u", "b_u"),
    "init_scale_w": ("σ_w", "b_w"),
    "lr_u": ("η_u", "c_u"),
    "lr_w": ("η_w", "c_w"),
}


def check_multipliers(given) -> None:
    """Refuse combinations in which one multiplier would have no effect (ValueError naming both)."""
    if "lr_w" in given and "lr_ratio" in given:
        raise ValueError("give either --lr-w or --lr-ratio, not both: lr_ratio sets lr_w = lr_u * lr_ratio")
    if {"init_scale", "init_scale_u", "init_scale_w"} <= set(given):
        raise ValueError(
            "--init-scale has no effect when both --init-scale-u and --init-scale-w are given; drop one of them"
        )


def absolute(param: str, width, multipliers: dict) -> dict[str, np.ndarray]:
    """Absolute kappa, sigma_u, sigma_w, eta_u, eta_w (keys of ``ABSOLUTE``) from the multipliers given.

    ``multipliers`` maps names of ``MULTIPLIERS`` to floats or broadcastable arrays; absent ones
    take their defaults. ``width`` broadcasts with them.
    """
    check_multipliers(multipliers)
    alpha, b_u, b_w, c_u, c_w = PARAMETRIZATIONS[param]
    d = np.asarray(width, dtype=float)
    get = multipliers.get
    init = get("init_scale", 1.0)
    lr_u = get("lr_u", 1.0)
    lr_w = lr_u * get("lr_ratio") if "lr_ratio" in multipliers else get("lr_w", 1.0)
    return {
        "output_scale": d**-alpha * get("output_scale", 1.0),
        "init_scale_u": d**-b_u * get("init_scale_u", init),
        "init_scale_w": d**-b_w * get("init_scale_w", init),
        "lr_u": d**-c_u * lr_u,
        "lr_w": d**-c_w * lr_w,
    }


#: Typical sizes a cell's arithmetic needs (name -> meaning), each kept within [1e-290, 1e290].
SIZES = {
    "kappa": "the output scale κ",
    "sigma_u": "σ_u",
    "sigma_w": "σ_w",
    "eta_u": "η_u",
    "eta_w": "η_w",
    "uu": "|u0|² ≈ d σ_u²",
    "ww": "|w0|² ≈ d σ_w²",
    "k0": "the NTK at init K0 ≈ κ² d (η_u σ_w² + η_w σ_u²)",
    "f0": "the initial output scale κ d σ_u σ_w",
    "d2": "|u0|² |w0|² ≈ d² σ_u² σ_w²",
}
OUT_OF_RANGE = "outside the range a network can be computed in (1e-290 to 1e290); narrow the ranges or the values"


def check_sizes(width, values: dict) -> tuple[str, float, tuple] | None:
    """The first typical size outside [1e-290, 1e290] as (its meaning, value, index), or None.

    ``values`` holds absolute hyperparameters (keys of ``ABSOLUTE``, arrays broadcasting with width).
    """
    d = np.asarray(width, dtype=float)
    values = {k: np.asarray(v, dtype=float) for k, v in values.items()}  # numpy: overflow gives inf, no exception
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        uu, ww = d * values["init_scale_u"] ** 2, d * values["init_scale_w"] ** 2
        sizes = {
            "kappa": values["output_scale"],
            "sigma_u": values["init_scale_u"],
            "sigma_w": values["init_scale_w"],
            "eta_u": values["lr_u"],
            "eta_w": values["lr_w"],
            "uu": uu,
            "ww": ww,
            "k0": values["output_scale"] ** 2 * (values["lr_u"] * ww + values["lr_w"] * uu),
            "f0": values["output_scale"] * np.sqrt(uu) * np.sqrt(ww),
            "d2": uu * ww,
        }
    for key, value in sizes.items():
        value = np.broadcast_to(np.asarray(value, dtype=float), np.broadcast(d, *sizes.values()).shape)
        bad = ~((value >= 1e-290) & (value <= 1e290))
        if bad.any():
            at = np.unravel_index(int(np.flatnonzero(bad)[0]), bad.shape)
            return SIZES[key], float(value[at]), at
    return None


def _power(exponent: float) -> str:
    if exponent == 0:
        return ""
    frac = {0.5: "1/2", -0.5: "-1/2", 1.0: "", -1.0: "-1"}.get(exponent, f"{exponent:g}")
    return "d" if frac == "" else f"d^{frac}" if "/" not in frac else f"d^({frac})"


def formulas(param: str, given: dict[str, str], math: bool = False) -> str:
    """One line of the absolute hyperparameters as functions of the width d, e.g.
    ``κ = d^(-1/2), σ_u = σ_w = init_scale, η_u = η_w = 1`` (``given`` maps multiplier names to the
    text to print for them: a number or an axis name); ``math=True`` writes matplotlib mathtext."""
    exps = dict(zip(EXPONENT_NAMES, PARAMETRIZATIONS[param]))
    init = given.get("init_scale", "1")
    lr_u = given.get("lr_u", "1")
    coef = {
        "output_scale": given.get("output_scale", "1"),
        "init_scale_u": given.get("init_scale_u", init),
        "init_scale_w": given.get("init_scale_w", init),
        "lr_u": lr_u,
        "lr_w": (f"{lr_u}·{given['lr_ratio']}" if lr_u != "1" else given["lr_ratio"])
        if "lr_ratio" in given
        else given.get("lr_w", "1"),
    }
    terms = {}
    for name, (symbol, exp_name) in ABSOLUTE.items():
        power, c = _power(-exps[exp_name]), coef[name]
        terms[symbol] = (power if c == "1" else f"{c}·{power}") if power else c
    parts = [f"κ = {terms['κ']}"]
    for a, b in (("σ_u", "σ_w"), ("η_u", "η_w")):
        parts += [f"{a} = {b} = {terms[a]}"] if terms[a] == terms[b] else [f"{a} = {terms[a]}", f"{b} = {terms[b]}"]
    return ", ".join(_mathtext(p) for p in parts) if math else ", ".join(parts)


def _mathtext(text: str) -> str:
    """``σ_u = init_scale·d^(-1/2)`` as ``$\\sigma_u = \\mathrm{init\\_scale}\\cdot d^{-1/2}$``."""
    out = []
    for token in re.split(r"(\s+|·|=)", text):
        if token in MULTIPLIERS:
            out.append(r"\mathrm{" + token.replace("_", r"\_") + "}")
        else:
            token = re.sub(r"d\^\((.+?)\)|d\^(-?[\d.]+)", lambda m: "d^{" + (m.group(1) or m.group(2)) + "}", token)
            out.append({"κ": r"\kappa", "σ_u": r"\sigma_u", "σ_w": r"\sigma_w", "η_u": r"\eta_u", "η_w": r"\eta_w",
                        "·": r"\cdot "}.get(token, token))  # fmt: skip
    return "$" + "".join(out) + "$"


def base_table() -> str:
    """The base scalings of every named parametrization, one line each (for --help and the README)."""
    lines = []
    for name in PARAMETRIZATIONS:
        lines.append(f"  {name:<11} {formulas(name, {})}")
    return "\n".join(lines)


@dataclass(frozen=True)
class Configuration:
    """One network: width and absolute hyperparameters (kappa, sigma_u, sigma_w, eta_u, eta_w, target m).

    ``model`` is the :class:`~phasefl.params.Model` (with E[x^2] = 1, E[xy] = target);
    ``sample(seed)`` draws the Gram numbers of an i.i.d. Gaussian initialization of this width.
    """

    parametrization: str
    width: float
    output_scale: float
    init_scale_u: float
    init_scale_w: float
    lr_u: float
    lr_w: float
    target: float = 1.0

    @property
    def model(self) -> Model:
        return Model(self.output_scale, self.lr_u, self.lr_w, 1.0, self.target)

    def sample(self, seed=None, size=None) -> Gram:
        """Gram numbers (|u0|^2, |w0|^2, u0.w0, d2) of i.i.d. N(0, sigma^2) weights (exact, O(1) in width)."""
        return sample_gram(self.width, self.init_scale_u, self.init_scale_w, size=size, seed=seed)

    def describe(self) -> str:
        return (
            f"{self.parametrization} at width d = {self.width:g}: κ = {self.output_scale:.6g}, "
            f"σ_u = {self.init_scale_u:.6g}, σ_w = {self.init_scale_w:.6g}, η_u = {self.lr_u:.6g}, "
            f"η_w = {self.lr_w:.6g}, target m = {self.target:g}"
        )


def parametrization(
    name: str,
    width: float,
    *,
    output_scale: float = 1.0,
    init_scale: float | None = None,
    init_scale_u: float | None = None,
    init_scale_w: float | None = None,
    lr_u: float = 1.0,
    lr_w: float | None = None,
    lr_ratio: float | None = None,
    target: float = 1.0,
) -> Configuration:
    """Absolute hyperparameters of a named parametrization at one width, with multipliers on its base.

    ``name`` is one of ``ntk``, ``mean-field``, ``mup``, ``standard`` (exponents in
    ``PARAMETRIZATIONS``); the formulas are in this module's docstring. Example::

        >>> phasefl.parametrization("mup", width=4096, init_scale=2.0).describe()
        'mup at width d = 4096: κ = 1, σ_u = 0.000488281, σ_w = 2, η_u = 0.000244141, η_w = 4096, target m = 1'

    Raises ValueError for an unknown name, a width < 1, a non-positive multiplier or a
    combination in which one multiplier would have no effect.
    """
    if name not in PARAMETRIZATIONS:
        raise ValueError(f"unknown parametrization {name!r}; choose from {', '.join(PARAMETRIZATIONS)}")
    width = check_positive("width", width)
    if width < 1:
        raise ValueError(f"width must be >= 1 (hidden units), got {width!r}")
    given = {
        k: check_positive(k, v)
        for k, v in dict(
            output_scale=output_scale,
            init_scale=init_scale,
            init_scale_u=init_scale_u,
            init_scale_w=init_scale_w,
            lr_u=lr_u,
            lr_w=lr_w,
            lr_ratio=lr_ratio,
        ).items()
        if v is not None
    }
    values = {k: float(v) for k, v in absolute(name, width, given).items()}
    bad = check_sizes(width, values)
    if bad is not None:
        raise ValueError(f"{name} at width {width:g}: {bad[0]} = {bad[1]:.3g} is {OUT_OF_RANGE}")
    return Configuration(name, width, target=check_finite("target", target), **values)
