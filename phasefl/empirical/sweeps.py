"""Grids of deep-network hyperparameters -> trained networks -> a labelled ``xarray.Dataset``.

The same axes, names and output variables as ``phasefl.sweep`` where they mean the same thing:
``init_scale`` (sigma of every layer, x the base std), ``lr_ratio`` (eta_hidden / eta_last at a
fixed geometric mean; the exact model's eta_w / eta_u), ``output_scale`` (kappa, x the base
width^-1/2 for ``param="ntk"`` or width^-1 for ``"mean-field"``) and ``width``. Every cell trains
``seeds`` networks (``phasefl.empirical.train``) and stores the most frequent label and the
median of every order parameter, and, for comparison, the exact model's label and order
parameters at the same width, init scale, learning rates and output scale (``phasefl.sweep``,
target slope m = 1, i.i.d. Gaussian init).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
import xarray as xr

from .. import __version__
from ..regimes import KERNEL_THRESHOLD, LABELS, ZETA_THRESHOLD, label_codes, margin
from ..sweep import Axis, parse_range
from .data import digits
from .grid import AXES, AXIS_INFO, BASES, DEFAULT_RANGES, FIXED_DEFAULTS, MAX_WIDTH
from .network import ACTIVATIONS, MLP
from .training import SUMMARY, Schedule, train

EXACT_SEEDS = 8


@dataclass(frozen=True)
class EmpiricalSpec:
    """Everything that determines an empirical sweep (stored, as JSON, in the output's attributes)."""

    axes: tuple[Axis, ...]
    fixed: dict[str, float] = field(default_factory=dict)
    depth: int = 3
    activation: str = "relu"
    param: str = "ntk"
    n_train: int = 1200
    probe_size: int = 256
    data_seed: int = 0
    schedule: Schedule = field(default_factory=Schedule)
    seeds: int = 1
    seed: int = 0
    kernel_threshold: float = KERNEL_THRESHOLD
    zeta_threshold: float = ZETA_THRESHOLD
    exact: bool = True

    def __post_init__(self) -> None:
        names = [a.name for a in self.axes]
        if not 1 <= len(names) <= 2 or len(set(names)) != len(names):
            raise ValueError(f"a sweep needs one or two distinct axes, got {names}")
        for name in names + list(self.fixed):
            if name not in AXES:
                raise ValueError(f"unknown axis {name!r}; choose from {', '.join(AXES)}")
        if self.param not in BASES:
            raise ValueError(f"--param must be one of {', '.join(BASES)}, got {self.param!r}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"--activation must be one of {', '.join(ACTIVATIONS)}, got {self.activation!r}")
        if not 2 <= self.depth <= 8:
            raise ValueError(f"--depth must be between 2 and 8 weight layers, got {self.depth}")
        if self.seeds < 1:
            raise ValueError(f"--seeds must be >= 1, got {self.seeds}")
        widths = [a.values for a in self.axes if a.name == "width"] + [[self.fixed.get("width", 1)]]
        if max(float(np.max(w)) for w in widths) > MAX_WIDTH:
            raise ValueError(f"--width: at most {MAX_WIDTH} hidden units")

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(a.values.size for a in self.axes)

    def describe(self) -> dict:
        out = {k: v for k, v in asdict(self).items() if k not in ("axes", "schedule")}
        out["schedule"] = asdict(self.schedule)
        out["axes"] = [
            {"name": a.name, "start": a.values[0], "stop": a.values[-1], "n": a.values.size, "spacing": a.spacing}
            for a in self.axes
        ]
        return out


def make_axis(name: str, text: str | None = None) -> Axis:
    """An axis from ``START:STOP:N[:log|:lin]`` (``phasefl.sweep.parse_range``: widths are whole numbers)."""
    if name not in AXES:
        raise ValueError(f"unknown axis {name!r}; choose from {', '.join(AXES)}")
    parsed = parse_range(name, DEFAULT_RANGES[name] if text is None else text)
    if not isinstance(parsed, Axis):
        raise ValueError(f"--{name.replace('_', '-')} is an axis: give START:STOP:N, got {text!r}")
    return parsed


def cell_values(spec: EmpiricalSpec) -> dict[str, np.ndarray]:
    """Axis-multiplier values of every cell (arrays of the grid shape), fixed ones filled in."""
    grids = np.meshgrid(*(a.values for a in spec.axes), indexing="ij")
    values = {name: np.full(spec.shape, float(spec.fixed.get(name, FIXED_DEFAULTS[name]))) for name in AXES}
    values.update({a.name: g for a, g in zip(spec.axes, grids)})
    return values


def network(spec: EmpiricalSpec, values: dict[str, float], input_dim: int) -> MLP:
    """The MLP of one cell."""
    width = int(round(values["width"]))
    return MLP(
        input_dim=input_dim,
        depth=spec.depth,
        width=width,
        activation=spec.activation,
        output_scale=values["output_scale"] * width ** -BASES[spec.param],
        init_scale=values["init_scale"],
        lr_ratio=values["lr_ratio"],
    )


def run_cells(spec: EmpiricalSpec, progress: Callable[[int], None] | None = None, data=None) -> dict[str, np.ndarray]:
    """Train every cell's networks; per-seed summaries as arrays of shape (seeds,) + grid shape."""
    data = digits(n_train=spec.n_train, probe_size=spec.probe_size, seed=spec.data_seed) if data is None else data
    values = cell_values(spec)
    out = {name: np.full((spec.seeds,) + spec.shape, np.nan) for name in SUMMARY}
    for index in np.ndindex(*spec.shape):
        cell = {name: float(v[index]) for name, v in values.items()}
        for s in range(spec.seeds):
            net = network(spec, cell, data.input_dim)
            try:
                run = train(
                    net,
                    data,
                    spec.schedule,
                    seed=spec.seed + s,
                    kernel_threshold=spec.kernel_threshold,
                    zeta_threshold=spec.zeta_threshold,
                )
            except FloatingPointError as err:
                where = ", ".join(f"{a.name} = {cell[a.name]:.4g}" for a in spec.axes)
                raise FloatingPointError(f"cell ({where}), seed {spec.seed + s}: {err}") from None
            for name, value in run.summary.items():
                out[name][(s,) + index] = value
        if progress is not None:
            progress(1)
    return out


VARIABLES = {
    "label": ("regime (most frequent over seeds): kernel, alignment, disalignment, rescaling", "1"),
    "label_fraction": ("fraction of seeds in each regime", "1"),
    "margin": ("distance of the deciding order parameter to its threshold (median)", "decades"),
    **{name: (f"{long} (median over seeds)", units) for name, (long, units) in SUMMARY.items()},
    "exact_label": ("exact model's regime at the same hyperparameters (most frequent over 8 inits)", "1"),
    "exact_ntk_ratio": ("exact model's K_inf/K0 (median)", "1"),
    "exact_zeta": ("exact model's imbalance fraction zeta (median)", "1"),
    "exact_kernel_distance": ("exact model's kernel-baseline distance (median)", "1"),
}


def sweep(spec: EmpiricalSpec, progress: Callable[[int], None] | None = None, data=None) -> xr.Dataset:
    """Train the grid of networks and return the labelled Dataset (see the module docstring).

    Variables: ``label`` (codes into ``phasefl.regimes.LABELS``), ``label_fraction``, ``margin``,
    every scalar of ``phasefl.empirical.train.SUMMARY`` (median over seeds) and, unless
    ``spec.exact`` is False, ``exact_label``, ``exact_ntk_ratio``, ``exact_zeta`` and
    ``exact_kernel_distance`` from the exact model. ``progress(1)`` is called after every cell.
    """
    data = digits(n_train=spec.n_train, probe_size=spec.probe_size, seed=spec.data_seed) if data is None else data
    per_seed = run_cells(spec, progress, data)
    codes = label_codes(per_seed["ntk_rel_change"], per_seed["zeta"], spec.kernel_threshold, spec.zeta_threshold)
    fractions = np.stack([(codes == k).mean(axis=0) for k in range(len(LABELS))])
    results = {
        "label": np.argmax(fractions, axis=0).astype(np.int8),
        "label_fraction": fractions,
        "margin": np.median(
            margin(per_seed["ntk_rel_change"], per_seed["zeta"], spec.kernel_threshold, spec.zeta_threshold), axis=0
        ),
    }
    results.update({name: np.median(v, axis=0) for name, v in per_seed.items()})
    if spec.exact:
        results.update(exact_counterpart(spec))
    dims = tuple(a.name for a in spec.axes)
    data_vars = {
        name: ((("regime",) if name == "label_fraction" else ()) + dims, value) for name, value in results.items()
    }
    coords = {
        a.name: (
            a.name,
            a.values,
            {"long_name": AXIS_INFO[a.name][0], "units": AXIS_INFO[a.name][1], "spacing": a.spacing},
        )
        for a in spec.axes
    }
    coords["regime"] = ("regime", np.array(LABELS), {"long_name": "regime"})
    ds = xr.Dataset(data_vars, coords=coords)
    for name in ds.data_vars:
        long_name, units = VARIABLES[str(name)]
        ds[name].attrs.update(long_name=long_name, units=units)
        if name in ("label", "exact_label"):
            ds[name].attrs.update(flag_values=np.arange(len(LABELS), dtype=np.int8), flag_meanings=" ".join(LABELS))
    ds.attrs.update(
        title="phasefl empirical phase diagram (deep nonlinear networks)",
        phasefl_version=__version__,
        parametrization=spec.param,
        seeds=spec.seeds,
        seed=spec.seed,
        kernel_threshold=spec.kernel_threshold,
        zeta_threshold=spec.zeta_threshold,
        spec=json.dumps(spec.describe(), default=float),
        data=json.dumps(data.describe()),
        model=(
            f"MLP, depth {spec.depth}, {spec.activation}, no biases, f = kappa W_L phi(...), hidden multipliers "
            "1/sqrt(fan_in); MSE; full-batch GD approximating gradient flow (phasefl.empirical)"
        ),
        ntk="learning-rate-weighted empirical NTK on a fixed probe batch; scale = trace",
    )
    return ds


def exact_counterpart(spec: EmpiricalSpec) -> dict[str, np.ndarray]:
    """The exact model's label and order parameters at the cells' hyperparameters (``phasefl.sweep``).

    Same width, init scale (x base 1), learning-rate ratio, output scale (x the same base) and
    parametrization; i.i.d. Gaussian init, 8 seeds, target slope m = 1.
    """
    from ..sweep import SweepSpec
    from ..sweep import sweep as exact_sweep

    fixed = {
        name: float(spec.fixed.get(name, FIXED_DEFAULTS[name]))
        for name in AXES
        if name not in [a.name for a in spec.axes]
    }
    exact = exact_sweep(
        SweepSpec(
            spec.axes, fixed, spec.param, EXACT_SEEDS, spec.seed, None, spec.kernel_threshold, spec.zeta_threshold
        )
    )
    return {
        "exact_label": exact["label"].values.astype(np.int8),
        "exact_ntk_ratio": exact["ntk_ratio"].values,
        "exact_zeta": exact["zeta"].values,
        "exact_kernel_distance": exact["kernel_distance"].values,
    }
