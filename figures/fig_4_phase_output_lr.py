"""Figure 4: exact phase diagram over output scale x learning-rate ratio: the rescaling region.

Regime of every cell (most frequent over 8 initializations), log10 K_inf/K0 and the distance
to the kernel baseline, with the analytic boundaries of the typical initialization
(``phasefl.plot.plot_diagram``). Reads ``<data>/phase_output_lr.nc``.
"""

from __future__ import annotations

import sys

import xarray as xr
from phasefl.plot import plot_diagram

from common import arguments, restyle, save_figure, setup_style, unpack_sweep


def main(argv=None) -> int:
    args = arguments(__doc__.splitlines()[0], argv, plot=True)
    setup_style()
    with xr.open_dataset(args.data / "phase_output_lr.nc", engine="scipy") as packed:
        ds, boundaries = unpack_sweep(packed.load())
    fig = plot_diagram(ds, boundaries)
    restyle(
        fig,
        "Output scale × learning-rate ratio, mean-field base (κ = 1/d, σ = 1, d = 10⁴, m = 1): small output scale "
        "learns features,\nby alignment when η_w/η_u ≈ 1 and by rescaling when the layers' rates are imbalanced",
    )
    save_figure(fig, "fig4_phase_output_lr", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
