"""Data of figure 5: the width -> infinity exponent plane (c_w, alpha) with the named parametrizations.

kappa ~ d^-alpha, eta_w ~ d^-c_w, the other exponents at their mean-field values
(b_u = b_w = c_u = 0). ``phasefl.asymptotics.exponent_table`` gives the phase and the
exponent of |K_inf/K0 - 1| at every point (spec E.3); the NTK, mean-field, muP and standard
parametrizations are marked, at their own point when they lie on the plane and otherwise at
the point with the same effective exponents (x, rho), which alone decide the phase.
Writes ``<data>/exponent_plane.nc``.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import xarray as xr
from phasefl.asymptotics import EXPONENT_MEANING, EXPONENT_NAMES, PARAMETRIZATIONS, exponent_table, plane_markers

from common import arguments, save_netcdf

AXES = ("c_w", "alpha")  # x axis, y axis


def main(argv=None) -> int:
    args = arguments(__doc__.splitlines()[0], argv)
    n = 11 if args.tiny else 301
    values = {"c_w": np.linspace(-2.0, 2.0, n), "alpha": np.linspace(-0.5, 2.5, n)}
    fixed = {k: v for k, v in zip(EXPONENT_NAMES, PARAMETRIZATIONS["mean-field"]) if k not in AXES}
    grids = dict(zip(AXES, np.meshgrid(values[AXES[0]], values[AXES[1]], indexing="ij")))
    table = exponent_table(*(grids.get(k, fixed.get(k)) for k in EXPONENT_NAMES))
    ds = xr.Dataset(coords={k: (k, values[k], {"long_name": EXPONENT_MEANING[k], "units": "1"}) for k in AXES})
    for key, arr in table.items():
        ds[key] = (AXES, arr.astype(np.int8) if key == "label" else arr)
    ds.attrs.update({f"fixed_{k}": v for k, v in fixed.items()})
    ds.attrs["markers"] = json.dumps(plane_markers(list(AXES), values, fixed), default=float)
    print(f"wrote {save_netcdf(ds, args.data / 'exponent_plane.nc')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
