"""Phase-diagram figures from a sweep ``Dataset`` (plotting only; no computation of results).

Regime colours are chosen to stay distinct in greyscale: kernel (lightest) < disalignment <
alignment < rescaling (darkest).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.colors import BoundaryNorm, ListedColormap, TwoSlopeNorm  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import NullLocator  # noqa: E402

from .regimes import LABELS  # noqa: E402

REGIME_COLORS = {"kernel": "#e8e8e8", "alignment": "#3b75af", "disalignment": "#f2a65a", "rescaling": "#5b2a86"}
_CMAP = ListedColormap([REGIME_COLORS[name] for name in LABELS])
_NORM = BoundaryNorm(np.arange(len(LABELS) + 1) - 0.5, len(LABELS))
PRETTY = {"ntk": "NTK", "mean-field": "mean-field", "mup": "μP", "standard": "standard"}


EXPONENT_LABELS = {
    "alpha": "α  (output scale κ ~ d^−α)",
    "b_u": "b_u  (init scale σ_u ~ d^−b_u)",
    "b_w": "b_w  (init scale σ_w ~ d^−b_w)",
    "c_u": "c_u  (learning rate η_u ~ d^−c_u)",
    "c_w": "c_w  (learning rate η_w ~ d^−c_w)",
}
AXIS_LABELS = {
    "width": "width d (hidden units)",
    "init_scale": "init scale σ (both layers, × base)",
    "init_scale_u": "init scale σ_u (× base)",
    "init_scale_w": "init scale σ_w (× base)",
    "output_scale": "output scale κ (× base)",
    "lr_u": "learning rate η_u (× base)",
    "lr_w": "learning rate η_w (× base)",
    "lr_ratio": "learning-rate ratio η_w/η_u (× base)",
    "target": "target slope m",
}


def _axis_label(ds: xr.Dataset, name: str) -> str:
    if name in AXIS_LABELS:
        return AXIS_LABELS[name]
    attrs = ds[name].attrs
    units = attrs.get("units", "")
    return f"{attrs.get('long_name', name)}" + (f" [{units}]" if units and units != "1" else "")


def ntk_change_norm(log_ratio: np.ndarray) -> TwoSlopeNorm:
    """Colour norm for log10(K_inf/K0), centred at 0 with asymmetric limits, so that small NTK
    decreases (disalignment) stay visible beside large increases."""
    finite = log_ratio[np.isfinite(log_ratio)]
    lo = min(float(finite.min()) if finite.size else 0.0, -0.05)
    hi = max(float(finite.max()) if finite.size else 0.0, 0.05)
    return TwoSlopeNorm(0.0, lo, hi)


def _log_axis(ax, which: str, values: np.ndarray) -> None:
    """Log scale; minor ticks only on short ranges (on long ones they are clutter, and slow to draw)."""
    getattr(ax, f"set_{which}scale")("log")
    if np.log10(values.max() / values.min()) > 3:
        getattr(ax, f"{which}axis").set_minor_locator(NullLocator())


def _setup_axes(ax, ds: xr.Dataset, xname: str, yname: str | None) -> None:
    if ds[xname].attrs.get("spacing") == "log":
        _log_axis(ax, "x", ds[xname].values)
    ax.set_xlabel(_axis_label(ds, xname))
    if yname is not None:
        if ds[yname].attrs.get("spacing") == "log":
            _log_axis(ax, "y", ds[yname].values)
        ax.set_ylabel(_axis_label(ds, yname))


def _regime_legend(ax, labels: np.ndarray, extra=()) -> None:
    counts = {name: int((labels == k).sum()) for k, name in enumerate(LABELS)}
    total = max(labels.size, 1)
    handles = [
        Patch(facecolor=REGIME_COLORS[name], edgecolor="0.3", label=f"{name} ({100 * counts[name] / total:.0f}%)")
        for name in LABELS
    ] + list(extra)
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.0, -0.16), ncol=2, fontsize=8, frameon=False)


def plot_diagram(ds: xr.Dataset, boundaries: xr.Dataset | None = None, title: str = ""):
    """Regime map, log10(K_inf/K0) and kernel-baseline distance of a 1- or 2-axis sweep."""
    dims = [d for d in ds["label"].dims]
    if len(dims) == 1:
        return _plot_1d(ds, dims[0], title)
    xname, yname = dims  # first axis along x, second along y; maps are indexed [y, x]
    fig, axes = plt.subplots(1, 3, figsize=(15, 5.2), constrained_layout=True)
    x, y = ds[xname].values, ds[yname].values
    label = ds["label"].values.T
    ax = axes[0]
    ax.pcolormesh(x, y, label, cmap=_CMAP, norm=_NORM, shading="nearest", rasterized=True)
    extra = []
    if boundaries is not None:
        extra = _overlay_boundaries(axes, boundaries, xname, yname, ds.attrs)
    _setup_axes(ax, ds, xname, yname)
    ax.set_title("regime")
    _regime_legend(ax, label, extra)

    ax = axes[1]
    ratio = np.log10(ds["ntk_ratio"].values.T)
    mesh = ax.pcolormesh(x, y, ratio, cmap="RdBu_r", norm=ntk_change_norm(ratio), shading="nearest", rasterized=True)
    fig.colorbar(mesh, ax=ax, label=r"$\log_{10} K_\infty/K_0$ (NTK change)")
    _setup_axes(ax, ds, xname, yname)
    ax.set_title("NTK change: grows (red) / shrinks (blue)")

    ax = axes[2]
    dist = np.log10(np.clip(ds["kernel_distance"].values.T, 1e-12, None))
    mesh = ax.pcolormesh(
        x, y, dist, cmap="viridis", vmin=max(-8.0, float(np.min(dist))), vmax=0.0, shading="nearest", rasterized=True
    )
    fig.colorbar(mesh, ax=ax, label=r"$\log_{10}\ \max_t |F - F_{\rm kernel}| / |m - F_0|$")
    _setup_axes(ax, ds, xname, yname)
    ax.set_title("distance to the kernel baseline")
    if boundaries is not None:
        for a in axes[1:]:
            _overlay_boundaries([a], boundaries, xname, yname, ds.attrs, legend=False)
    fig.suptitle(title, fontsize=11)
    return fig


def _overlay_boundaries(axes, boundaries: xr.Dataset, xname, yname, attrs, legend=True):
    """Analytic boundaries from the typical-init order parameters: |K_inf/K0 - 1| = eps_K and zeta = zeta*."""
    from matplotlib.lines import Line2D

    x, y = boundaries[xname].values, boundaries[yname].values
    rk = np.abs(boundaries["ntk_rel_change"].values.T)
    zeta = boundaries["zeta"].values.T
    eps, zstar = attrs["kernel_threshold"], attrs["zeta_threshold"]
    z = np.where(rk >= eps, zeta - zstar, np.nan)
    draw_rk = np.nanmin(rk) < eps < np.nanmax(rk)
    draw_z = np.nanmin(z, initial=np.inf) < 0 < np.nanmax(z, initial=-np.inf)
    for ax in axes:
        if draw_rk:
            ax.contour(x, y, np.log(rk / eps), levels=[0.0], colors="k", linewidths=1.4)
        if draw_z:
            ax.contour(x, y, z, levels=[0.0], colors="k", linewidths=1.4, linestyles="--")
    handles = []
    if legend and draw_rk:
        handles.append(Line2D([], [], color="k", lw=1.4, label=f"analytic |K∞/K0 − 1| = {eps:g} (typical init)"))
    if legend and draw_z:
        handles.append(Line2D([], [], color="k", lw=1.4, ls="--", label=f"analytic ζ = {zstar:g} (typical init)"))
    return handles


def regime_bands(axes, x: np.ndarray, label: np.ndarray, log: bool, alpha: float = 1.0) -> None:
    """Shade each point's interval of a 1-D sweep in its regime's colour (midpoints geometric on log axes)."""
    mid = np.sqrt(x[1:] * x[:-1]) if log else (x[1:] + x[:-1]) / 2
    edges = np.concatenate([[x[0]], mid, [x[-1]]])
    for ax in axes:
        for k in range(x.size):
            ax.axvspan(edges[k], edges[k + 1], color=REGIME_COLORS[LABELS[label[k]]], lw=0, alpha=alpha)


def _plot_1d(ds: xr.Dataset, xname: str, title: str):
    fig, axes = plt.subplots(2, 1, figsize=(8, 6.5), sharex=True, constrained_layout=True)
    x = ds[xname].values
    label = ds["label"].values
    regime_bands(axes, x, label, ds[xname].attrs.get("spacing") == "log")
    axes[0].plot(x, ds["ntk_ratio"].values, color="k", lw=2, label=r"$K_\infty/K_0$ (LR-weighted NTK)")
    axes[0].plot(x, ds["ntk_plain_ratio"].values, color="0.35", lw=1.5, ls="--", label="un-weighted NTK ratio")
    if "ntk_ratio_at_time" in ds:
        axes[0].plot(
            x,
            ds["ntk_ratio_at_time"].values,
            color="#c0392b",
            lw=1.5,
            ls=":",
            label=f"$K(t)/K_0$ at t = {ds.attrs['time']:g}",
        )
    axes[0].set_yscale("log")
    axes[0].set_ylabel("final / initial NTK")
    axes[0].legend(fontsize=8, loc="best")
    axes[1].plot(x, np.clip(ds["kernel_distance"].values, 1e-12, None), color="k", lw=2)
    axes[1].set_yscale("log")
    axes[1].set_ylabel(r"$\max_t |F - F_{\rm kernel}| / |m - F_0|$")
    _setup_axes(axes[1], ds, xname, None)
    _regime_legend(axes[1], label)
    fig.suptitle(title, fontsize=11)
    return fig


def plot_exponent_plane(ds: xr.Dataset, markers: list[dict], title: str = ""):
    """Asymptotic phase map over two exponents, the NTK-change exponent, boundaries and named parametrizations."""
    from matplotlib.lines import Line2D

    xname, yname = ds["label"].dims
    x, y = ds[xname].values, ds[yname].values
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.4), constrained_layout=True)
    ax = axes[0]
    ax.pcolormesh(x, y, ds["label"].values.T, cmap=_CMAP, norm=_NORM, shading="nearest", rasterized=True)
    ax2 = axes[1]
    change = ds["ntk_change"].values.T
    span = max(float(np.max(np.abs(change))), 0.5)
    mesh = ax2.pcolormesh(
        x, y, change, cmap="RdBu_r", norm=TwoSlopeNorm(0.0, -span, span), shading="nearest", rasterized=True
    )
    fig.colorbar(mesh, ax=ax2, label=r"exponent of $|K_\infty/K_0 - 1| \sim d^{\,e}$")
    gamma, rho = ds["gamma"].values.T, ds["rho"].values.T
    for a in axes:
        if np.min(gamma) < 0 < np.max(gamma):
            a.contour(x, y, gamma, levels=[0.0], colors="k", linewidths=1.6)
        rho_fl = np.where(gamma >= 0, rho, np.nan)
        if np.nanmin(rho_fl, initial=np.inf) < 0 < np.nanmax(rho_fl, initial=-np.inf):
            a.contour(x, y, rho_fl, levels=[0.0], colors="k", linewidths=1.6, linestyles="--")
        for mk in markers:
            a.plot(
                mk["x"],
                mk["y"],
                marker=mk["marker"],
                ms=10,
                mfc="white" if not mk["on_plane"] else "gold",
                mec="k",
                mew=1.5,
                ls="none",
            )
            a.annotate(
                mk["name"], (mk["x"], mk["y"]), xytext=(6, 6), textcoords="offset points", fontsize=9, fontweight="bold"
            )
        a.set_xlabel(EXPONENT_LABELS.get(xname, xname))
        a.set_ylabel(EXPONENT_LABELS.get(yname, yname))
        a.set_xlim(x[0], x[-1])
        a.set_ylim(y[0], y[-1])
    axes[0].set_title("phase as width → ∞")
    axes[1].set_title("NTK change exponent (0: Θ(1) change)")
    label = ds["label"].values
    extra = [
        Line2D([], [], color="k", lw=1.6, label="γ = 0 (kernel | feature learning)"),
        Line2D([], [], color="k", lw=1.6, ls="--", label="ρ = 0 (alignment line)"),
        Line2D([], [], marker="o", mfc="gold", mec="k", ls="none", label="named parametrization (on this plane)"),
        Line2D([], [], marker="o", mfc="white", mec="k", ls="none", label="same (x, ρ) as a named one"),
    ]
    present = [k for k in range(len(LABELS)) if (label == k).any()]
    handles = [Patch(facecolor=REGIME_COLORS[LABELS[k]], edgecolor="0.3", label=LABELS[k]) for k in present] + extra
    axes[0].legend(handles=handles, loc="upper left", bbox_to_anchor=(0.0, -0.14), ncol=2, fontsize=8, frameon=False)
    fig.suptitle(title, fontsize=11)
    return fig
