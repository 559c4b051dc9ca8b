"""Section "methods": phasefl and the simulation baselines side by side on one grid.

Every method runs in its own child process (``worker.py``) on the same cells, the same initial
vectors and the same times. Reported per method: the setting at matched accuracy, time per cell,
its ratio to phasefl, peak memory, max error of F against the reference (solve_ivp DOP853, rtol
1e-12, on the full 2d-dimensional flow) and the agreement of its regime labels with phasefl's
t = infinity labels. A method's label applies the spec F rule (``phasefl.regimes.label_codes``)
to its own K(t_end)/K0 - 1 at the last shared time, where every cell has converged (the
reference checks this), with zeta from the Gram numbers.
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

import numpy as np
from common import BENCH, jsonable, run_json_child, torch_available
from grid import Grid, gram_inputs, zeta_of

METHODS = {
    "phasefl": "phasefl closed form (numba)",
    "ivp_reduced": "solve_ivp, reduced 1-D ODE (spec D.2)",
    "ivp_full": "solve_ivp, full 2d-dim gradient flow",
    "gd_numpy": "NumPy gradient descent, per cell",
    "gd_torch": "PyTorch CPU gradient descent, cells of a width batched",
    "reference": "reference: solve_ivp DOP853 rtol 1e-12, full flow",
}


def run(grid: Grid, smoke: bool, log=print) -> dict:
    from phasefl.regimes import LABELS, label_codes

    cells = grid.cells()
    inputs = gram_inputs(cells)
    zeta = zeta_of(inputs)
    repeats = {"phasefl": 3 if smoke else 7, "ivp_reduced": 2 if smoke else 5, "ivp_full": 1 if smoke else 3}
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="phasefl-bench-") as tmp:
        work = Path(tmp)
        (work / "grid.json").write_text(grid.to_json())
        np.save(work / "inputs.npy", inputs)
        numba_cache = work / "numba-cache"  # empty: phasefl's first call is a real compile
        numba_cache.mkdir()
        order = ["reference", "phasefl", "ivp_reduced", "ivp_full", "gd_numpy", "gd_torch"]
        for method in order:
            if method == "gd_torch" and not torch_available():
                log("  gd_torch: skipped (torch is not installed; pip install torch==2.13.0 for the CPU build)")
                results[method] = {"skipped": "torch is not installed"}
                continue
            args = [str(BENCH / "worker.py"), method, "--workdir", str(work)]
            args += ["--repeats", str(repeats.get(method, 1))]
            pilots = (
                ("3e-2,1e-2" if smoke else "1e-2,3e-3")
                if method == "gd_torch"
                else ("3e-2,1e-2" if smoke else "1e-2,1e-3")
            )
            args += ["--pilots", pilots, "--verify-budget", "1" if smoke else "20"]
            args += ["--amortize", "1000" if smoke else "100000"]
            # full run: phasefl's first call compiles (empty cache); smoke: it loads the warm cache
            env = {"NUMBA_CACHE_DIR": str(numba_cache)} if method == "phasefl" and not smoke else None
            log(f"  {method} ...")
            results[method] = run_json_child(args, env=env, timeout=900)
            log(f"  {method}: {results[method]['child_wall_s']:.1f} s")

    phasefl_labels = np.asarray(results["phasefl"]["labels_inf"])
    for res in results.values():
        if "skipped" in res:
            continue
        K_end = np.asarray(res["K_end"], dtype=float)
        K0 = np.asarray(res["K0"], dtype=float)
        labels = label_codes(K_end / K0 - 1.0, zeta)
        res["labels_t_end"] = labels
        res["label_agreement"] = float(np.mean(labels == phasefl_labels))
        res["label_disagreements"] = [
            {"cell": int(i), "width": cells[i].width, "init_scale": cells[i].init_scale,
             "method": LABELS[labels[i]], "phasefl": LABELS[phasefl_labels[i]],
             "rel_change": float(K_end[i] / K0[i] - 1.0)}
            for i in np.flatnonzero(labels != phasefl_labels)
        ]  # fmt: skip

    ph = results["phasefl"]
    n = grid.n_cells
    one_thread = (ph["grid_trajectories_1thread_s"]["median_s"] + ph["grid_labels_1thread_s"]["median_s"]) / n
    # this grid in one call: the better of all threads and one thread (on a shared machine the wake-up
    # of the second thread can cost milliseconds, more than the whole grid takes)
    phasefl_cell = min(ph["time_per_cell_s"][0], one_thread)
    phasefl_amortized = ph["amortized_per_cell_s"]
    ph["time_per_cell_all_threads_s"] = ph["time_per_cell_s"][0]
    ph["time_per_cell_s"] = [phasefl_cell] * n
    rows = []
    for method in ["phasefl", "ivp_reduced", "ivp_full", "gd_numpy", "gd_torch", "reference"]:
        res = results[method]
        if "skipped" in res:
            rows.append({"method": method, "name": METHODS[method], "skipped": res["skipped"]})
            continue
        per_cell = np.asarray(res["time_per_cell_s"], dtype=float)
        configs = res["config"] if isinstance(res["config"], list) else [res["config"]] * per_cell.size
        rows.append({
            "method": method,
            "name": METHODS[method],
            "config": _summarize_configs(configs),
            "time_per_cell_mean_s": float(per_cell.mean()),
            "time_per_cell_median_s": float(np.median(per_cell)),
            "ratio_to_phasefl": float(per_cell.mean() / phasefl_cell),
            "ratio_to_phasefl_amortized": float(per_cell.mean() / phasefl_amortized),
            "repeats": res.get("repeats"),
            "extrapolated": bool(res.get("extrapolated", False)),
            "peak_rss_mib": res["memory"]["peak_rss_mib"],
            "peak_increment_mib": res["memory"]["peak_increment_mib"],
            "max_rel_error_F": float(np.max(res["error"])),
            "label_agreement": res["label_agreement"],
            "child_wall_s": res["child_wall_s"],
        })  # fmt: skip
    baselines = [r for r in rows if r["method"] not in ("phasefl", "reference") and "skipped" not in r]
    fastest = min(baselines, key=lambda r: r["time_per_cell_mean_s"])
    return jsonable({
        "grid": {
            "widths": grid.widths, "init_scales": grid.init_scales, "seed": grid.seed, "n_cells": grid.n_cells,
            "times": f"{grid.n_times} log-spaced from {grid.t_min:g} to {grid.t_end:g}",
            "parametrization": "NTK: kappa = d^-1/2, sigma_u = sigma_w = init scale, eta = 1, E[x^2] = E[xy] = 1",
        },
        "target_accuracy": 1e-6,
        "phasefl_labels_inf": [LABELS[k] for k in phasefl_labels],
        "label_counts": {name: int((phasefl_labels == k).sum()) for k, name in enumerate(LABELS)},
        "rows": rows,
        "fastest_baseline": fastest["method"],
        "speedup_vs_fastest": {
            "on_grid": fastest["time_per_cell_mean_s"] / phasefl_cell,
            "amortized": fastest["time_per_cell_mean_s"] / phasefl_amortized,
            "labels_only_amortized": fastest["time_per_cell_mean_s"]
            / results["phasefl"]["amortized_labels_per_cell_s"],
            "slope_amortized": fastest["time_per_cell_mean_s"] / results["phasefl"]["amortized_slope_per_cell_s"],
            "median_cell_amortized": fastest["time_per_cell_median_s"] / phasefl_amortized,
        },
        "details": results,
    })  # fmt: skip


def _summarize_configs(configs: list[str]) -> str:
    """Most common setting(s) at matched accuracy, e.g. 'DOP853 rtol 1e-07 (14/25), ...'."""
    uniq: dict[str, int] = {}
    for c in configs:
        uniq[c] = uniq.get(c, 0) + 1
    if all(c.startswith("h = ") for c in uniq):  # GD: report the range of steps
        vals = sorted(float(c.split()[2].split("/")[0]) for c in configs)
        return f"h = c/(a K0), c from {vals[0]:.1e} to {vals[-1]:.1e} (median {statistics.median(vals):.1e})"
    top = sorted(uniq.items(), key=lambda kv: -kv[1])[:3]
    return ", ".join(f"{k} ({v}/{len(configs)})" for k, v in top)
