"""Sections "targets_1e6" and "scaling": phasefl alone, on exactly sampled Gram numbers.

Cells are in the NTK parametrization (kappa = d^-1/2, eta = 1, m = 1) with i.i.d. Gaussian init
drawn exactly through ``phasefl.sample_gram`` (Bartlett, O(1) per cell at any width). Unless a
width is fixed, widths are log-uniform on [1, 10^6] and init scales log-uniform on [1e-3, 1e3],
the range of the default diagram.

* targets_1e6: labels and order parameters at t = infinity of 10^6 cells (``classify_batch``,
  the public call, split into its parts), and full trajectories of 10^6 cells x 64 times, each
  trajectory variant in its own child process for an honest peak RSS;
* scaling: time against the number of cells (10^2 ... 10^7), the number of times, and the width
  (10 ... 10^12, round-robin over widths so that a slow moment of the machine hits all widths).

    python bench/scaling.py --traj-child VARIANT N T REPEATS     (the child; prints one JSON line)
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH, jsonable, mib, peak_rss_kib, run_json_child, start_memory, timed  # noqa: E402

TRAJ_VARIANTS = {
    "phasefl_kernels": "phasefl.kernels.trajectories: 9 observables, float64 (fresh output)",
    "phasefl_solve_batch": "phasefl.solve_batch (public): 9 observables float64 + t = inf",
    "F_f64": "prototype: F only, float64",
    "FK_f32": "prototype: F and K, float32",
}


def make_inputs(n: int, seed: int = 0, width: float | None = None, init_scales: np.ndarray | None = None) -> np.ndarray:
    """Kernel inputs (9, n) of n cells with exactly sampled Gram numbers."""
    from phasefl import sample_gram

    rng = np.random.default_rng(seed)
    w = np.full(n, float(width)) if width is not None else 10 ** rng.uniform(0, 6, n)
    s = init_scales if init_scales is not None else 10 ** rng.uniform(-3, 3, n)
    g = sample_gram(w, s, s, seed=seed + 1)
    one = np.ones(n)
    return np.stack([w**-0.5, one, one, one, one, g.uu, g.ww, g.uw, g.d2])


def _labels(inputs: np.ndarray):
    import phasefl

    return phasefl.classify_batch(*inputs)


def targets(smoke: bool, log=print) -> dict:
    """Labels + order parameters at t = inf for 10^6 cells; trajectories of 10^6 cells x 64 times."""

    from phasefl import kernels
    from phasefl.regimes import label_codes
    from phasefl.solve import cell_inputs

    n = 10_000 if smoke else 1_000_000
    n_times = 8 if smoke else 64
    repeats = 3 if smoke else 7
    inputs = make_inputs(n)
    _labels(inputs[:, :10])
    par = kernels.orders(inputs)
    parts = {
        "classify_batch (public, total)": timed(lambda: _labels(inputs), repeats, warmup=1),
        "  validation + stacking (solve.cell_inputs)": timed(lambda: cell_inputs(*inputs), repeats),
        "  kernels.orders (numba)": timed(lambda: kernels.orders(inputs), repeats),
        "  label rule (regimes.label_codes)": timed(lambda: label_codes(par[4], par[2]), repeats),
        "final_batch (public, t = inf observables)": timed(lambda: _final(inputs), repeats, warmup=1),
        "kernels.orders + label_codes (no validation)": timed(
            lambda: label_codes(*kernels.orders(inputs)[[4, 2]]), repeats
        ),
    }
    log(f"  labels of {n} cells: {parts['classify_batch (public, total)']['median_s']:.3f} s")

    traj = {}
    # one child per variant, so that each peak RSS is its own (smoke: one child for all, faster)
    # smoke: one child for all (each child compiles the kernels again when numba's cache is cold, as in CI)
    groups = [",".join(TRAJ_VARIANTS)] if smoke else list(TRAJ_VARIANTS)
    for group in groups:
        res = run_json_child(
            [
                str(BENCH / "scaling.py"),
                "--traj-child",
                group,
                str(n),
                str(n_times),
                "2" if smoke or group != "phasefl_kernels" else "3",
            ],
            timeout=600,
        )
        for variant, r in res["variants"].items():
            traj[variant] = r
            log(f"  trajectories {variant}: {r['median_s']:.2f} s, peak +{r['peak_increment_mib']:.0f} MiB")
    return jsonable({"n_cells": n, "n_times": n_times, "labels": parts, "trajectories": traj,
                     "descriptions": TRAJ_VARIANTS})  # fmt: skip


def _final(inputs):
    import phasefl

    return phasefl.final_batch(*inputs)


def traj_child(variants: str, n: int, n_times: int, repeats: int) -> dict:
    """Child: time trajectory variants (comma-separated) one after the other; peak RSS of each."""
    inputs = make_inputs(n)
    times = np.geomspace(1e-2, 1e3, n_times)
    return {"variants": {v: _traj_variant(v, inputs, times, repeats) for v in variants.split(",")}}


def _traj_variant(variant: str, inputs: np.ndarray, times: np.ndarray, repeats: int) -> dict:
    import prototypes

    import phasefl
    from phasefl import kernels

    n, n_times = inputs.shape[1], times.size
    small = inputs[:, :4].copy()
    first_start = time.perf_counter()
    if variant.startswith("phasefl"):
        kernels.trajectories(small, times)
        kernels.finals(small)
    else:
        prototypes.trajectories(variant, small, times)
    first_call = time.perf_counter() - first_start
    n_obs = {"F_f64": 1, "FK_f32": 2}.get(variant, 9)
    check = None
    if not variant.startswith("phasefl"):  # the prototype stores what phasefl computes (up to float32)
        ref = kernels.trajectories(inputs[:, :5000], times)[:n_obs].reshape(n_obs, 5000, -1)
        got = prototypes.trajectories(variant, inputs[:, :5000], times).reshape(n_obs, 5000, -1)
        check = float(np.max(np.abs(got - ref) / np.maximum(np.abs(ref), 1e-300)))
    itemsize = 4 if variant.endswith("f32") else 8
    out_bytes = n_obs * n * n_times * itemsize
    if variant == "phasefl_kernels":
        fn = lambda: kernels.trajectories(inputs, times)  # noqa: E731
    elif variant == "phasefl_solve_batch":
        fn = lambda: phasefl.solve_batch(*inputs, times)  # noqa: E731
    else:
        fn = lambda: prototypes.trajectories(variant, inputs, times)  # noqa: E731
    fn()  # warm-up at full size (thread pool, allocator, page cache): the first call is ~1.3x slower
    before = start_memory()  # the peak below is that of the timed calls only
    t = timed(fn, repeats)
    peak = peak_rss_kib()
    return {
        "variant": variant,
        "n_cells": n,
        "n_times": n_times,
        "first_call_s": first_call,
        **t,
        "output_mib": out_bytes / 2**20,
        "inputs_mib": inputs.nbytes / 2**20,
        "rss_before_mib": mib(before),
        "peak_rss_mib": mib(peak),
        "peak_increment_mib": mib(peak - before),
        "ns_per_cell_time": t["median_s"] / (n * n_times) * 1e9,
        "max_rel_diff_from_phasefl": check,
    }


def scaling(smoke: bool, log=print) -> dict:
    import phasefl
    from phasefl import kernels

    out: dict = {}
    # --- number of cells
    top = 4 if smoke else 7
    rows = []
    for k in range(2, top + 1):
        n = 10**k
        inputs = make_inputs(n, seed=k)
        reps = 7 if n <= 10**5 else (3 if n <= 10**6 else 2)
        if smoke:
            reps = 3
        warm = 1 if n <= 10**5 else 0  # the kernels are warm by then
        row = {
            "n_cells": n,
            "labels_s": timed(lambda x=inputs: _labels(x), reps, warmup=warm),
            "finals_s": timed(lambda x=inputs: _final(x), reps, warmup=warm),
        }
        if n <= 10**6:
            times = np.geomspace(1e-2, 1e3, 16)
            row["trajectories_16_s"] = timed(
                lambda x=inputs, t=times: kernels.trajectories(x, t), max(2, reps // 2), warmup=1
            )
        rows.append(row)
        log(f"  cells {n:>9}: labels {row['labels_s']['median_s'] * 1e3:9.2f} ms")
        del inputs
    out["cells"] = rows
    # --- number of times
    n = 2_000 if smoke else 100_000
    inputs = make_inputs(n)
    rows = []
    for n_times in (1, 4, 16, 64) if smoke else (1, 4, 16, 64, 256):
        times = np.geomspace(1e-2, 1e3, n_times)
        t = timed(lambda t=times: kernels.trajectories(inputs, t), 3 if smoke or n_times >= 64 else 5, warmup=1)
        rows.append({"n_cells": n, "n_times": n_times, "trajectories_s": t,
                     "ns_per_cell_time": t["median_s"] / (n * n_times) * 1e9})  # fmt: skip
    out["times"] = rows
    log(f"  times: {[round(r['ns_per_cell_time'], 1) for r in rows]} ns per cell x time")
    # --- width, round-robin
    widths = [10.0**k for k in range(1, 13)]
    # 10^6 cells per call: ~0.1 s, long against the jitter of waking the threads of a call
    n = 10_000 if smoke else 1_000_000
    n_traj = 1_000 if smoke else 100_000
    reps = 3 if smoke else 11
    scales = 10 ** np.linspace(-3, 3, n)
    times = np.geomspace(1e-2, 1e3, 16)
    pipelines = ("sample_gram", "labels", "finals", "trajectories_16")
    runs = {p: np.empty((reps, len(widths))) for p in pipelines}
    prepared = {w: make_inputs(n, seed=7, width=w, init_scales=scales) for w in widths}
    _labels(prepared[widths[0]][:, :10])
    order = np.random.default_rng(5)
    for r in range(reps):
        for k in order.permutation(len(widths)):  # a new order each round: bursts of load hit no width twice
            w = widths[k]
            inputs = prepared[w]
            sub = np.ascontiguousarray(inputs[:, :: n // n_traj])
            for p, fn in (
                ("sample_gram", lambda w=w: phasefl.sample_gram(np.full(n, w), scales, scales, seed=3)),
                ("labels", lambda x=inputs: _labels(x)),
                ("finals", lambda x=inputs: _final(x)),
                ("trajectories_16", lambda x=sub: kernels.trajectories(x, times)),
            ):
                start = time.perf_counter()
                fn()
                runs[p][r, k] = time.perf_counter() - start
    rows = [{"width": w} for w in widths]
    spread = {}
    for p in pipelines:
        med = np.median(runs[p], axis=0)
        # each round's times over its own median across widths: removes the load drifts of a shared
        # machine between rounds (all widths of one round run within about a second)
        rel = np.median(runs[p] / np.median(runs[p], axis=1, keepdims=True), axis=0)
        best = runs[p].min(axis=0)
        # trend of the best-of times: percent per decade of width
        slope = np.polyfit(np.log10(widths), best / best.mean(), 1)[0]
        for k in range(len(widths)):
            rows[k][f"{p}_s"] = float(med[k])
            rows[k][f"{p}_min_s"] = float(runs[p][:, k].min())
            rows[k][f"{p}_rel"] = float(rel[k])
        spread[p] = {
            "best_of_spread": float(best.max() / best.min() - 1),
            "slowest_width": widths[int(np.argmax(best))],
            "fastest_width": widths[int(np.argmin(best))],
            "median_spread": float(med.max() / med.min() - 1),
            "round_normalized_spread": float(rel.max() / rel.min() - 1),
            "trend_per_decade": float(slope),
        }
    out["width"] = {"n_cells": n, "n_cells_trajectories": n_traj, "repeats": reps, "rows": rows, "spread": spread,
                    "runs_s": {p: runs[p].tolist() for p in pipelines}}  # fmt: skip
    log(
        "  width spread (max/min - 1; best-of rounds; round-normalized medians): "
        + ", ".join(f"{p} {s['best_of_spread']:.1%}; {s['round_normalized_spread']:.1%}" for p, s in spread.items())
    )
    return jsonable(out)


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "--traj-child":
        variant, n, n_times, repeats = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
        print(json.dumps(jsonable(traj_child(variant, n, n_times, repeats))))
    else:
        print(__doc__)
