"""``python -m phasefl`` (or ``phasefl``): the regimes of the named parametrizations at one width, and
``python -m phasefl explain``: one configuration, its regime and its trajectory, column by column.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from . import LABELS, __version__
from .cli import Parser, UsageError, check_threshold_options, run_main
from .regimes import KERNEL_THRESHOLD, ZETA_THRESHOLD
from .scalings import PARAMETRIZATIONS, Configuration, base_table, parametrization
from .schema import describe

PROG = "python -m phasefl"

EXPLAIN_COLUMNS = """\
columns:
  t·aK0        time in units of the initial time scale 1/(a K0) (a = E[x^2] = 1)
  F            the network's slope, f(x) = F x; it goes from F0 to the target m
  K/K0         learning-rate-weighted NTK K = κ² (η_u |w|² + η_w |u|²) over its value at init
  loss-Lmin    excess loss (a/2) (F - m)²
  cos(u,w)     cosine of the angle between the layers (±1: aligned, 0: orthogonal)
  rot_u, rot_w angle in radians by which each layer has turned since init
"""


def _multiplier_arguments(p: argparse.ArgumentParser, defaults: bool = True) -> None:
    """The configuration's options; a subcommand's copies have no defaults of their own (argparse would
    let them overwrite the values given before the subcommand's name)."""

    def default(value):
        return value if defaults else argparse.SUPPRESS

    p.add_argument("--param", default=default("ntk"), choices=list(PARAMETRIZATIONS), help="base scaling (default ntk)")
    p.add_argument("--width", type=float, default=default(1e4), help="number of hidden units d >= 1 (default 1e4)")
    p.add_argument("--target", type=float, default=default(1.0), help="target slope m = E[xy]/E[x^2] (default 1)")
    p.add_argument("--seed", type=int, default=default(0), help="seed of the initialization (default 0)")
    for name, text in (
        ("output-scale", "multiplier of the base κ"),
        ("init-scale", "multiplier of the base σ_u and σ_w"),
        ("init-scale-u", "multiplier of the base σ_u (default: --init-scale)"),
        ("init-scale-w", "multiplier of the base σ_w (default: --init-scale)"),
        ("lr-u", "multiplier of the base η_u"),
        ("lr-w", "multiplier of the base η_w"),
        ("lr-ratio", "sets η_w = lr_ratio × η_u on the base (instead of --lr-w)"),
    ):
        p.add_argument(f"--{name}", type=float, default=default(None), help=f"{text} (default 1)")


def _configuration(args, name: str | None = None) -> Configuration:
    multipliers = {
        k: getattr(args, k)
        for k in ("output_scale", "init_scale", "init_scale_u", "init_scale_w", "lr_u", "lr_w", "lr_ratio")
        if getattr(args, k) is not None
    }
    multipliers.setdefault("lr_u", 1.0)
    multipliers.setdefault("output_scale", 1.0)
    try:
        return parametrization(name or args.param, args.width, target=args.target, **multipliers)
    except ValueError as err:  # name the flag, not the Python argument
        raise UsageError(str(err).replace("width must", "--width must")) from None


def _table(args) -> int:
    """The four named parametrizations at one width: regime and order parameters."""
    from . import classify_batch

    configs = {name: _configuration(args, name) for name in PARAMETRIZATIONS}  # all checked before printing
    start = time.perf_counter()
    print(f"width d = {args.width:g}, target m = {args.target:g}, seed {args.seed}")
    print(f"{'parametrization':<16}{'regime':<14}{'K_inf/K0':>12}{'Gamma':>12}{'Gamma0':>12}{'zeta':>8}")
    for name, cfg in configs.items():
        g = cfg.sample(seed=args.seed)
        res = classify_batch(cfg.output_scale, cfg.lr_u, cfg.lr_w, 1.0, cfg.target, *g)
        print(
            f"{name:<16}{LABELS[int(res.label)]:<14}{float(res.ntk_ratio):>12.5g}"
            f"{float(res.gamma):>12.4g}{float(res.gamma0):>12.4g}{float(res.zeta):>8.3f}"
        )
    print(f"({time.perf_counter() - start:.2f} s)  base scalings:\n{base_table()}")
    return 0


def _explain(args) -> int:
    """One configuration: hyperparameters, initialization, regime with the reason, trajectory table."""
    from . import classify_batch, solve_batch

    cfg = _configuration(args)
    g = cfg.sample(seed=args.seed)
    hyper = (cfg.output_scale, cfg.lr_u, cfg.lr_w, 1.0, cfg.target)
    res = classify_batch(*hyper, *g, kernel_threshold=args.kernel_threshold, zeta_threshold=args.zeta_threshold)
    k0 = cfg.output_scale**2 * (cfg.lr_u * float(g.ww) + cfg.lr_w * float(g.uu))
    k_end = k0 * float(res.ntk_ratio)
    k_lo, k_hi = min(k0, k_end) or k0, max(k0, k_end)  # from well before the fast to after the slow scale
    times = np.concatenate([[0.0], np.geomspace(0.03 / k_hi, 30.0 / k_lo, args.rows - 1)])
    tr = solve_batch(*hyper, *g, times)
    label = LABELS[int(res.label)]
    rk, zeta = float(res.ntk_rel_change), float(res.zeta)
    if label == "kernel":
        why = f"|K∞/K0 − 1| = {abs(rk):.3g} < {args.kernel_threshold:g}: the NTK barely moves"
    elif label == "rescaling":
        why = f"|K∞/K0 − 1| = {abs(rk):.3g} ≥ {args.kernel_threshold:g} and ζ = {zeta:.3g} ≥ {args.zeta_threshold:g}"
    else:
        direction = "grows" if rk > 0 else "shrinks"
        why = f"the NTK {direction} by K∞/K0 = {float(res.ntk_ratio):.4g} and ζ = {zeta:.3g} < {args.zeta_threshold:g}"
    print(cfg.describe())
    print(
        f"initialization (seed {args.seed}): |u0|² = {float(g.uu):.6g}, |w0|² = {float(g.ww):.6g}, "
        f"u0·w0 = {float(g.uw):.6g}, F0 = κ u0·w0 = {cfg.output_scale * float(g.uw):.6g}, K0 = {k0:.6g}"
    )
    print(f"regime: {label}  ({why})")
    print(
        f"order parameters: Γ = g|m|/K0 = {float(res.gamma):.4g} (target strength), Γ0 = g|F0|/K0 = "
        f"{float(res.gamma0):.4g}, ζ = {zeta:.4g} (imbalance fraction), dominant layer {res.dominant_layer}"
    )
    print("all order parameters:")
    for name, value in res.order.items():
        print(f"  {name:<15}{float(value):>13.6g}  {describe(name)[0]}")
    print(f"{'t·aK0':>10}{'F':>13}{'K/K0':>12}{'loss-Lmin':>12}{'cos(u,w)':>10}{'rot_u':>9}{'rot_w':>9}")
    for i, t in enumerate(times):
        print(
            f"{t * k0:>10.3g}{tr.F[i]:>13.6g}{tr.ntk[i] / k0:>12.6g}{tr.loss_excess[i]:>12.3g}"
            f"{tr.cos_uw[i]:>10.4f}{tr.rot_u[i]:>9.4f}{tr.rot_w[i]:>9.4f}"
        )
    f = tr.final
    assert f is not None  # solve always returns the t = infinity state
    print(
        f"{'∞':>10}{f.F:>13.6g}{f.ntk / k0:>12.6g}{f.loss_excess:>12.3g}{f.cos_uw:>10.4f}{f.rot_u:>9.4f}{f.rot_w:>9.4f}"
    )
    print(EXPLAIN_COLUMNS, end="")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog=PROG,
        description="Exact regimes of the solvable network f(x) = κ Σ u_i w_i x at one width. Without a "
        "command: the four named parametrizations side by side. 'explain': one configuration in detail.",
        epilog="examples:\n  python -m phasefl --width 1e6\n  python -m phasefl explain --param mup --width 4096 "
        "--init-scale 0.1\n\nbase scalings (d = width; multipliers multiply them):\n" + base_table(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"phasefl {__version__}")
    _multiplier_arguments(p)
    sub = p.add_subparsers(dest="command", parser_class=Parser)
    e = sub.add_parser(
        "explain",
        help="one configuration: hyperparameters, regime and why, trajectory",
        epilog=EXPLAIN_COLUMNS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _multiplier_arguments(e, defaults=False)
    e.add_argument("--rows", type=int, default=9, help="rows of the trajectory table (default 9)")
    e.add_argument(
        "--kernel-threshold",
        type=float,
        default=KERNEL_THRESHOLD,
        help=f"kernel threshold (default {KERNEL_THRESHOLD:g})",
    )
    e.add_argument(
        "--zeta-threshold", type=float, default=ZETA_THRESHOLD, help=f"rescaling threshold (default {ZETA_THRESHOLD:g})"
    )
    return p


def main(argv=None) -> int:
    def body() -> int:
        args = build_parser().parse_args(argv)
        if not (np.isfinite(args.target)):
            raise UsageError(f"--target must be a finite number, got {args.target:g}")
        if args.command == "explain":
            if args.rows < 2:
                raise UsageError(f"--rows must be >= 2, got {args.rows}")
            check_threshold_options(args.kernel_threshold, args.zeta_threshold)
            return _explain(args)
        return _table(args)

    return run_main(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
