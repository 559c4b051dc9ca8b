"""Figure 3: exact finite-width phase diagram over width x init scale, NTK parametrization.

Regime of every cell (most frequent over 8 initializations), log10 K_inf/K0 and the distance
to the kernel baseline, with the analytic boundaries of the typical initialization
(``phasefl.plot.plot_diagram``). Reads ``<data>/phase_width_init.nc``.
"""

from __future__ import annotations

import sys

from common import sweep_figure

CAPTION = (
    r"Width × init scale, NTK parametrization ($\kappa = d^{-1/2}$, $\eta_u = \eta_w = 1$, $m = 1$): "
    "small init → feature learning by alignment;\n"
    "large init at small width → disalignment (NTK shrinks); large init at large width → kernel"
)


def main(argv=None) -> int:
    return sweep_figure(__doc__, argv, "phase_width_init.nc", CAPTION, "fig3_phase_width_init")


if __name__ == "__main__":
    sys.exit(main())
