"""Empirical phase-diagram figures (plotting only), in the look of ``phasefl.plot``.

The colour language of ``phasefl.plot``: the same regime colours (greyscale-ordered: kernel
lightest < disalignment < alignment < rescaling darkest), the same NTK-change map (green grows,
purple shrinks) and the same greys for the distance to the kernel counterpart. Cells of a small grid carry the
exact model's regime at the same hyperparameters as a letter (K, A, D, R), so agreement can be
read off without colour.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from ..plot import (  # noqa: E402
    DISTANCE_CMAP,
    NTK_CMAP,
    REGIME_CMAP,
    REGIME_NORM,
    REGIME_TEXT,
    fit_title,
    log_axis,
    ntk_change_norm,
    regime_bands,
    regime_legend,
)
from ..regimes import LABELS  # noqa: E402

AXIS_LABELS = {
    "init_scale": "init scale σ (every layer, × base std)",
    "lr_ratio": "learning-rate ratio η_hidden / η_last",
    "output_scale": "output scale κ (× base)",
    "width": "width (hidden units per layer)",
}
LETTERS = {name: name[0].upper() for name in LABELS}  # K, A, D, R
MAX_ANNOTATED = 144  # cells; larger grids get no per-cell text


def _setup(ax, ds: xr.Dataset, xname: str, yname: str | None) -> None:
    if ds[xname].attrs.get("spacing") == "log":
        log_axis(ax, "x", ds[xname].values)
    ax.set_xlabel(AXIS_LABELS.get(xname, xname))
    if yname is not None:
        if ds[yname].attrs.get("spacing") == "log":
            log_axis(ax, "y", ds[yname].values)
        ax.set_ylabel(AXIS_LABELS.get(yname, yname))


def coordinate_edges(ds: xr.Dataset, name: str) -> np.ndarray:
    """Cell edges of a coordinate: geometric midpoints on a log axis (a coarse grid's cells stay equal)."""
    v = ds[name].values.astype(float)
    if v.size == 1:
        return np.array([v[0] / 1.5, v[0] * 1.5]) if ds[name].attrs.get("spacing") == "log" else v[0] + [-0.5, 0.5]
    if ds[name].attrs.get("spacing") == "log":
        lv = np.log10(v)
        mid = (lv[1:] + lv[:-1]) / 2
        return 10.0 ** np.concatenate([[2 * lv[0] - mid[0]], mid, [2 * lv[-1] - mid[-1]]])
    mid = (v[1:] + v[:-1]) / 2
    return np.concatenate([[2 * v[0] - mid[0]], mid, [2 * v[-1] - mid[-1]]])


def _annotate(ax, x, y, text, colors) -> None:
    for j in range(y.size):
        for i in range(x.size):
            ax.text(x[i], y[j], text[j][i], ha="center", va="center", fontsize=8, color=colors[j][i])


def plot_empirical(ds: xr.Dataset, title: str = ""):
    """Regime map, NTK change, distance to the kernel counterpart and test accuracy of a 1- or 2-axis sweep."""
    dims = [str(d) for d in ds["label"].dims]
    if len(dims) == 1:
        return _plot_1d(ds, dims[0], title)
    xname, yname = dims
    x, y = ds[xname].values, ds[yname].values
    xe, ye = coordinate_edges(ds, xname), coordinate_edges(ds, yname)
    label = ds["label"].values.T
    annotate = label.size <= MAX_ANNOTATED
    fig, axes = plt.subplots(1, 4, figsize=(21, 5.4), constrained_layout=True)

    ax = axes[0]
    ax.pcolormesh(xe, ye, label, cmap=REGIME_CMAP, norm=REGIME_NORM, rasterized=True)
    extra = []
    if "exact_label" in ds:
        exact = ds["exact_label"].values.T
        if annotate:
            text = [[LETTERS[LABELS[k]] for k in row] for row in exact]
            colors = [[REGIME_TEXT[LABELS[k]] for k in row] for row in label]
            _annotate(ax, x, y, text, colors)
            extra.append(Line2D([], [], ls="none", marker="$K$", color="k", label="letter: exact model's regime"))
        differ = exact != label
        if differ.any():
            gx, gy = np.meshgrid(x, y)
            ax.scatter(gx[differ], gy[differ], s=260, facecolors="none", edgecolors="k", linewidths=1.2)
            agree = 100 * (1 - differ.mean())
            extra.append(
                Line2D(
                    [],
                    [],
                    ls="none",
                    marker="o",
                    mfc="none",
                    mec="k",
                    ms=10,
                    label=f"differs from the exact model ({agree:.0f}% agree)",
                )
            )
    _setup(ax, ds, xname, yname)
    ax.set_title("regime (deep network)")
    regime_legend(ax, label, extra)

    ax = axes[1]
    ratio = np.log10(ds["ntk_ratio"].values.T)
    mesh = ax.pcolormesh(xe, ye, ratio, cmap=NTK_CMAP, norm=ntk_change_norm(ratio), rasterized=True)
    fig.colorbar(mesh, ax=ax, label=r"$\log_{10}\ \mathrm{tr}\,\Theta(T) / \mathrm{tr}\,\Theta(0)$")
    _setup(ax, ds, xname, yname)
    ax.set_title("NTK change: grows (green) / shrinks (purple)")

    ax = axes[2]
    dist = np.log10(np.clip(ds["kernel_distance"].values.T, 1e-6, None))
    mesh = ax.pcolormesh(
        xe,
        ye,
        dist,
        cmap=DISTANCE_CMAP,
        vmin=min(-2.0, float(np.nanmin(dist))),
        vmax=max(0.5, float(np.nanmax(dist))),
        rasterized=True,
    )
    fig.colorbar(mesh, ax=ax, label=r"$\log_{10}\ \max_t \|f - f_{\rm lin}\| / \|f_{\rm lin}(\infty) - f_0\|$")
    _setup(ax, ds, xname, yname)
    ax.set_title("distance to the linearized (kernel) network")

    ax = axes[3]
    acc = 100 * ds["test_acc"].values.T
    mesh = ax.pcolormesh(xe, ye, acc, cmap="cividis", vmin=50, vmax=100, rasterized=True)
    fig.colorbar(mesh, ax=ax, label="test accuracy of the trained network [%]")
    if annotate:
        text = [[f"{v:.0f}" for v in row] for row in acc]
        _annotate(ax, x, y, text, [["black" if v > 80 else "white" for v in row] for row in acc])
    _setup(ax, ds, xname, yname)
    ax.set_title("test accuracy [%]")
    fig.suptitle(fit_title(title, fig.get_figwidth(), 12), fontsize=12)
    return fig


def _plot_1d(ds: xr.Dataset, xname: str, title: str):
    fig, axes = plt.subplots(3, 1, figsize=(8.5, 9), sharex=True, constrained_layout=True)
    x = ds[xname].values
    label = ds["label"].values
    regime_bands(axes, x, label, ds[xname].attrs.get("spacing") == "log", alpha=0.3)
    ax = axes[0]
    ax.plot(x, ds["ntk_ratio"].values, color="k", lw=2, marker="o", label="deep network: tr Θ(T) / tr Θ(0)")
    ax.plot(x, ds["ntk_min_ratio"].values, color="0.35", lw=1.5, ls="--", marker="v", label="its minimum over t")
    if "exact_ntk_ratio" in ds:
        ax.plot(x, ds["exact_ntk_ratio"].values, color="#c0392b", lw=1.5, ls=":", label=r"exact model $K_\infty/K_0$")
    ax.set_yscale("log")
    ax.set_ylabel("final / initial NTK")
    ax.legend(fontsize=10, loc="best")
    ax = axes[1]
    ax.plot(x, np.clip(ds["kernel_distance"].values, 1e-6, None), color="k", lw=2, marker="o")
    ax.set_yscale("log")
    ax.set_ylabel("distance to the\nlinearized network")
    ax = axes[2]
    ax.plot(x, 100 * ds["test_acc"].values, color="k", lw=2, marker="o", label="network, test")
    ax.plot(
        x, 100 * ds["train_acc"].values, color="0.35", lw=1.5, ls="--", marker="s", mfc="white", label="network, train"
    )
    ax.plot(
        x,
        100 * ds["lin_test_acc"].values,
        color="0.2",
        lw=1.5,
        ls="-.",
        marker="^",
        label="linearized, test (same steps)",
    )
    ax.plot(
        x,
        100 * ds["lin_test_acc_inf"].values,
        color="0.5",
        lw=1.5,
        ls=":",
        marker="D",
        label="linearized, test (t → ∞)",
    )
    ax.set_ylabel("accuracy [%]")
    ax.legend(fontsize=10, loc="lower left")
    _setup(ax, ds, xname, None)
    regime_legend(ax, label)
    fig.suptitle(fit_title(title, fig.get_figwidth(), 12), fontsize=12)
    return fig
