"""Figure 10: work against precision: seconds per cell against the error of F, for phasefl's closed
form and every simulation baseline of bench/baselines.py at several settings.

Reads ``<data>/work_precision.npz`` (``data_work_precision.py``).
"""

from __future__ import annotations

import sys

import matplotlib.pyplot as plt
import numpy as np

from common import arguments, load_npz, save_figure, setup_style

LINES = {  # name -> label, style; the setting of each point is written next to it
    "ivp_full/DOP853": ("solve_ivp DOP853, full 2d-dim flow (rtol)", {"color": "#0072b2", "marker": "o", "ls": "-"}),
    "ivp_full/RK45": (
        "solve_ivp RK45, full flow (rtol)",
        {"color": "#0072b2", "marker": "o", "ls": ":", "mfc": "white"},
    ),
    "ivp_reduced/DOP853": ("solve_ivp DOP853, reduced 1-D ODE (rtol)", {"color": "#d55e00", "marker": "s", "ls": "-"}),
    "ivp_reduced/RK45": (
        "solve_ivp RK45, reduced ODE (rtol)",
        {"color": "#d55e00", "marker": "s", "ls": ":", "mfc": "white"},
    ),
    "gd_numpy": ("gradient descent, NumPy (step c / aK₀)", {"color": "#009e73", "marker": "^", "ls": "--"}),
    "gd_torch": ("gradient descent, PyTorch batch (step c / aK₀)", {"color": "0.4", "marker": "v", "ls": "-."}),
}


def main(argv=None) -> int:
    args = arguments(__doc__.splitlines()[0], argv, plot=True)
    setup_style()
    d = load_npz(args.data / "work_precision.npz")
    fig, ax = plt.subplots(figsize=(11, 7), constrained_layout=True)
    floor = d["phasefl/batch"][1]
    for name, (label, style) in LINES.items():
        if f"{name}/seconds" not in d:
            continue
        err, sec, setting = d[f"{name}/error"], d[f"{name}/seconds"], d[f"{name}/setting"]
        ok = np.isfinite(err) & np.isfinite(sec)
        ax.plot(np.maximum(err[ok], floor), sec[ok], label=label, mew=1.6, **style)
        for e, s, c in zip(err[ok], sec[ok], setting[ok]):
            ax.annotate(f"{c:.0e}", (max(e, floor), s), textcoords="offset points", xytext=(4, 4), fontsize=9,
                        color=style["color"])  # fmt: skip
    for key, marker, label in (("batch", "*", "phasefl, a batch of 10⁴ cells"), ("grid", "P", "phasefl, one call")):
        ax.plot([max(d[f"phasefl/{key}"][1], floor)], [d[f"phasefl/{key}"][0]], marker=marker, ms=18, color="k",
                ls="none", label=label)  # fmt: skip
    ax.axvline(floor, color="0.7", lw=4, zorder=0, label="phasefl's error: the reference's own accuracy")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.invert_xaxis()
    ax.set_xlabel(r"error  $\max_{\rm cells}\max_t |F - F_{\rm ref}| \,/\, \max_t |F_{\rm ref}|$   (more precise →)")
    ax.set_ylabel("seconds per cell (all 9 observables for phasefl, F alone for the baselines)")
    n = d["widths"].size
    widths = ", ".join(str(w) for w in np.unique(d["widths"]))
    ax.set_title(
        f"Work against precision, {n} cells (widths {widths}, NTK param.), {d['times'].size} times;\n"
        "reference: solve_ivp DOP853 rtol 1e-12 on the full flow"
    )
    ax.legend(loc="lower left", fontsize=10)
    save_figure(fig, "fig10_work_precision", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
