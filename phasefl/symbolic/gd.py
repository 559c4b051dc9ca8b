"""Gradient descent with a finite step h: the exact, width-independent map (issue 16).

One step of full-batch gradient descent is u' = u - h eta_u kappa (aF - b) w, w' = w - h eta_w kappa
(aF - b) u: every neuron pair is multiplied by the same 2x2 matrix. In the rescaled weights
u~ = u/sqrt(eta_u), w~ = w/sqrt(eta_w) it is [[1, -alpha], [-alpha, 1]] with

    alpha = h s kappa (aF - b) = (h a g / 2)(F - m),

so p = u~ + w~ and q = u~ - w~ are multiplied by 1 - alpha and 1 + alpha. Consequences (``claims``):

- the reduced map F' = (1 + alpha^2) F - 2 alpha K/g, K' = (1 + alpha^2) K - 2 alpha g F closes on (F, K);
  F - m =: R follows R' = R (1 - h a (K - alpha kappa s F)), a product (no cancellation near m);
- C' = (1 - alpha^2) C and D^2' = (1 - alpha^2)^2 D^2 (the flow's conserved quantities are not conserved),
  so K^2 - g^2 F^2 = Kc^2 is multiplied by (1 - alpha^2)^2;
- after n steps u_n = sigma u0 + delta r w0, w_n = delta u0/r + sigma w0 (r = sqrt(eta_u/eta_w)), where
  sigma + delta = A = prod(1 - alpha) and sigma - delta = B = prod(1 + alpha): every observable is a
  quadratic form in (sigma, delta) or (A, B) with the Gram numbers as coefficients;
- fixed points: alpha = 0, i.e. F = m, with any K >= g|m|; linearized, R' = (1 - h a K) R and K' = K - h a g^2 m R,
  eigenvalues 1 - h a K and 1: the fixed point is stable iff 0 < h a K < 2 (and none is when h a g|m| > 2);
- period-2 orbits: the product of the two steps' factors must be +-1 on p and on q;
- as h -> 0 the map is the gradient flow to first order.

The end of the module holds the programs that ``phasefl.codegen`` lowers to the numba step and
observation functions (``KERNELS``), in the style of ``phasefl.symbolic.lowering``.
"""

from __future__ import annotations

import sympy as sp

from . import lowering
from .lowering import (
    DiffOfProducts,
    cos_uw,
    loss_excess,
    norm_u2,
    norm_w2,
    ntk_plain,
    rot_u,
    rot_w,
)
from .model import drive
from .symbols import C, F, K, d2, g, kappa, lr_u, lr_w, m, s, uu, uw, ww, x_var, xy_cov

h = sp.Symbol("h", positive=True)  # the step
alpha_n = sp.Symbol("alpha_n", real=True)  # h s kappa (aF - b) at step n
R = sp.Symbol("R", real=True)  # the residual F - m
sigma, delta = sp.symbols("sigma delta", real=True)  # u_n = sigma u0 + delta r w0
A, B = sp.symbols("A B", real=True)  # prod(1 - alpha), prod(1 + alpha): sigma + delta, sigma - delta
r = sp.sqrt(lr_u / lr_w)


def step(u: sp.Matrix, w: sp.Matrix) -> tuple[sp.Matrix, sp.Matrix]:
    """One gradient-descent step of the weight vectors, driven by their own slope F = kappa u.w."""
    chi = drive.subs(F, kappa * u.dot(w))
    return u - h * lr_u * chi * w, w - h * lr_w * chi * u


#: alpha as a function of the slope.
alpha_of_slope = h * s * kappa * (x_var * F - xy_cov)

#: The map of (F, K, C, D^2) at a given alpha (spec symbols; alpha = alpha_of_slope).
REDUCED = {
    F: (1 + alpha_n**2) * F - 2 * alpha_n * K / g,
    K: (1 + alpha_n**2) * K - 2 * alpha_n * g * F,
    C: (1 - alpha_n**2) * C,
    d2: (1 - alpha_n**2) ** 2 * d2,
}
#: The residual's map, with alpha = h a kappa s R.
RESIDUAL_FACTOR = 1 - h * x_var * (K - alpha_n * kappa * s * F)

#: One step of the multipliers (sigma, delta) and (A, B).
MULTIPLIERS = {
    sigma: sigma - alpha_n * delta,
    delta: delta - alpha_n * sigma,
    A: A * (1 - alpha_n),
    B: B * (1 + alpha_n),
}

#: The Gram numbers after the multipliers (sigma, delta) (u_n = sigma u0 + delta r w0, w_n = delta u0/r + sigma w0).
GRAM_AFTER = {
    "uu": sigma**2 * uu + 2 * sigma * delta * r * uw + delta**2 * r**2 * ww,
    "ww": delta**2 * uu / r**2 + 2 * sigma * delta * uw / r + sigma**2 * ww,
    "uw": sigma * delta * (uu / r + r * ww) + (sigma**2 + delta**2) * uw,
}

#: |u~0 + w~0|^2 and |u~0 - w~0|^2 from the Gram numbers, and their product (no cancellation):
#: P0 Q0 = X^2 - Y^2 = (C/s^2)^2 + 4 D^2/s^2 with X = uu/eta_u + ww/eta_w, Y = 2 uw/s.
X_SUM = uu / lr_u + ww / lr_w
Y_CROSS = 2 * uw / s
PQ_PRODUCT = (C / s**2) ** 2 + 4 * d2 / s**2

#: The linearization of (R, K) -> (R', K') at the fixed point R = 0 (alpha = h a kappa s R).
STABILITY_FACTOR = 1 - h * x_var * K

#: alpha over two steps of a period-2 orbit where P and Q are both non-zero: the products of the factors on p and
#: on q are +-1. (+1, +1) is only the fixed point; the others are listed as (alpha_1, alpha_2).
PERIOD_TWO = {
    "p and q both flip (-1, -1)": (sp.sqrt(2), -sp.sqrt(2)),
    "q flips (+1, -1)": ((sp.sqrt(5) - 1) / 2, -(sp.sqrt(5) + 1) / 2),
    "p flips (-1, +1)": ((sp.sqrt(5) + 1) / 2, -(sp.sqrt(5) - 1) / 2),
}

#: K_c = 0 (u0, w0 parallel, C = 0; here F > 0): K = g F, only p is non-zero and F' = (1 - alpha)^2 F. With
#: c = h a g m/2 and x = F/m (alpha = c (x - 1)), the period-2 orbit has alpha_1 + alpha_2 = alpha_1 alpha_2
#: (the factors on p multiply to 1) and x_2 = (1 - alpha_1)^2 x_1: the alphas are the roots below, real iff
#: c >= 1, i.e. h a K_inf = h a g m >= 2 (a flip bifurcation of the fixed point x = 1 at c = 1).
c_flip = sp.Symbol("c_flip", positive=True)
PERIOD_TWO_KC0 = tuple((1 - c_flip + sign * sp.sqrt((c_flip - 1) * (c_flip + 3))) / 2 for sign in (1, -1))


def _explicit(expr: sp.Expr) -> sp.Expr:
    """g and s written through the learning rates."""
    return expr.subs(g, 2 * kappa * s).subs(s, sp.sqrt(lr_u * lr_w))


def _vectors(d: int) -> tuple[sp.Matrix, sp.Matrix]:
    return sp.Matrix(sp.symbols(f"u1:{d + 1}", real=True)), sp.Matrix(sp.symbols(f"w1:{d + 1}", real=True))


def _map_claims() -> dict[str, sp.Expr]:
    """The step on the vectors gives the reduced map, the residual map and the multiplier form."""
    u, w = _vectors(2)
    u1, w1 = step(u, w)
    alpha_w = _explicit(alpha_of_slope.subs(F, kappa * u.dot(w)))
    p, q = u / sp.sqrt(lr_u) + w / sp.sqrt(lr_w), u / sp.sqrt(lr_u) - w / sp.sqrt(lr_w)
    p1, q1 = u1 / sp.sqrt(lr_u) + w1 / sp.sqrt(lr_w), u1 / sp.sqrt(lr_u) - w1 / sp.sqrt(lr_w)
    on_w = {F: kappa * u.dot(w), K: kappa**2 * (lr_u * w.dot(w) + lr_w * u.dot(u))}
    on_w[C] = lr_w * u.dot(u) - lr_u * w.dot(w)
    on_w[d2] = u.dot(u) * w.dot(w) - u.dot(w) ** 2
    after = {F: kappa * u1.dot(w1), K: kappa**2 * (lr_u * w1.dot(w1) + lr_w * u1.dot(u1))}
    after[C] = lr_w * u1.dot(u1) - lr_u * w1.dot(w1)
    after[d2] = u1.dot(u1) * w1.dot(w1) - u1.dot(w1) ** 2
    out = {
        "gd: p' = (1 - alpha) p, q' = (1 + alpha) q": sum(
            ((p1 - (1 - alpha_w) * p).T * (p1 - (1 - alpha_w) * p))[0]
            + ((q1 - (1 + alpha_w) * q).T * (q1 - (1 + alpha_w) * q))[0]
            for _ in (0,)
        ),
        "gd: alpha = (h a g/2)(F - m)": _explicit(alpha_of_slope - h * x_var * g / 2 * (F - xy_cov / x_var)),
    }
    for sym, name in ((F, "F"), (K, "K"), (C, "C"), (d2, "D^2")):
        mapped = REDUCED[sym].subs(on_w, simultaneous=True).subs(alpha_n, alpha_w).subs(g, 2 * kappa * s)
        out[f"gd: reduced map of {name}"] = (after[sym] - mapped).subs(s, sp.sqrt(lr_u * lr_w))
    resid = (F - m).subs(on_w).subs(m, xy_cov / x_var)
    factor = RESIDUAL_FACTOR.subs(on_w, simultaneous=True).subs(alpha_n, alpha_w).subs(s, sp.sqrt(lr_u * lr_w))
    out["gd: residual map R' = R (1 - h a (K - alpha kappa s F))"] = after[F] - xy_cov / x_var - resid * factor
    # the multiplier form: one step of (sigma, delta) is one step of the weights
    u0, w0 = _vectors(2)
    un, wn = sigma * u0 + delta * r * w0, delta * u0 / r + sigma * w0
    alpha_n_w = _explicit(alpha_of_slope.subs(F, kappa * un.dot(wn)))
    stepped = step(un, wn)
    nxt = {k: v.subs(alpha_n, alpha_n_w) for k, v in MULTIPLIERS.items()}
    out["gd: one step of (sigma, delta) is one step of the weights"] = sum(
        (stepped[0] - (nxt[sigma] * u0 + nxt[delta] * r * w0)).applyfunc(lambda e: e**2)
    ) + sum((stepped[1] - (nxt[delta] * u0 / r + nxt[sigma] * w0)).applyfunc(lambda e: e**2))
    gram0 = {uu: u0.dot(u0), ww: w0.dot(w0), uw: u0.dot(w0)}
    out["gd: Gram numbers after n steps are quadratic forms in (sigma, delta)"] = (
        (GRAM_AFTER["uu"].subs(gram0) - un.dot(un)) ** 2
        + (GRAM_AFTER["ww"].subs(gram0) - wn.dot(wn)) ** 2
        + (GRAM_AFTER["uw"].subs(gram0) - un.dot(wn)) ** 2
    )
    p0, q0 = u0 / sp.sqrt(lr_u) + w0 / sp.sqrt(lr_w), u0 / sp.sqrt(lr_u) - w0 / sp.sqrt(lr_w)
    out["gd: |p0|^2 = X + Y, |q0|^2 = X - Y, their product (C/s^2)^2 + 4 D^2/s^2, F and K through them"] = _explicit(
        (p0.dot(p0) - (X_SUM + Y_CROSS).subs(gram0)) ** 2
        + (q0.dot(q0) - (X_SUM - Y_CROSS).subs(gram0)) ** 2
        + (p0.dot(p0) * q0.dot(q0) - PQ_PRODUCT.subs({C: lr_w * uu - lr_u * ww, d2: uu * ww - uw**2}).subs(gram0)) ** 2
        + (kappa * u0.dot(w0) - kappa * s * (p0.dot(p0) - q0.dot(q0)) / 4) ** 2
        + (kappa**2 * (lr_u * w0.dot(w0) + lr_w * u0.dot(u0)) - kappa**2 * s**2 * (p0.dot(p0) + q0.dot(q0)) / 2) ** 2
    )
    out["gd: A = sigma + delta and B = sigma - delta follow the same step"] = (
        nxt[sigma] + nxt[delta] - (sigma + delta) * (1 - alpha_n_w)
    ) ** 2 + (nxt[sigma] - nxt[delta] - (sigma - delta) * (1 + alpha_n_w)) ** 2
    return out


def _fixed_point_claims() -> dict[str, sp.Expr]:
    """Fixed points, their stability, period-2 orbits and the flow limit."""
    out: dict[str, sp.Expr] = {}
    alpha_r = h * x_var * kappa * s * R
    r_next = R * RESIDUAL_FACTOR.subs(alpha_n, alpha_r)
    k_next = REDUCED[K].subs(alpha_n, alpha_r).subs({F: m + R, g: 2 * kappa * s})
    jac = sp.Matrix([r_next, k_next]).jacobian([R, K]).subs(R, 0)
    lam_ = sp.Symbol("lambda")
    out["gd: linearization at F = m has eigenvalues 1 - h a K and 1"] = (jac - lam_ * sp.eye(2)).det() - (lam_ - 1) * (
        lam_ - STABILITY_FACTOR
    )
    out["gd: at F = m a step in R moves K by -h a g^2 m R"] = jac[1, 0] + h * x_var * (2 * kappa * s) ** 2 * m
    for name, (a1, a2) in PERIOD_TWO.items():
        p_prod, q_prod = (1 - a1) * (1 - a2), (1 + a1) * (1 + a2)
        out[f"gd: period 2, {name}: the factors multiply to +-1"] = (p_prod**2 - 1) ** 2 + (q_prod**2 - 1) ** 2
    a1_, a2_ = PERIOD_TWO_KC0
    x1_, x2_ = 1 + a1_ / c_flip, 1 + a2_ / c_flip
    out["gd: K_c = 0, period 2: alpha_1 + alpha_2 = alpha_1 alpha_2 and x_2 = (1 - alpha_1)^2 x_1"] = (
        a1_ + a2_ - a1_ * a2_
    ) ** 2 + (x2_ - (1 - a1_) ** 2 * x1_) ** 2
    # gradient-flow limit: (F' - F)/h -> -a K (F - m), (K' - K)/h -> -a g^2 F (F - m), both to first order in h
    at_f = {alpha_n: alpha_of_slope.subs(g, 2 * kappa * s)}
    for sym, rate in ((F, -x_var * K * (F - m)), (K, -x_var * g**2 * F * (F - m))):
        diff_quot = ((REDUCED[sym] - sym).subs(at_f) / h).subs(g, 2 * kappa * s)
        out[f"gd: flow limit of {sym}"] = (
            sp.expand(diff_quot).subs(h, 0) - rate.subs({g: 2 * kappa * s, m: xy_cov / x_var})
        ).expand()
    return out


def claims() -> dict[str, sp.Expr]:
    """The gradient-descent identities, each an expression that must simplify to 0."""
    return {**_map_claims(), **_fixed_point_claims(), **_program_claims()}


# ---- the programs that phasefl.codegen lowers ----
#
# The kernels iterate the map on the rescaled weights u~ = u/sqrt(eta_u), w~ = w/sqrt(eta_w) written in an
# orthonormal basis of the plane of u0 and w0 (u0 along the first axis): two 2-vectors that the map moves by
# the same arithmetic as the network (u~' = u~ - alpha w~, w~' = w~ - alpha u~), so the observables keep the
# network's accuracy (the multipliers' quadratic forms lose digits where a layer passes near 0), with
# alpha = h a kappa s R from the residual R = F - m carried by its own product map (no cancellation near m).
# The vectors are kept in units of 2^e (the loops rescale them by powers of two), so nothing overflows or
# underflows before the observables themselves do.


class Ldexp(sp.Function):
    """Ldexp(x, k) = x 2^k for an integer k: the kernels call math.ldexp (exact, no overflow on the way)."""

    nargs = 2

    def doit(self, **hints):
        x, k = (arg.doit(**hints) for arg in self.args)
        return x * 2**k


def _sym(name: str, **assumptions) -> sp.Symbol:
    return sp.Symbol(name, real=True, **assumptions)


e2 = sp.Symbol("e2", integer=True)  # the vectors are in units of 2^e; e2 = 2e
u1, u2, w1, w2 = (_sym(n) for n in ("u1", "u2", "w1", "w2"))  # u~, w~ in the plane's basis, units of 2^e
ux0, wx0, wy0, R0, ha, hak_s = (_sym(n) for n in ("ux0", "wx0", "wy0", "R0", "ha", "hak_s"))
dot_s, nu_s, nw_s, f_scale, alpha, factor = (_sym(n) for n in ("dot_s", "nu_s", "nw_s", "f_scale", "alpha", "factor"))
u1_next, u2_next, w1_next, w2_next, R_next = (_sym(n) for n in ("u1_next", "u2_next", "w1_next", "w2_next", "R_next"))

INPUTS = (*lowering.INPUTS, h)

CELL: list[tuple[sp.Symbol, sp.Expr]] = [
    (m, xy_cov / x_var),
    (s, sp.sqrt(lr_u * lr_w)),
    # u~0 = (ux0, 0), w~0 = (wx0, wy0); with u0 = 0, w~0 = (|w~0|, 0)
    (ux0, sp.sqrt(uu) / sp.sqrt(lr_u)),
    (wx0, sp.Piecewise((sp.sqrt(ww) / sp.sqrt(lr_w), sp.Eq(uu, 0)), (uw / (sp.sqrt(uu) * sp.sqrt(lr_w)), True))),
    (wy0, sp.Piecewise((0, sp.Eq(uu, 0)), (sp.sqrt(d2) / (sp.sqrt(uu) * sp.sqrt(lr_w)), True))),
    (R0, kappa * uw - m),
    (ha, h * x_var),
    (hak_s, h * x_var * kappa * s),  # alpha = hak_s R
]
CONSTANTS = tuple(INPUTS) + tuple(target for target, _ in CELL)

#: u~.w~, |u~|^2, |w~|^2 in units of 2^e2 (the dot product compensated, as the network's dot2), kappa |u||w|,
#: F and K. F is m + R where that sum has the smaller rounding, eps (|m| + |R|) < eps kappa |u||w| (near the
#: target, or where u.w has decayed below the rounding of the vectors, e.g. from a huge init), else kappa u.w.
_SLOPE_AND_NTK: list[tuple[sp.Symbol, sp.Expr]] = [
    (dot_s, DiffOfProducts(u1, w1, -u2, w2)),
    (nu_s, u1**2 + u2**2),
    (nw_s, w1**2 + w2**2),
    (f_scale, kappa * s * Ldexp(sp.sqrt(nu_s) * sp.sqrt(nw_s), e2)),
    (F, sp.Piecewise((m + R, sp.Abs(m) + sp.Abs(R) <= f_scale), (kappa * s * Ldexp(dot_s, e2), True))),
    (K, kappa**2 * s**2 * Ldexp(nu_s + nw_s, e2)),
]

STEP: list[tuple[sp.Symbol, sp.Expr]] = _SLOPE_AND_NTK + [
    (alpha, hak_s * R),
    (factor, 1 - ha * (K - alpha * kappa * s * F)),
    (u1_next, u1 - alpha * w1),
    (u2_next, u2 - alpha * w2),
    (w1_next, w1 - alpha * u1),
    (w2_next, w2 - alpha * u2),
    (R_next, R * factor),
]
STEP_OUTPUTS = (u1_next, u2_next, w1_next, w2_next, R_next, factor)

OBSERVE: list[tuple[sp.Symbol, sp.Expr]] = _SLOPE_AND_NTK + [
    (norm_u2, lr_u * Ldexp(nu_s, e2)),
    (norm_w2, lr_w * Ldexp(nw_s, e2)),
    (ntk_plain, kappa**2 * (norm_u2 + norm_w2)),
    (
        cos_uw,
        sp.Piecewise(
            (sp.nan, sp.Eq(f_scale, 0)),
            (sp.Min(1, sp.Max(-1, F / f_scale)), True),
        ),
    ),
    (rot_u, sp.Piecewise((sp.nan, sp.Eq(uu, 0)), (sp.atan2(sp.Abs(u2), u1), True))),
    (
        rot_w,
        sp.Piecewise(
            (sp.nan, sp.Eq(ww, 0)),
            (sp.atan2(sp.Abs(DiffOfProducts(w1, wy0, w2, wx0)), DiffOfProducts(w1, wx0, -w2, wy0)), True),
        ),
    ),
    (loss_excess, x_var * R**2 / 2),
]

STATE = (u1, u2, w1, w2, R, e2)

#: name -> (inputs, program, outputs, docstring, unpacks the constants): what codegen writes.
KERNELS = {
    "gd_cell_constants": (INPUTS, CELL, CONSTANTS, "Gradient-descent cell constants (names in GD_CONSTANTS).", False),
    "gd_step": (
        STATE,
        STEP,
        STEP_OUTPUTS,
        "One gradient-descent step of the state (u~, w~ in the plane of u0, w0, in units of 2^(e2/2); R = F - m): "
        "the next u~, w~, R and R'/R.",
        True,
    ),
    "gd_observables": (
        STATE,
        OBSERVE,
        lowering.OBSERVED,
        "Observables of the gradient-descent state, in the order of observables_at.",
        True,
    ),
}


def _program_claims() -> dict[str, sp.Expr]:
    """The lowered programs are the derivation: the plane's coordinates have the Gram numbers, the step is
    [[1, -alpha], [-alpha, 1]] on (u~, w~), F and K are the network's, the residual's map is RESIDUAL_FACTOR
    (at e2 = 0: the scaling by 2^e2 is exact)."""
    cell = dict(CELL)
    out: dict[str, sp.Expr] = {}
    uu_p = sp.Symbol("uu_p", positive=True)
    for branch, at in ((1, {uu: uu_p}), (0, {uu: 0, uw: 0, d2: 0})):
        u0_ = sp.Matrix([cell[ux0], 0]).subs(at)
        w0_ = sp.Matrix([cell[wx0].args[branch].expr, cell[wy0].args[branch].expr]).subs(at)
        gram_ = {uu: lr_u * u0_.dot(u0_), ww: lr_w * w0_.dot(w0_), uw: s * u0_.dot(w0_)}
        gram_[d2] = gram_[uu] * gram_[ww] - gram_[uw] ** 2
        out[f"gd program: the plane's coordinates have the Gram numbers ({'u0 = 0' if branch == 0 else 'u0 != 0'})"] = (
            _explicit(sum((gram_[k] - k.subs(at)) ** 2 for k in (uu, ww, uw)) + (gram_[d2] - d2.subs(at)) ** 2).subs(
                d2, uu_p * ww - uw**2
            )
        )
    vec_u, vec_w = sp.Matrix([u1, u2]), sp.Matrix([w1, w2])
    slope = {k: v.doit().subs(e2, 0) for k, v in _SLOPE_AND_NTK}
    slope[F] = slope[F].args[1].expr  # kappa u.w (the other branch is m + R, R = F - m by definition)
    for _ in range(2):
        slope = {k: v.subs(slope) for k, v in slope.items()}
    real_u, real_w = sp.sqrt(lr_u) * vec_u, sp.sqrt(lr_w) * vec_w
    out["gd program: F = kappa u.w and K = kappa^2 (eta_u |w|^2 + eta_w |u|^2)"] = _explicit(
        (slope[F] - kappa * real_u.dot(real_w)) ** 2
        + (slope[K] - kappa**2 * (lr_u * real_w.dot(real_w) + lr_w * real_u.dot(real_u))) ** 2
    )
    nxt = dict(STEP)
    stepped = step(real_u, real_w)
    alpha_ = _explicit(alpha_of_slope.subs(F, kappa * real_u.dot(real_w)))
    after = {u1: nxt[u1_next], u2: nxt[u2_next], w1: nxt[w1_next], w2: nxt[w2_next]}
    out["gd program: the step is the network's step, with alpha = hak_s (F - m)"] = (
        sum(
            (sp.sqrt(lr_u) * sp.Matrix([after[u1], after[u2]]) - stepped[0])
            .subs(alpha, alpha_)
            .applyfunc(lambda e: e**2)
        )
        + sum(
            (sp.sqrt(lr_w) * sp.Matrix([after[w1], after[w2]]) - stepped[1])
            .subs(alpha, alpha_)
            .applyfunc(lambda e: e**2)
        )
        + (_explicit(cell[hak_s] * (F - m) - alpha_of_slope).subs(m, xy_cov / x_var)) ** 2
    )
    out["gd program: R' = R factor is RESIDUAL_FACTOR"] = nxt[factor] - RESIDUAL_FACTOR.subs(alpha_n, alpha).subs(
        h * x_var, ha
    )
    return out
