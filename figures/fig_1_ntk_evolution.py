"""Figure 1: NTK evolution K(t)/K0 in the kernel regime and the three feature-learning mechanisms.

Lines: exact solution; markers: gradient descent of the actual d-dimensional network.
Reads ``<data>/mechanisms.npz`` (``data_mechanisms.py``).
"""

from __future__ import annotations

import sys

import matplotlib.pyplot as plt
from matplotlib.lines import Line2D

from common import STYLE, arguments, load_npz, panel_label, save_figure, setup_style


def main(argv=None) -> int:
    args = arguments(__doc__.splitlines()[0], argv, plot=True)
    setup_style()
    d = load_npz(args.data / "mechanisms.npz")
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.6), constrained_layout=True)
    handles = []
    for name in ("rescaling", "alignment", "kernel", "disalignment"):
        st = STYLE[name]
        tau, tau_gd = d[f"{name}/tau"], d[f"{name}/tau_gd"]
        k0, m, f0 = d[f"{name}/K0"], d[f"{name}/target"], d[f"{name}/F0"]
        exact_f, gd_f = d[f"{name}/exact/F"], d[f"{name}/gd/F"]
        for ax, exact, gd in (
            (axes[0], d[f"{name}/exact/ntk"] / k0, d[f"{name}/gd/ntk"] / k0),
            (axes[1], (exact_f - f0) / (m - f0), (gd_f - f0) / (m - f0)),
        ):
            ax.plot(tau, exact, color=st["color"], ls=st["ls"])
            ax.plot(tau_gd, gd, ls="none", marker=st["marker"], mfc="white", mec=st["color"], mew=1.8, ms=8)
        extra = f"$F_0={f0:.0f} > m={m:g}$, " if name == "disalignment" else ""
        label = f"{name}: {d[f'{name}/description']}  ({extra}$K_\\infty/K_0={d[f'{name}/ntk_ratio']:.2f}$)"
        handles.append(
            Line2D([], [], color=st["color"], ls=st["ls"], marker=st["marker"], mfc="white", mew=1.8, ms=8, label=label)
        )
    ax = axes[0]
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.axhline(1.0, color="0.5", lw=1, zorder=0)
    ax.set_ylabel(r"NTK $K(t)/K_0$")
    ax.set_title("NTK: grows (alignment, rescaling), shrinks (disalignment)")
    ticks = [0.5, 0.7, 1, 2, 3, 5]
    ax.set_yticks(ticks, [f"{t:g}" for t in ticks])
    ax.minorticks_off()
    ratios = [d[f"{n}/exact/ntk"] / d[f"{n}/K0"] for n in d["names"]]
    ax.set_ylim(min(0.5, 0.9 * min(r.min() for r in ratios)), max(7.0, 1.3 * max(r.max() for r in ratios)))
    ax = axes[1]
    ax.set_xscale("log")
    ax.set_ylabel(r"fraction learned $(F - F_0)/(m - F_0)$")
    ax.set_title("the function: slope F(t) reaches the target m")
    for letter, ax in zip("ab", axes):
        ax.set_xlabel(r"time $t \cdot aK_0$  (units of the initial kernel time $1/aK_0$)")
        ax.set_xlim(1e-2, tau[-1])
        panel_label(ax, letter)
    handles.append(Line2D([], [], color="k", label="lines: exact solution"))
    handles.append(
        Line2D(
            [],
            [],
            color="k",
            ls="none",
            marker="o",
            mfc="white",
            label="markers: gradient descent of the d-dim network",
        )
    )
    fig.legend(handles=handles, loc="outside lower center", ncol=2, frameon=False, fontsize=11.5)
    fig.suptitle("Exact NTK evolution K(t)/K₀: kernel regime (constant) vs the three feature-learning mechanisms")
    save_figure(fig, "fig1_ntk_evolution", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
