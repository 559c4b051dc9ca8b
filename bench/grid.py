"""The one grid of cells and the one set of times that every method of the comparison runs on.

Cells are width x init scale in the NTK parametrization (kappa = d^-1/2, sigma_u = sigma_w =
init scale, eta_u = eta_w = 1, E[x^2] = 1, E[xy] = 1 so the target slope is m = 1). Each width
draws one pair of standard normal vectors from a fixed seed; every init scale multiplies that
pair, so the cells of one width share directions and differ only in scale. Every method gets
exactly these vectors (the closed form gets their Gram numbers, computed with
``phasefl.gram.gram``).

Times are absolute and shared by all cells: ``n_times`` log-spaced points from ``t_min`` to
``t_end``; t_end is late enough that every cell has converged (F = m to 1e-10; the reference
checks and records this), so the NTK at t_end is K_inf for the regime labels.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Grid:
    widths: tuple[int, ...]
    init_scales: tuple[float, ...]
    seed: int = 2024
    n_times: int = 32
    t_min: float = 1e-3
    t_end: float = 1e4
    target: float = 1.0  # m = E[xy] / E[x^2] with E[x^2] = 1

    @property
    def n_cells(self) -> int:
        return len(self.widths) * len(self.init_scales)

    @property
    def times(self) -> np.ndarray:
        return np.geomspace(self.t_min, self.t_end, self.n_times)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Grid:
        raw = json.loads(text)
        raw["widths"] = tuple(raw["widths"])
        raw["init_scales"] = tuple(raw["init_scales"])
        return cls(**raw)

    def cells(self) -> list[Cell]:
        """All cells, width-major (the cells of one width are consecutive)."""
        out = []
        for width in self.widths:
            rng = np.random.default_rng([self.seed, width])
            z_u, z_w = rng.standard_normal(width), rng.standard_normal(width)
            for sigma in self.init_scales:
                out.append(Cell(width, sigma, width**-0.5, 1.0, 1.0, 1.0, self.target, sigma * z_u, sigma * z_w))
        return out

    def by_width(self) -> list[tuple[int, list[int]]]:
        """(width, indices of its cells) for batching over one width."""
        k = len(self.init_scales)
        return [(w, list(range(i * k, (i + 1) * k))) for i, w in enumerate(self.widths)]


@dataclass(frozen=True)
class Cell:
    width: int
    init_scale: float
    kappa: float
    lr_u: float
    lr_w: float
    x_var: float
    xy_cov: float
    u0: np.ndarray
    w0: np.ndarray

    @property
    def m(self) -> float:
        return self.xy_cov / self.x_var

    @property
    def k0(self) -> float:
        """Initial (learning-rate-weighted) NTK K0 = kappa^2 (eta_u |w0|^2 + eta_w |u0|^2)."""
        return self.kappa**2 * (self.lr_u * float(self.w0 @ self.w0) + self.lr_w * float(self.u0 @ self.u0))


def full_grid() -> Grid:
    return Grid(widths=(1, 10, 100, 1000, 10000), init_scales=(0.1, 0.3, 1.0, 3.0, 10.0))


def smoke_grid() -> Grid:
    return Grid(widths=(1, 10), init_scales=(0.3, 3.0), n_times=8, t_end=1e3)


def gram_inputs(cells: list[Cell]) -> np.ndarray:
    """Kernel inputs (9, n) of the cells, Gram numbers from the vectors with ``phasefl.gram``."""
    from phasefl.gram import gram

    cols = []
    for c in cells:
        g = gram(c.u0, c.w0)
        cols.append([c.kappa, c.lr_u, c.lr_w, c.x_var, c.xy_cov, g.uu, g.ww, g.uw, g.d2])
    return np.array(cols, dtype=float).T.copy()


def zeta_of(inputs: np.ndarray) -> np.ndarray:
    """Imbalance fraction zeta = |C| / sqrt(C^2 + 4 eta_u eta_w D^2) from the Gram numbers (spec E.1)."""
    lr_u, lr_w, uu, ww, d2 = inputs[1], inputs[2], inputs[5], inputs[6], inputs[8]
    C = lr_w * uu - lr_u * ww
    den = np.hypot(C, 2.0 * np.sqrt(lr_u * lr_w * d2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(d2 == 0.0, 1.0, np.abs(C) / den)
