"""Exact regime probabilities over random Gaussian initialization (issue 17).

With u0 ~ sigma_u N(0, I_d), w0 ~ sigma_w N(0, I_d), every order parameter depends on the init through
the Gram numbers, and these through three independent variables (derivations/09_regime_probabilities.md):

    X = |u0|^2/sigma_u^2 ~ chi^2_d,   V = |w0|^2/sigma_w^2 ~ chi^2_d,   c = cos^2(u0, w0) ~ Beta(1/2, (d-1)/2)

(c = 1 at d = 1). In units of kappa^2 eta_u sigma_w^2, with P = rho X, rho = eta_w sigma_u^2/(eta_u sigma_w^2)
and nu = 4 eta_w m^2/(eta_u kappa^2 sigma_w^4):

    K0 = P + V,   K_inf^2 = (P + V)^2 - 4 P V c + nu,   zeta^2 = (P - V)^2/((P - V)^2 + 4 P V (1 - c)).

At fixed (X, V) each label is an interval of c whose ends are explicit (K_inf^2/K0^2 and zeta^2 are monotone
in c), so the c-integral is a difference of regularized incomplete beta functions. The V-integral is split
where an end crosses 0, 1 or another end (roots of quadratics in V), and the X-integral where those
quadratics' roots appear or cross 0 (explicit too); each piece is a tanh-sinh rule in the chi-square's
probability coordinate u = F_d(V), so d = 10 and d = 1e12 cost the same. The NTK decreases iff
|F0| > |m|, with the closed form of ``ntk_decrease_closed_form`` (F0 = kappa sigma_u sigma_w chi_d z).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from .params import Model, check_positive
from .regimes import KERNEL_THRESHOLD, LABELS, ZETA_THRESHOLD, label_codes

QUANTILE_LEVELS = (0.05, 0.25, 0.5, 0.75, 0.95)
#: tanh-sinh nodes per panel: the result, and the cheaper one its error is estimated against
NODES, COARSE_NODES = 41, 33


@dataclass(frozen=True)
class RegimeProbabilities:
    """Probabilities of the four labels over Gaussian initialization, with order-parameter statistics."""

    probabilities: dict  # label -> probability (the four sum to 1)
    error: float  # estimated absolute error of every probability (difference with a coarser quadrature)
    ntk_decrease: float  # P(K_inf < K0) = P(|F0| > |m|)
    ntk_ratio_mean: float  # E[K_inf/K0] (inf at width 1 with a non-zero target)
    ntk_ratio_quantiles: dict  # level -> quantile of K_inf/K0
    zeta_mean: float  # E[zeta]
    zeta_quantiles: dict  # level -> quantile of zeta


@dataclass(frozen=True)
class Reduced:
    """The law of one cell in reduced variables: width d, imbalance rho and target strength nu."""

    width: float
    rho: float
    nu: float

    def cdf(self, x):
        """P(X <= x) for X ~ chi^2_d."""
        return special.gammainc(self.width / 2, np.maximum(x, 0.0) / 2)

    def quantile(self, u):
        """x with P(X <= x) = u."""
        return 2 * special.gammaincinv(self.width / 2, u)

    def c_below(self, x, strict):
        """P(c < x) (strict) or P(c <= x) for c = cos^2 of the angle between u0 and w0."""
        if self.width == 1:
            return np.asarray(x > 1 if strict else x >= 1, dtype=float)
        return special.betainc(0.5, (self.width - 1) / 2, np.clip(x, 0.0, 1.0))


def reduce(model: Model, width, init_scale_u, init_scale_w) -> Reduced:
    """The reduced variables of a model and an init (see the module docstring)."""
    width = float(width)
    if not (math.isfinite(width) and width >= 1):
        raise ValueError(f"width must be finite and >= 1, got {width!r}")
    s_u, s_w = check_positive("init_scale_u", init_scale_u), check_positive("init_scale_w", init_scale_w)
    rho = model.lr_w * s_u**2 / (model.lr_u * s_w**2)
    nu = 4 * model.lr_w * model.target**2 / (model.lr_u * model.output_scale**2 * s_w**4)
    return Reduced(width, rho, nu)


def quadratic_roots(a2, a1, a0):
    """Real roots of a2 V^2 + a1 V + a0 = 0 (both nan where none; a linear equation has one, twice)."""
    a2, a1, a0 = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (a2, a1, a0)))
    with np.errstate(invalid="ignore", divide="ignore"):
        disc = a1 * a1 - 4 * a2 * a0
        q = -(a1 + np.copysign(np.sqrt(disc), a1)) / 2
        r1, r2 = q / a2, a0 / q
        lin = -a0 / a1
    r1 = np.where(a2 == 0, lin, r1)
    r2 = np.where(a2 == 0, lin, r2)
    bad = (disc < 0) | ((a2 == 0) & (a1 == 0))
    return np.where(bad, np.nan, r1), np.where(bad, np.nan, r2)


def t_end(P, V, nu, e):
    """c-threshold of the NTK ratio: K_inf^2/K0^2 <= 1 + e iff c >= t_e = (nu - e (P + V)^2)/(4 P V)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return (nu - e * (P + V) ** 2) / (4 * P * V)


def z_end(P, V, k):
    """c-threshold of zeta: zeta^2 >= 1/(1 + k) iff c >= c_Z = 1 - k (P - V)^2/(4 P V) (-inf for k = inf)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.isinf(k), -np.inf, 1 - np.where(np.isinf(k), 0.0, k) * (P - V) ** 2 / (4 * P * V))


def quadratics(es, ks):
    """Coefficients (a2, b, gamma, delta) of the breakpoint equations a2 V^2 + b P V + gamma nu + delta P^2 = 0:
    t_e = 0, t_e = 1, c_Z(k) = 0, c_Z(k) = 1 and t_e = c_Z(k), for every e in ``es`` and k in ``ks`` (arrays
    of shape (nq,), the query axis; an infinite k gives nan roots, which are ignored)."""
    out = []
    with np.errstate(invalid="ignore"):
        for e in es:
            one = np.ones_like(e)
            out += [(e, 2 * e, -one, e), (-e, -(2 * e + 4), one, -e)]
            out += [(k - e, -(2 * e + 4 + 2 * k), one, k - e) for k in ks]
        for k in ks:
            out += [(k, -(2 * k + 4), 0 * k, k), (0 * k, 1 + 0 * k, 0 * k, -1 + 0 * k)]
    return out


def v_breaks(P, nu, quads):
    """Breakpoints in V at each P (shape of P + (n,)): the real roots of every quadratic (nan: none)."""
    roots = []
    for a2, b, gam, delta in quads:
        a2, b, gam, delta = (np.asarray(x, dtype=float)[..., None] for x in (a2, b, gam, delta))
        with np.errstate(invalid="ignore"):
            roots += quadratic_roots(a2, b * P, gam * nu + delta * P * P)
    return unique_breaks(np.stack(roots, axis=-1))


def p_breaks(nu, quads):
    """Breakpoints in P (shape (nq, n)): where a quadratic's roots appear (discriminant 0) or cross V = 0,
    and where two quadratics share a root. On a ray V = w P quadratic i reads P^2 q_i(w) + gamma_i nu = 0,
    q_i(w) = a2_i w^2 + b_i w + delta_i, so a shared root has gamma_j q_i(w) = gamma_i q_j(w) (a quadratic in w)
    and P^2 = -gamma_i nu/q_i(w)."""
    out = []
    with np.errstate(divide="ignore", invalid="ignore"):
        for i, (a2, b, gam, delta) in enumerate(quads):
            out.append(np.sqrt(4 * a2 * gam * nu / (b * b - 4 * a2 * delta)))
            out.append(np.sqrt(-gam * nu / delta))
            for a2j, bj, gamj, deltaj in quads[i + 1 :]:
                for w in quadratic_roots(gamj * a2 - gam * a2j, gamj * b - gam * bj, gamj * delta - gam * deltaj):
                    q_i, q_j = a2 * w * w + b * w + delta, a2j * w * w + bj * w + deltaj
                    p2 = np.where(gam != 0, -gam * nu / q_i, -gamj * nu / q_j)
                    out.append(np.where(w > 0, np.sqrt(p2), np.nan))
    return unique_breaks(np.stack(out, axis=-1))


def unique_breaks(breaks):
    """The positive finite breakpoints, sorted, padded with nan to a common length (the last axis)."""
    breaks = np.sort(np.where(np.isfinite(breaks) & (breaks > 0), breaks, np.nan), axis=-1)
    keep = max(1, int(np.isfinite(breaks).sum(axis=-1).max()))
    return breaks[..., :keep]


def tanh_sinh(n):
    """Nodes and weights of the n-point tanh-sinh rule on [-1, 1] (step 6/(n - 1)): exponential convergence
    even with the endpoint singularities that the kinks at panel ends and the chi-square tails leave."""
    tau = np.linspace(-3.0, 3.0, n)
    arg = np.pi / 2 * np.sinh(tau)
    w = np.pi / 2 * np.cosh(tau) / np.cosh(arg) ** 2
    return np.tanh(arg), 2 * w / w.sum()  # normalized so that constants integrate exactly


def panels(law: Reduced, breaks, n):
    """Tanh-sinh nodes and weights (shape breaks.shape[:-1] + (panels * n,)) of the chi^2_d law, in its
    probability coordinate, split at ``breaks`` (nan and non-positive entries ignored)."""
    u = law.cdf(np.where(np.isfinite(breaks) & (breaks > 0), breaks, 0.0))
    u = np.sort(np.concatenate([np.zeros_like(u[..., :1]), u, np.ones_like(u[..., :1])], axis=-1), axis=-1)
    x, w = tanh_sinh(n)
    lo, hi = u[..., :-1, None], u[..., 1:, None]
    nodes = np.minimum((lo + hi) / 2 + (hi - lo) / 2 * x, np.nextafter(1.0, 0.0))  # keep the quantile finite
    weights = (hi - lo) / 2 * w
    shape = breaks.shape[:-1] + (-1,)
    return law.quantile(nodes).reshape(shape), weights.reshape(shape)


def integrate(law: Reduced, conditional, es, ks, n):
    """E[conditional(P, V)] over X, V ~ chi^2_d (P = rho X): conditional maps P, V of shapes (nq, nP, 1) and
    (nq, nP, nV) to an array (m, nq, nP, nV) of conditional probabilities, whose kinks in V and P are the
    breakpoints of the thresholds ``es``, ``ks`` (lists of arrays of shape (nq,)). Returns (m, nq)."""
    quads = quadratics(es, ks)
    xs, wx = panels(law, p_breaks(law.nu, quads) / law.rho, n)
    P = law.rho * xs
    vs, wv = panels(law, v_breaks(P, law.nu, quads), n)
    with np.errstate(invalid="ignore", divide="ignore"):
        vals = conditional(P[..., None], vs)
    # nodes of empty panels (at u = 0 or 1, where X or V is 0 or inf) carry weight 0 and may give nan
    vals = np.where((wv > 0) & (wx > 0)[..., None], vals, 0.0)
    return np.einsum("mqpv,qpv,qp->mq", vals, wv, wx)


def label_thresholds(kernel_threshold, zeta_threshold):
    """(e_hi, e_lo, k): kernel iff t_{e_hi} < c < t_{e_lo} (e_lo = nan: no lower bound on the ratio),
    rescaling needs c >= c_Z(k)."""
    label_codes(0.0, 0.0, kernel_threshold, zeta_threshold)  # validates the thresholds
    eps = float(kernel_threshold)
    e_hi = eps * (2 + eps)
    e_lo = -eps * (2 - eps) if eps < 1 else math.nan
    k = math.inf if zeta_threshold == 0 else (1 - zeta_threshold**2) / zeta_threshold**2
    return e_hi, e_lo, k


def label_conditional(law: Reduced, e_hi, e_lo, k):
    """The conditional probabilities given (P, V) of kernel, alignment, disalignment, rescaling and K_inf < K0."""

    def conditional(P, V):
        below = law.c_below
        a_k, c_0 = t_end(P, V, law.nu, e_hi), t_end(P, V, law.nu, 0.0)
        c_z = z_end(P, V, k) if law.width > 1 else -np.inf  # zeta = 1 at width 1: every non-kernel cell rescales
        b_k = np.inf if math.isnan(e_lo) else t_end(P, V, law.nu, e_lo)
        kernel = below(b_k, True) - below(a_k, False)
        align = below(np.minimum(a_k, c_z), True)
        disalign = np.maximum(0.0, below(c_z, True) - below(b_k, True))
        rescale = 1 - below(c_z, True) - np.maximum(0.0, below(b_k, True) - below(np.maximum(a_k, c_z), False))
        decrease = 1 - below(c_0, False)
        return np.stack(np.broadcast_arrays(kernel, align, disalign, rescale, decrease))

    return conditional


def label_probabilities(law: Reduced, kernel_threshold, zeta_threshold, n=NODES):
    """Probabilities (kernel, alignment, disalignment, rescaling, K_inf < K0) of one cell: array (5,)."""
    e_hi, e_lo, k = label_thresholds(kernel_threshold, zeta_threshold)
    es = [np.array([e]) for e in (e_hi, 0.0) + (() if math.isnan(e_lo) else (e_lo,))]
    ks = [] if math.isinf(k) else [np.array([k])]
    return integrate(law, label_conditional(law, e_hi, e_lo, k), es, ks, n)[:, 0]


def ratio_cdf(law: Reduced, q, n=COARSE_NODES):
    """P(K_inf/K0 <= q) for an array q of shape (nq,): c >= t_e with e = q^2 - 1."""
    e = np.asarray(q, dtype=float) ** 2 - 1

    def conditional(P, V):
        return (1 - law.c_below(t_end(P, V, law.nu, e[:, None, None]), True))[None]

    return integrate(law, conditional, [e], [], n)[0]


def zeta_survival(law: Reduced, q, n=COARSE_NODES):
    """P(zeta >= q) for an array q of shape (nq,) in (0, 1): c >= c_Z(k) with k = (1 - q^2)/q^2."""
    q = np.asarray(q, dtype=float)
    k = (1 - q * q) / (q * q)

    def conditional(P, V):
        return (1 - law.c_below(z_end(P, V, k[:, None, None]), True))[None]

    return integrate(law, conditional, [], [k], n)[0]


def bisect(cdf, levels, lo, hi, steps=48):
    """x with cdf(x) = level for each level (cdf non-decreasing, vectorized), by bisection in [lo, hi]."""
    levels = np.asarray(levels, dtype=float)
    lo, hi = np.full(levels.shape, lo), np.full(levels.shape, hi)
    for _ in range(steps):
        mid = (lo + hi) / 2
        below = cdf(mid) < levels
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return (lo + hi) / 2


def means(law: Reduced, n=COARSE_NODES):
    """(E[K_inf/K0], E[zeta]): the conditional means over c by the tanh-sinh rule in c's probability coordinate
    (c = 1 at width 1), then over X, V with a breakpoint at V = P (the kink of |P - V| in zeta)."""
    x, w = tanh_sinh(n)
    if law.width == 1:
        cs, wc = np.ones(1), np.ones(1)
    else:
        cs, wc = special.betaincinv(0.5, (law.width - 1) / 2, (x + 1) / 2), w / 2

    def conditional(P, V):
        P, V, c = P[..., None], V[..., None], cs
        ratio = np.sqrt(1 + (law.nu - 4 * P * V * c) / (P + V) ** 2)
        zeta = np.abs(P - V) / np.sqrt((P - V) ** 2 + 4 * P * V * (1 - c)) if law.width > 1 else 1 + 0 * ratio
        return np.stack([ratio @ wc, zeta @ wc])

    if law.width == 1 and law.nu > 0:
        return math.inf, 1.0  # E[1/(X + V)] diverges for X, V ~ chi^2_1
    ratio_mean, zeta_mean = integrate(law, conditional, [], [np.zeros(1)], n)[:, 0]
    return float(ratio_mean), float(zeta_mean)


def order_statistics(law: Reduced, levels=QUANTILE_LEVELS, n=COARSE_NODES):
    """(mean, quantiles) of K_inf/K0 and of zeta: four values, the quantiles as dicts level -> value."""
    if law.width == 1:
        zeta_q = np.ones(len(levels))  # zeta = 1 when u0 and w0 are parallel
    else:
        zeta_q = bisect(lambda z: 1 - zeta_survival(law, z, n), levels, 0.0, 1.0)
    ratio_q = np.exp(bisect(lambda z: ratio_cdf(law, np.exp(z), n), levels, -40.0, 40.0))
    ratio_mean, zeta_mean = means(law, n)
    return ratio_mean, dict(zip(levels, map(float, ratio_q))), zeta_mean, dict(zip(levels, map(float, zeta_q)))


def ntk_decrease_closed_form(model: Model, width, init_scale_u, init_scale_w) -> float:
    """P(K_inf < K0) = P(|F0| > |m|) in closed form. F0 = kappa sigma_u sigma_w W with W = chi_d z variance-gamma,
    and P(|W| <= a) = a (K_v(a) L_{v-1}(a) + L_v(a) K_{v-1}(a)), v = (d - 1)/2 (K: modified Bessel function of
    the second kind, L: modified Struve function). nan where float64 cannot hold the Bessel and Struve factors
    (K_v(a) overflows for v large against a: width 1000 with a = 30 already); ``regime_probabilities`` has the
    same number (``ntk_decrease``) by quadrature at every width, equal to this one to 1e-13 up to width 400."""
    law = reduce(model, width, init_scale_u, init_scale_w)
    a = abs(model.target) / (model.output_scale * init_scale_u * init_scale_w)
    if a == 0:
        return 1.0
    v = (law.width - 1) / 2
    with np.errstate(all="ignore"):
        inside = a * (special.kv(v, a) * special.modstruve(v - 1, a) + special.modstruve(v, a) * special.kv(v - 1, a))
    return float(1 - inside) if np.isfinite(inside) and 0 <= inside <= 1 else math.nan


def regime_probabilities(
    model: Model,
    width,
    init_scale_u,
    init_scale_w,
    kernel_threshold=KERNEL_THRESHOLD,
    zeta_threshold=ZETA_THRESHOLD,
) -> RegimeProbabilities:
    """Probability of each regime label over u0 ~ N(0, init_scale_u^2 I_width), w0 ~ N(0, init_scale_w^2 I_width).

    Exact up to the quadrature, whose estimated error (against a coarser rule) is returned with it; about 1e-9
    or better, at a cost that does not depend on the width (1e12 costs what 10 does). Also the mean and the
    5, 25, 50, 75 and 95% quantiles of K_inf/K0 and of zeta, and P(K_inf < K0). See the module docstring.
    """
    law = reduce(model, width, init_scale_u, init_scale_w)
    fine = label_probabilities(law, kernel_threshold, zeta_threshold, NODES)
    coarse = label_probabilities(law, kernel_threshold, zeta_threshold, COARSE_NODES)
    ratio_mean, ratio_q, zeta_mean, zeta_q = order_statistics(law)
    return RegimeProbabilities(
        probabilities={label: float(np.clip(p, 0.0, 1.0)) for label, p in zip(LABELS, fine[:4])},
        error=float(np.max(np.abs(fine - coarse))),
        ntk_decrease=float(np.clip(fine[4], 0.0, 1.0)),
        ntk_ratio_mean=ratio_mean,
        ntk_ratio_quantiles=ratio_q,
        zeta_mean=zeta_mean,
        zeta_quantiles=zeta_q,
    )
