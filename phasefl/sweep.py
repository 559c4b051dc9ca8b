"""Grids of hyperparameters -> batched exact kernels -> a labelled ``xarray.Dataset``.

A sweep has one or two axes among ``AXES``. Every axis or fixed value other than width and
target is a multiplier on the base that the chosen parametrization gives at the cell's width
(``phasefl.scalings``: kappa = d^-alpha * output_scale, sigma_u = d^-b_u * init_scale_u with
init_scale_u defaulting to init_scale, eta_w = d^-c_w * lr_w or d^-c_w * lr_u * lr_ratio, ...);
target is the slope m (with E[x^2] = 1).

Initializations are i.i.d. Gaussian, drawn exactly through the Gram numbers. The draw of a
cell depends only on (seed, seed index, width), so a refined grid reuses the draws of the
coarse one at shared widths, and the init scales only rescale them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import xarray as xr

from . import __version__, kernels
from .baseline import initial_ntk
from .dynamics import backend
from .gram import Gram, bartlett, scale_bartlett
from .kernels import BLOCK_OUTPUTS, MEDIANS, QUARTILES
from .ranges import AXES, Axis, parse_range  # noqa: F401  (parse_range: kept importable from here, where sweeps are built)
from .regimes import KERNEL_THRESHOLD, LABELS, ZETA_THRESHOLD, label_codes, margin
from .scalings import OUT_OF_RANGE, PARAMETRIZATIONS, absolute, check_multipliers, check_sizes, formulas
from .schema import ORDER_PARAMETERS, describe
from .solve import cell_inputs, check_cell_arguments

#: Values of width and target when neither is swept nor given (multipliers: see ``phasefl.scalings``).
FIXED_DEFAULTS = {"width": 1000.0, "target": 1.0}


@dataclass(frozen=True)
class SweepSpec:
    """Everything that determines a sweep's result (stored in the output's attributes)."""

    axes: tuple[Axis, ...]
    fixed: dict[str, float]
    param: str = "ntk"
    seeds: int = 1
    seed: int = 0
    time: float | None = None
    kernel_threshold: float = KERNEL_THRESHOLD
    zeta_threshold: float = ZETA_THRESHOLD
    dynamics: str = "flow"  # a name in phasefl.dynamics.BACKENDS

    def __post_init__(self) -> None:
        if not 1 <= len(self.axes) <= 2 or len({a.name for a in self.axes}) != len(self.axes):
            raise ValueError(f"a sweep needs one or two distinct axes, got {[a.name for a in self.axes]}")
        if self.param not in PARAMETRIZATIONS:
            raise ValueError(f"--param must be one of {', '.join(PARAMETRIZATIONS)}, got {self.param!r}")
        if self.seeds < 1:
            raise ValueError(f"--seeds must be >= 1, got {self.seeds}")
        if self.time is not None and not (math.isfinite(self.time) and self.time >= 0):
            raise ValueError(f"--time must be finite and >= 0, got {self.time!r}")
        backend(self.dynamics)  # ValueError naming the registered dynamics
        check_multipliers(self.multipliers())
        _check_representable(self)

    def formulas(self, math: bool = False) -> str:
        """The absolute hyperparameters as functions of the width, with axis names and fixed values
        (``math=True``: matplotlib mathtext, for figures)."""
        given = {k: v if isinstance(v, str) else f"{v:g}" for k, v in self.multipliers().items()}
        return formulas(self.param, given, math)

    def multipliers(self) -> dict[str, float | str]:
        """The multipliers set by an axis (value: the axis name) or fixed (value: the number)."""
        given: dict[str, float | str] = {k: v for k, v in self.fixed.items() if k not in FIXED_DEFAULTS}
        given.update({a.name: a.name for a in self.axes if a.name not in FIXED_DEFAULTS})
        return given

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(a.values.size for a in self.axes)

    def describe(self) -> dict:
        out = {k: v for k, v in asdict(self).items() if k != "axes"}
        out["axes"] = [
            {"name": a.name, "start": a.values[0], "stop": a.values[-1], "n": a.values.size, "spacing": a.spacing}
            for a in self.axes
        ]
        out["exponents"] = dict(zip(("alpha", "b_u", "b_w", "c_u", "c_w"), PARAMETRIZATIONS[self.param]))
        return out


def cell_parameters(spec: SweepSpec) -> dict[str, np.ndarray]:
    """Absolute hyperparameters of every grid cell (arrays of the grid shape)."""
    return _cells(spec, spec.axes)


def _cells(spec: SweepSpec, axes: tuple[Axis, ...]) -> dict[str, np.ndarray]:
    shape = tuple(a.values.size for a in axes)
    grids = dict(zip((a.name for a in axes), np.meshgrid(*(a.values for a in axes), indexing="ij")))
    given = {k: grids.get(k, v) for k, v in spec.multipliers().items()}  # an axis's grid, or its fixed value
    d = grids.get("width", np.full(shape, spec.fixed.get("width", FIXED_DEFAULTS["width"])))
    target = grids.get("target", np.full(shape, spec.fixed.get("target", FIXED_DEFAULTS["target"])))
    cells = {"width": d} | {k: np.broadcast_to(v, shape) for k, v in absolute(spec.param, d, given).items()}
    return cells | {"x_var": np.ones(shape), "xy_cov": target}


def _check_representable(spec: SweepSpec) -> None:
    """ValueError naming the quantity and the corner of the grid where a cell's typical sizes leave
    float64's safe range (every quantity is a power law in each axis, so the corners bound it)."""
    ends = tuple(Axis(a.name, a.values[[0, -1]] if a.values.size > 1 else a.values, a.spacing) for a in spec.axes)
    c = _cells(spec, ends)
    bad = check_sizes(c["width"], c)
    if bad is not None:
        key, value, at = bad
        where = [f"{a.name} = {a.values[i]:g}" for a, i in zip(ends, at)] + [
            f"{k} = {v:g}" for k, v in spec.fixed.items()
        ]
        raise ValueError(f"{key} = {value:.3g} at {', '.join(where)}: {OUT_OF_RANGE}")


def width_key(width: float) -> int:
    """An integer key of a width that survives the rounding of differently spaced grids."""
    return int(round(math.log(width) * 1e9)) % (2**62)


def initializations(spec: SweepSpec, cells: dict[str, np.ndarray] | None = None) -> Gram:
    """Gram numbers of every seed's i.i.d. Gaussian init of every cell: arrays (seeds,) + grid shape.

    The draw of a cell depends only on (seed, seed index, width), so a refined grid reuses the draws
    of the coarse one at shared widths, and the init scales only rescale them.
    """
    cells = cell_parameters(spec) if cells is None else cells
    widths, inverse = np.unique(cells["width"].ravel(), return_inverse=True)
    std = np.empty((3, spec.seeds, widths.size))
    for j, w in enumerate(widths):
        rng = np.random.default_rng([spec.seed, width_key(w)])
        std[:, :, j] = bartlett(w, spec.seeds, rng)
    c1sq, c2sq, n = (v[:, inverse] for v in std)  # (seeds, n_cells)
    g = scale_bartlett(c1sq, c2sq, n, cells["init_scale_u"].ravel(), cells["init_scale_w"].ravel())
    shape = (spec.seeds,) + cells["width"].shape
    return Gram(*(np.reshape(v, shape) for v in g))


#: name -> (long_name, units) of the Dataset variables that the sweep adds to the order parameters
#: (whose medians over seeds it reports, described as in ``phasefl.schema``).
VARIABLES = {
    "label": ("regime (most frequent over seeds)", "1"),
    "label_fraction": ("fraction of seeds in each regime", "1"),
    "label_name": ("regime (most frequent over seeds), by name", "1"),
    "margin": ("distance of the deciding order parameter to its threshold (median)", "decades"),
    "ntk_plain_ratio": ("un-weighted NTK ratio K_plain_inf/K_plain0 (median)", "1"),
    "dominant_u": ("fraction of seeds where u is the dominant layer", "1"),
    "kernel_distance": ("kernel-baseline distance max_t|F - F_kernel|/|m - F0| (median)", "1"),
    "ntk_ratio_at_time": ("K(T)/K0 at the requested time (median)", "1"),
    "label_at_time": ("regime at the requested time (most frequent)", "1"),
    "loss_excess_at_time": ("excess loss at the requested time (median)", describe("loss_excess")[1]),
}
VARIABLES.update(
    {name: (f"{describe(name)[0]} (median)", describe(name)[1]) for name in ORDER_PARAMETERS if name in MEDIANS}
)
VARIABLES.update(
    {
        f"{name}_{q}": (VARIABLES[name][0].replace("(median)", f"({which} quartile over seeds)"), VARIABLES[name][1])
        for name in QUARTILES
        for q, which in (("q25", "first"), ("q75", "third"))
    }
)


def chunk_shape(shape: tuple[int, ...], block_cells: int) -> tuple[int, ...]:
    """Block shape of at most ``block_cells`` cells, filling the last axes first."""
    out, budget = [], max(1, block_cells)
    for n in reversed(shape):
        c = max(1, min(n, budget))
        out.append(c)
        budget = max(1, budget // c)
    return tuple(reversed(out))


def blocks(shape: tuple[int, ...], chunks: tuple[int, ...]) -> list[tuple[slice, ...]]:
    """The grid's blocks in C order, as tuples of slices."""
    counts = [-(-n // c) for n, c in zip(shape, chunks)]
    return [
        tuple(slice(i * c, min((i + 1) * c, n)) for i, c, n in zip(index, chunks, shape))
        for index in np.ndindex(*counts)
    ]


def evaluate_block(spec: SweepSpec, block: tuple[slice, ...]) -> dict[str, np.ndarray]:
    """Every per-cell output of one block (reduced over seeds), as arrays of the block's shape.

    A cell's result depends only on its own hyperparameters and its width's draws, so any
    split of the grid into blocks gives the same numbers, bit for bit.
    """
    axes = tuple(Axis(a.name, a.values[sl], a.spacing) for a, sl in zip(spec.axes, block))
    cells = _cells(spec, axes)  # the whole grid's checks (SweepSpec) hold for every block
    gram = initializations(spec, cells)
    hyper = check_cell_arguments({k: cells[k].ravel() for k in _HYPER})
    draws = check_cell_arguments({k: v.reshape(spec.seeds, -1) for k, v in gram._asdict().items()})
    if spec.dynamics == "flow":  # the fused closed-form kernel
        rows = kernels.sweep_block(
            np.stack(list(hyper.values())),
            np.stack(list(draws.values())),
            spec.kernel_threshold,
            spec.zeta_threshold,
            spec.time,
        )
        by_name = dict(zip(BLOCK_OUTPUTS, rows))
    else:
        by_name = dynamics_block(spec, hyper, draws)
    by_name = {name: row.reshape(cells["width"].shape) for name, row in by_name.items()}
    by_name["label_fraction"] = np.stack([by_name[f"label_fraction_{k}"] for k in range(len(LABELS))])
    by_name.update({f"cell_{name}": cells[name] for name in CELL_VARIABLES})
    return {name: by_name[name].astype(dtype, copy=False) for name, (_, dtype) in data_variables(spec).items()}


_HYPER = ("output_scale", "lr_u", "lr_w", "x_var", "xy_cov")  # the cell arguments a block shares over seeds

#: Sweep outputs that only the closed-form flow has (another dynamics' sweep leaves them out): the
#: learning time and the kernel-baseline distance, both read off the closed-form trajectory.
FLOW_ONLY = ("t_half", "kernel_distance", "kernel_distance_q25", "kernel_distance_q75")
#: Order parameters of the initialization and the hyperparameters alone: the same under every dynamics.
AT_INIT = ("gamma", "gamma0", "zeta", "imbalance")


def dynamics_block(
    spec: SweepSpec, hyper: dict[str, np.ndarray], draws: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """The rows of ``kernels.sweep_block`` (but ``FLOW_ONLY``) under another dynamics than the
    closed-form flow: every seed's state at t = infinity (and at the time) from that dynamics'
    batch form, the quantities of the initialization (gamma, gamma0, zeta, r, dominant layer) from
    the closed form, labelled by the same rule and reduced over seeds with numpy (arrays (n,))."""
    args = [np.broadcast_to(hyper[k], draws["uu"].shape) for k in _HYPER] + list(draws.values())
    traj = backend(spec.dynamics).batch(*args, [] if spec.time is None else [spec.time])
    init = dict(zip(ORDER_PARAMETERS, kernels.orders(cell_inputs(*args)[0]).reshape((-1,) + draws["uu"].shape)))
    k0 = initial_ntk(args[0], args[1], args[2], draws["uu"], draws["ww"])
    ratio = traj.final.ntk / k0
    thresholds = (spec.kernel_threshold, spec.zeta_threshold)

    def label_counts(rel_change: np.ndarray) -> list[np.ndarray]:  # seeds with each label code, per cell
        codes = label_codes(rel_change, init["zeta"], *thresholds)
        return [np.sum(codes == k, axis=0) for k in range(len(LABELS))]

    samples = {name: init[name] for name in AT_INIT}
    samples |= {
        "ntk_ratio": ratio,
        "ntk_rel_change": ratio - 1.0,
        "margin": margin(ratio - 1.0, init["zeta"], *thresholds),
        "ntk_plain_ratio": traj.final.ntk_plain / (args[0] ** 2 * (draws["uu"] + draws["ww"])),
    }
    if spec.time is not None:
        samples |= {"ntk_ratio_at_time": traj.ntk[..., 0] / k0, "loss_excess_at_time": traj.loss_excess[..., 0]}
    out = {name: np.median(value, axis=0) for name, value in samples.items()}
    out |= {f"ntk_ratio_{q}": np.quantile(ratio, p, axis=0) for q, p in (("q25", 0.25), ("q75", 0.75))}
    out["dominant_u"] = np.mean(init["dominant_w"] == 0.0, axis=0)
    counts = label_counts(ratio - 1.0)
    out["label"] = np.argmax(counts, axis=0).astype(float)  # ties: the lowest code, as the kernel's
    out |= {f"label_fraction_{k}": count / spec.seeds for k, count in enumerate(counts)}
    if spec.time is not None:
        out["label_at_time"] = np.argmax(label_counts(samples["ntk_ratio_at_time"] - 1.0), axis=0).astype(float)
    return out


CELL_VARIABLES = {  # absolute hyperparameters of each cell: name -> (long_name, units)
    "output_scale": ("output scale kappa (absolute)", "1"),
    "init_scale_u": ("init scale sigma_u of u (absolute standard deviation per entry)", "1"),
    "init_scale_w": ("init scale sigma_w of w (absolute standard deviation per entry)", "1"),
    "lr_u": ("learning rate eta_u of u (absolute)", "1/(time E[x^2])"),
    "lr_w": ("learning rate eta_w of w (absolute)", "1/(time E[x^2])"),
}


def default_block_cells(spec: SweepSpec) -> int:
    """Cells per block: about 65536 samples (cells x seeds), a few MB of work arrays."""
    return max(64, (1 << 16) // spec.seeds)


def sweep(spec: SweepSpec, progress: Callable[[int], None] | None = None, block_cells: int | None = None) -> xr.Dataset:
    """Run a sweep in this process: exact labels, order parameters and kernel-baseline distance.

    The grid is evaluated in blocks of at most ``block_cells`` cells (default: about 65536
    samples per block); ``progress(k)`` is called after each block with its number of cells.
    """
    results: dict[str, np.ndarray] = {}
    block_cells = default_block_cells(spec) if block_cells is None else block_cells
    for block in blocks(spec.shape, chunk_shape(spec.shape, block_cells)):
        for name, value in evaluate_block(spec, block).items():
            if name not in results:
                lead = value.shape[: value.ndim - len(spec.shape)]
                results[name] = np.empty(lead + spec.shape, dtype=value.dtype)
            results[name][(Ellipsis,) + block] = value
        if progress is not None:
            progress(int(np.prod([sl.stop - sl.start for sl in block])))
    return results_dataset(spec, results)


def results_dataset(spec: SweepSpec, results: dict[str, np.ndarray]) -> xr.Dataset:
    """The Dataset of a sweep's results (name -> array over the grid, ``label_fraction`` with a leading
    regime axis): named dimensions, coordinates, label names, and the attributes of the run and of
    every variable."""
    dims = tuple(a.name for a in spec.axes)
    data = {name: ((("regime",) if name == "label_fraction" else ()) + dims, value) for name, value in results.items()}
    ds = xr.Dataset({k: xr.Variable(*v) for k, v in data.items()}, coords=coordinates(spec))
    with_label_names(ds)
    ds.attrs.update(dataset_attrs(spec))
    for name in ds.data_vars:
        ds[name].attrs.update(variable_attrs(str(name)))
    return ds


def with_label_names(ds: xr.Dataset) -> xr.Dataset:
    """Add ``label_name``, the regime names of the ``label`` codes (readable as they are), in place."""
    ds["label_name"] = (ds["label"].dims, np.array(LABELS)[ds["label"].values])
    ds["label_name"].attrs.update(variable_attrs("label_name"))
    return ds


def coordinates(spec: SweepSpec) -> dict:
    """Coordinate variables (name -> (dim, values, attrs)) of a sweep's dataset."""
    coords = {
        a.name: (
            a.name,
            a.values,
            {"long_name": AXES[a.name].long_name, "units": AXES[a.name].units, "spacing": a.spacing},
        )
        for a in spec.axes
    }
    coords["regime"] = ("regime", np.array(LABELS), {"long_name": "regime"})
    return coords


def data_variables(spec: SweepSpec) -> dict[str, tuple[tuple[str, ...], str]]:
    """name -> (dims, dtype) of the data variables of a sweep's Dataset (all but ``label_name``), in
    order: what ``evaluate_block`` returns and what a zarr store holds."""
    dims = tuple(a.name for a in spec.axes)
    out = {"label": (dims, "int8"), "label_fraction": (("regime",) + dims, "float64")}
    timed = spec.time is not None
    if timed:
        out["label_at_time"] = (dims, "int8")
    for name in BLOCK_OUTPUTS:
        if spec.dynamics != "flow" and name in FLOW_ONLY:
            continue
        if not name.startswith("label") and (timed or not name.endswith("_at_time")):
            out[name] = (dims, "float64")
    out.update({f"cell_{name}": (dims, "float64") for name in CELL_VARIABLES})
    return out


def variable_attrs(name: str) -> dict:
    long_name, units = VARIABLES.get(name) or CELL_VARIABLES[name[5:]]
    attrs: dict[str, object] = {"long_name": long_name, "units": units}
    if name in ("label", "label_at_time"):
        attrs.update(flag_values=np.arange(len(LABELS), dtype=np.int8), flag_meanings=" ".join(LABELS))
    return attrs


def dataset_attrs(spec: SweepSpec) -> dict:
    attrs = dict(
        title="phasefl phase diagram",
        phasefl_version=__version__,
        parametrization=spec.param,
        seeds=spec.seeds,
        seed=spec.seed,
        kernel_threshold=spec.kernel_threshold,
        zeta_threshold=spec.zeta_threshold,
        spec=json.dumps(spec.describe(), default=float),
        model="f(x) = kappa sum_i u_i w_i x, MSE, E[x^2] = 1",
        dynamics=f"{spec.dynamics}: {backend(spec.dynamics).description}",
        hyperparameters=spec.formulas() + " (d = width)",
        parametrization_base=formulas(spec.param, {}),
    )
    if spec.time is not None:
        attrs["time"] = spec.time
    return attrs


def typical_boundaries(spec: SweepSpec, points: int = 200) -> xr.Dataset:
    """Order parameters of the typical initialization on a fine grid, for analytic boundaries.

    Typical init of spec E.3: |u0|^2 = d sigma_u^2, |w0|^2 = d sigma_w^2, u0.w0 = 0 (so Gamma0 = 0),
    D^2 = |u0|^2 |w0|^2. The regime rule then depends on the hyperparameters alone.
    """
    axes = tuple(Axis(a.name, _refine(a, points), a.spacing) for a in spec.axes)
    fine = SweepSpec(axes, spec.fixed, spec.param, 1, spec.seed, None, spec.kernel_threshold, spec.zeta_threshold)
    cells = cell_parameters(fine)
    uu = cells["width"] * cells["init_scale_u"] ** 2
    ww = cells["width"] * cells["init_scale_w"] ** 2
    kappa, lr_u, lr_w, a, b = (cells[k] for k in ("output_scale", "lr_u", "lr_w", "x_var", "xy_cov"))
    inputs, shape = cell_inputs(kappa, lr_u, lr_w, a, b, uu, ww, np.zeros(fine.shape), uu * ww)
    par = dict(zip(ORDER_PARAMETERS, kernels.orders(inputs).reshape((len(ORDER_PARAMETERS),) + shape)))
    dims = tuple(a.name for a in axes)
    return xr.Dataset(
        {name: (dims, par[name]) for name in ("ntk_rel_change", "zeta")},
        coords={a.name: a.values for a in axes},
    )


def _refine(axis: Axis, points: int) -> np.ndarray:
    lo, hi = axis.values[0], axis.values[-1]
    if axis.spacing == "log":
        return 10.0 ** np.linspace(math.log10(lo), math.log10(hi), points)
    return np.linspace(lo, hi, points)
