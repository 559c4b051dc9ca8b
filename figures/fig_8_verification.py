"""Figure 8: verification: gradient descent converges to the closed form at first order in the step,
and ODE integration of the d-dimensional gradient flow converges to it as the tolerance shrinks.

Reads ``<data>/verification.npz`` (``data_verification.py``).
"""

from __future__ import annotations

import sys

import matplotlib.pyplot as plt
from matplotlib.lines import Line2D

from common import STYLE, arguments, load_npz, panel_label, save_figure, setup_style


def main(argv=None) -> int:
    args = arguments(__doc__.splitlines()[0], argv, plot=True)
    setup_style()
    d = load_npz(args.data / "verification.npz")
    fig, axes = plt.subplots(1, 2, figsize=(14, 6.2), constrained_layout=True)
    steps, rtols = d["steps"], d["rtols"]

    ax = axes[0]
    first = d[f"{d['names'][0]}/gd"][0]
    ax.plot(steps, first * steps / steps[0], color="0.7", lw=6, zorder=1, label="slope 1 (first order)")
    for name in d["names"]:
        st = STYLE[name]
        ax.plot(steps, d[f"{name}/gd"], color=st["color"], ls=st["ls"], marker=st["marker"], mfc="white", mew=1.8,
                label=name)  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"gradient-descent step $h \cdot aK_{\max}$  (dimensionless)")
    ax.set_ylabel(r"$\max_t |F_{\rm GD} - F_{\rm exact}| \,/\, |m - F_0|$")
    ax.set_title("gradient descent of the d-dim network → closed form,\nerror ∝ step (first order)")
    ax.legend(loc="lower right")

    ax = axes[1]
    ax.plot(rtols, rtols, color="0.7", lw=6, zorder=1)
    for name in d["names"]:
        st = STYLE[name]
        for method, ls, fill in (("DOP853", "-", None), ("RK45", ":", "white")):
            ax.plot(rtols, d[f"{name}/ivp/{method}"], color=st["color"], ls=ls, marker=st["marker"],
                    mfc=fill or st["color"], mew=1.6, lw=2.0)  # fmt: skip
        ax.plot([rtols[-1] / 3], [d[f"{name}/reference"]], marker="*", ms=16, color=st["color"], mec="k", ls="none")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.invert_xaxis()
    ax.set_xlabel("solve_ivp relative tolerance rtol  (tighter →)")
    ax.set_ylabel(r"$\max_t |F_{\rm ODE} - F_{\rm exact}| \,/\, |m - F_0|$")
    ax.set_title("gradient flow of the d-dim network by ODE integration\n→ closed form: error ≈ rtol, down to 1e-12")
    handles = [
        Line2D([], [], color="0.7", lw=6, label="error = rtol"),
        Line2D([], [], color="k", ls="-", marker="o", label="scipy solve_ivp DOP853"),
        Line2D([], [], color="k", ls=":", marker="o", mfc="white", label="scipy solve_ivp RK45"),
        Line2D([], [], color="k", ls="none", marker="*", ms=14, label="phasefl.simulate (DOP853, rtol 1e-13)"),
        Line2D([], [], color="none", label="colours: the mechanisms of (a)"),
    ]
    ax.legend(handles=handles, loc="upper right", fontsize=11)
    for letter, ax in zip("ab", axes):
        panel_label(ax, letter)
    fig.suptitle("Verification: the closed form is the limit of the actual d-dimensional network's training")
    save_figure(fig, "fig8_verification", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
