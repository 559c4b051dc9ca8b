"""Gram numbers of the initial weights: the only way width and init enter the solution.

Spec section D: the whole scalar trajectory depends on u0, w0 only through
uu = |u0|^2, ww = |w0|^2, uw = u0.w0 and the conserved area d2 = uu ww - uw^2 (section C.4).
d2 is carried separately because the difference uu*ww - uw^2 cancels catastrophically for
nearly parallel vectors; here it is computed from the perpendicular component instead, so
width-1 and parallel initializations keep d2 = 0 exactly.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from .params import check_positive, check_weights


class Gram(NamedTuple):
    """Gram numbers (arrays or floats): |u0|^2, |w0|^2, u0.w0 and d2 = |u0|^2 |w0|^2 - (u0.w0)^2."""

    uu: Any  # float64 arrays of one shape, or floats
    ww: Any
    uw: Any
    d2: Any


_SPLIT = 134217729.0  # 2**27 + 1, Veltkamp's splitting constant for float64


def _two_product(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Error-free product x*y = p + e (Dekker), elementwise."""
    p = x * y
    cx = _SPLIT * x
    xh = cx - (cx - x)
    xl = x - xh
    cy = _SPLIT * y
    yh = cy - (cy - y)
    yl = y - yh
    e = ((xh * yh - p) + xh * yl + xl * yh) + xl * yl
    return p, e


def dot(x: np.ndarray, y: np.ndarray) -> float:
    """Correctly rounded dot product: exact products (Dekker) summed exactly (math.fsum)."""
    p, e = _two_product(x, y)
    return math.fsum(np.concatenate([p, e]))


def gram(u0, w0) -> Gram:
    """Gram numbers of two weight vectors, with compensated sums.

    d2 is |u0|^2 |w_perp|^2 with w_perp the part of w0 orthogonal to u0 (projected twice,
    which is enough for orthogonality to rounding), or the same with the roles swapped when
    |w0| > |u0|. Width 1 gives d2 = 0 exactly.
    """
    u, w = check_weights(u0, w0)
    uu, ww, uw = dot(u, u), dot(w, w), dot(u, w)
    if u.size == 1 or uu == 0.0 or ww == 0.0:
        return Gram(uu, ww, uw, 0.0)
    big, small, big2 = (u, w, uu) if uu >= ww else (w, u, ww)
    perp = small - (uw / big2) * big
    perp = perp - (dot(big, perp) / big2) * big
    d2 = big2 * dot(perp, perp)
    return Gram(uu, ww, uw, min(d2, uu * ww))


def sample_gram(width, init_scale_u, init_scale_w, size=None, seed=None) -> Gram:
    """Exact sample of the Gram numbers of u0 ~ N(0, s_u^2 I_d), w0 ~ N(0, s_w^2 I_d).

    The 2x2 Gram matrix of two i.i.d. Gaussian vectors is Wishart(d, diag(s_u^2, s_w^2)).
    Bartlett decomposition: with c1^2 ~ chi^2_d, c2^2 ~ chi^2_{d-1}, n ~ N(0, 1) independent,
    uu = s_u^2 c1^2, uw = s_u s_w c1 n, ww = s_w^2 (n^2 + c2^2), and d2 = s_u^2 s_w^2 c1^2 c2^2.
    Cost O(1) per sample whatever the width (width may be 1e12, and need not be an integer
    above 1 for the chi-square draws; width 1 gives d2 = 0).

    Parameters
    ----------
    width : float or array, >= 1
    init_scale_u, init_scale_w : float or array, > 0
    size : output shape (default: the broadcast shape of the arguments)
    seed : int, numpy Generator or None
    """
    width = np.asarray(width, dtype=float)
    bad = ~(np.isfinite(width) & (width >= 1))
    if bad.any():
        raise ValueError(f"width must be finite and >= 1, got {float(width[bad].ravel()[0])!r}")
    s_u = np.asarray(init_scale_u, dtype=float)
    s_w = np.asarray(init_scale_w, dtype=float)
    for name, arr in (("init_scale_u", s_u), ("init_scale_w", s_w)):
        bad = ~(np.isfinite(arr) & (arr > 0))
        if bad.any():
            check_positive(name, arr[bad].ravel()[0])  # raises, naming the first bad value
    if size is None:
        size = np.broadcast_shapes(width.shape, s_u.shape, s_w.shape)
    return scale_bartlett(*bartlett(width, size, np.random.default_rng(seed)), s_u, s_w)


def bartlett(width, size, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Standard Bartlett variates (c1^2 ~ chi^2_d, c2^2 ~ chi^2_{d-1}, n ~ N(0, 1)) of the given size."""
    width = np.asarray(width, dtype=float)
    c1sq = rng.chisquare(np.broadcast_to(width, size))
    dof2 = np.broadcast_to(width - 1.0, size)
    c2sq = np.where(dof2 > 0, rng.chisquare(np.maximum(dof2, 1.0)), 0.0)
    return c1sq, c2sq, rng.standard_normal(size)


def scale_bartlett(c1sq, c2sq, n, init_scale_u, init_scale_w) -> Gram:
    """Gram numbers of (sigma_u z_u, sigma_w z_w) from the Bartlett variates of (z_u, z_w)."""
    s_u, s_w = init_scale_u, init_scale_w
    uu = s_u**2 * c1sq
    uw = s_u * s_w * np.sqrt(c1sq) * n
    ww = s_w**2 * (n**2 + c2sq)
    d2 = (s_u * s_w) ** 2 * c1sq * c2sq
    return Gram(uu, ww, uw, d2)
