"""Figure 6: exact dynamics against the kernel baseline; learning time against init scale.

(a) F(t) exact vs kernel (frozen-NTK) baseline at small and large init; (b) distance to the
baseline across init scale at several widths; (c) learning time vs init scale: the plateau of
small init grows like log 1/sigma, the kernel time like 1/sigma^2.
Reads ``<data>/kernel_baseline.npz`` (``data_kernel_baseline.py``).
"""

from __future__ import annotations

import sys

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

from common import STYLE, arguments, load_npz, panel_label, save_figure, setup_style

WIDTH_STYLE = (("0.0", "-", "o"), ("#3b75af", "--", "s"), ("#d9822b", "-.", "^"), ("#5b2a86", ":", "D"))


def main(argv=None) -> int:
    args = arguments(__doc__.splitlines()[0], argv, plot=True)
    setup_style()
    d = load_npz(args.data / "kernel_baseline.npz")
    fig, axes = plt.subplots(1, 3, figsize=(18, 6.0), constrained_layout=True)

    ax = axes[0]
    times = d["traj/times"]
    colors = ("#08306b", "#6baed6", "0.45")  # dark to light with the init scale
    markers = ("o", "s", "D")
    handles = []
    for k, sigma in enumerate(d["traj/sigmas"]):
        every = (k * 7, 45)
        ax.plot(times, d[f"traj/{k}/F"], color=colors[k], ls="-", marker=markers[k], markevery=every)
        ax.plot(times, d[f"traj/{k}/F_kernel"], color=colors[k], ls="--", lw=1.8, marker=markers[k],
                mfc="white", markevery=every)  # fmt: skip
        handles.append(
            Line2D([], [], color=colors[k], marker=markers[k], label=f"σ = {sigma:g} ({d[f'traj/{k}/label']})")
        )
    handles += [
        Line2D([], [], color="k", label="exact"),
        Line2D([], [], color="k", ls="--", lw=1.8, label="kernel baseline (NTK frozen at K0)"),
    ]
    ax.legend(handles=handles, loc="upper right", fontsize=11)
    ax.set_xscale("log")
    ax.set_xlim(times[0], times[-1])
    f0 = max(float(d[f"traj/{k}/F"][0]) for k in range(len(d["traj/sigmas"])))
    ax.set_ylim(-0.05, max(1.35, 1.08 * f0))
    ax.set_xlabel(r"time $t$  [units of $1/(a\eta)$]")
    ax.set_ylabel("network slope F(t)  (target m = 1)")
    ax.set_title("trajectories, NTK param., d = 1000:\nsmall init leaves the kernel baseline")

    ax = axes[1]
    sig = d["dist/sigma"]
    for (color, ls, marker), width in zip(WIDTH_STYLE, d["dist/widths"]):
        ax.fill_between(sig, d[f"dist/{width}/q25"], d[f"dist/{width}/q75"], color=color, alpha=0.15, lw=0)
        ax.plot(
            sig, d[f"dist/{width}/median"], color=color, ls=ls, marker=marker, markevery=(0, 12), label=f"d = {width}"
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(sig[0], sig[-1])
    ax.set_xlabel(r"init scale $\sigma$  ($\sigma_u = \sigma_w$)")
    ax.set_ylabel(r"$\max_t |F - F_{\rm kernel}| \,/\, |m - F_0|$")
    ax.legend(title="median, quartile band", loc="lower left", fontsize=11, title_fontsize=11)
    ax.set_title("distance to the kernel baseline: Θ(1) at small\ninit; at large init a finite-width floor ~ 1/d")

    ax = axes[2]
    sig_t = d["tl/sigma"]
    ax.plot(sig_t, d["tl/t_learn"], color="k", label="exact (1 % of the initial excess loss left)")
    ax.plot(
        sig_t, d["tl/small_init"], color=STYLE["alignment"]["color"], ls="--",
        label=r"small init: $[\ln(g|m|/K_c) + \ln 18]\,/\,(a g |m|)$",
    )  # fmt: skip
    ax.plot(sig_t, d["tl/kernel"], color="0.45", ls=":", label=r"kernel: $\ln 10\,/\,(a K_0)$")
    top = 1.15 * float(np.max(d["tl/t_learn"]))
    ax.set_xscale("log")
    ax.set_xlim(sig_t[0], sig_t[-1])
    ax.set_ylim(0, top)
    ax.set_xlabel(r"init scale $\sigma$  (NTK param., d = 1000)")
    ax.set_ylabel(r"learning time $t_{\rm learn}$  [units of $1/(a\eta)$]")
    ax.legend(loc="upper right", fontsize=11)
    ax.set_title("learning time: the plateau grows like\nlog 1/σ at small init (straight line)")
    for letter, ax in zip("abc", axes):
        panel_label(ax, letter)
    fig.suptitle(
        "Exact dynamics vs the kernel baseline: small initialization learns features, after a plateau ∝ log 1/σ"
    )
    save_figure(fig, "fig6_kernel_baseline", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
