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

import os
import shutil
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np

from .asymptotics import EXPONENT_NAMES, PARAMETRIZATION_TITLES
from .cli import DEFAULT_FORMATS, Progress, UsageError, parse_axes, run_main, write_outputs
from .diagram_options import PROG, build_parser, check_request, default_out, sweep_spec
from .kernels import compile_notice
from .regimes import LABELS


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
        block_cells = args.chunk_cells or default_block_cells(spec)
        with Progress(len(blocks(spec.shape, chunk_shape(spec.shape, block_cells))), args.quiet) as bar:
            ds = sweep(spec, progress=bar.update, block_cells=block_cells)
    else:  # a Dask cluster computes the blocks into a temporary store next to the output
        store = Path(tempfile.mkdtemp(prefix=".phasefl-run-", dir=Path(args.out or ".").parent)) / "run.zarr"
        try:
            _run_store(args, spec, store, resume=False)
            ds = scaleout.open_result(store).load()
            for variable in ds.variables.values():  # the store's fill values are not netCDF's (its other
                variable.attrs.pop("_FillValue", None)  # encodings, the netCDF writer drops itself)
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
    if len(names) != 2:
        raise UsageError(f"--asymptotic draws a plane: --axis needs two exponents (e.g. c_w,alpha), got {args.axis!r}")
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
        check_request(args)
        with nullcontext() if args.quiet else compile_notice("the diagram"):
            if args.out and args.out.endswith(".zarr"):
                summary, paths = _to_store(args)
            else:
                ds, fig, summary = _asymptotic(args) if args.asymptotic else _finite_width(args)
                out = Path(args.out) if args.out else default_out(args)
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
