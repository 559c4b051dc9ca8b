"""One table of symbols, named as in the spec (model.md) and spelled in ASCII.

Every symbolic expression in phasefl is built from these symbols, and the generated
kernels take arguments with exactly these names.
"""

from __future__ import annotations

import sympy as sp

# name -> (LaTeX, meaning). Positivity assumptions match the validated domain.
TABLE: dict[str, tuple[str, str]] = {
    # hyperparameters and data (spec A)
    "kappa": (r"\kappa", "output scale"),
    "lr_u": (r"\eta_u", "learning rate of the output layer u"),
    "lr_w": (r"\eta_w", "learning rate of the hidden layer w"),
    "x_var": (r"a", "data second moment E[x^2]"),
    "xy_cov": (r"b", "data cross moment E[xy]"),
    # initial Gram numbers (spec D)
    "uu": (r"U_u", "|u0|^2"),
    "ww": (r"W_w", "|w0|^2"),
    "uw": (r"U_w", "u0 . w0"),
    "d2": (r"D^2", "conserved area |u|^2 |w|^2 - (u.w)^2"),
    "t": (r"t", "time"),
    # derived constants (spec D.1)
    "m": (r"m", "target slope b/a"),
    "s": (r"s", "sqrt(eta_u eta_w)"),
    "g": (r"g", "coupling 2 kappa s"),
    "C": (r"C", "layer imbalance eta_w |u|^2 - eta_u |w|^2 (conserved)"),
    "Kc": (r"K_c", "NTK at F = 0"),
    "F0": (r"F_0", "initial slope"),
    "K0": (r"K_0", "initial NTK"),
    "Kinf": (r"K_\infty", "final NTK"),
    "lam": (r"\lambda", "final convergence rate a K_inf"),
    # variables of the solution (spec D.3, D.4)
    "F": (r"F", "network slope kappa u.w"),
    "K": (r"K", "learning-rate-weighted NTK"),
    "E": (r"E", "exp(-lambda t)"),
    "omE": (r"\bar E", "1 - exp(-lambda t)"),
    "alpha": (r"\alpha", "(K_inf + g m) / (2 K_inf)"),
    "beta": (r"\beta", "(K_inf - g m) / (2 K_inf)"),
    "psi0": (r"\psi_0", "asinh(g F0/Kc) - asinh(g m/Kc)"),
    "P": (r"P", "e^{psi0} up to a common factor"),
    "M": (r"M", "1 up to the same factor"),
    "tau": (r"\tau", "(P - M)/2 = tanh(psi0/2) up to the factor"),
    "S": (r"S", "alpha P + beta M"),
    "T": (r"T", "hyperbolic angle of the weights (spec D.4)"),
    "n_plus": (r"n_+", "alpha P (1 - E) + alpha M E + beta M"),
    "n_minus": (r"n_-", "alpha P + beta P E + beta M (1 - E)"),
    "h_start": (r"h_1", "h(E = 1)"),
    "h_end": (r"h_0", "h(E = 0)"),
}

_POSITIVE = {
    "kappa",
    "lr_u",
    "lr_w",
    "x_var",
    "s",
    "g",
    "Kinf",
    "lam",
    "t",
    "E",
    "P",
    "M",
    "alpha",
    "beta",
    "n_plus",
    "n_minus",
    "h_start",
    "h_end",
}
_NONNEG = {"uu", "ww", "d2", "Kc", "K0", "K", "omE", "S"}


def _make(name: str) -> sp.Symbol:
    if name in _POSITIVE:
        return sp.Symbol(name, positive=True)
    if name in _NONNEG:
        return sp.Symbol(name, nonnegative=True)
    return sp.Symbol(name, real=True)


SYMBOLS: dict[str, sp.Symbol] = {name: _make(name) for name in TABLE}
LATEX: dict[sp.Symbol, str] = {SYMBOLS[name]: tex for name, (tex, _) in TABLE.items()}

(kappa, lr_u, lr_w, x_var, xy_cov, uu, ww, uw, d2, t) = (
    SYMBOLS[n] for n in ("kappa", "lr_u", "lr_w", "x_var", "xy_cov", "uu", "ww", "uw", "d2", "t")
)
(m, s, g, C, Kc, F0, K0, Kinf, lam) = (SYMBOLS[n] for n in ("m", "s", "g", "C", "Kc", "F0", "K0", "Kinf", "lam"))
(F, K, E, omE, alpha, beta, psi0, P, M, tau, S, T) = (
    SYMBOLS[n] for n in ("F", "K", "E", "omE", "alpha", "beta", "psi0", "P", "M", "tau", "S", "T")
)
(n_plus, n_minus, h_start, h_end) = (SYMBOLS[n] for n in ("n_plus", "n_minus", "h_start", "h_end"))


def latex(expr) -> str:
    """LaTeX of an expression with the spec's symbol names."""
    return sp.latex(expr, symbol_names=LATEX)
