"""Figure 5: the width -> infinity phase plane over exponents (c_w, alpha), named parametrizations marked.

Left: phase as d -> infinity with the analytic boundaries gamma = 0 (kernel | feature learning)
and rho = 0 (alignment line); right: exponent e of |K_inf/K0 - 1| ~ d^e
(``phasefl.plot.plot_exponent_plane``). Reads ``<data>/exponent_plane.nc``.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import xarray as xr
from phasefl.plot import REGIME_COLORS, plot_exponent_plane
from phasefl.regimes import LABELS

from common import arguments, restyle, save_figure, setup_style


def main(argv=None) -> int:
    args = arguments(__doc__.splitlines()[0], argv, plot=True)
    setup_style()
    with xr.open_dataset(args.data / "exponent_plane.nc", engine="scipy") as ds:
        ds = ds.load()
    fig = plot_exponent_plane(ds, json.loads(ds.attrs["markers"]))
    # the alignment phase is a line (rho = 0): too thin for the map's cells, so draw it over them
    align = ds["label"].values == LABELS.index("alignment")
    for i in np.flatnonzero(align.any(axis=1)):
        alpha = ds["alpha"].values[align[i]]
        fig.axes[0].plot([ds["c_w"].values[i]] * 2, [alpha.min(), alpha.max()], color=REGIME_COLORS["alignment"],
                         lw=7, solid_capstyle="butt", zorder=1.5)  # fmt: skip
    restyle(
        fig,
        r"Width → ∞ ($\kappa \sim d^{-\alpha}$, $\eta_w \sim d^{-c_w}$; $\sigma_u, \sigma_w, \eta_u$ fixed): "
        "features are learned iff α ≥ 1 + |c_w|/2,\n"
        "by alignment on the balanced line c_w = 0 (mean-field, μP), by rescaling off it; NTK and standard are kernel",
        size=(14, 6.6),
        ncol=3,
    )
    save_figure(fig, "fig5_exponent_plane", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
