"""Benchmark: a 256 x 256 finite-width phase diagram (labels, order parameters, kernel-baseline distance).

Target (issue 3): under 2 s once compiled on the 2-core machine. Reports the compile (first
call) time separately and the median of warm repeats, split into its parts.

    python bench/bench_diagram.py [--n 256] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

from phasefl import kernels
from phasefl.sweep import SweepSpec, cell_parameters, parse_range, sample_cells, sweep


def _time(fn, repeats):
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs), runs


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=256, help="grid points per axis (default 256)")
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args(argv)
    spec = SweepSpec(
        axes=(parse_range("width", f"1:1e6:{args.n}"), parse_range("init_scale", f"1e-3:1e3:{args.n}")), fixed={}
    )
    start = time.perf_counter()
    sweep(spec)
    first = time.perf_counter() - start
    inputs = sample_cells(spec, cell_parameters(spec))
    total, _ = _time(lambda: sweep(spec), args.repeats)
    parts = {
        "sample Gram numbers": _time(lambda: sample_cells(spec, cell_parameters(spec)), args.repeats)[0],
        "order parameters": _time(lambda: kernels.orders(inputs), args.repeats)[0],
        "t = inf observables": _time(lambda: kernels.finals(inputs), args.repeats)[0],
        "kernel-baseline distance (128 times/cell)": _time(lambda: kernels.baseline_distance(inputs), args.repeats)[0],
    }
    cells = args.n**2
    print(f"{args.n} x {args.n} = {cells} cells, median of {args.repeats}")
    print(f"  first call (includes numba load/compile): {first:8.3f} s")
    print(f"  whole sweep, warm:                        {total:8.3f} s  ({cells / total:,.0f} cells/s)")
    for name, seconds in parts.items():
        print(f"    {name:<40} {seconds:8.4f} s")


if __name__ == "__main__":
    main()
