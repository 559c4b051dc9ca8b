"""End to end: the 10^6-cell command of the README, this checkout against another revision, and the
cost of one draw (cell x seed) against NumPy gradient descent of the d-dimensional network.

    python bench/bench_command.py [--rev REV] [--reps 5] [--draws 24]

1. ``python -m phasefl.diagram --axis width,init_scale --width 1:1e6:1000 --init-scale 1e-3:1e3:1000``
   (762 whole widths x 1000 init scales x 8 seeds), warm (each version's numba cache is filled by an
   untimed first run), start-up, the netCDF file and the figure included. The two versions
   alternate, swapping their order every repeat, so that the machine's load hits both alike;
   printed: the median wall time and CPU time (user + sys) of each, and the ratio of medians.
   REV's ``phasefl/`` is exported with ``git archive`` into a temporary directory that comes first
   on PYTHONPATH.
2. Per draw: the command's median wall time over its 6,096,000 draws, against
   ``baselines.gd_numpy`` (full-batch gradient descent of the d-dimensional network, step
   h = c / (a K0), first order in h) at c = 1e-4 on ``--draws`` draws of the same grid, picked at
   random among the widths up to 1000, until each has converged (or t = 100 / (a K0)). Gradient
   descent at a step fixed by K0 diverges once K grows past 2 / c times K0, so the draws whose
   exact K_inf/K0 exceeds 100 are left out. Both omissions (wider draws, a step costs O(width);
   strongly feature-learning draws) leave out the draws that cost gradient descent the most, so
   the ratio is a lower bound.
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
COMMAND = "--axis width,init_scale --width 1:1e6:1000 --init-scale 1e-3:1e3:1000 --quiet --force".split()


def export(rev: str, into: Path) -> None:
    """``phasefl/`` of ``rev`` as a package in ``into``."""
    archive = subprocess.run(["git", "archive", rev, "phasefl"], cwd=ROOT, check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")


def run_once(pythonpath: str | None, out: Path) -> tuple[float, float]:
    """(wall, user + sys CPU) seconds of one run of the command."""
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "phasefl.diagram", *COMMAND, "--out", str(out)],
        env=env,
        cwd=pythonpath or ROOT,
        check=True,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def per_draw_gd(draws: int, seed: int = 0) -> dict:
    """Median seconds per draw of NumPy gradient descent at c = 1e-4 on random draws of the grid."""
    sys.path.insert(0, str(ROOT / "bench"))
    from baselines import Cell, gd_numpy

    from phasefl import Model, classify, diagram
    from phasefl.sweep import cell_parameters

    spec = diagram.sweep_spec(diagram.build_parser().parse_args(COMMAND[:6]))
    cells = {k: v.ravel() for k, v in cell_parameters(spec).items()}
    rng = np.random.default_rng(seed)
    small = np.flatnonzero(cells["width"] <= 1000)  # a step costs O(width): wider draws would take minutes
    seconds: list[float] = []
    while len(seconds) < draws:
        j = int(rng.choice(small))
        width = int(cells["width"][j])
        u0 = cells["init_scale_u"][j] * rng.standard_normal(width)
        w0 = cells["init_scale_w"][j] * rng.standard_normal(width)
        model = Model(cells["output_scale"][j], cells["lr_u"][j], cells["lr_w"][j])
        if classify(model, u0, w0).ntk_ratio > 100.0:
            continue
        cell = Cell(width, cells["init_scale_u"][j], model.output_scale, model.lr_u, model.lr_w, 1.0, 1.0, u0, w0)
        times = np.geomspace(1e-2, 1e2, 16) / cell.k0
        start = time.perf_counter()
        gd_numpy(cell, times, 1e-4)
        seconds.append(time.perf_counter() - start)
    return {"draws": draws, "median_s": statistics.median(seconds), "max_s": max(seconds)}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rev", default=None, help="git revision to compare with (default: none)")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--draws", type=int, default=24, help="draws timed with NumPy gradient descent (0: skip)")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="phasefl-bench-command-") as tmp:
        tmp = Path(tmp)
        versions = {"this checkout": None}
        if args.rev:
            export(args.rev, tmp / "rev")
            versions[args.rev] = str(tmp / "rev")
        for path in versions.values():  # untimed: fills each version's numba cache
            run_once(path, tmp / "out")
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in versions}
        for rep in range(args.reps):
            order = list(versions.items()) if rep % 2 == 0 else list(versions.items())[::-1]
            for name, path in order:
                runs[name].append(run_once(path, tmp / "out"))
    draws = 762 * 1000 * 8
    print(f"command: python -m phasefl.diagram {' '.join(COMMAND)}  ({draws:,} draws), median of {args.reps}")
    medians = {}
    for name, values in runs.items():
        wall = statistics.median(v[0] for v in values)
        cpu = statistics.median(v[1] for v in values)
        medians[name] = wall
        print(f"  {name:<16} wall {wall:6.2f} s   cpu {cpu:6.2f} s   runs {', '.join(f'{v[0]:.2f}' for v in values)}")
    if args.rev:
        print(f"  ratio of medians (this checkout / {args.rev}): {medians['this checkout'] / medians[args.rev]:.3f}")
    if args.draws:
        gd = per_draw_gd(args.draws)
        ours = medians["this checkout"] / draws
        print(
            f"per draw: phasefl {ours * 1e6:.2f} us (whole command / draws); NumPy gradient descent at c = 1e-4: "
            f"median {gd['median_s'] * 1e3:.1f} ms over {gd['draws']} draws with K_inf/K0 <= 100 (max "
            f"{gd['max_s'] * 1e3:.1f} ms); ratio {gd['median_s'] / ours:,.0f}x (a lower bound)"
        )


if __name__ == "__main__":
    main()
