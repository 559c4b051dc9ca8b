"""Data of figure 7: large initialization at finite width: the NTK decrease (disalignment).

NTK parametrization (kappa = d^-1/2, eta_u = eta_w = 1, target m = 1), i.i.d. Gaussian init
sigma_u = sigma_w = sigma, sampled exactly through the Gram numbers (``phasefl.sample_gram``),
order parameters and labels from ``phasefl.classify_batch``.

* ``width``: at sigma = 100, over widths 2 ... 10^4: mean, median and quartiles over seeds of the
  NTK decrease 1 - K_inf/K0, and the fraction of seeds in each regime. Prediction (spec E.2):
  1 - K_inf/K0 ~ Gamma0^2 / 2, mean ~ 1/(2d).
* ``sigma``: 2d <1 - K_inf/K0> against sigma at a few widths. Prediction for large d:
  2d <1 - K_inf/K0> ~ d <Gamma0^2 - Gamma^2> = 1 - sigma^-4 (the NTK shrinks iff |F0| > |m|).

Writes ``<data>/large_init.npz``.
"""

from __future__ import annotations

import sys

import numpy as np
import phasefl
from phasefl.regimes import LABELS

from common import arguments, save_npz

SIGMA_LARGE = 100.0
SIGMA_WIDTHS = (4, 16, 64, 1024)


def decrease(width, sigma, seeds, seed):
    """(1 - K_inf/K0, label codes), arrays of shape (seeds,) + broadcast(width, sigma)."""
    width = np.asarray(width, dtype=float)
    shape = (seeds,) + np.broadcast_shapes(width.shape, np.shape(sigma))
    g = phasefl.sample_gram(width, 1.0, 1.0, size=shape, seed=seed)
    s2 = np.asarray(sigma, dtype=float) ** 2
    c = phasefl.classify_batch(width**-0.5, 1.0, 1.0, 1.0, 1.0, g.uu * s2, g.ww * s2, g.uw * s2, g.d2 * s2**2)
    return -c.ntk_rel_change, c.label


def main(argv=None) -> int:
    args = arguments(__doc__.splitlines()[0], argv)
    seeds = 64 if args.tiny else 20000
    out = {"labels": np.array(LABELS), "sigma_large": np.array(SIGMA_LARGE)}

    widths = np.unique(np.round(np.geomspace(2, 1e4, 8 if args.tiny else 40)).astype(int))
    dec, lab = decrease(widths, SIGMA_LARGE, seeds, seed=1)
    out["width/widths"] = widths
    out["width/mean"] = dec.mean(axis=0)
    out["width/sem"] = dec.std(axis=0) / np.sqrt(seeds)
    out["width/median"] = np.median(dec, axis=0)
    out["width/q25"], out["width/q75"] = np.quantile(dec, [0.25, 0.75], axis=0)
    out["width/fractions"] = np.stack([(lab == k).mean(axis=0) for k in range(len(LABELS))])
    out["width/prediction"] = 1.0 / (2.0 * widths)

    sigma = np.geomspace(0.3, 1e2, 12 if args.tiny else 120)
    out["sigma/sigma"] = sigma
    out["sigma/widths"] = np.array(SIGMA_WIDTHS)
    for width in SIGMA_WIDTHS:
        dec, _ = decrease(width, sigma, seeds // 4, seed=2)
        out[f"sigma/{width}/scaled_mean"] = 2 * width * dec.mean(axis=0)
    out["sigma/prediction"] = 1.0 - sigma**-4.0

    big = widths >= 100
    ratio = out["width/mean"][big] / out["width/prediction"][big]
    print(f"mean NTK decrease / (1/(2d)) for d >= 100: {ratio.min():.3f} ... {ratio.max():.3f}")
    path = save_npz(args.data / "large_init.npz", **out)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
