"""SymPy derivation of the exact solution (spec sections A-F).

- ``symbols``:  the one symbol table (ASCII names as in the spec, LaTeX for display);
- ``model``:    the network, its gradient flow, the conserved quantities, the reduced dynamics;
- ``solution``: the Riccati solution, the degenerate case, the cancellation-free product form
                that the kernels evaluate, the weights, the NTK identities;
- ``asymptotics``: width -> infinity exponents and the exponent-plane phase rule (spec E.3);
- ``gd``:       gradient descent with a finite step: the exact map, its fixed points, and its lowered programs;
- ``lowering``: the product form, scaled per cell (y = N/D), as straight-line programs with explicit branches, which
                ``phasefl.codegen`` prints as the numba module ``phasefl._generated.closed_form``.

``claims()`` collects every identity as an expression that must simplify to zero.
"""

from __future__ import annotations

import sympy as sp

from . import asymptotics, gd, lowering, model, solution
from .symbols import LATEX, SYMBOLS, TABLE, latex


def claims() -> dict[str, sp.Expr]:
    """All identities of the derivation, each an expression that must simplify to 0."""
    return {**model.claims(), **solution.claims(), **lowering.claims(), **asymptotics.claims(), **gd.claims()}


def verify() -> dict[str, bool]:
    """Simplify every claim; True where it is identically zero."""
    return {name: sp.simplify(expr) == 0 for name, expr in claims().items()}


__all__ = [
    "asymptotics",
    "gd",
    "LATEX",
    "SYMBOLS",
    "TABLE",
    "claims",
    "latex",
    "lowering",
    "model",
    "solution",
    "verify",
]
