"""Benchmark: a 256 x 256 finite-width phase diagram (labels, order parameters, kernel-baseline distance).

Target (issue 3): under 2 s once compiled on the 2-core machine. Reports the first call (numba
cache load or compile) separately and the median of warm repeats, split into its parts. Also a
section of ``bench/run.py``.

    python bench/bench_diagram.py [--n 256] [--repeats 5]
"""

from __future__ import annotations

import argparse
import time

from common import timed


def measure(n: int = 256, repeats: int = 5) -> dict:
    from phasefl import kernels
    from phasefl.sweep import SweepSpec, cell_parameters, parse_range, sample_cells, sweep

    spec = SweepSpec(axes=(parse_range("width", f"1:1e6:{n}"), parse_range("init_scale", f"1e-3:1e3:{n}")), fixed={})
    start = time.perf_counter()
    sweep(spec)
    first = time.perf_counter() - start
    inputs = sample_cells(spec, cell_parameters(spec))
    total = timed(lambda: sweep(spec), repeats)
    parts = {
        "sample Gram numbers": timed(lambda: sample_cells(spec, cell_parameters(spec)), repeats)["median_s"],
        "order parameters": timed(lambda: kernels.orders(inputs), repeats)["median_s"],
        "final un-weighted NTK": timed(lambda: kernels.ntk_plain_finals(inputs), repeats)["median_s"],
        "kernel-baseline distance": timed(lambda: kernels.baseline_distance(inputs), repeats)["median_s"],
    }
    return {"n": n, "cells": n * n, "repeats": repeats, "first_call_s": first, "sweep_warm": total, "parts_s": parts}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=256, help="grid points per axis (default 256)")
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args(argv)
    res = measure(args.n, args.repeats)
    total = res["sweep_warm"]["median_s"]
    print(f"{args.n} x {args.n} = {res['cells']} cells, median of {args.repeats}")
    print(f"  first call (includes numba load/compile): {res['first_call_s']:8.3f} s")
    print(f"  whole sweep, warm:                        {total:8.3f} s  ({res['cells'] / total:,.0f} cells/s)")
    for name, seconds in res["parts_s"].items():
        print(f"    {name:<40} {seconds:8.4f} s")


if __name__ == "__main__":
    main()
