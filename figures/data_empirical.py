"""Data of figure 9: the three mechanisms in deep nonlinear networks on digits, beside the exact model.

* ``deep``: ``phasefl.empirical.sweep`` over init scale (10^-2 ... 10, 7 values) x learning-rate
  ratio eta_hidden/eta_last (10^-2 ... 10^2, 5 values): depth-3 ReLU MLPs of width 256 (NTK output
  scale, hidden multipliers 1/sqrt(fan_in), He-scaled Gaussian init x sigma), trained on digits
  even/odd (1,200 training images, MSE) by small-step full-batch GD to trace time tau = 300;
  one seed; with the exact model's label at the same hyperparameters in every cell.
* ``exact``: ``phasefl.sweep`` over the same ranges on a 64 x 64 grid, width 256, NTK
  parametrization, target m = 1, 8 inits per cell, with the analytic boundaries.
* ``curve``: init scale 10^-2 ... 10 (10 values) at eta_hidden = eta_last, trained longer
  (tau = 1000), for test accuracy against init scale.

The three datasets are stored in one netCDF file, with their variables and dimensions prefixed
``deep_``, ``exact_`` and ``curve_`` (``unpack`` splits them again). Writes ``<data>/empirical.nc``.
"""

from __future__ import annotations

import json
import sys
import time

import xarray as xr

from common import arguments, save_netcdf

PARTS = ("deep", "exact", "boundary", "curve")


def pack(parts: dict[str, xr.Dataset]) -> xr.Dataset:
    """One Dataset from several: every variable, dimension and attribute prefixed with its part's name."""
    out = []
    for prefix, ds in parts.items():
        names = {name: f"{prefix}_{name}" for name in list(ds.variables) + list(ds.dims)}
        renamed = ds.rename(names)
        renamed.attrs = {}
        out.append(renamed)
    packed = xr.merge(out, combine_attrs="override")
    packed.attrs["parts"] = json.dumps({prefix: ds.attrs for prefix, ds in parts.items()}, default=str)
    return packed


def unpack(packed: xr.Dataset) -> dict[str, xr.Dataset]:
    """Inverse of ``pack``: {part name: Dataset} with the original names and attributes."""
    attrs = json.loads(packed.attrs["parts"])
    parts = {}
    for prefix, part_attrs in attrs.items():
        head = prefix + "_"
        names = [n for n in packed.variables if n.startswith(head)]
        ds = packed[[n for n in names if n not in packed.dims]]
        ds = ds.drop_vars([c for c in ds.coords if not c.startswith(head)])
        strip = {n: n[len(head) :] for n in list(ds.variables) + list(ds.dims)}
        ds = ds.rename(strip)
        ds.attrs = part_attrs
        parts[prefix] = ds
    return parts


def main(argv=None) -> int:
    args = arguments(__doc__.splitlines()[0], argv)
    from phasefl.empirical import EmpiricalSpec, Schedule, digits, make_axis, sweep
    from phasefl.empirical._torch import torch
    from phasefl.sweep import SweepSpec, parse_range, typical_boundaries
    from phasefl.sweep import sweep as exact_sweep

    torch.set_num_threads(1)  # a shared 2-core machine: more threads are slower
    started = time.perf_counter()
    if args.tiny:
        width, n_train, probe, grid, n_exact, n_curve = 16, 300, 32, (3, 3), 8, 3
        deep_schedule, curve_schedule = Schedule(horizon=10.0), Schedule(horizon=10.0)
    else:
        width, n_train, probe, grid, n_exact, n_curve = 256, 1200, 256, (7, 5), 64, 7
        deep_schedule, curve_schedule = Schedule(horizon=300.0), Schedule(horizon=1000.0)
    init_range, ratio_range = "1e-2:1e1", "1e-2:1e2"
    data = digits(n_train=n_train, probe_size=probe)
    fixed = {"width": float(width)}

    spec = EmpiricalSpec(
        (make_axis("init_scale", f"{init_range}:{grid[0]}"), make_axis("lr_ratio", f"{ratio_range}:{grid[1]}")),
        fixed,
        n_train=n_train,
        probe_size=probe,
        schedule=deep_schedule,
    )
    done = [0]

    def tick(_):
        done[0] += 1
        print(
            f"  deep networks: {done[0]}/{grid[0] * grid[1]} cells ({time.perf_counter() - started:.0f} s)", flush=True
        )

    deep = sweep(spec, progress=tick, data=data)

    exact_spec = SweepSpec(
        (parse_range("init_scale", f"{init_range}:{n_exact}"), parse_range("lr_ratio", f"{ratio_range}:{n_exact}")),
        {"width": float(width)},
        "ntk",
        8,
    )
    exact = exact_sweep(exact_spec)
    boundary = typical_boundaries(exact_spec)

    curve_spec = EmpiricalSpec(
        (make_axis("init_scale", f"{init_range}:{n_curve}"),),
        fixed,
        n_train=n_train,
        probe_size=probe,
        schedule=curve_schedule,
    )
    curve = sweep(curve_spec, progress=lambda _: print("  accuracy curve: one more cell", flush=True), data=data)

    for ds in (deep, exact, curve):
        ds.attrs["command"] = "figures/data_empirical.py" + (" --tiny" if args.tiny else "")
    packed = pack({"deep": deep, "exact": exact, "boundary": boundary, "curve": curve})
    path = save_netcdf(packed, args.data / "empirical.nc")
    agree = float((deep["label"].values == deep["exact_label"].values).mean())
    print(f"deep-network labels agree with the exact model in {100 * agree:.0f}% of cells")
    print(f"wrote {path}  ({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
