"""Section "baseline_distance": the exact kernel-baseline distance against the 128-sample one it
replaced, side by side in one run, and the command it was the bottleneck of.

* 10^6 cells of the default diagram (width 1..1e6 x init scale 1e-3..1e3, NTK parametrization,
  8 seeds): ``kernels.baseline_distance`` (exact: the extrema located as roots of the gap's
  derivative) against ``sampled_distance`` below (the previous kernel, verbatim: the maximum over
  128 log-spaced times), median of several runs each, and how far apart their values are;
* ``phasefl.sweep.sweep`` on the spec of ``python -m phasefl.diagram --axis width,init_scale
  --width 1:1e6:1000 --init-scale 1e-3:1e3:1000`` (763 widths x 1000 x 8 seeds = 6.1e6 draws),
  in this process, with each distance;
* that command end to end in a fresh process, numba's cache warm (one untimed run first); the
  figure is part of it.

``--smoke`` (and ``bench/run.py --smoke``) shrinks every size; its numbers mean nothing.
``sampled_distance`` is compiled in each run (not cached on disk, like bench/prototypes.py: numba
keys a cache on this file alone, so it would keep an older closed form after ``make generate``).

    python bench/bench_baseline.py [--smoke]
"""

from __future__ import annotations

import argparse
import math
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numba
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import jsonable, run_child, timed  # noqa: E402

from phasefl import kernels  # noqa: E402
from phasefl._generated.closed_form import kernel_baseline_at, observables_final, slope_at  # noqa: E402
from phasefl.kernels import column_constants  # noqa: E402

COMMAND = ["--axis", "width,init_scale", "--width", "1:1e6:1000", "--init-scale", "1e-3:1e3:1000"]
SMOKE_COMMAND = ["--axis", "width,init_scale", "--width", "1:1e3:8", "--init-scale", "0.1:10:8", "--seeds", "1"]


@numba.njit(parallel=True)
def _sampled_distance(inputs, n_times, out):
    """The previous ``kernels._baseline_distance``: max |F - F_kernel| / |m - F0| over n_times
    log-spaced times from 0.01 / (a max(K0, K_inf)) to 100 / (a min(K0, K_inf))."""
    for i in numba.prange(inputs.shape[1]):
        kappa, lr_u, lr_w, a = inputs[0, i], inputs[1, i], inputs[2, i], inputs[3, i]
        uu, ww = inputs[5, i], inputs[6, i]
        c = column_constants(inputs, i)
        k0 = kappa * kappa * (lr_u * ww + lr_w * uu)
        kinf = observables_final(c)[1]
        if kinf == 0.0:  # degenerate collapse: F -> 0 on the time scale of the start
            kinf = k0
        f0 = slope_at(0.0, c)[0]
        m = inputs[4, i] / a
        lo = 0.01 / (a * max(k0, kinf))
        hi = 100.0 / (a * min(k0, kinf))
        step = (math.log(hi) - math.log(lo)) / (n_times - 1)
        worst = 0.0
        for j in range(n_times):
            t = math.exp(math.log(lo) + j * step)
            gap = abs(slope_at(t, c)[0] - kernel_baseline_at(t, c)[0])
            worst = max(worst, gap)
        out[i] = worst / abs(m - f0) if m != f0 else 0.0


def sampled_distance(inputs: np.ndarray, n_times: int = 128) -> np.ndarray:
    out = np.empty(inputs.shape[1])
    _sampled_distance(np.ascontiguousarray(inputs, dtype=np.float64), n_times, out)
    return out


def _spec(smoke: bool):
    from phasefl.diagram import DEFAULT_SEEDS
    from phasefl.sweep import SweepSpec, parse_range

    if smoke:
        return SweepSpec((parse_range("width", "1:1e3:8"), parse_range("init_scale", "0.1:10:8")), {}, seeds=1)
    return SweepSpec(
        (parse_range("width", "1:1e6:1000"), parse_range("init_scale", "1e-3:1e3:1000")), {}, seeds=DEFAULT_SEEDS
    )


def _cells(n: int) -> np.ndarray:
    """Kernel inputs of n draws of the default diagram (widths 1..1e6 x init scales 1e-3..1e3 x 8
    seeds, 1000 init scales, as many widths as it takes, the draws in grid order, cut at n)."""
    from phasefl.sweep import SweepSpec, cell_parameters, parse_range, sample_cells

    n_width = 2
    while parse_range("width", f"1:1e6:{n_width}").values.size * 8000 < n:
        n_width += 1
    spec = SweepSpec(
        (parse_range("width", f"1:1e6:{n_width}"), parse_range("init_scale", "1e-3:1e3:1000")), {}, seeds=8
    )
    return np.ascontiguousarray(sample_cells(spec, cell_parameters(spec))[:, :n])


def _cli_wall(args: list[str], repeats: int) -> dict:
    out = Path(tempfile.mkdtemp(prefix="bench-baseline-"))
    try:
        walls = []
        for k in range(repeats + 1):  # the first run warms numba's cache and the file system
            res = run_child(["-m", "phasefl.diagram", *args, "--quiet", "--out", str(out / f"run{k}")])
            if res["returncode"] != 0:
                raise RuntimeError(f"phasefl.diagram {' '.join(args)} failed: {res['stderr'][-2000:]}")
            if k:
                walls.append(res["wall_s"])
        return {"median_s": statistics.median(walls), "min_s": min(walls), "runs_s": walls, "repeats": repeats}
    finally:
        shutil.rmtree(out, ignore_errors=True)


def measure(smoke: bool = False, log=print) -> dict:
    from phasefl import sweep as sweep_module

    repeats = 2 if smoke else 5
    inputs = _cells(10_000 if smoke else 1_000_000)
    n = inputs.shape[1]
    start = time.perf_counter()
    sampled_distance(inputs[:, :8])
    compile_s = time.perf_counter() - start
    kernels.baseline_distance(inputs[:, :8])
    exact_t = timed(lambda: kernels.baseline_distance(inputs), repeats, warmup=1)
    sampled_t = timed(lambda: sampled_distance(inputs), repeats, warmup=1)
    exact, sampled = kernels.baseline_distance(inputs), sampled_distance(inputs)
    rel = np.abs(sampled - exact) / np.where(exact > 0, exact, 1.0)
    visible = exact > 1e-6  # below, both are dominated by rounding (~1e-16 / |F0 - m|)
    res = {
        "n_cells": n,
        "repeats": repeats,
        "sampled_compile_s": compile_s,
        "exact_s": exact_t,
        "sampled_s": sampled_t,
        "exact_ns_per_cell": exact_t["median_s"] / n * 1e9,
        "sampled_ns_per_cell": sampled_t["median_s"] / n * 1e9,
        "speedup": sampled_t["median_s"] / exact_t["median_s"],
        "threads": numba.get_num_threads(),
        "sampled_vs_exact": {
            "cells_with_distance_above_1e-6": int(visible.sum()),
            "max_rel_diff": float(rel[visible].max()) if visible.any() else None,
            "median_rel_diff": float(np.median(rel[visible])) if visible.any() else None,
            "fraction_sampled_below_exact": float(np.mean(sampled[visible] < exact[visible] * (1 - 1e-12))),
            "fraction_sampled_above_exact": float(np.mean(sampled[visible] > exact[visible] * (1 + 1e-12))),
        },
    }
    log(f"  {n:,} cells: exact {exact_t['median_s']:.3f} s, 128 samples {sampled_t['median_s']:.3f} s "
        f"({res['speedup']:.1f}x); max rel. difference {res['sampled_vs_exact']['max_rel_diff']}")  # fmt: skip

    spec = _spec(smoke)
    sweep_module.sweep(spec)  # warm: compiled, first-touch of the arrays
    sweep_repeats = 1 if smoke else 3
    draws = int(np.prod(spec.shape)) * spec.seeds
    res["sweep"] = {"draws": draws, "exact": timed(lambda: sweep_module.sweep(spec), sweep_repeats)}
    original = kernels.baseline_distance
    kernels.baseline_distance = sampled_distance  # what sweep.py calls
    try:
        res["sweep"]["sampled"] = timed(lambda: sweep_module.sweep(spec), sweep_repeats)
    finally:
        kernels.baseline_distance = original
    log(f"  sweep ({res['sweep']['draws']:,} draws): exact {res['sweep']['exact']['median_s']:.2f} s, "
        f"128 samples {res['sweep']['sampled']['median_s']:.2f} s")  # fmt: skip

    args = SMOKE_COMMAND if smoke else COMMAND
    res["command"] = "python -m phasefl.diagram " + " ".join(args)
    res["command_warm"] = _cli_wall(args, 1 if smoke else 3)
    log(f"  {res['command']}: {res['command_warm']['median_s']:.2f} s end to end (warm)")
    return jsonable(res)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--smoke", action="store_true")
    measure(p.parse_args(argv).smoke)


if __name__ == "__main__":
    main()
