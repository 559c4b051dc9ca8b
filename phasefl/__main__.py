"""``python -m phasefl``: classify the named parametrizations of spec E.3 at one width.

A quick look at the engine until the phase-diagram command exists: for each parametrization
it samples one i.i.d. Gaussian initialization (exact Gram numbers, any width) and prints the
exact regime and order parameters.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from . import LABELS, classify_batch, sample_gram
from .asymptotics import PARAMETRIZATIONS


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m phasefl",
        description="Exact regime of the named parametrizations (spec E.3) at one width. "
        "Example: python -m phasefl --width 1e6 --seed 1",
    )
    parser.add_argument("--width", type=float, default=1e4, help="number of hidden units d >= 1 (default 1e4)")
    parser.add_argument("--target", type=float, default=1.0, help="target slope m = E[xy]/E[x^2] (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initialization (default 0)")
    args = parser.parse_args(argv)
    if not (np.isfinite(args.width) and args.width >= 1):
        parser.exit(2, f"python -m phasefl: error: --width must be a number >= 1, got {args.width!r}\n")
    if not np.isfinite(args.target):
        parser.exit(2, f"python -m phasefl: error: --target must be finite, got {args.target!r}\n")
    d = args.width
    start = time.perf_counter()
    print(f"width d = {d:g}, target m = {args.target:g}, seed {args.seed}")
    print(f"{'parametrization':<16}{'regime':<14}{'K_inf/K0':>12}{'Gamma':>12}{'Gamma0':>12}{'zeta':>8}")
    for name, (alpha, b_u, b_w, c_u, c_w) in PARAMETRIZATIONS.items():
        gram = sample_gram(d, d**-b_u, d**-b_w, seed=args.seed)
        res = classify_batch(d**-alpha, d**-c_u, d**-c_w, 1.0, args.target, *gram)
        print(
            f"{name:<16}{LABELS[int(res.label)]:<14}{float(res.ntk_ratio):>12.5g}"
            f"{float(res.gamma):>12.4g}{float(res.gamma0):>12.4g}{float(res.zeta):>8.3f}"
        )
    print(f"({time.perf_counter() - start:.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
