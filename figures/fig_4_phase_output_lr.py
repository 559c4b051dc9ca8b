"""Figure 4: exact phase diagram over output scale x learning-rate ratio: the rescaling region.

Regime of every cell (most frequent over 8 initializations), log10 K_inf/K0 and the distance
to the kernel baseline, with the analytic boundaries of the typical initialization
(``phasefl.plot.plot_diagram``). Reads ``<data>/phase_output_lr.nc``.
"""

from __future__ import annotations

import sys

from common import sweep_figure

CAPTION = (
    "Output scale × learning-rate ratio, mean-field base (κ = 1/d, σ = 1, d = 10⁴, m = 1): small output scale "
    "learns features,\nby alignment when η_w/η_u ≈ 1 and by rescaling when the layers' rates are imbalanced"
)


def main(argv=None) -> int:
    return sweep_figure(__doc__, argv, "phase_output_lr.nc", CAPTION, "fig4_phase_output_lr")


if __name__ == "__main__":
    sys.exit(main())
