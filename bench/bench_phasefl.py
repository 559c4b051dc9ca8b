"""phasefl's own speed: kernel throughput against cells and against width, the fused sweep, start-up.

Cells are in the NTK parametrization (kappa = d^-1/2, eta = 1, m = 1) with i.i.d. Gaussian init
drawn exactly by ``phasefl.sample_gram`` (O(1) per cell at any width); unless a width is fixed,
widths are log-uniform on [1, 10^6] and init scales on [1e-3, 1e3], the default diagram's range.
Trajectories are at 16 log-spaced times.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import phasefl
from phasefl import kernels
from phasefl.baseline import initial_ntk
from phasefl.regimes import KERNEL_THRESHOLD, ZETA_THRESHOLD
from phasefl.solve import CELL_ARGS, cell_inputs
from phasefl.sweep import SweepSpec, cell_parameters, initializations, parse_range, sweep

TIMES = np.geomspace(1e-2, 1e3, 16)
KERNELS = {
    "finals": kernels.finals,
    "orders": kernels.orders,
    "baseline_distance": kernels.baseline_distance,
    "trajectories": lambda x: kernels.trajectories(x, TIMES),
}


def inputs(n: int, seed: int = 0, width: float | None = None) -> np.ndarray:
    """Kernel inputs (9, n) with exactly sampled Gram numbers (validated by ``phasefl.solve.cell_inputs``)."""
    rng = np.random.default_rng(seed)
    w = np.full(n, float(width)) if width is not None else 10 ** rng.uniform(0, 6, n)
    s = 10 ** rng.uniform(-3, 3, n)
    g = phasefl.sample_gram(w, s, s, seed=seed + 1)
    one = np.ones(n)
    return cell_inputs(w**-0.5, one, one, one, one, g.uu, g.ww, g.uw, g.d2)[0]


def check(out: np.ndarray, n: int) -> None:
    assert out.shape[-1] == n or out.shape[1] == n, out.shape
    assert np.isfinite(out).any(axis=0).all()


@pytest.mark.parametrize("n", [10, 1_000, 100_000, 1_000_000])
@pytest.mark.parametrize("name", list(KERNELS))
def bench_kernel_cells(bench, benchmark, tiny, name, n):
    """Throughput against the number of cells (trajectories: cells x 16 times, up to 10^5 cells)."""
    if tiny and n > 1_000 or name == "trajectories" and n > 100_000:
        pytest.skip("size not run")
    benchmark.group = f"kernel {name} vs cells"
    x = inputs(n)
    check(bench(lambda: KERNELS[name](x), n, rounds=5 if n < 10**6 else 3), n)


@pytest.mark.parametrize("width", [1e1, 1e3, 1e6, 1e9, 1e12])
@pytest.mark.parametrize("name", ["sample_gram", "orders", "baseline_distance"])
def bench_kernel_width(bench, benchmark, tiny, name, width):
    """Throughput against width at 10^5 cells: the cost should not depend on it."""
    if tiny and width not in (1e1, 1e12):
        pytest.skip("size not run")
    benchmark.group = f"{name} vs width"
    n = 1_000 if tiny else 100_000
    x = inputs(n, seed=7, width=width)
    scales = x[CELL_ARGS.index("uu")] ** 0.5 / width**0.5  # per-entry std sqrt(|u0|^2 / d)
    if name == "sample_gram":
        g = bench(lambda: phasefl.sample_gram(np.full(n, width), scales, scales, seed=3), n)
        assert np.all(g.uu > 0)
    else:
        check(bench(lambda: KERNELS[name](x), n), n)


@pytest.mark.parametrize("width", [1e1, 1e3, 1e6, 1e12])
def bench_gd_steps(bench, benchmark, tiny, width):
    """Exact gradient descent (``"gd"``): 10^4 cells x 10^3 steps at h a K0 = 1 (every cell converges near
    the end; the summaries kernel stops at convergence, so the trajectories kernel is timed, observing the
    last step only), per cell-step; the cost should not depend on the width."""
    if tiny and width not in (1e1, 1e12):
        pytest.skip("size not run")
    benchmark.group = "gd: cell-steps vs width"
    n, steps = (100, 10) if tiny else (10_000, 1_000)
    x = inputs(n, seed=11, width=width)
    k0 = initial_ntk(*(x[CELL_ARGS.index(k)] for k in ("output_scale", "lr_u", "lr_w", "uu", "ww")))
    x[CELL_ARGS.index("x_var")] = 1.0 / k0  # h a K0 = 1 with h = 1
    x[CELL_ARGS.index("xy_cov")] = 1.0 / k0
    out = bench(lambda: kernels.gd_trajectories(x, 1.0, np.array([steps]))[0], n * steps, per="cell-step")
    assert np.isfinite(out).any()


def spec_of(tiny: bool) -> SweepSpec:
    """The 256 x 256 diagram of the README's first command, 8 seeds (tiny: 8 x 8, 2 seeds)."""
    k = 8 if tiny else 256
    axes = (parse_range("width", f"1:1e6:{k}"), parse_range("init_scale", f"1e-3:1e3:{k}"))
    return SweepSpec(axes, {}, seeds=2 if tiny else 8)


def bench_sweep(bench, benchmark, tiny):
    """``phasefl.sweep.sweep``: sampling, the fused kernel, labels and the Dataset."""
    benchmark.group = "fused sweep"
    spec = spec_of(tiny)
    ds = bench(lambda: sweep(spec), int(np.prod(spec.shape)) * spec.seeds, rounds=5, per="draw")
    assert ds["label"].shape == spec.shape


def bench_sweep_block(bench, benchmark, tiny):
    """``kernels.sweep_block`` alone on the same draws: labels and medians over seeds in one pass."""
    benchmark.group = "fused sweep"
    spec = spec_of(tiny)
    cells = cell_parameters(spec)
    hyper = np.stack([cells[k].ravel() for k in ("output_scale", "lr_u", "lr_w", "x_var", "xy_cov")])
    gram = np.stack([v.reshape(spec.seeds, -1) for v in initializations(spec, cells)])
    out = bench(lambda: kernels.sweep_block(hyper, gram, KERNEL_THRESHOLD, ZETA_THRESHOLD), gram[0].size, per="draw")
    assert out.shape[1] == hyper.shape[1] and np.isfinite(out[0]).all()


#: Each child writes its own peak resident set size (VmHWM of /proc/self/status, Linux) at exit to the file
#: $BENCH_HWM. ru_maxrss would not do: a child spawned by a large process (this one) inherits its
#: high-water mark at exec.
HWM = """import atexit, os
def hwm():
    with open('/proc/self/status') as f, open(os.environ['BENCH_HWM'], 'w') as out:
        out.write(next(line for line in f if line.startswith('VmHWM')).split()[1])
atexit.register(hwm)
"""
STARTUP = {
    "import phasefl": [HWM + "import phasefl"],
    "diagram command": [
        HWM + "import sys\nfrom phasefl.diagram import main\ncode = main()\nhwm()\nsys.stdout.flush()\nos._exit(code)",
        *("--axis", "width,init_scale", "--quiet", "--force"),
    ],
}


@pytest.mark.parametrize("what", list(STARTUP))
def bench_startup(bench, benchmark, tiny, tmp_path, what):
    """A fresh process, numba's cache warm (the untimed warm-up round fills it): ``python -c "import phasefl"``
    and the README's first command ``python -m phasefl.diagram --axis width,init_scale`` (256 x 256 cells x
    8 seeds, netCDF and PNG written; ``python -m``'s ending, os._exit, included) under ``python -c``, which
    records the peak memory."""
    benchmark.group = "start-up (fresh process)"
    args = STARTUP[what] + (["--out", str(tmp_path / "out")] if what == "diagram command" else [])
    if tiny and what == "diagram command":
        args += ["--width", "1:100:4", "--init-scale", "0.1:10:4", "--seeds", "1"]
    peaks = []
    env = dict(os.environ, BENCH_HWM=str(tmp_path / "hwm"))

    def child():
        subprocess.run([sys.executable, "-c", *args], stdout=subprocess.DEVNULL, env=env, check=True)
        peaks.append(int((tmp_path / "hwm").read_text()) / 1024)  # KiB

    bench(child, 1, rounds=5, peak_mib=lambda: max(peaks))
