"""Figure 3: exact finite-width phase diagram over width x init scale, NTK parametrization.

Regime of every cell (most frequent over 8 initializations), log10 K_inf/K0 and the distance
to the kernel baseline, with the analytic boundaries of the typical initialization
(``phasefl.plot.plot_diagram``). Reads ``<data>/phase_width_init.nc``.
"""

from __future__ import annotations

import sys

import xarray as xr
from phasefl.plot import plot_diagram

from common import arguments, restyle, save_figure, setup_style, unpack_sweep


def main(argv=None) -> int:
    args = arguments(__doc__.splitlines()[0], argv, plot=True)
    setup_style()
    with xr.open_dataset(args.data / "phase_width_init.nc", engine="scipy") as packed:
        ds, boundaries = unpack_sweep(packed.load())
    fig = plot_diagram(ds, boundaries)
    restyle(
        fig,
        r"Width × init scale, NTK parametrization ($\kappa = d^{-1/2}$, $\eta_u = \eta_w = 1$, $m = 1$): "
        "small init → feature learning by alignment;\n"
        "large init at small width → disalignment (NTK shrinks); large init at large width → kernel",
    )
    save_figure(fig, "fig3_phase_width_init", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
