"""``python -m phasefl.diagram``: exact phase diagrams of the solvable network.

Finite width (default): sweep one or two of width, init scales, output scale, learning rates,
their ratio and the target over a grid; label every cell (kernel / alignment / disalignment /
rescaling), store the order parameters and the distance to the kernel baseline, and draw the
regime map. ``--asymptotic``: the width -> infinity exponent plane of spec E.3.

Outputs (in --out): diagram.nc (xarray Dataset, netCDF) and the figure, diagram.png by default
(``--format png,pdf,svg`` chooses among diagram.png, diagram.pdf, diagram.svg). They are written
to a temporary folder first and moved into place only when all of them exist, so an error or an
interrupt never leaves a partial file.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from . import __version__
from .asymptotics import EXPONENT_AXES, EXPONENT_MEANING, EXPONENT_NAMES, PARAMETRIZATION_TITLES, PARAMETRIZATIONS
from .cli import (
    DEFAULT_FORMATS,
    Parser,
    Progress,
    UsageError,
    add_format_argument,
    check_output_folder,
    check_threshold_options,
    parse_axes,
    run_main,
    write_outputs,
)
from .regimes import KERNEL_THRESHOLD, LABELS, ZETA_THRESHOLD
from .scalings import base_table

DEFAULT_SEEDS = 8
PROG = "python -m phasefl.diagram"

EXAMPLES = """\
examples:
  python -m phasefl.diagram --axis width,init_scale
  python -m phasefl.diagram --axis output_scale,lr_ratio --param mean-field --width 1e4
  python -m phasefl.diagram --axis init_scale --init-scale 1e-4:1e4:200 --seeds 16 --time 10
  python -m phasefl.diagram --axis width,target --target -2:2:81:lin
  python -m phasefl.diagram --axis width --lr-u 2 --lr-ratio 3 --param mup
  python -m phasefl.diagram --asymptotic --axis alpha,b_u --param ntk
  python -m phasefl.diagram --axis width,init_scale --width 1:1e8:4000 --init-scale 1e-4:1e4:4000 \\
      --scheduler local:2 --out big.zarr          (then --resume if interrupted)

ranges are START:STOP:N, log-spaced (positive quantities) or linear (target, exponents);
append :lin or :log to choose. A single number fixes a parameter that is not an axis.

what the numbers mean: width d counts hidden units and target is the slope m; every other
value multiplies the base of --param at the cell's width:
  kappa = base * output_scale      sigma_u = base * init_scale_u   sigma_w = base * init_scale_w
  eta_u = base * lr_u              eta_w = base * lr_w   (or base * lr_u * lr_ratio)
init_scale_u and init_scale_w default to init_scale; every multiplier defaults to 1; --lr-w
and --lr-ratio exclude each other. Bases (d = width):
{bases}
The title and diagram.nc state the absolute kappa, sigma, eta used (variables cell_*).
"""


def build_parser() -> argparse.ArgumentParser:
    from .sweep import AXES

    p = Parser(
        prog="python -m phasefl.diagram",
        description="Exact feature-learning phase diagram of f(x) = kappa sum_i u_i w_i x trained by gradient "
        "flow (Xu & Ziyin). Each cell is labelled kernel, alignment, disalignment or rescaling from the exact "
        "t -> infinity solution and compared with the kernel (frozen-NTK) baseline.",
        epilog=EXAMPLES.format(bases=base_table()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--axis",
        default=None,
        help="one or two comma-separated axes. Finite width: "
        + ", ".join(AXES)
        + ". With --asymptotic: "
        + ", ".join(EXPONENT_NAMES)
        + " (default: width,init_scale; c_w,alpha)",
    )
    p.add_argument(
        "--param",
        default=None,
        choices=list(PARAMETRIZATIONS),
        help="how kappa, init scales and rates scale with width (spec E.3); axis values multiply this "
        "base (default: ntk; mean-field with --asymptotic)",
    )
    _add_range_options(p, AXES)
    p.add_argument("--asymptotic", action="store_true", help="draw the width -> infinity exponent plane instead")
    p.add_argument("--seeds", type=int, default=None, help=f"random initializations per cell (default {DEFAULT_SEEDS})")
    p.add_argument("--seed", type=int, default=0, help="base seed of the initializations (default 0)")
    p.add_argument("--time", type=float, default=None, help="also evaluate at this finite time t (units of 1/E[x^2])")
    p.add_argument(
        "--kernel-threshold",
        type=float,
        default=KERNEL_THRESHOLD,
        help=f"|K_inf/K0 - 1| below this is the kernel regime (default {KERNEL_THRESHOLD})",
    )
    p.add_argument(
        "--zeta-threshold",
        type=float,
        default=ZETA_THRESHOLD,
        help=f"imbalance fraction zeta at or above this is rescaling (default {ZETA_THRESHOLD})",
    )
    p.add_argument(
        "--out",
        default=None,
        help="output folder (default: diagram-AXIS1-AXIS2 in the current folder); a name ending in .zarr "
        "streams the sweep into a chunked zarr store instead (no figures; any grid size)",
    )
    add_format_argument(p)
    p.add_argument("--force", action="store_true", help="overwrite the results already in --out (never a .zarr store)")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    p.add_argument(
        "--scheduler",
        default="embedded",
        help="where the sweep runs: embedded (this process, default), local:N (a Dask LocalCluster with N "
        "worker processes) or tcp://HOST:PORT (an existing Dask cluster); needs phasefl[distributed]",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted sweep into --out RUN.zarr: only missing chunks are computed",
    )
    p.add_argument(
        "--chunk-cells",
        type=int,
        default=None,
        help="grid cells per chunk: one task and one zarr chunk (default: about 65536 / seeds)",
    )
    p.add_argument("--version", action="version", version=f"phasefl {__version__}")
    return p


def _add_range_options(p: argparse.ArgumentParser, axes: dict) -> None:
    """One option per sweepable quantity (``axes``, the finite-width ``AXES``) and per exponent: a
    range when it is an axis, else a fixed value."""
    for name, info in axes.items():
        p.add_argument(
            f"--{name.replace('_', '-')}",
            dest=name,
            metavar="RANGE",
            help=f"{info.long_name} [{info.units}]: range when an axis (default {info.default}), else a "
            f"fixed value (default {1000 if name == 'width' else 1})",
        )
    for name in EXPONENT_NAMES:
        p.add_argument(
            f"--{name.replace('_', '-')}",
            dest=name,
            metavar="RANGE",
            help=f"(--asymptotic) exponent of {EXPONENT_MEANING[name]}: range when an axis "
            f"(default {EXPONENT_AXES[name].default}), else a fixed value (default: the --param base)",
        )


def _command(args) -> str:
    return "python -m phasefl.diagram " + " ".join(sys.argv[1:] if args.argv is None else args.argv)


def _run_store(args, spec, store: Path, resume: bool) -> None:
    """Compute a sweep into a zarr store with the requested scheduler, with chunk progress."""
    from . import scaleout

    everything, todo = scaleout.open_store(store, spec, resume, args.chunk_cells)
    log = (lambda _: None) if args.quiet else (lambda line: print(line, file=sys.stderr))
    if resume:
        log(
            f"resume: {len(everything) - len(todo)} of {len(everything)} chunks already complete; computing {len(todo)}"
        )
    with scaleout.writer_lock(store), Progress(len(todo), args.quiet) as bar:
        scaleout.execute(spec, store, todo, args.scheduler, progress=bar.update, log=log)


def sweep_spec(args):
    """The SweepSpec of a finite-width diagram's parsed command-line arguments (UsageError on conflicts)."""
    from .sweep import AXES, Axis, SweepSpec, parse_range

    names = parse_axes(args.axis, AXES)
    for name in EXPONENT_NAMES:
        if getattr(args, name) is not None:
            raise UsageError(f"--{name.replace('_', '-')} is an exponent; it needs --asymptotic")
    axes, fixed = [], {}
    for name in AXES:
        text = getattr(args, name)
        if name in names:
            text = text if text is not None else AXES[name].default
            parsed = parse_range(name, text)
            if not isinstance(parsed, Axis):
                raise UsageError(f"--{name.replace('_', '-')} is an axis: give START:STOP:N, got {text!r}")
            requested = int(text.split(":")[2])
            if parsed.values.size < requested and not args.quiet:
                print(
                    f"note: --{name} {text} gives {parsed.values.size} distinct whole widths, not {requested} "
                    "(widths are rounded to whole hidden units, each kept once)",
                    file=sys.stderr,
                )
            axes.append(parsed)
        elif text is not None:
            parsed = parse_range(name, text)
            if isinstance(parsed, Axis):
                raise UsageError(f"--{name.replace('_', '-')} is not an axis: give one number, got {text!r}")
            fixed[name] = parsed
    axes.sort(key=lambda a: names.index(a.name))
    return SweepSpec(
        tuple(axes),
        fixed,
        args.param or "ntk",
        DEFAULT_SEEDS if args.seeds is None else args.seeds,
        args.seed,
        args.time,
        args.kernel_threshold,
        args.zeta_threshold,
    )


def _finite_width(args):
    from . import scaleout
    from .sweep import blocks, chunk_shape, default_block_cells, sweep, typical_boundaries

    spec = sweep_spec(args)
    if args.chunk_cells is not None and args.chunk_cells < 1:
        raise UsageError(f"--chunk-cells must be >= 1, got {args.chunk_cells}")
    names = [a.name for a in spec.axes]
    fixed = spec.fixed
    cells = int(np.prod(spec.shape))
    if cells > MAX_IN_MEMORY_CELLS:
        raise UsageError(
            f"a {' x '.join(map(str, spec.shape))} grid ({cells:,} cells) is more than a diagram held in memory "
            f"may have ({MAX_IN_MEMORY_CELLS:,} cells, about 1.2 GB of results): write it to a zarr store with "
            "--out NAME.zarr"
        )
    if args.scheduler == "embedded":
        from . import kernels

        if not args.quiet and not kernels.cache_is_warm():
            print("phasefl: compiling the kernels (once after an install or update, about 30 s)", file=sys.stderr)
        block_cells = args.chunk_cells or default_block_cells(spec)
        with Progress(len(blocks(spec.shape, chunk_shape(spec.shape, block_cells))), args.quiet) as bar:
            ds = sweep(spec, progress=bar.update, block_cells=block_cells)
    else:  # a Dask cluster computes the blocks into a temporary store next to the output
        store = Path(tempfile.mkdtemp(prefix=".phasefl-run-", dir=Path(args.out or ".").parent)) / "run.zarr"
        try:
            _run_store(args, spec, store, resume=False)
            ds = scaleout.open_result(store).load()
            for variable in ds.variables.values():  # the store's encodings and fill values are not netCDF's
                variable.encoding = {}
                variable.attrs.pop("_FillValue", None)
        finally:
            shutil.rmtree(store.parent, ignore_errors=True)
    ds.attrs["command"] = _command(args)
    width_text = "" if "width" in names else f" · width d = {fixed.get('width', 1000):g}"
    target_text = "" if "target" in names else f" · target m = {fixed.get('target', 1.0):g}"
    title = (
        f"Exact phase diagram · {PARAMETRIZATION_TITLES[spec.param]} parametrization{width_text}{target_text} · "
        f"{spec.seeds} seed{'s' if spec.seeds > 1 else ''} per cell\n{spec.formulas(math=True)}"
    )
    from .plot import plot_diagram

    boundaries = typical_boundaries(spec) if len(spec.axes) == 2 else None
    fig = plot_diagram(ds, boundaries, title)
    labels = ds["label"].values
    summary = [f"{name:<13}{int((labels == k).sum()):>8} cells" for k, name in enumerate(LABELS)]
    return ds, fig, summary


def _asymptotic(args):
    from .asymptotics import exponent_plane, plane_markers, plane_settings, plane_title
    from .plot import plot_exponent_plane
    from .ranges import AXES

    names = parse_axes(args.axis, EXPONENT_NAMES)
    for name in AXES:
        if getattr(args, name) is not None:
            raise UsageError(f"--{name.replace('_', '-')} applies to finite-width diagrams, not --asymptotic")
    if args.seeds is not None or args.time is not None:
        raise UsageError("--seeds and --time apply to finite-width diagrams, not --asymptotic")
    param = args.param or "mean-field"
    axes, fixed = plane_settings(names, {n: getattr(args, n) for n in EXPONENT_NAMES}, param)
    ds = exponent_plane(axes, fixed, param)
    ds.attrs["command"] = _command(args)
    fig = plot_exponent_plane(ds, plane_markers(names, axes, fixed), plane_title(fixed))
    labels = ds["label"].values
    summary = [f"{name:<13}{int((labels == k).sum()):>8} grid points" for k, name in enumerate(LABELS)]
    return ds, fig, summary


def _to_store(args) -> tuple[list[str], list[Path]]:
    """Stream a finite-width sweep into a chunked zarr store (any grid size; memory bounded by a chunk)."""
    import zarr

    from . import scaleout

    spec = sweep_spec(args)
    if args.chunk_cells is not None and args.chunk_cells < 1:
        raise UsageError(f"--chunk-cells must be >= 1, got {args.chunk_cells}")
    store = Path(args.out)
    _run_store(args, spec, store, resume=args.resume)
    group = zarr.open_group(str(store), mode="r+", zarr_format=2)
    group.attrs["command"] = _command(args)
    scaleout.consolidate(store)
    label = group["label"]
    assert isinstance(label, zarr.Array)
    counts = np.zeros(len(LABELS), dtype=np.int64)
    for start in range(0, label.shape[0], max(1, label.chunks[0])):  # chunk by chunk: bounded memory
        counts += np.bincount(np.asarray(label[start : start + label.chunks[0]]).ravel(), minlength=len(LABELS))[
            : len(LABELS)
        ]
    summary = [f"{name:<13}{int(counts[k]):>12} cells" for k, name in enumerate(LABELS)]
    summary.append(f"open with: xarray.open_zarr({str(store)!r})")
    return summary, [store]


#: Largest grid computed in memory (cells): about 1.2 GB of results; larger grids stream to --out RUN.zarr.
MAX_IN_MEMORY_CELLS = 1 << 22


def _check_request(args) -> None:
    """Everything that can be checked before any computing: options that go together, the output place."""
    if args.resume and not (args.out or "").endswith(".zarr"):
        raise UsageError("--resume continues a zarr store: give --out RUN.zarr")
    zarr_out = (args.out or "").endswith(".zarr")
    if args.asymptotic and (args.scheduler != "embedded" or zarr_out):
        raise UsageError("--scheduler and .zarr output apply to finite-width sweeps, not --asymptotic")
    if args.format is not None and zarr_out:
        raise UsageError("--format chooses figure files; a .zarr store has no figures")
    check_threshold_options(args.kernel_threshold, args.zeta_threshold)
    if zarr_out or args.scheduler != "embedded":
        try:
            import zarr  # noqa: F401
        except ImportError:
            raise UsageError(
                "a .zarr store and --scheduler need zarr and Dask: pip install 'phasefl[distributed]'"
            ) from None
    if zarr_out:
        store = Path(args.out)
        if store.exists() and not args.resume:
            raise UsageError(f"{store} already exists; pass --resume to continue it, or choose another --out")
        check_output_folder(store.parent, force=True, holds=())
    else:
        out = Path(args.out) if args.out else _default_out(args)
        check_output_folder(out, args.force)


def _default_out(args) -> Path:
    return Path("diagram-" + "-".join(n.strip() for n in args.axis.split(",") if n.strip()))


def _interrupt_message(args) -> str:
    if (args.out or "").endswith(".zarr"):
        return f"interrupted; completed chunks are kept in {args.out}: rerun with --resume"
    return "interrupted; nothing written"


def main(argv: list[str] | None = None) -> int:
    started = time.perf_counter()
    state = {}

    def body() -> int:
        args = state["args"] = build_parser().parse_args(argv)
        args.argv = argv
        if args.axis is None:
            args.axis = "c_w,alpha" if args.asymptotic else "width,init_scale"
        _check_request(args)
        if args.out and args.out.endswith(".zarr"):
            summary, paths = _to_store(args)
        else:
            ds, fig, summary = _asymptotic(args) if args.asymptotic else _finite_width(args)
            out = Path(args.out) if args.out else _default_out(args)
            paths = write_outputs(ds, fig, out, args.format or DEFAULT_FORMATS)
        if not args.quiet:
            print("\n".join(summary))
            print(f"wrote {', '.join(str(p) for p in paths)}  ({time.perf_counter() - started:.2f} s)")
        return 0

    return run_main(PROG, body, lambda: _interrupt_message(state["args"]) if "args" in state else "interrupted")


if __name__ == "__main__":
    code = main()
    # main() has written and closed every output file: skip the interpreter's teardown (about half a
    # second of numba/LLVM and matplotlib finalizers) and exit at once, after flushing the streams.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
