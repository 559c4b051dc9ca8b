"""Data of figure 10: work against precision of phasefl and the simulation baselines of bench/.

Cells: ``baselines.make_cells`` with widths 10, 100, 1000 x init scales 0.1, 1, 10 (NTK
parametrization, m = 1; tiny: widths 4, 16 x 0.3, 3), F at 32 log-spaced times in [1e-3, 1e4].
Reference: ``baselines.ivp_full``, DOP853 at rtol 1e-12 (``baselines.REFERENCE``). For every method
and setting: seconds per cell (one run of all cells, divided by their number) and the error, the
largest over cells of max_t |F - F_ref| / max_t |F_ref|.

* phasefl: ``kernels.trajectories`` on the cells tiled to 10^4 columns (a batch, as a sweep runs it;
  median of 5) and on the grid alone (one call, its fixed cost included); the Gram numbers of the
  vectors (O(width), ~1 us) are not timed;
* ``ivp_full``, ``ivp_reduced``: RK45 and DOP853 at rtol 1e-3 ... 1e-10, each stopping once converged
  to its own rtol (freeze_tol = rtol; a stalled run is left out);
* ``gd_numpy``, ``gd_torch`` (with PyTorch): step h = c / (a K0), c = 0.1 ... 1e-4 (torch: to 1e-3).

Writes ``<data>/work_precision.npz``; names ``<method>/seconds``, ``<method>/error``, ``<method>/setting``.
"""

from __future__ import annotations

import importlib.util
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from common import arguments, save_npz

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import baselines  # noqa: E402
from baselines import REFERENCE, StalledError, gd_numpy, gd_torch, ivp_full, ivp_reduced, rel_error  # noqa: E402
from phasefl import kernels  # noqa: E402


def measure(fn, cells, ref) -> tuple[float, float]:
    """(seconds per cell, max error over cells) of one run of ``fn`` over the cells (nan if it stalled)."""
    start = time.perf_counter()
    try:
        F = fn()
    except StalledError:
        return np.nan, np.nan
    seconds = (time.perf_counter() - start) / len(cells)
    return seconds, max(rel_error(F[i], ref[i]) for i in range(len(cells)))


def main(argv=None) -> int:
    args = arguments(__doc__.splitlines()[0], argv)
    if args.tiny:
        cells, times = baselines.make_cells((4, 16), (0.3, 3.0)), np.geomspace(1e-3, 1e3, 8)
        rtols, steps, torch_steps = [1e-4, 1e-8], [1e-1, 1e-2], [1e-1]
    else:
        cells, times = baselines.make_cells((10, 100, 1000), (0.1, 1.0, 10.0)), np.geomspace(1e-3, 1e4, 32)
        rtols = [10.0**-k for k in range(3, 11)]
        steps, torch_steps = [1e-1, 3e-2, 1e-2, 3e-3, 1e-3, 3e-4, 1e-4], [1e-1, 1e-2, 1e-3]
    x = baselines.kernel_inputs(cells)
    method, rtol, freeze = REFERENCE
    ref = np.array([ivp_full(c, times, method, rtol, freeze) for c in cells])
    out: dict[str, np.ndarray] = {"times": times, "widths": np.array([c.width for c in cells]),
                                  "init_scales": np.array([c.init_scale for c in cells])}  # fmt: skip

    def record(name, settings, run):
        rows = [measure(lambda s=s: run(s), cells, ref) for s in settings]
        out[f"{name}/setting"] = np.array(settings, dtype=float)
        out[f"{name}/seconds"], out[f"{name}/error"] = (np.array(v) for v in zip(*rows))
        print(f"{name:>18}: " + ", ".join(f"{s:g}: {t * 1e3:.3g} ms, {e:.1e}" for s, (t, e) in zip(settings, rows)))

    kernels.trajectories(x, times)  # compiled or loaded from numba's cache: not timed
    tiled = np.tile(x, (1, 10_000 // x.shape[1] + 1))
    batch = []
    for _ in range(5):
        start = time.perf_counter()
        kernels.trajectories(tiled, times)
        batch.append((time.perf_counter() - start) / tiled.shape[1])
    error = max(rel_error(kernels.trajectories(x, times)[0][i], ref[i]) for i in range(len(cells)))
    out["phasefl/batch"] = np.array([statistics.median(batch), error])
    out["phasefl/grid"] = np.array([measure(lambda: kernels.trajectories(x, times)[0], cells, ref)[0], error])
    print(f"{'phasefl':>18}: batch {out['phasefl/batch'][0] * 1e9:.0f} ns per cell, error {error:.1e}")
    for solver in ("RK45", "DOP853"):
        record(f"ivp_full/{solver}", rtols, lambda r, s=solver: [ivp_full(c, times, s, r, r) for c in cells])
        record(f"ivp_reduced/{solver}", rtols,
               lambda r, s=solver: [ivp_reduced(x[:, i], times, s, r, r) for i in range(len(cells))])  # fmt: skip
    with np.errstate(over="ignore", invalid="ignore"):  # the largest step diverges (error inf)
        record("gd_numpy", steps, lambda c: [gd_numpy(cell, times, c) for cell in cells])
    if importlib.util.find_spec("torch") is not None:
        import torch

        torch.set_num_threads(1)
        widths = sorted({c.width for c in cells})  # make_cells is width-major: the batches keep the order
        record("gd_torch", torch_steps, lambda c: np.concatenate(
            [gd_torch([cell for cell in cells if cell.width == w], times, c) for w in widths]))  # fmt: skip
    path = save_npz(args.data / "work_precision.npz", **out)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
