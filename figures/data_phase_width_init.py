"""Data of figure 3: exact finite-width phase diagram over width x init scale (NTK parametrization).

``phasefl.sweep`` on a 128 x 128 grid (width 1 to 10^4, sigma 10^-3 to 10^3), 32 i.i.d.
Gaussian initializations per cell (seed 0), kappa = d^-1/2, sigma_u = sigma_w = sigma,
eta_u = eta_w = 1, target m = 1, plus the analytic boundaries of the typical initialization.
Writes ``<data>/phase_width_init.nc``.
"""

from __future__ import annotations

import sys

from common import arguments, run_sweep, save_netcdf


def main(argv=None) -> int:
    args = arguments(__doc__.splitlines()[0], argv)
    n, seeds = (8, 2) if args.tiny else (128, 32)
    ds = run_sweep({"width": f"1:1e4:{n}", "init_scale": f"1e-3:1e3:{n}"}, {}, "ntk", seeds)
    print(f"wrote {save_netcdf(ds, args.data / 'phase_width_init.nc')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
