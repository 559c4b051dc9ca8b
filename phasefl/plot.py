"""Phase-diagram figures from a sweep ``Dataset`` (plotting only; no computation of results).

One colour language for every figure of the package (``phasefl.empirical.plot`` and the
scripts in ``figures/`` import it from here):

- the four regimes are categorical colours, colour-blind safe (Okabe-Ito's blue and orange,
  its vermillion darkened so that it stays apart from the orange for deuteranopes, and Tol's
  light yellow), and greyscale-ordered: kernel (lightest) < disalignment < alignment <
  rescaling (darkest). No regime colour is green, purple or grey;
- NTK growth vs shrinkage is the diverging ColorBrewer/Tol map PRGn: green grows, purple
  shrinks, white is unchanged (its two halves are scaled separately, so that small decreases
  stay visible beside large increases);
- magnitudes of the departure from the kernel regime (distance to the kernel baseline, the
  width exponent of the NTK change) are greys: light is kernel-like, dark is far from it.

Maps whose axes are uniformly spaced in the plotted scale (log or linear) are drawn as one
image; other maps as a mesh of cells (``pcolormesh``), or, when they have many cells, as an
image resampled cell by cell onto a fine uniform grid. In every case a cell is centred at its
coordinates and ends halfway (in the plotted scale) to its neighbours.
"""

from __future__ import annotations

import json
import math
import textwrap
from fractions import Fraction

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib import patheffects  # noqa: E402
from matplotlib.cm import ScalarMappable  # noqa: E402
from matplotlib.colors import (  # noqa: E402
    BoundaryNorm,
    LinearSegmentedColormap,
    ListedColormap,
    Normalize,
    TwoSlopeNorm,
)
from matplotlib.image import AxesImage  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter, NullLocator  # noqa: E402
from matplotlib.transforms import ScaledTranslation, blended_transform_factory  # noqa: E402

from .regimes import LABELS  # noqa: E402

REGIME_COLORS = {"kernel": "#EEDD88", "alignment": "#0072B2", "disalignment": "#E69F00", "rescaling": "#8C3B00"}
#: Text colour that reads on each regime colour.
REGIME_TEXT = {"kernel": "black", "alignment": "white", "disalignment": "black", "rescaling": "white"}
#: Colour map and norm of the label codes (0 to 3, in the order of LABELS).
REGIME_CMAP = ListedColormap([REGIME_COLORS[name] for name in LABELS], name="phasefl_regimes")
REGIME_NORM = BoundaryNorm(np.arange(len(LABELS) + 1) - 0.5, len(LABELS))
#: NTK change, log10 K_inf/K0: purple shrinks, white unchanged, green grows.
NTK_CMAP = matplotlib.colormaps["PRGn"]
#: Distance from the kernel regime: light (kernel-like) to dark (far); never pure white or black.
DISTANCE_CMAP = LinearSegmentedColormap.from_list(
    "phasefl_distance", matplotlib.colormaps["Greys"](np.linspace(0.04, 0.92, 256))
)
PRETTY = {"ntk": "NTK", "mean-field": "mean-field", "mup": "μP", "standard": "standard"}

#: Font sizes (points), chosen for a slide: the 2-D figure is 16 in wide.
FONT = {"tick": 12.5, "label": 13.5, "title": 14.5, "suptitle": 15.5, "legend": 12.5, "note": 12.0}
#: Cells where fewer than this share of the seeds agree with the cell's regime are dotted.
AGREEMENT = 0.75
#: A non-uniform map with at least this many cells is drawn as a resampled image.
IMAGE_MIN_CELLS = 40_000
#: Pixels along a resampled (non-uniform) axis of an image, unless the axis has more cells.
RESAMPLE_PIXELS = 1536

EXPONENT_LABELS = {
    "alpha": r"$\alpha$  (output scale $\kappa \sim d^{-\alpha}$)",
    "b_u": r"$b_u$  (init scale $\sigma_u \sim d^{-b_u}$)",
    "b_w": r"$b_w$  (init scale $\sigma_w \sim d^{-b_w}$)",
    "c_u": r"$c_u$  (learning rate $\eta_u \sim d^{-c_u}$)",
    "c_w": r"$c_w$  (learning rate $\eta_w \sim d^{-c_w}$)",
}
AXIS_LABELS = {
    "width": r"width $d$ (hidden units)",
    "init_scale": r"init scale $\sigma$ (both layers)",
    "init_scale_u": r"init scale $\sigma_u$",
    "init_scale_w": r"init scale $\sigma_w$",
    "output_scale": r"output scale $\kappa$",
    "lr_u": r"learning rate $\eta_u$",
    "lr_w": r"learning rate $\eta_w$",
    "lr_ratio": r"learning-rate ratio $\eta_w/\eta_u$",
    "target": r"target slope $m$",
}
#: Width exponent of each axis's base value, from the parametrization's (alpha, b_u, b_w, c_u, c_w).
_BASE_EXPONENT = {
    "output_scale": lambda e: -e["alpha"],
    "init_scale_u": lambda e: -e["b_u"],
    "init_scale_w": lambda e: -e["b_w"],
    "init_scale": lambda e: -e["b_u"] if e["b_u"] == e["b_w"] else None,
    "lr_u": lambda e: -e["c_u"],
    "lr_w": lambda e: -e["c_w"],
    "lr_ratio": lambda e: e["c_u"] - e["c_w"],
}
_HALO = [patheffects.withStroke(linewidth=3.2, foreground="white")]


# ----------------------------------------------------------------------------------------------
# axes, labels, ticks


def _exponents(ds: xr.Dataset) -> dict | None:
    try:
        return json.loads(ds.attrs["spec"])["exponents"]
    except (KeyError, TypeError, ValueError):
        from .asymptotics import EXPONENT_NAMES, PARAMETRIZATIONS

        param = ds.attrs.get("parametrization")
        return dict(zip(EXPONENT_NAMES, PARAMETRIZATIONS[param])) if param in PARAMETRIZATIONS else None


def _power(exponent: float) -> str:
    """``d^{-1/2}`` (mathtext) for a width exponent."""
    frac = Fraction(exponent).limit_denominator(12)
    text = str(frac.numerator) if frac.denominator == 1 else f"{frac.numerator}/{frac.denominator}"
    return "d" if text == "1" else f"d^{{{text}}}"


def _axis_label(ds: xr.Dataset, name: str) -> str:
    """Axis label in mathtext; an axis that multiplies a width-dependent base says so."""
    if name not in AXIS_LABELS:
        attrs = ds[name].attrs
        units = attrs.get("units", "")
        return f"{attrs.get('long_name', name)}" + (f" [{units}]" if units and units != "1" else "")
    exps = _exponents(ds)
    exponent = _BASE_EXPONENT[name](exps) if exps is not None and name in _BASE_EXPONENT else None
    if exponent:
        return AXIS_LABELS[name] + rf" (× base ${_power(exponent)}$)"
    return AXIS_LABELS[name]


def log_axis(ax, which: str, values: np.ndarray) -> None:
    """Log scale; minor ticks only on short ranges (on long ones they are clutter, and slow to draw)."""
    getattr(ax, f"set_{which}scale")("log")
    if np.log10(np.max(values) / np.min(values)) > 3:
        getattr(ax, f"{which}axis").set_minor_locator(NullLocator())


def _is_log(ds: xr.Dataset, name: str) -> bool:
    return ds[name].attrs.get("spacing") == "log"


def _setup_axes(ax, ds: xr.Dataset, xname: str, yname: str | None, ylabel: bool = True) -> None:
    if _is_log(ds, xname):
        log_axis(ax, "x", ds[xname].values)
    ax.set_xlabel(_axis_label(ds, xname), fontsize=FONT["label"])
    if yname is not None:
        if _is_log(ds, yname):
            log_axis(ax, "y", ds[yname].values)
        if ylabel:
            ax.set_ylabel(_axis_label(ds, yname), fontsize=FONT["label"])
    ax.tick_params(labelsize=FONT["tick"])


def _title(ax, text: str) -> None:
    ax.set_title(text, fontsize=FONT["title"])


# ----------------------------------------------------------------------------------------------
# maps: image for uniform grids, mesh otherwise


def _scaled(values: np.ndarray, log: bool) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return np.log10(values) if log else values


def cell_edges(values: np.ndarray, log: bool) -> np.ndarray:
    """Edges of the cells centred at ``values``: midpoints in the plotted scale (geometric on a
    log axis), the outer cells as wide as their inner neighbours (one value: a unit cell, a
    decade on a log axis)."""
    s = _scaled(values, log)
    if s.size == 1:
        edges = s[0] + np.array([-0.5, 0.5])
    else:
        mid = (s[1:] + s[:-1]) / 2
        edges = np.concatenate([[2 * s[0] - mid[0]], mid, [2 * s[-1] - mid[-1]]])
    return 10.0**edges if log else edges


def is_uniform(values: np.ndarray, log: bool, rtol: float = 1e-6) -> bool:
    """Whether ``values`` are equally spaced in the plotted scale (log10 on a log axis)."""
    s = _scaled(values, log)
    if s.size < 3:
        return True
    step = np.diff(s)
    return bool(np.all(np.abs(step - step.mean()) <= rtol * max(abs(step.mean()), 1e-300)))


def _resample_index(values: np.ndarray, log: bool) -> np.ndarray:
    """For each pixel of a uniform grid over the cells' extent (in the plotted scale), the index of
    the cell under its centre. ``RESAMPLE_PIXELS`` pixels (or one per cell, if more) put every
    edge within a pixel of the screen, at 150 dpi and above (a panel is about 4 in wide)."""
    edges = _scaled(cell_edges(values, log), log)
    pixels = max(values.size, RESAMPLE_PIXELS)
    centres = edges[0] + (np.arange(pixels) + 0.5) * ((edges[-1] - edges[0]) / pixels)
    return np.clip(np.searchsorted(edges, centres, side="right") - 1, 0, values.size - 1)


def draw_map(ax, x, y, z, *, xlog: bool, ylog: bool, cmap, norm, method: str = "auto"):
    """Draw the map ``z[j, i]`` at (x[i], y[j]) as cells; returns the artist (for a colour bar).

    ``method``: "image" (an ``AxesImage``; on non-uniform axes the cells are resampled onto a
    uniform grid of pixels), "mesh" (``pcolormesh``) or "auto": an image when both axes are
    uniformly spaced in the plotted scale or the map has at least ``IMAGE_MIN_CELLS`` cells,
    a mesh otherwise. Sets the axes' scales and limits (the outer cell edges).
    """
    x, y, z = np.asarray(x, dtype=float), np.asarray(y, dtype=float), np.asarray(z)
    if z.shape != (y.size, x.size):
        raise ValueError(f"map of shape {z.shape} does not match axes of sizes ({y.size}, {x.size})")
    ax.set_xscale("log" if xlog else "linear")
    ax.set_yscale("log" if ylog else "linear")
    xe, ye = cell_edges(x, xlog), cell_edges(y, ylog)
    uniform = is_uniform(x, xlog) and is_uniform(y, ylog)
    if method == "auto":
        method = "image" if uniform or z.size >= IMAGE_MIN_CELLS else "mesh"
    if method == "mesh":
        artist = ax.pcolormesh(xe, ye, z, cmap=cmap, norm=norm, shading="flat", rasterized=True)
    elif method == "image":
        data = z
        if not is_uniform(x, xlog):  # pick the cell under every pixel of a fine uniform grid
            data = data[:, _resample_index(x, xlog)]
        if not is_uniform(y, ylog):
            data = data[_resample_index(y, ylog), :]
        sx, sy = _scaled(xe, xlog), _scaled(ye, ylog)
        # the image lives in the plotted (scaled) coordinates: transScale is applied to its extent
        # already, so only the affine part of transData maps it to the screen
        artist = AxesImage(
            ax,
            cmap=cmap,
            norm=norm,
            interpolation="nearest",
            interpolation_stage="data",  # pick cells first, colour only the screen's pixels
            origin="lower",
            extent=(sx[0], sx[-1], sy[0], sy[-1]),
            transform=ax.transLimits + ax.transAxes,
        )
        artist.set_data(data)
        ax.add_image(artist)  # not autoscaled (its extent is in scaled units): the limits are set below
    else:
        raise ValueError(f"method must be 'auto', 'image' or 'mesh', got {method!r}")
    ax.set_xlim(xe[0], xe[-1])
    ax.set_ylim(ye[0], ye[-1])
    return artist


def regime_map(ax, ds: xr.Dataset, xname: str, yname: str, label: np.ndarray | None = None, method: str = "auto"):
    """The regime map of a 2-axis sweep (``label[j, i]``, default the sweep's labels)."""
    label = ds["label"].values.T if label is None else label
    return draw_map(
        ax,
        ds[xname].values,
        ds[yname].values,
        label,
        xlog=_is_log(ds, xname),
        ylog=_is_log(ds, yname),
        cmap=REGIME_CMAP,
        norm=REGIME_NORM,
        method=method,
    )


# ----------------------------------------------------------------------------------------------
# colour bars and keys


def ntk_change_norm(log_ratio: np.ndarray) -> TwoSlopeNorm:
    """Colour norm for log10(K_inf/K0), centred at 0 with asymmetric limits, so that small NTK
    decreases (disalignment) stay visible beside large increases."""
    finite = log_ratio[np.isfinite(log_ratio)]
    lo = min(float(finite.min()) if finite.size else 0.0, -0.05)
    hi = max(float(finite.max()) if finite.size else 0.0, 0.05)
    return TwoSlopeNorm(0.0, lo, hi)


def _ratio_label(r: float) -> str:
    if r >= 10 or r <= 0.01:
        k = round(math.log10(r))
        if abs(r - 10.0**k) < 1e-9 * r:
            return f"$10^{{{k}}}$"
    return f"{r:g}"


def _pick(values: list[float], n: int) -> list[float]:
    """At most ``n`` of ``values`` (sorted), spread evenly, keeping both ends."""
    if len(values) <= n:
        return values
    idx = np.unique(np.round(np.linspace(0, len(values) - 1, n)).astype(int))
    return [values[i] for i in idx]


def ntk_ratio_ticks(lo: float, hi: float) -> list[float]:
    """Ticks (log10 K_inf/K0) of an NTK-change colour bar from ``lo`` < 0 to ``hi`` > 0: round
    ratios on both sides of 1 (at least one on each side when its half is not degenerate)."""
    below, above = 10.0**lo, 10.0**hi
    nice = [f * 10.0**k for k in range(-12, 13) for f in (1, 2, 5)]
    shrink = sorted(r for r in nice + [0.9, 0.8, 0.7, 0.6, 0.4, 0.3] if below <= r < 1 and r <= 0.95)
    if hi >= 1:
        top = math.floor(hi + 1e-9)
        step = max(1, math.ceil(top / 4))
        grow = [10.0**k for k in range(step, top + 1, step)]
    else:
        grow = sorted(r for r in nice + [1.1, 1.2, 1.5, 3] if 1.05 <= r <= above)
    ticks = [math.log10(r) for r in _pick(shrink, 3)] + [0.0] + [math.log10(r) for r in _pick(grow, 5)]
    return ticks


def ntk_colorbar(fig, mappable, ax, norm: TwoSlopeNorm):
    """Colour bar of log10 K_inf/K0, ticked on both sides of 1 with the ratio itself."""
    cbar = fig.colorbar(mappable, ax=ax, pad=0.02, fraction=0.06)
    ticks = ntk_ratio_ticks(float(norm.vmin), float(norm.vmax))  # type: ignore[arg-type]
    cbar.set_ticks(ticks, labels=[_ratio_label(10.0**t) if t != 0 else "1" for t in ticks])
    cbar.ax.yaxis.set_minor_locator(NullLocator())
    cbar.ax.tick_params(labelsize=FONT["tick"])
    cbar.set_label(r"$K_\infty/K_0$, final / initial NTK (log scale)", fontsize=FONT["label"])
    dark = {"grows": NTK_CMAP(0.92), "shrinks": NTK_CMAP(0.08)}
    for word, y, va in (("grows", 1.01, "bottom"), ("shrinks", -0.03, "top")):  # above and below the bar
        cbar.ax.text(
            0.5, y, word, transform=cbar.ax.transAxes, ha="center", va=va, fontsize=FONT["tick"], color=dark[word],
            fontweight="bold",
        )  # fmt: skip
    return cbar


def _decade_colorbar(fig, mappable, ax, vmin: int, vmax: int, label: str, ends: tuple[str, str]):
    cbar = fig.colorbar(mappable, ax=ax, pad=0.02, fraction=0.06)
    step = max(1, math.ceil((vmax - vmin) / 5))
    ticks = list(range(vmax, vmin - 1, -step))[::-1]
    cbar.set_ticks(ticks, labels=["1" if t == 0 else f"$10^{{{t}}}$" for t in ticks])
    cbar.ax.yaxis.set_minor_locator(NullLocator())
    cbar.ax.tick_params(labelsize=FONT["tick"])
    cbar.set_label(label, fontsize=FONT["label"])
    cbar.ax.text(0.5, 1.01, ends[1], transform=cbar.ax.transAxes, ha="center", va="bottom", fontsize=FONT["tick"])
    cbar.ax.text(0.5, -0.03, ends[0], transform=cbar.ax.transAxes, ha="center", va="top", fontsize=FONT["tick"])
    return cbar


def regime_colorbar(fig, ax, present: np.ndarray | None = None):
    """The regime key as a categorical colour bar beside ``ax``; absent regimes say so."""
    cbar = fig.colorbar(ScalarMappable(norm=REGIME_NORM, cmap=REGIME_CMAP), ax=ax, pad=0.02, fraction=0.06)
    names = [name if present is None or present[k] else f"{name}\n(none here)" for k, name in enumerate(LABELS)]
    cbar.set_ticks(np.arange(len(LABELS)), labels=names)
    cbar.ax.invert_yaxis()  # kernel on top, read in the order of LABELS
    cbar.ax.tick_params(labelsize=FONT["tick"], length=0)
    cbar.ax.yaxis.set_minor_locator(NullLocator())
    cbar.outline.set_linewidth(0.8)
    return cbar


def regime_legend(ax, labels: np.ndarray, extra=(), fontsize: float | None = None) -> None:
    """Legend of the regime colours (and ``extra`` handles) below the figure's panels; the numbers
    are counts of grid cells."""
    counts = {name: int((labels == k).sum()) for k, name in enumerate(LABELS)}
    total = max(labels.size, 1)
    handles = [
        Patch(facecolor=REGIME_COLORS[name], edgecolor="0.3", label=f"{name} ({counts[name]} of {total} cells)")
        for name in LABELS
    ] + list(extra)
    ax.figure.legend(
        handles=handles,
        loc="outside lower center",
        ncol=min(len(handles), max(1, int(ax.figure.get_figwidth() / 4.2))),  # about 4 in per column
        fontsize=FONT["legend"] if fontsize is None else fontsize,
        frameon=False,
    )


def fit_title(title: str, width_in: float, fontsize: float) -> str:
    """``title`` with each line wrapped to ``width_in`` inches of text at ``fontsize`` points."""
    chars = max(20, int(width_in * 0.92 / (0.56 * fontsize / 72)))
    return "\n".join(
        "\n".join(_wrap(line, chars, indent="")) if len(line) > chars else line for line in title.split("\n")
    )


def regime_bands(axes, x: np.ndarray, label: np.ndarray, log: bool, alpha: float = 1.0) -> None:
    """Shade each point's interval of a 1-D sweep in its regime's colour (midpoints geometric on log axes)."""
    edges = cell_edges(x, log)
    for ax in axes:
        for k in range(x.size):
            ax.axvspan(edges[k], edges[k + 1], color=REGIME_COLORS[LABELS[label[k]]], lw=0, alpha=alpha)


# ----------------------------------------------------------------------------------------------
# notes


def _notes(ds: xr.Dataset, label: np.ndarray, dims: list[str], dotted: bool) -> list[str]:
    """What a reader needs to read the regime encoding: the rule, the seeds, the d = 1 cells."""
    eps = ds.attrs.get("kernel_threshold", 0.05)
    zstar = ds.attrs.get("zeta_threshold", 0.9)
    seeds = int(ds.attrs.get("seeds", 1))
    notes = [
        f"Regime rule: kernel if |K∞/K₀ − 1| < {eps:g}; otherwise rescaling if the imbalance ζ ≥ {zstar:g}, "
        "else alignment (NTK grows) or disalignment (NTK shrinks)."
    ]
    if seeds > 1:
        text = (
            f"Each cell is the most frequent regime over {seeds} random initializations (seeds); "
            "the continuous maps show their median."
        )
        if "width" in dims:
            text += (
                f" Every width reuses its {seeds} draws at all other settings, and at small width the draws differ "
                "a lot: where about half of them disagree, the majority flips from one width to the next "
                "(stripes along the other axis)."
            )
        if dotted:
            text += f" Dots: fewer than {math.ceil(AGREEMENT * seeds)} of the {seeds} seeds share the cell's regime."
        notes.append(text)
    else:
        notes.append("Each cell is one random initialization (seed " + str(ds.attrs.get("seed", 0)) + ").")
    one = _width_one(ds, label, dims)
    if one:
        notes.append(
            f"Width d = 1 ({one}): u and w are single numbers, always parallel (D² = 0, so ζ = 1): "
            "any change of the NTK is labelled rescaling."
        )
    return notes


def _width_one(ds: xr.Dataset, label: np.ndarray, dims: list[str]) -> str:
    """Where the d = 1 cells are ('' if there are none)."""
    if "width" in dims:
        if float(ds["width"].values.min()) != 1.0:
            return ""
        axis = "x" if dims[0] == "width" else "y"
        return {"x": "the first column", "y": "the bottom row"}[axis] if len(dims) == 2 else "the first point"
    spec = ds.attrs.get("spec")
    try:
        width = json.loads(spec)["fixed"].get("width", 1000.0) if spec else None
    except ValueError:
        width = None
    return "every cell" if width == 1.0 else ""


def _legend_height(handles: list, ncol: int | None) -> float:
    rows = math.ceil(len(handles) / (ncol or len(handles))) if handles else 0
    return 0.14 + 0.3 * rows if rows else 0.0


def _footer_height(notes: list[str], handles: list, width_chars: int, ncol: int | None = None) -> float:
    """Inches that ``_footer`` needs: rows of legend entries, then the notes."""
    return _legend_height(handles, ncol) + 0.45 + _note_lines(notes, width_chars) * FONT["note"] * 1.32 / 72


def _footer(ax, notes: list[str], handles: list, width_chars: int, ncol: int | None = None) -> None:
    """A row of legend entries for the overlays, then a box of notes, in an axes without frame."""
    ax.set_axis_off()
    below = _legend_height(handles, ncol)  # inches from the top of the axes to the notes
    if handles:
        legend = ax.legend(
            handles=handles,
            loc="upper center",
            bbox_to_anchor=(0.5, 1.0),
            fontsize=FONT["legend"],
            frameon=False,
            borderaxespad=0.0,
            handlelength=2.6,
            ncol=ncol or len(handles),
            columnspacing=2.0,
        )
        legend.set_in_layout(False)  # the footer is sized for it (_footer_height)
    if notes:
        text = "\n".join("\n".join(_wrap("•  " + n, width_chars)) for n in notes)
        shift = ScaledTranslation(0, -below - 0.08, ax.figure.dpi_scale_trans)
        centred = blended_transform_factory(ax.figure.transFigure, ax.transAxes)  # on the figure, not the axes
        ax.text(
            0.5,
            1.0,
            text,
            transform=centred + shift,
            ha="center",
            va="top",
            multialignment="left",
            fontsize=FONT["note"],
            linespacing=1.32,
            bbox=dict(boxstyle="round,pad=0.5", facecolor="0.97", edgecolor="0.6", lw=0.8),
        )


def _wrap(text: str, width_chars: int, indent: str = "    ") -> list[str]:
    """Lines of a note, never broken inside a $...$ mathtext span."""
    parts = text.split("$")
    protected = "$".join(p.replace(" ", "\0") if k % 2 else p for k, p in enumerate(parts))
    lines = textwrap.wrap(protected, width_chars, subsequent_indent=indent, break_on_hyphens=False)
    return [line.replace("\0", " ") for line in lines]


def _note_lines(notes: list[str], width_chars: int) -> int:
    return sum(len(_wrap("•  " + n, width_chars)) for n in notes)


# ----------------------------------------------------------------------------------------------
# 2-D diagram


def _agreement(ds: xr.Dataset) -> np.ndarray | None:
    """Share of the seeds in each cell's (most frequent) regime, or None when not stored."""
    if "label_fraction" not in ds or int(ds.attrs.get("seeds", 1)) < 2:
        return None
    return ds["label_fraction"].max("regime").values


def _dot_disagreement(ax, ds: xr.Dataset, xname: str, yname: str, agree: np.ndarray, lattice: int = 90) -> bool:
    """Dots on the cells where fewer than AGREEMENT of the seeds share the regime: one per cell on
    grids of at most ``lattice`` cells per axis, else on a uniform lattice (a stipple). Returns
    whether any dot was drawn."""
    points = []
    for name in (xname, yname):
        values, log = ds[name].values, _is_log(ds, name)
        if values.size <= lattice:
            points.append((values, np.arange(values.size)))
        else:
            edges = _scaled(cell_edges(values, log), log)
            centres = edges[0] + (np.arange(lattice) + 0.5) * (edges[-1] - edges[0]) / lattice
            index = np.clip(np.searchsorted(edges, centres, side="right") - 1, 0, values.size - 1)
            points.append((10.0**centres if log else centres, index))
    (px, ix), (py, iy) = points
    low = agree[np.ix_(ix, iy)] < AGREEMENT  # agree is indexed [x, y]
    if not low.any():
        return False
    gx, gy = np.meshgrid(px, py, indexing="ij")
    ax.scatter(gx[low], gy[low], s=4, c="k", lw=0, rasterized=True)
    return True


def plot_diagram(ds: xr.Dataset, boundaries: xr.Dataset | None = None, title: str = "", *, method: str = "auto"):
    """Regime map, log10(K_inf/K0) and kernel-baseline distance of a 1- or 2-axis sweep.

    ``method`` chooses how the maps are drawn (see ``draw_map``).
    """
    dims = [str(d) for d in ds["label"].dims]
    if len(dims) == 1:
        return _plot_1d(ds, dims[0], title)
    xname, yname = dims  # first axis along x, second along y; maps are indexed [y, x]
    x, y = ds[xname].values, ds[yname].values
    xlog, ylog = _is_log(ds, xname), _is_log(ds, yname)
    label = ds["label"].values.T
    agree = _agreement(ds)

    fig = plt.figure(figsize=(16, 7.5), layout="constrained")
    grid = fig.add_gridspec(2, 3, height_ratios=[5.0, 1.0])
    axes = [fig.add_subplot(grid[0, k]) for k in range(3)]

    ax = axes[0]
    regime_map(ax, ds, xname, yname, label, method)
    dotted = agree is not None and _dot_disagreement(ax, ds, xname, yname, agree)
    _setup_axes(ax, ds, xname, yname)
    _title(ax, "regime")

    ax = axes[1]
    ratio = np.log10(ds["ntk_ratio"].values.T)
    norm = ntk_change_norm(ratio)
    mesh = draw_map(ax, x, y, ratio, xlog=xlog, ylog=ylog, cmap=NTK_CMAP, norm=norm, method=method)
    _setup_axes(ax, ds, xname, yname, ylabel=False)
    _title(ax, "NTK change")

    ax = axes[2]
    dist = np.log10(np.clip(ds["kernel_distance"].values.T, 1e-300, None))
    finite = dist[np.isfinite(dist)]
    vmin = max(-8, math.floor(float(finite.min()))) if finite.size else -8
    vmax = max(0, math.ceil(float(finite.max()))) if finite.size else 0
    vmin = min(vmin, vmax - 1)
    mesh_d = draw_map(
        ax, x, y, dist, xlog=xlog, ylog=ylog, cmap=DISTANCE_CMAP, norm=Normalize(vmin, vmax), method=method
    )
    _setup_axes(ax, ds, xname, yname, ylabel=False)
    _title(ax, "distance to the kernel baseline")

    handles = []
    if boundaries is not None:
        handles = _overlay_boundaries(axes, boundaries, xname, yname, ds.attrs)
    if dotted:
        handles.append(
            Line2D(
                [],
                [],
                ls="none",
                marker="o",
                ms=3,
                mfc="k",
                mec="k",
                label=f"seeds disagree (< {AGREEMENT:.0%} share the regime)",
            )
        )
    regime_colorbar(fig, axes[0], present=np.array([(label == k).any() for k in range(len(LABELS))]))
    ntk_colorbar(fig, mesh, axes[1], norm)
    _decade_colorbar(
        fig,
        mesh_d,
        axes[2],
        vmin,
        vmax,
        r"$\max_t\,|F - F_{\rm kernel}|\ /\ |m - F_0|$ (relative, log scale)",
        ("≈ kernel", "far"),
    )
    _finish(fig, grid, 5.0, title, _notes(ds, label, dims, dotted), handles, width=16.0)
    return fig


def _finish(
    fig, grid, panels_in: float, title: str, notes: list[str], handles: list, width: float, ncol: int | None = None
) -> None:
    """Footer (legend row and notes) in the last row of ``grid``, the figure's height to fit, the title.

    The panels get ``panels_in`` inches, the title room for two lines."""
    width_chars = int(width * 9.4)
    footer_in = _footer_height(notes, handles, width_chars, ncol)
    title = fit_title(title, width, FONT["suptitle"]) if title else ""
    title_in = (0.3 + 0.3 * (title.count("\n") + 1)) if title else 0.15
    fig.set_size_inches(width, panels_in + footer_in + title_in)
    ratios = list(grid.get_height_ratios())
    grid.set_height_ratios(ratios[:-1] + [footer_in * sum(ratios[:-1]) / panels_in])
    footer = fig.add_subplot(grid[-1, :])
    _footer(footer, notes, handles, width_chars, ncol)
    if title:
        fig.suptitle(title, fontsize=FONT["suptitle"])


def _overlay_boundaries(axes, boundaries: xr.Dataset, xname, yname, attrs, legend=True):
    """Analytic boundaries from the typical-init order parameters: |K_inf/K0 - 1| = eps_K and zeta = zeta*."""
    x, y = boundaries[xname].values, boundaries[yname].values
    rk = np.abs(boundaries["ntk_rel_change"].values.T)
    zeta = boundaries["zeta"].values.T
    eps, zstar = attrs["kernel_threshold"], attrs["zeta_threshold"]
    z = np.where(rk >= eps, zeta - zstar, np.nan)
    draw_rk = np.nanmin(rk) < eps < np.nanmax(rk)
    draw_z = np.nanmin(z, initial=np.inf) < 0 < np.nanmax(z, initial=-np.inf)
    for ax in axes:
        if draw_rk:
            cs = ax.contour(x, y, np.log(rk / eps), levels=[0.0], colors="k", linewidths=1.6)
            cs.set(path_effects=_HALO)
        if draw_z:
            cs = ax.contour(x, y, z, levels=[0.0], colors="k", linewidths=1.6, linestyles="--")
            cs.set(path_effects=_HALO)
    handles = []
    if legend and draw_rk:
        handles.append(
            Line2D([], [], color="k", lw=1.6, label=f"analytic |K∞/K₀ − 1| = {eps:g} (typical init: u₀ ⊥ w₀)")
        )
    if legend and draw_z:
        handles.append(Line2D([], [], color="k", lw=1.6, ls="--", label=f"analytic ζ = {zstar:g} (typical init)"))
    return handles


# ----------------------------------------------------------------------------------------------
# 1-D diagram


def _plot_1d(ds: xr.Dataset, xname: str, title: str):
    """The 1-D diagram: regime shares over the seeds, the NTK change and the distance to the kernel
    baseline, stacked over one shared axis, the regime changes marked on every panel."""
    x = ds[xname].values
    log = _is_log(ds, xname)
    label = ds["label"].values
    seeds = int(ds.attrs.get("seeds", 1))
    eps = float(ds.attrs.get("kernel_threshold", 0.05))
    notes = _notes(ds, label, [xname], dotted=False)
    if seeds > 1:
        notes[1] = (
            f"Top: share of the {seeds} seeds (random initializations) in each regime; a point's regime is the "
            "largest share. Curves: median over the seeds; shaded: the middle half of the seeds (quartiles)."
        )
    fig = plt.figure(figsize=(13, 10), layout="constrained")
    grid = fig.add_gridspec(4, 1, height_ratios=[1.4, 2.8, 2.0, 1.0])
    axes = [fig.add_subplot(grid[0])]
    axes += [fig.add_subplot(grid[k], sharex=axes[0]) for k in (1, 2)]
    edges = cell_edges(x, log)
    _regime_share_panel(axes[0], ds, label, edges, seeds)
    _ntk_change_panel(axes[1], ds, x, seeds, eps)
    _distance_panel(axes[2], ds, x, seeds)
    _mark_regime_changes(axes, ds, xname, label, edges)
    _finish(fig, grid, 8.2, title, notes, [], width=13.0)
    return fig


def _regime_share_panel(ax, ds: xr.Dataset, label: np.ndarray, edges: np.ndarray, seeds: int) -> None:
    """Top panel of the 1-D diagram: the seeds' shares of each regime, stacked, with the regime key."""
    fraction = ds["label_fraction"].values if "label_fraction" in ds else np.eye(len(LABELS))[label].T
    base = np.zeros(edges.size - 1)
    for k, name in enumerate(LABELS):
        ax.stairs(
            100 * (base + fraction[k]),
            edges,
            baseline=100 * base,
            fill=True,
            color=REGIME_COLORS[name],
            label=name,
            lw=0,
        )
        base = base + fraction[k]
    ax.set_ylim(0, 100)
    ax.set_yticks([0, 50, 100])
    ax.set_ylabel("seeds [%]", fontsize=FONT["label"])
    _title(ax, f"regime: share of the {seeds} seeds" if seeds > 1 else "regime")
    ax.legend(
        handles=[Patch(facecolor=REGIME_COLORS[n], edgecolor="0.3", label=n) for n in LABELS],
        loc="center left",
        bbox_to_anchor=(1.01, 0.5),
        fontsize=FONT["legend"],
        frameon=False,
    )


def _ntk_change_panel(ax, ds: xr.Dataset, x: np.ndarray, seeds: int, eps: float) -> None:
    """Middle panel of the 1-D diagram: K_inf/K0 (median, quartiles, un-weighted, at time t) over
    the growth and shrinkage colours and the kernel band."""
    ratio = ds["ntk_ratio"].values
    values = [ratio, ds["ntk_plain_ratio"].values] + (
        [ds["ntk_ratio_at_time"].values] if "ntk_ratio_at_time" in ds else []
    )
    spread = [ds[f"ntk_ratio_{q}"].values for q in ("q25", "q75") if f"ntk_ratio_{q}" in ds]
    finite = np.concatenate([v[np.isfinite(v) & (v > 0)] for v in values + spread])
    lo = min(float(finite.min()) if finite.size else 1.0, 1 - 2 * eps) / 1.3
    hi = max(float(finite.max()) if finite.size else 1.0, 1 + 2 * eps) * 1.3
    ax.axhspan(1.0, hi * 10, color=NTK_CMAP(0.56), lw=0, zorder=0)  # the NTK-change colours, nearly white
    ax.axhspan(lo / 10, 1.0, color=NTK_CMAP(0.44), lw=0, zorder=0)
    ax.axhspan(
        1 - eps, 1 + eps, color=REGIME_COLORS["kernel"], lw=0, zorder=0.5, label=f"kernel band |K∞/K₀ − 1| < {eps:g}"
    )
    if seeds > 1 and "ntk_ratio_q25" in ds:
        ax.fill_between(
            x, ds["ntk_ratio_q25"].values, ds["ntk_ratio_q75"].values, color="0.55", alpha=0.45, lw=0,
            step=None, label="middle half of the seeds", zorder=1,
        )  # fmt: skip
    ax.plot(x, ratio, color="k", lw=2.4, label=r"$K_\infty/K_0$ (learning-rate-weighted NTK)")
    ax.plot(x, values[1], color="0.4", lw=1.8, ls="--", label="un-weighted NTK ratio")
    if "ntk_ratio_at_time" in ds:
        ax.plot(x, values[2], color="k", lw=2.0, ls=":", label=f"$K(t)/K_0$ at $t$ = {ds.attrs['time']:g}")
    ax.set_yscale("log")
    ax.set_ylim(lo, hi)
    if hi / lo < 1e3:  # a short log range: label round ratios (0.6, 0.8, 1, 2, ...), not only decades
        subs = (1.0, 2.0, 5.0) if hi / lo > 8 else tuple(float(k) for k in range(1, 10))
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=subs))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_ylabel(r"$K_\infty/K_0$ (median)", fontsize=FONT["label"])
    _title(ax, "NTK change: final / initial NTK (above 1: grows, green; below 1: shrinks, purple)")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=FONT["legend"], frameon=False)


def _distance_panel(ax, ds: xr.Dataset, x: np.ndarray, seeds: int) -> None:
    """Bottom panel of the 1-D diagram: the distance to the kernel baseline (median and quartiles)."""
    if seeds > 1 and "kernel_distance_q25" in ds:
        ax.fill_between(
            x, np.clip(ds["kernel_distance_q25"].values, 1e-300, None),
            np.clip(ds["kernel_distance_q75"].values, 1e-300, None), color="0.55", alpha=0.45, lw=0, zorder=1,
        )  # fmt: skip
    ax.plot(x, np.clip(ds["kernel_distance"].values, 1e-300, None), color="k", lw=2.4)
    ax.set_yscale("log")
    ax.set_ylabel("median distance", fontsize=FONT["label"])
    _title(ax, r"distance to the kernel baseline, $\max_t\,|F - F_{\rm kernel}|\ /\ |m - F_0|$")


def _mark_regime_changes(axes, ds: xr.Dataset, xname: str, label: np.ndarray, edges: np.ndarray) -> None:
    """Dashed lines where the regime changes, on every panel of the 1-D diagram; the shared x axis."""
    changes = np.flatnonzero(np.diff(label) != 0) + 1
    for a in axes:
        a.tick_params(labelsize=FONT["tick"])
        for j in changes:
            a.axvline(edges[j], color="0.25", lw=1.0, ls=(0, (2, 2)), zorder=3)
        a.grid(False)
    for a in axes[:2]:
        a.tick_params(labelbottom=False)
    _setup_axes(axes[2], ds, xname, None)
    axes[2].set_xlim(edges[0], edges[-1])
    if changes.size:
        axes[2].legend(
            handles=[Line2D([], [], color="0.25", lw=1.0, ls=(0, (2, 2)), label="regime changes")],
            loc="center left",
            bbox_to_anchor=(1.01, 0.5),
            fontsize=FONT["legend"],
            frameon=False,
        )


# ----------------------------------------------------------------------------------------------
# asymptotic exponent plane


def plot_exponent_plane(ds: xr.Dataset, markers: list[dict], title: str = "", *, method: str = "auto"):
    """Asymptotic phase map over two exponents, the NTK-change exponent, boundaries and named parametrizations."""
    xname, yname = (str(d) for d in ds["label"].dims)
    x, y = ds[xname].values, ds[yname].values
    fig = plt.figure(figsize=(15, 7.6), layout="constrained")
    grid = fig.add_gridspec(2, 2, height_ratios=[5.4, 1.0])
    axes = [fig.add_subplot(grid[0, k]) for k in range(2)]
    label = ds["label"].values.T
    draw_map(axes[0], x, y, label, xlog=False, ylog=False, cmap=REGIME_CMAP, norm=REGIME_NORM, method=method)
    change = ds["ntk_change"].values.T
    finite = change[np.isfinite(change)]
    lo = math.floor(float(finite.min())) if finite.size else -1
    hi = max(math.ceil(float(finite.max())), 1) if finite.size else 1
    image = draw_map(
        axes[1], x, y, change, xlog=False, ylog=False, cmap=DISTANCE_CMAP, norm=Normalize(lo, hi), method=method
    )
    gamma, rho = ds["gamma"].values.T, ds["rho"].values.T
    rho_fl = np.where(gamma >= 0, rho, np.nan)
    draw_gamma = np.min(gamma) < 0 < np.max(gamma)
    draw_rho = np.nanmin(rho_fl, initial=np.inf) < 0 < np.nanmax(rho_fl, initial=-np.inf)
    for a in axes:
        _plane_boundaries(a, x, y, gamma if draw_gamma else None, rho_fl if draw_rho else None)
        _plane_markers(a, markers, x)
        a.set_xlabel(EXPONENT_LABELS.get(xname, xname), fontsize=FONT["label"])
        a.tick_params(labelsize=FONT["tick"])
    axes[0].set_ylabel(EXPONENT_LABELS.get(yname, yname), fontsize=FONT["label"])
    _title(axes[0], r"phase as width $d \to \infty$")
    _title(axes[1], r"NTK change exponent: $|K_\infty/K_0 - 1| \sim d^{\,e}$")
    present = np.array([(label == k).any() for k in range(len(LABELS))])
    regime_colorbar(fig, axes[0], present)
    _change_exponent_colorbar(fig, image, axes[1])
    notes = [
        r"Each point is the d → ∞ limit of κ ~ d^−α, σ_u ~ d^−b_u, σ_w ~ d^−b_w, η_u ~ d^−c_u, η_w ~ d^−c_w "
        "(spec E.3); exponents not on the axes are fixed (title).",
        "Disalignment never survives d → ∞; alignment is only the line of balanced layers.",
    ]
    handles = _plane_handles(draw_gamma, draw_rho)
    _finish(fig, grid, 5.4, title, [_mathify(n) for n in notes], handles, width=15.0, ncol=2)
    return fig


def _plane_boundaries(ax, x: np.ndarray, y: np.ndarray, gamma: np.ndarray | None, rho_fl: np.ndarray | None) -> None:
    """The lines gamma = 0 (kernel | feature learning) and, where features are learnt, rho = 0 (the
    alignment phase, in its colour); ``None`` for a line that does not cross the plane."""
    if gamma is not None:
        cs = ax.contour(x, y, gamma, levels=[0.0], colors="k", linewidths=1.8)
        cs.set(path_effects=_HALO)
    if rho_fl is not None:  # the alignment phase is this line: draw it in the alignment colour
        cs = ax.contour(x, y, rho_fl, levels=[0.0], colors=[REGIME_COLORS["alignment"]], linewidths=4.0)
        cs.set(path_effects=[patheffects.withStroke(linewidth=6.0, foreground="white")])


def _plane_markers(ax, markers: list[dict], x: np.ndarray) -> None:
    """The named parametrizations, filled when on the plane, open when only their (x, rho) is, with names."""
    for mk in markers:
        on = mk["on_plane"]
        ax.plot(
            mk["x"],
            mk["y"],
            marker=mk["marker"],
            ms=11,
            mfc="k" if on else "white",
            mec="white" if on else "k",
            mew=1.8,
            ls="none",
            zorder=5,
        )
        right = mk["x"] > x[0] + 0.85 * (x[-1] - x[0])  # label on the left near the right edge
        ax.annotate(
            mk["name"],
            (mk["x"], mk["y"]),
            xytext=(-8 if right else 8, 7),
            textcoords="offset points",
            ha="right" if right else "left",
            fontsize=FONT["legend"],
            fontweight="bold",
            path_effects=_HALO,
            zorder=6,
        )


def _change_exponent_colorbar(fig, image, ax):
    """Colour bar of the NTK change exponent e beside ``ax``."""
    cbar = fig.colorbar(image, ax=ax, pad=0.02, fraction=0.06)
    cbar.ax.tick_params(labelsize=FONT["tick"])
    cbar.set_label(r"exponent $e$  ($e = 0$: $\Theta(1)$ change)", fontsize=FONT["label"])
    cbar.ax.text(
        0.5, 1.01, "grows with d", transform=cbar.ax.transAxes, ha="center", va="bottom", fontsize=FONT["tick"]
    )
    cbar.ax.text(0.5, -0.01, "vanishes", transform=cbar.ax.transAxes, ha="center", va="top", fontsize=FONT["tick"])
    return cbar


def _plane_handles(draw_gamma: bool, draw_rho: bool) -> list:
    """Legend entries of the exponent plane: the boundaries drawn, then the two kinds of marker."""
    handles = []
    if draw_gamma:
        handles.append(Line2D([], [], color="k", lw=1.8, label=r"$\gamma = 0$: kernel | feature learning"))
    if draw_rho:
        handles.append(
            Line2D([], [], color=REGIME_COLORS["alignment"], lw=4.0, label=r"$\rho = 0$: balanced layers (alignment)")
        )
    handles += [
        Line2D(
            [],
            [],
            marker="o",
            ms=10,
            mfc="k",
            mec="white",
            mew=1.8,
            ls="none",
            label="named parametrization (on this plane)",
        ),
        Line2D(
            [],
            [],
            marker="o",
            ms=10,
            mfc="white",
            mec="k",
            mew=1.8,
            ls="none",
            label=r"same $(x, \rho)$ as a named one",
        ),
    ]
    return handles


def _mathify(text: str) -> str:
    """Write the scaling laws of a note in mathtext (d^−α -> $d^{-\\alpha}$)."""
    table = {
        "κ ~ d^−α": r"$\kappa \sim d^{-\alpha}$",
        "σ_u ~ d^−b_u": r"$\sigma_u \sim d^{-b_u}$",
        "σ_w ~ d^−b_w": r"$\sigma_w \sim d^{-b_w}$",
        "η_u ~ d^−c_u": r"$\eta_u \sim d^{-c_u}$",
        "η_w ~ d^−c_w": r"$\eta_w \sim d^{-c_w}$",
        "d → ∞": r"$d \to \infty$",
    }
    for plain, math_text in table.items():
        text = text.replace(plain, math_text)
    return text
