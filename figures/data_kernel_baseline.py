"""Data of figure 6: exact dynamics against the kernel (frozen-NTK) baseline across init scale.

NTK parametrization (kappa = d^-1/2, eta_u = eta_w = 1, a = E[x^2] = 1, target m = 1).

* ``traj``: F(t) exact (``phasefl.solve``) and kernel baseline (``phasefl.kernel_baseline``) at
  width 1000 for a small, an intermediate and a large init scale (seed 0; labels asserted).
* ``dist``: the kernel-baseline distance max_t |F - F_kernel| / |m - F0|
  (``phasefl.baseline.baseline_distance_batch``), median over i.i.d. initializations, against
  the init scale sigma at several widths.
* ``tl``: learning time t_learn, the first time with |F - m| <= 0.1 |m - F0| (excess loss down
  to 1 %), from the exact solution (dense grid, then Brent's method on ``solve_batch``), against
  sigma at width 1000 for one fixed draw of the Gaussian init scaled by sigma. Predictions:
  kernel regime t = ln(10) / (a K0); small init (spec D.5, with the constant of the 90 %
  criterion) t = [ln(g|m|/Kc) + ln 18] / (a g|m|).

Writes ``<data>/kernel_baseline.npz``.
"""

from __future__ import annotations

import sys

import numpy as np
import phasefl
from phasefl.baseline import baseline_distance_batch
from scipy.optimize import brentq

from common import arguments, save_npz

WIDTH = 1000
TRAJ_SIGMAS = {0.01: "alignment", 0.1: "alignment", 1.0: "kernel"}  # sigma -> asserted label
DIST_WIDTHS = (10, 100, 1000, 10000)


def cell(width, sigma, gram):
    """The nine cell arguments (NTK parametrization) for Gram numbers of a unit-scale draw, scaled by sigma."""
    uu, ww, uw, d2 = gram
    s2 = np.asarray(sigma, dtype=float) ** 2
    return (width**-0.5, 1.0, 1.0, 1.0, 1.0, uu * s2, ww * s2, uw * s2, d2 * s2**2)


def learning_time(args: tuple, t_grid: np.ndarray) -> float:
    """First t with |F(t) - m| <= 0.1 |m - F0| (|F - m| decreases monotonically: dF/dt = -aK(F - m))."""
    kappa, *_, uu, ww, uw, d2 = args
    m, f0 = 1.0, kappa * uw
    goal = 0.1 * abs(m - f0)
    resid = np.abs(phasefl.solve_batch(*args, t_grid).F - m) - goal
    j = int(np.argmax(resid <= 0))
    assert resid[j] <= 0 < resid[0], "the learning time lies outside the time grid"

    def gap(t):
        return float(np.abs(phasefl.solve_batch(*args, [t]).F[0] - m) - goal)

    return brentq(gap, t_grid[j - 1], t_grid[j], xtol=1e-12, rtol=1e-10)


def main(argv=None) -> int:
    args = arguments(__doc__.splitlines()[0], argv)
    tiny = args.tiny
    out = {}

    # (a) trajectories at width 1000
    rng = np.random.default_rng(0)
    u1, w1 = rng.standard_normal(WIDTH), rng.standard_normal(WIDTH)
    times = np.geomspace(1e-3, 1e5, 60 if tiny else 500)
    out["traj/times"] = times
    out["traj/sigmas"] = np.array(list(TRAJ_SIGMAS))
    for k, (sigma, label) in enumerate(TRAJ_SIGMAS.items()):
        model = phasefl.Model(WIDTH**-0.5, 1.0, 1.0)
        c = phasefl.classify(model, sigma * u1, sigma * w1)
        assert c.label == label, f"sigma = {sigma}: expected {label}, got {c.label}"
        out[f"traj/{k}/label"] = np.array(c.label)
        out[f"traj/{k}/F"] = phasefl.solve(model, sigma * u1, sigma * w1, times).F
        out[f"traj/{k}/F_kernel"] = phasefl.kernel_baseline(model, sigma * u1, sigma * w1, times).F

    # (b) distance to the kernel baseline against sigma, median over seeds, at several widths
    sig = np.geomspace(1e-3, 1e3, 13 if tiny else 121)
    seeds = 4 if tiny else 256
    out["dist/sigma"] = sig
    out["dist/widths"] = np.array(DIST_WIDTHS)
    for width in DIST_WIDTHS:
        g = phasefl.sample_gram(width, 1.0, 1.0, size=(seeds, 1), seed=width)
        dist = baseline_distance_batch(*cell(width, sig[None, :], g))
        out[f"dist/{width}/median"] = np.median(dist, axis=0)
        out[f"dist/{width}/q25"], out[f"dist/{width}/q75"] = np.quantile(dist, [0.25, 0.75], axis=0)

    # (c) learning time against sigma at width 1000 (one draw, scaled by sigma)
    sig_t = np.geomspace(1e-6, 1e2, 17 if tiny else 161)
    g1 = phasefl.gram(u1, w1)
    t_grid = np.geomspace(1e-8, 1e6, 400 if tiny else 3000)
    t_learn = np.array([learning_time(cell(WIDTH, s, g1), t_grid) for s in sig_t])
    kappa, _, _, a, b, uu, ww, uw, d2 = cell(WIDTH, sig_t, g1)
    m, g = b / a, 2 * kappa  # g = 2 kappa sqrt(eta_u eta_w)
    k0 = kappa**2 * (ww + uu)
    kc = kappa**2 * np.sqrt((uu - ww) ** 2 + 4 * d2)  # spec D.1 with eta_u = eta_w = 1
    out["tl/sigma"] = sig_t
    out["tl/t_learn"] = t_learn
    out["tl/kernel"] = np.log(10) / (a * k0)
    out["tl/small_init"] = (np.log(g * abs(m) / kc) + np.log(18)) / (a * g * abs(m))
    out["tl/leading_log"] = np.log(g * abs(m) / kc) / (a * g * abs(m))
    out["tl/label"] = phasefl.classify_batch(*cell(WIDTH, sig_t, g1)).label
    small = sig_t < 1e-3
    rel = np.max(np.abs(t_learn[small] / out["tl/small_init"][small] - 1)) if small.any() else 0.0
    print(f"learning time: small-init prediction within {rel:.1e} (relative) for sigma < 1e-3")
    path = save_npz(args.data / "kernel_baseline.npz", **out)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
