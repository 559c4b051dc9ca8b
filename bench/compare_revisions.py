"""Interleaved timing of this checkout's kernels against those of another git revision.

    python bench/compare_revisions.py REV [--reps 9] [--width 1000]

The package ``phasefl/`` of REV is exported with ``git archive`` into a temporary directory under
another name, so that both versions live in one process; each is compiled (or loaded from its
numba cache) by an untimed first call. Then each kernel runs ``--reps`` times per version, the two
versions alternating and swapping their order every run, so that a change of the machine's load
during the measurement hits both alike. Cells: 10^6 Gram samples ``phasefl.sample_gram(width, 1, 1,
size=10**6, seed=0)`` at NTK scaling (output scale width^-1/2, both rates 1, a = b = 1), built into
the (9, n) kernel input by ``phasefl.solve.cell_inputs``; trajectories use the first 10^5 cells at
16 log-spaced times. Prints the median and the best run of each version and the ratio of medians
(this checkout / REV).
"""

from __future__ import annotations

import argparse
import importlib
import io
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def export(rev: str, into: Path, name: str) -> None:
    """``phasefl/`` of ``rev`` as the package ``name`` in ``into`` (its imports are relative)."""
    archive = subprocess.run(["git", "archive", rev, "phasefl"], cwd=ROOT, check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    (into / "phasefl").rename(into / name)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rev", help="git revision to compare with (e.g. main, HEAD~1, a commit)")
    parser.add_argument("--reps", type=int, default=9)
    parser.add_argument("--width", type=float, default=1000.0)
    args = parser.parse_args(argv)

    import phasefl
    from phasefl import kernels as new
    from phasefl.solve import cell_inputs

    with tempfile.TemporaryDirectory() as tmp:
        export(args.rev, Path(tmp), "phasefl_rev")
        sys.path.insert(0, tmp)
        old = importlib.import_module("phasefl_rev.kernels")

        gram = phasefl.sample_gram(args.width, 1.0, 1.0, size=10**6, seed=0)
        inputs, _ = cell_inputs(args.width**-0.5, 1.0, 1.0, 1.0, 1.0, gram.uu, gram.ww, gram.uw, gram.d2)
        few = np.ascontiguousarray(inputs[:, : 10**5])
        times = np.geomspace(1e-2, 1e3, 16)
        jobs = {
            "finals, 10^6 cells": lambda k: k.finals(inputs),
            "trajectories, 10^5 cells x 16 times": lambda k: k.trajectories(few, times),
            "orders, 10^6 cells": lambda k: k.orders(inputs),
            "ntk_plain_finals, 10^6 cells": lambda k: k.ntk_plain_finals(inputs),
            "slopes, 10^5 cells x 16 times": lambda k: k.slopes(few, times),
            "baseline_distance, 10^5 cells": lambda k: k.baseline_distance(few),
        }
        print(f"this checkout vs {args.rev}: median (best) of {args.reps} interleaved runs each")
        for name, job in jobs.items():
            for k in (old, new):
                job(k)  # compile or load from the cache, untimed
            runs: dict[str, list[float]] = {"rev": [], "new": []}
            for rep in range(args.reps):
                order = (("rev", old), ("new", new)) if rep % 2 == 0 else (("new", new), ("rev", old))
                for label, k in order:
                    start = time.perf_counter()
                    job(k)
                    runs[label].append(time.perf_counter() - start)
            med = {label: statistics.median(r) for label, r in runs.items()}
            best = {label: min(r) for label, r in runs.items()}
            print(
                f"{name:38s} {args.rev}: {1e3 * med['rev']:8.1f} ms ({1e3 * best['rev']:7.1f})   "
                f"this: {1e3 * med['new']:8.1f} ms ({1e3 * best['new']:7.1f})   ratio {med['new'] / med['rev']:.3f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
