"""``python -m phasefl.empirical``: empirical phase diagrams of deep nonlinear networks on digits.

Sweeps one or two of init scale, learning-rate ratio, output scale and width; trains one network
per cell and seed (``phasefl.empirical.train``), labels it with the exact model's rule, compares it
with its linearized counterpart and with the exact model at the same hyperparameters, and draws the
diagram. Outputs (in --out): diagram.nc and diagram.png (``--format png,pdf,svg`` chooses the figure
files), as ``phasefl.diagram``: written to a temporary folder and moved into place together, so an
error or an interrupt leaves nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .. import __version__
from ..cli import (
    DEFAULT_FORMATS,
    Parser,
    Progress,
    UsageError,
    add_format_argument,
    check_output_folder,
    parse_axes,
    run_main,
    write_outputs,
)
from ..regimes import KERNEL_THRESHOLD, LABELS, ZETA_THRESHOLD
from .grid import AXES, DEFAULT_RANGES, FIXED_DEFAULTS

PROG = "python -m phasefl.empirical"

EXAMPLES = """\
examples:
  python -m phasefl.empirical --axis init_scale,lr_ratio
  python -m phasefl.empirical --axis init_scale --init-scale 1e-2:1e1:10 --horizon 1000
  python -m phasefl.empirical --axis output_scale,lr_ratio --activation tanh --depth 4 --width 512
  python -m phasefl.empirical --axis width,init_scale --width 32:512:5 --seeds 2

ranges are START:STOP:N (log-spaced; append :lin for linear); a single number fixes a parameter
that is not an axis. Each cell trains a network on scikit-learn's digits (even vs odd, MSE) by
small-step full-batch gradient descent; the default 7 x 5 grid takes about 2 minutes on 2 cores.
"""


class CellProgress(Progress):
    """``phasefl.cli.Progress`` counting trained cells (seconds per cell: a cell takes seconds, not microseconds)."""

    def __enter__(self):
        super().__enter__()
        self.bar.unit, self.bar.desc = "cell", "training networks"
        return self

    def update(self, cells: int) -> None:
        self.cells += cells
        self.bar.update(cells)
        self.bar.set_postfix_str(f"{(time.perf_counter() - self.started) / self.cells:.1f} s/cell", refresh=False)


def build_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog=PROG,
        description="Empirical phase diagram of deep nonlinear networks (MLPs on scikit-learn's digits): every "
        "cell is labelled kernel, alignment, disalignment or rescaling with the exact model's rule, from the "
        "learning-rate-weighted empirical NTK, and compared with its linearized network and the exact model.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--axis",
        default="init_scale,lr_ratio",
        help=f"one or two comma-separated axes: {', '.join(AXES)} (default init_scale,lr_ratio)",
    )
    helps = {
        "init_scale": "init scale sigma of every layer, x base std (sqrt(2) for ReLU layers)",
        "lr_ratio": "learning-rate ratio eta_hidden/eta_last (geometric mean fixed)",
        "output_scale": "output scale kappa, x base (width^-1/2 for --param ntk, width^-1 for mean-field)",
        "width": "hidden units per hidden layer (at most 4096)",
    }
    for name in AXES:
        p.add_argument(
            f"--{name.replace('_', '-')}",
            dest=name,
            metavar="RANGE",
            help=f"{helps[name]}: range when an axis (default {DEFAULT_RANGES[name]}), else a fixed value "
            f"(default {FIXED_DEFAULTS[name]:g})",
        )
    p.add_argument(
        "--param", default="ntk", choices=["ntk", "mean-field"], help="base of the output scale (default ntk)"
    )
    p.add_argument("--depth", type=int, default=3, help="weight layers, 2 (one hidden layer) to 8 (default 3)")
    p.add_argument("--activation", default="relu", choices=["relu", "tanh", "linear"], help="(default relu)")
    p.add_argument("--n-train", type=int, default=1200, help="training images of the 1,797 digits (default 1200)")
    p.add_argument("--probe-size", type=int, default=256, help="training images in the NTK probe batch (default 256)")
    p.add_argument(
        "--horizon",
        type=float,
        default=None,
        help="end of training in trace time tau = int tr(Theta)/n dt (default 300)",
    )
    p.add_argument("--step", type=float, default=None, help="GD step x the NTK's top eigenvalue (default 0.5)")
    p.add_argument("--max-steps", type=int, default=None, help="GD steps at most per network (default 4000)")
    p.add_argument("--seeds", type=int, default=1, help="networks per cell, different inits (default 1)")
    p.add_argument("--seed", type=int, default=0, help="base seed of the initializations (default 0)")
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"], help="(default float32)")
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="PyTorch threads (default 1: on a shared 2-core machine more threads are slower)",
    )
    p.add_argument("--no-exact", action="store_true", help="skip the exact model's labels at the same cells")
    p.add_argument(
        "--kernel-threshold",
        type=float,
        default=KERNEL_THRESHOLD,
        help=f"|tr Theta(T)/tr Theta(0) - 1| below this is kernel (default {KERNEL_THRESHOLD})",
    )
    p.add_argument(
        "--zeta-threshold",
        type=float,
        default=ZETA_THRESHOLD,
        help=f"imbalance fraction zeta at or above this is rescaling (default {ZETA_THRESHOLD})",
    )
    p.add_argument("--out", default=None, help="output folder (default: empirical-AXIS1-AXIS2)")
    add_format_argument(p)
    p.add_argument("--force", action="store_true", help="overwrite the results already in --out")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    p.add_argument("--version", action="version", version=f"phasefl {__version__}")
    return p


def spec_from_args(args):
    """The ``EmpiricalSpec`` of a parsed command line (UsageError / ValueError on bad input)."""
    from ..sweep import Axis, parse_range
    from .sweeps import EmpiricalSpec, make_axis
    from .training import Schedule

    names = parse_axes(args.axis, AXES)
    axes, fixed = [], {}
    for name in AXES:
        text = getattr(args, name)
        if name in names:
            axes.append(make_axis(name, text))
        elif text is not None:
            value = parse_range(name, text)
            if isinstance(value, Axis):
                raise UsageError(f"--{name.replace('_', '-')} is not an axis: give one number, got {text!r}")
            fixed[name] = value
    axes.sort(key=lambda a: names.index(a.name))
    defaults = {
        k: v
        for k, v in (("horizon", args.horizon), ("step", args.step), ("max_steps", args.max_steps))
        if v is not None
    }
    schedule = Schedule(dtype=args.dtype, **defaults)
    if args.threads < 1:
        raise UsageError(f"--threads must be >= 1, got {args.threads}")
    return EmpiricalSpec(
        tuple(axes),
        fixed,
        depth=args.depth,
        activation=args.activation,
        param=args.param,
        n_train=args.n_train,
        probe_size=args.probe_size,
        schedule=schedule,
        seeds=args.seeds,
        seed=args.seed,
        kernel_threshold=args.kernel_threshold,
        zeta_threshold=args.zeta_threshold,
        exact=not args.no_exact,
    )


def title_of(spec) -> str:
    """The figure title of a sweep: architecture, fixed parameters, training horizon."""
    fixed = spec.fixed
    names = [a.name for a in spec.axes]
    parts = [f"depth {spec.depth} {spec.activation} MLP"]
    if "width" not in names:
        parts.append(f"width {int(fixed.get('width', 256))}")
    parts.append(f"{spec.param} output scale")
    parts += [f"{k} = {v:g}" for k, v in fixed.items() if k != "width"]
    return (
        "Empirical phase diagram, digits even/odd (" + ", ".join(parts) + f"; trained to τ = {spec.schedule.horizon:g}"
        f", {spec.seeds} seed(s)); letters: exact model"
    )


def main(argv: list[str] | None = None) -> int:
    started = time.perf_counter()

    def body() -> int:
        args = build_parser().parse_args(argv)
        try:
            from ._torch import torch
        except ImportError as err:
            raise UsageError(str(err)) from None
        spec = spec_from_args(args)
        out = Path(args.out) if args.out else Path("empirical-" + "-".join(a.name for a in spec.axes))
        check_output_folder(out, args.force)
        from .data import digits

        try:
            data = digits(n_train=spec.n_train, probe_size=spec.probe_size, seed=spec.data_seed)
        except ImportError as err:  # scikit-learn missing
            raise UsageError(str(err)) from None
        torch.set_num_threads(args.threads)
        from .plot import plot_empirical
        from .sweeps import sweep

        cells = 1
        for a in spec.axes:
            cells *= a.values.size
        with CellProgress(cells, args.quiet) as bar:
            try:
                ds = sweep(spec, progress=bar.update, data=data)
            except FloatingPointError as err:
                raise UsageError(f"{err}; nothing written") from None
        ds.attrs["command"] = PROG + " " + " ".join(sys.argv[1:] if argv is None else argv)
        fig = plot_empirical(ds, title_of(spec))
        paths = write_outputs(ds, fig, out, args.format or DEFAULT_FORMATS)
        if not args.quiet:
            labels = ds["label"].values
            for k, name in enumerate(LABELS):
                line = f"{name:<13}{int((labels == k).sum()):>5} cells"
                if "exact_label" in ds:
                    line += f"   (exact model: {int((ds['exact_label'].values == k).sum())})"
                print(line)
            if "exact_label" in ds:
                agree = float((ds["exact_label"].values == labels).mean())
                print(f"agreement with the exact model: {100 * agree:.0f}% of cells")
            print(f"wrote {', '.join(str(p) for p in paths)}  ({time.perf_counter() - started:.1f} s)")
        return 0

    return run_main(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
