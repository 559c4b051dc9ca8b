"""Figure 2: weight geometry of the three mechanisms: alignment |cos∠(u,w)|(t) and each layer's rotation.

Alignment: both layers rotate and u, w become aligned. Rescaling: the dominant layer keeps its
direction while the other rotates onto it. Disalignment: u and w become less aligned.
Lines: exact solution; markers: gradient descent of the d-dimensional network.
Reads ``<data>/mechanisms.npz`` (``data_mechanisms.py``).
"""

from __future__ import annotations

import sys

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

from common import STYLE, arguments, load_npz, panel_label, save_figure, setup_style

MECHANISMS = ("alignment", "rescaling", "disalignment")
LAYER_STYLE = {"u": {"ls": "-", "marker": "o", "mfc": None}, "w": {"ls": "--", "marker": "s", "mfc": "white"}}


def headline(d: dict, name: str) -> str:
    rot = {layer: np.degrees(d[f"{name}/final/rot_{layer}"]) for layer in "uw"}
    cos0, cos_inf = abs(d[f"{name}/init/cos_uw"]), abs(d[f"{name}/final/cos_uw"])
    if name == "alignment":
        return (
            f"alignment: both layers rotate\n(u {rot['u']:.0f}°, w {rot['w']:.0f}°); |cos| {cos0:.2f} → {cos_inf:.2f}"
        )
    if name == "rescaling":
        dom = d[f"{name}/dominant_layer"]
        other = "w" if dom == "u" else "u"
        return (
            f"rescaling: dominant layer {dom} keeps its\n"
            f"direction ({rot[dom]:.0f}°); {other} rotates {rot[other]:.0f}° onto it"
        )
    return (
        "disalignment: u, w become less aligned\n"
        f"|cos| {cos0:.2f} → {cos_inf:.2f} (u {rot['u']:.0f}°, w {rot['w']:.0f}°)"
    )


def main(argv=None) -> int:
    args = arguments(__doc__.splitlines()[0], argv, plot=True)
    setup_style()
    d = load_npz(args.data / "mechanisms.npz")
    fig, axes = plt.subplots(2, 3, figsize=(14, 8.4), sharex=True, sharey="row", constrained_layout=True)
    for j, name in enumerate(MECHANISMS):
        st = STYLE[name]
        tau, tau_gd = d[f"{name}/tau"], d[f"{name}/tau_gd"]
        ax = axes[0, j]
        ax.plot(tau, np.abs(d[f"{name}/exact/cos_uw"]), color=st["color"], ls=st["ls"])
        ax.plot(
            tau_gd,
            np.abs(d[f"{name}/gd/cos_uw"]),
            ls="none",
            marker=st["marker"],
            mfc="white",
            mec=st["color"],
            mew=1.8,
        )
        ax.set_title(headline(d, name), fontsize=13)
        ax = axes[1, j]
        for layer, ls in LAYER_STYLE.items():
            ax.plot(tau, np.degrees(d[f"{name}/exact/rot_{layer}"]), color=st["color"], ls=ls["ls"])
            ax.plot(
                tau_gd, np.degrees(d[f"{name}/gd/rot_{layer}"]), ls="none", marker=ls["marker"],
                mfc=ls["mfc"] or st["color"], mec=st["color"], mew=1.8,
            )  # fmt: skip
        ax.set_xlabel(r"time $t \cdot aK_0$")
        ax.text(
            0.03, 0.96, d[f"{name}/description"] + f"\n$K_\\infty/K_0={d[f'{name}/ntk_ratio']:.2f}$",
            transform=ax.transAxes, va="top", fontsize=11,
            bbox={"facecolor": "white", "edgecolor": "0.7", "alpha": 0.9},
        )  # fmt: skip
    for ax in axes.flat:
        ax.set_xscale("log")
        ax.set_xlim(tau[0], tau[-1])
    axes[0, 0].set_ylabel(r"alignment $|\cos\angle(u, w)|$")
    axes[0, 0].set_ylim(0, 1.05)
    axes[1, 0].set_ylabel("layer rotation since init [degrees]")
    axes[1, 0].set_ylim(0, 90)
    axes[1, 0].set_yticks([0, 15, 30, 45, 60, 75, 90])
    for letter, ax in zip("abcdef", axes.flat):
        panel_label(ax, letter)
    handles = [
        Line2D([], [], color="k", ls="-", marker="o", label="output layer u: angle ∠(u(t), u(0))"),
        Line2D([], [], color="k", ls="--", marker="s", mfc="white", label="hidden layer w: angle ∠(w(t), w(0))"),
        Line2D([], [], color="k", label="lines: exact solution"),
        Line2D(
            [], [], color="k", ls="none", marker="^", mfc="white", label="markers: gradient descent (d-dim network)"
        ),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncol=2, frameon=False)
    fig.suptitle("Weight geometry of the three feature-learning mechanisms (exact solution)")
    save_figure(fig, "fig2_weight_geometry", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
