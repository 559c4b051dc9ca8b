"""Child process of the side-by-side comparison: one method on the shared grid, one JSON line out.

    python bench/worker.py METHOD --workdir DIR [--repeats R] [--pilots C1,C2] [--verify-budget S]

METHOD is reference, ivp_full, ivp_reduced, gd_numpy, gd_torch or phasefl. DIR holds grid.json
(the grid), inputs.npy (the Gram-number kernel inputs computed once by the parent with
``phasefl.gram``) and, after the reference has run, reference.npz (F of the reference at the
shared times). Each method runs in its own process so that its peak memory (ru_maxrss, see
``common``) is its own, and so that torch's and numba's thread pools never share a process.

Matched accuracy: the error of a run is max_t |F - F_ref| / max_t |F_ref| per cell. A method is
timed, per cell, at the cheapest setting whose error is <= TARGET (1e-6):
* ODE solvers: the rtols 1e-11, 1e-10, ... are tried from tight to loose with RK45 and DOP853
  (and LSODA for the reduced ODE); the loosest passing rtol of each solver is kept and the
  fastest of those is timed again (median of the repeats);
* gradient descent is first order in its step (error proportional to c, with h = c / (a K0)):
  two pilot steps are run, the observed order is reported, and the step for the target error is
  c_match = c_2 * TARGET / err_2; its time is the pilot's time scaled by the step count
  (extrapolated; one cell is re-run at c_match when that fits in the verification budget).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import jsonable, memory_report, start_memory, timed  # noqa: E402
from grid import Grid  # noqa: E402

TARGET = 1e-6
RTOLS = tuple(10.0**-k for k in range(11, 3, -1))  # tight -> loose


def rel_err(F: np.ndarray, F_ref: np.ndarray) -> float:
    err = float(np.max(np.abs(F - F_ref)) / np.max(np.abs(F_ref)))
    return err if math.isfinite(err) else math.inf


def load(workdir: Path):
    grid = Grid.from_json((workdir / "grid.json").read_text())
    inputs = np.load(workdir / "inputs.npy")
    ref = np.load(workdir / "reference.npz") if (workdir / "reference.npz").exists() else None
    return grid, inputs, ref


def k0_of(inputs: np.ndarray) -> np.ndarray:
    kappa, lr_u, lr_w, uu, ww = inputs[0], inputs[1], inputs[2], inputs[5], inputs[6]
    return kappa**2 * (lr_u * ww + lr_w * uu)


def run_reference(grid: Grid, inputs: np.ndarray, workdir: Path, repeats: int) -> dict:
    from baselines import REFERENCE_FREEZE_TOL, ivp_full

    times = grid.times
    F, K_end, secs, nfev, conv = [], [], [], [], []
    for cell in grid.cells():
        start = time.perf_counter()
        f, k, n, c = ivp_full(cell, times, "DOP853", 1e-12, REFERENCE_FREEZE_TOL)
        secs.append(time.perf_counter() - start)
        F.append(f), K_end.append(k), nfev.append(n), conv.append(c)
    F = np.array(F)
    np.savez(workdir / "reference.npz", F=F, K_end=np.array(K_end))
    # converged at t_end: F = m to 1e-10 relative
    resid = np.abs(F[:, -1] - grid.target) / np.max(np.abs(F), axis=1)
    return {
        "config": "DOP853 rtol 1e-12",
        "time_per_cell_s": secs,
        "repeats": 1,
        "nfev": nfev,
        "converged_by_t_end": bool(np.all(resid < 1e-10)),
        "max_final_residual": float(resid.max()),
        "K_end": K_end,
        "K0": k0_of(inputs),
        "error": [0.0] * len(secs),
    }


def run_ivp(grid: Grid, inputs: np.ndarray, ref, kind: str, repeats: int) -> dict:
    from baselines import MAX_NFEV, StalledError, ivp_full, ivp_reduced

    times = grid.times
    cells = grid.cells()
    methods = ("RK45", "DOP853", "LSODA") if kind == "reduced" else ("RK45", "DOP853")

    def call(i, method, rtol, max_nfev=MAX_NFEV):
        import baselines

        baselines.MAX_NFEV = max_nfev
        try:
            if kind == "reduced":
                return ivp_reduced(inputs[:, i], times, method, rtol)
            return ivp_full(cells[i], times, method, rtol)
        finally:
            baselines.MAX_NFEV = MAX_NFEV

    out = {"config": [], "time_per_cell_s": [], "error": [], "nfev": [], "K_end": [], "scan": [], "repeats": repeats}
    for i in range(len(cells)):
        best = None  # (seconds, method, rtol)
        scan = []
        for method in methods:
            last_nfev = None
            for rtol in RTOLS:
                start = time.perf_counter()
                try:
                    # a looser rtol should need fewer calls: 3x the last one means it stalls near rest
                    F, K, nfev, _ = call(i, method, rtol, MAX_NFEV if last_nfev is None else 3 * last_nfev + 100)
                    err = rel_err(F, ref["F"][i])
                except StalledError:
                    nfev, err = None, math.inf
                secs = time.perf_counter() - start
                scan.append({"method": method, "rtol": rtol, "s": secs, "error": err, "nfev": nfev})
                if err > TARGET:
                    break  # looser ones fail too
                last_nfev = nfev
                if best is None or secs < best[0]:
                    best = (secs, method, rtol)
        if best is None:
            raise RuntimeError(f"{kind}: no tolerance reaches {TARGET} on cell {i}")
        _, method, rtol = best
        t = timed(lambda i=i, m=method, r=rtol: call(i, m, r), repeats)
        F, K, nfev, _ = call(i, method, rtol)
        out["config"].append(f"{method} rtol {rtol:.0e}")
        out["time_per_cell_s"].append(t["median_s"])
        out["error"].append(rel_err(F, ref["F"][i]))
        out["nfev"].append(nfev)
        out["K_end"].append(K)
        out["scan"].append(scan)
    out["K0"] = k0_of(inputs)
    return out


def run_gd_numpy(grid: Grid, inputs: np.ndarray, ref, pilots: list[float], verify_budget: float) -> dict:
    from baselines import gd_numpy

    times = grid.times
    cells = grid.cells()
    out = {"pilots": pilots, "pilot_runs": [], "config": [], "time_per_cell_s": [], "error": [], "K_end": [],
           "order": [], "c_match": [], "steps_match": [], "repeats": 1, "extrapolated": True}  # fmt: skip
    for i, cell in enumerate(cells):
        runs = []
        for c in pilots:
            start = time.perf_counter()
            F, K, steps, conv = gd_numpy(cell, times, c)
            secs = time.perf_counter() - start
            runs.append(
                {"c": c, "s": secs, "steps": steps, "error": rel_err(F, ref["F"][i]), "converged": conv, "K": K}
            )
        fine, coarse = runs[-1], runs[0]
        order = math.log(coarse["error"] / fine["error"]) / math.log(coarse["c"] / fine["c"])
        c_match = fine["c"] * TARGET / fine["error"]
        scale = fine["c"] / c_match
        out["pilot_runs"].append(runs)
        out["order"].append(order)
        out["c_match"].append(c_match)
        out["steps_match"].append(fine["steps"] * scale)
        out["time_per_cell_s"].append(fine["s"] * scale)
        out["config"].append(f"h = {c_match:.1e}/(a K0)")
        out["error"].append(TARGET)  # by construction of c_match (first order); see "verification"
        out["K_end"].append(fine["K"])  # labels from the finest pilot actually run
    # verification: re-run the cheapest cell at its matched step
    j = int(np.argmin(out["time_per_cell_s"]))
    if out["time_per_cell_s"][j] <= verify_budget:
        start = time.perf_counter()
        F, K, steps, conv = gd_numpy(cells[j], times, out["c_match"][j])
        out["verification"] = {
            "cell": j,
            "c": out["c_match"][j],
            "predicted_s": out["time_per_cell_s"][j],
            "measured_s": time.perf_counter() - start,
            "steps": steps,
            "error": rel_err(F, ref["F"][j]),
        }
    else:
        out["verification"] = {"cell": j, "skipped": f"predicted {out['time_per_cell_s'][j]:.1f} s > budget"}
    out["K0"] = k0_of(inputs)
    return out


def run_gd_torch(grid: Grid, inputs: np.ndarray, ref, pilots: list[float]) -> dict:
    import torch
    from baselines import gd_torch, torch_batch_steps

    # one intra-op thread: the tensors are at most 5 x 10^4 elements, too small to gain from a second
    # thread, and with the second core busy every op waited milliseconds for it (measured: 13 ms per
    # step instead of 70 us at d = 10^4 while another process ran)
    torch.set_num_threads(1)
    times = grid.times
    cells = grid.cells()
    n = len(cells)
    out = {"pilots": pilots, "torch": torch.__version__, "threads": torch.get_num_threads(), "batches": [],
           "config": [None] * n, "time_per_cell_s": [None] * n, "error": [TARGET] * n, "K_end": [None] * n,
           "order": [None] * n, "repeats": 1, "extrapolated": True}  # fmt: skip
    k0 = k0_of(inputs)
    a = inputs[3]
    for width, idx in grid.by_width():
        batch = [cells[i] for i in idx]
        runs = []
        for c in pilots:
            start = time.perf_counter()
            F, K, bsteps, conv, t_freeze = gd_torch(batch, times, c)
            secs = time.perf_counter() - start
            errs = [rel_err(F[k], ref["F"][i]) for k, i in enumerate(idx)]
            runs.append({"c": c, "s": secs, "batch_steps": bsteps, "errors": errs, "K": K, "t_freeze": t_freeze})
        fine, coarse = runs[-1], runs[0]
        c_match = np.array([fine["c"] * TARGET / e for e in fine["errors"]])
        per_step = fine["s"] / fine["batch_steps"]
        h_fine = fine["c"] / (a[idx] * k0[idx])
        model_steps = torch_batch_steps(times, h_fine, fine["t_freeze"])
        steps_match = torch_batch_steps(times, c_match / (a[idx] * k0[idx]), fine["t_freeze"])
        batch_s = per_step * steps_match
        for k, i in enumerate(idx):
            out["config"][i] = f"h = {c_match[k]:.1e}/(a K0)"
            out["time_per_cell_s"][i] = batch_s / len(idx)
            out["K_end"][i] = float(fine["K"][k])
            out["order"][i] = math.log(coarse["errors"][k] / fine["errors"][k]) / math.log(coarse["c"] / fine["c"])
        out["batches"].append({
            "width": width,
            "pilot_s": [r["s"] for r in runs],
            "pilot_batch_steps": [r["batch_steps"] for r in runs],
            "step_model_at_pilot": model_steps,
            "us_per_batch_step": per_step * 1e6,
            "batch_steps_match": steps_match,
            "batch_s_match": batch_s,
        })  # fmt: skip
    out["K0"] = k0
    return out


def run_phasefl(grid: Grid, inputs: np.ndarray, ref, repeats: int, amortize: int) -> dict:
    start = time.perf_counter()
    import phasefl
    from phasefl import kernels
    from phasefl.gram import gram
    from phasefl.regimes import label_codes

    import_s = time.perf_counter() - start
    times = grid.times
    one = inputs[:, :1]
    first = {}
    for name, fn in (
        ("trajectories", lambda: kernels.trajectories(one, times)),
        ("orders", lambda: kernels.orders(one)),
        ("finals", lambda: kernels.finals(one)),
    ):
        start = time.perf_counter()
        fn()
        first[name] = time.perf_counter() - start
    cells = grid.cells()
    before = start_memory()

    def labels(x):
        par = kernels.orders(x)
        return label_codes(par[4], par[2])

    traj = timed(lambda: kernels.trajectories(inputs, times), repeats, warmup=1)
    lab = timed(lambda: labels(inputs), repeats, warmup=1)
    public = timed(lambda: phasefl.solve_batch(*inputs, times), repeats, warmup=1)
    public_cls = timed(lambda: phasefl.classify_batch(*inputs), repeats, warmup=1)
    grams = timed(lambda: [gram(c.u0, c.w0) for c in cells], repeats)
    # the same calls on one thread: no wake-up of the second thread, whose latency on a shared
    # machine can exceed the whole computation of a small grid
    import numba

    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    traj_1 = timed(lambda: kernels.trajectories(inputs, times), repeats, warmup=1)
    lab_1 = timed(lambda: labels(inputs), repeats, warmup=1)
    numba.set_num_threads(threads)
    memory = memory_report(before)
    out_traj = kernels.trajectories(inputs, times)
    F = out_traj[0]
    n = inputs.shape[1]
    tiled = np.tile(inputs, (1, max(1, amortize // n)))
    amort_traj = timed(lambda: kernels.trajectories(tiled, times), max(3, repeats // 2), warmup=1)
    amort_lab = timed(lambda: labels(tiled), repeats, warmup=1)
    # F(t) alone (phasefl.slope_batch's kernel): the output the reduced-ODE baseline computes
    amort_slope = timed(lambda: kernels.slopes(tiled, times), max(3, repeats // 2), warmup=1)
    slope_same = bool(np.array_equal(kernels.slopes(inputs, times), kernels.trajectories(inputs, times)[0]))
    par = kernels.orders(inputs)
    return {
        "config": "closed form (numba)",
        "import_s": import_s,
        "first_call_s": first,
        "numba_cache_dir": os.environ.get("NUMBA_CACHE_DIR"),
        "repeats": repeats,
        "grid_trajectories_s": traj,
        "grid_labels_s": lab,
        "grid_solve_batch_s": public,
        "grid_classify_batch_s": public_cls,
        "grid_gram_from_vectors_s": grams,
        "grid_trajectories_1thread_s": traj_1,
        "grid_labels_1thread_s": lab_1,
        "time_per_cell_s": [(traj["median_s"] + lab["median_s"]) / n] * n,
        "amortized_cells": tiled.shape[1],
        "amortized_trajectories_s": amort_traj,
        "amortized_labels_s": amort_lab,
        "amortized_per_cell_s": (amort_traj["median_s"] + amort_lab["median_s"]) / tiled.shape[1],
        "amortized_labels_per_cell_s": amort_lab["median_s"] / tiled.shape[1],
        "amortized_slopes_s": amort_slope,
        "amortized_slope_per_cell_s": (amort_slope["median_s"] + amort_lab["median_s"]) / tiled.shape[1],
        "slopes_equal_trajectories_F": slope_same,
        "error": [rel_err(F[i], ref["F"][i]) for i in range(n)],
        "K_end": out_traj[1][:, -1],
        "K0": k0_of(inputs),
        "ntk_rel_change_inf": par[4],
        "labels_inf": labels(inputs),
        "memory_grid": memory,
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("method", choices=["reference", "ivp_full", "ivp_reduced", "gd_numpy", "gd_torch", "phasefl"])
    p.add_argument("--workdir", required=True)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--pilots", default="1e-2,1e-3")
    p.add_argument("--verify-budget", type=float, default=20.0)
    p.add_argument("--amortize", type=int, default=100_000)
    args = p.parse_args(argv)
    workdir = Path(args.workdir)
    grid, inputs, ref = load(workdir)
    pilots = [float(x) for x in args.pilots.split(",")]
    # imports belong to the process's starting size, not to the method's peak increment
    if args.method == "gd_torch":
        import torch  # noqa: F401
    if args.method != "phasefl":
        import baselines  # noqa: F401  (scipy.integrate)
    before = start_memory()
    start = time.perf_counter()
    if args.method == "reference":
        res = run_reference(grid, inputs, workdir, args.repeats)
    elif args.method == "ivp_full":
        res = run_ivp(grid, inputs, ref, "full", args.repeats)
    elif args.method == "ivp_reduced":
        res = run_ivp(grid, inputs, ref, "reduced", args.repeats)
    elif args.method == "gd_numpy":
        res = run_gd_numpy(grid, inputs, ref, pilots, args.verify_budget)
    elif args.method == "gd_torch":
        res = run_gd_torch(grid, inputs, ref, pilots)
    else:
        res = run_phasefl(grid, inputs, ref, args.repeats, args.amortize)
    res["worker_s"] = time.perf_counter() - start
    res["memory"] = res.pop("memory_grid", None) or memory_report(before)
    print(json.dumps(jsonable(res)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
