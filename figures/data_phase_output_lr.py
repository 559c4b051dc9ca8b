"""Data of figure 4: exact phase diagram over output scale x learning-rate ratio (rescaling region).

``phasefl.sweep`` on a 128 x 128 grid (output scale 10^-3 to 10^2 x base, ratio 10^-4 to
10^4), 8 i.i.d. Gaussian initializations per cell (seed 0), mean-field base (kappa =
output_scale / d, sigma = 1) at width d = 10^4, eta_w/eta_u = lr_ratio at geometric mean 1,
target m = 1, plus the analytic boundaries of the typical initialization.
Writes ``<data>/phase_output_lr.nc``.
"""

from __future__ import annotations

import sys

from common import arguments, run_sweep, save_netcdf


def main(argv=None) -> int:
    args = arguments(__doc__.splitlines()[0], argv)
    n, seeds = (8, 2) if args.tiny else (128, 8)
    ds = run_sweep({"output_scale": f"1e-3:1e2:{n}", "lr_ratio": f"1e-4:1e4:{n}"}, {"width": 1e4}, "mean-field", seeds)
    print(f"wrote {save_netcdf(ds, args.data / 'phase_output_lr.nc')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
