"""The options of ``python -m phasefl.diagram``: its parser, with the base scalings in ``--help``; the
sweep a finite-width diagram's options ask for; and every check that can be made before computing
(options that go together, the output place)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__
from .asymptotics import EXPONENT_AXES, EXPONENT_MEANING, EXPONENT_NAMES, PARAMETRIZATIONS
from .cli import Parser, UsageError, add_format_argument, check_output_folder, check_threshold_options, parse_axes
from .regimes import KERNEL_THRESHOLD, ZETA_THRESHOLD
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
        + ". With --asymptotic: two of "
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


def check_request(args) -> None:
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
        out = Path(args.out) if args.out else default_out(args)
        check_output_folder(out, args.force)


def default_out(args) -> Path:
    return Path("diagram-" + "-".join(n.strip() for n in args.axis.split(",") if n.strip()))
