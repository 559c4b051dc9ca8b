"""Width -> infinity exponents and the exponent-plane phase rule (spec E.3).

Scalings: kappa ~ d^-alpha, sigma_u ~ d^-b_u, sigma_w ~ d^-b_w, eta_u ~ d^-c_u, eta_w ~ d^-c_w, and
i.i.d. Gaussian init, so |u0|^2 ~ d sigma_u^2, |w0|^2 ~ d sigma_w^2, u0.w0 ~ sqrt(d) sigma_u sigma_w.
Every exponent below is log_d of a quantity of spec E.1, derived from these scalings by the
rules log_d(A B) = log_d A + log_d B and log_d(A + B) = max(log_d A, log_d B) for A, B > 0.
"""

from __future__ import annotations

import sympy as sp

alpha, b_u, b_w, c_u, c_w = sp.symbols("alpha b_u b_w c_u c_w", real=True)
EXPONENT_NAMES = ("alpha", "b_u", "b_w", "c_u", "c_w")

# log_d of the inputs
log_kappa, log_lr_u, log_lr_w = -alpha, -c_u, -c_w
log_uu, log_ww, log_uw = 1 - 2 * b_u, 1 - 2 * b_w, sp.Rational(1, 2) - b_u - b_w

# log_d of the spec E.1 quantities, straight from their definitions
log_g = log_kappa + (log_lr_u + log_lr_w) / 2  # g = 2 kappa sqrt(eta_u eta_w)
log_K0 = 2 * log_kappa + sp.Max(log_lr_u + log_ww, log_lr_w + log_uu)  # K0 = kappa^2 (eta_u W + eta_w U)
log_F0 = log_kappa + log_uw  # F0 = kappa u0.w0
log_r = log_lr_w + log_uu - (log_lr_u + log_ww)  # r = eta_w |u0|^2 / (eta_u |w0|^2)
log_Gamma = log_g - log_K0  # Gamma = g |m| / K0 with m = O(1)
log_Gamma0 = log_g + log_F0 - log_K0  # Gamma0 = g |F0| / K0

# The spec's named combinations
x = alpha + b_u + b_w - 1  # -log_d(kappa d sigma_u sigma_w): effective output scale
rho = c_u - c_w + 2 * (b_w - b_u)  # log_d r: layer imbalance
gamma = x - sp.Abs(rho) / 2  # log_d Gamma
gamma0 = -(1 + sp.Abs(rho)) / 2  # log_d Gamma0
phi0 = -sp.Rational(1, 2) - x  # log_d |F0|
k0 = 1 - 2 * alpha - sp.Min(c_w + 2 * b_u, c_u + 2 * b_w)  # log_d K0

#: log_d |K_inf/K0 - 1|: (Gamma^2 - Gamma0^2)/2 in the kernel phase, ~Gamma in the
#: feature-learning phase (Theta(1) at gamma = 0).
ntk_change = sp.Piecewise((2 * sp.Max(gamma, gamma0), gamma < 0), (gamma, True))

LABEL_CODES = {"kernel": 0, "alignment": 1, "disalignment": 2, "rescaling": 3}  # as phasefl.regimes.LABELS
#: Phase rule of spec E.3 (disalignment never survives d -> infinity with i.i.d. init: gamma0 < 0).
label = sp.Piecewise((0, gamma < 0), (1, sp.Eq(rho, 0)), (3, True))

# The same as a program over named intermediates (what the kernel evaluates): x and rho first.
_x, _rho, _gamma, _gamma0 = sp.symbols("x rho gamma gamma0", real=True)
PROGRAM = [
    (_x, x),
    (_rho, rho),
    (_gamma, _x - sp.Abs(_rho) / 2),
    (_gamma0, -(1 + sp.Abs(_rho)) / 2),
    (sp.Symbol("phi0", real=True), -sp.Rational(1, 2) - _x),
    (sp.Symbol("k0", real=True), k0),
    (sp.Symbol("ntk_change", real=True), sp.Piecewise((2 * sp.Max(_gamma, _gamma0), _gamma < 0), (_gamma, True))),
    (sp.Symbol("label", real=True), sp.Piecewise((0, _gamma < 0), (1, sp.Eq(_rho, 0)), (3, True))),
]


PROGRAM_BY_NAME = {str(target): expr for target, expr in PROGRAM}


def _on_program(expr):
    """Substitute the program's intermediates (gamma0, gamma, then x and rho)."""
    return expr.subs(_gamma0, gamma0).subs(_gamma, _x - sp.Abs(_rho) / 2).subs({_x: x, _rho: rho})


def _max_to_abs(expr):
    """max(A, B) = (A + B + |A - B|)/2 and min(A, B) = (A + B - |A - B|)/2, so that sums of |.| simplify."""
    return expr.replace(sp.Max, lambda a, b: (a + b + sp.Abs(a - b)) / 2).replace(
        sp.Min, lambda a, b: (a + b - sp.Abs(a - b)) / 2
    )


def claims() -> dict[str, sp.Expr]:
    """The spec's exponents equal those derived from the definitions (each must simplify to 0)."""
    return {
        "log_d r = rho": log_r - rho,
        "log_d Gamma = x - |rho|/2": _max_to_abs(log_Gamma) - gamma,
        "log_d Gamma0 = -(1 + |rho|)/2": _max_to_abs(log_Gamma0) - gamma0,
        "log_d |F0| = -1/2 - x": log_F0 - phi0,
        "log_d K0 = k0": _max_to_abs(log_K0) - _max_to_abs(k0),
        **{
            f"the kernel program evaluates {name}": expected - _on_program(PROGRAM_BY_NAME[name])
            for name, expected in (("gamma", gamma), ("ntk_change", ntk_change), ("label", label))
        },
    }
