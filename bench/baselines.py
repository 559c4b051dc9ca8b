"""Simulation baselines that phasefl is measured against (none of them uses the closed form), and
the cells they run on.

* ``ivp_full``: scipy ``solve_ivp`` on the full 2d-dimensional gradient flow (spec B)
      du/dt = -eta_u kappa (aF - b) w,   dw/dt = -eta_w kappa (aF - b) u,   F = kappa u.w
  At DOP853 rtol 1e-12 (``REFERENCE``) it is the accuracy reference of the work-precision figure.
* ``ivp_reduced``: ``solve_ivp`` on the reduced 1-D ODE of spec D.2,
      dF/dt = -a (F - m) sqrt(Kc^2 + g^2 F^2),   with g, Kc from the Gram numbers (spec D.1).
* ``gd_numpy``: full-batch gradient descent of the d-dimensional network, one cell at a time,
  step h = c / (a K0) from the initial NTK K0 (first order in h: error proportional to c).
* ``gd_torch``: the same gradient descent in PyTorch (CPU, float64), all cells of one width stacked
  into one (cells, d) tensor program; cell i steps with its own h_i = c / (a K0_i).

Tolerances (atol = ATOL_RATIO * rtol * the state's scale, so that rtol decides) are arguments;
``bench/bench_baselines.py`` times them at the fixed settings documented there and
``figures/data_work_precision.py`` sweeps them. Every method stops integrating a cell once it has
converged: when |F - m| <= freeze_tol * min(kappa |u| |w|, max(|F0|, |m|)) the remaining change of F
and of the weights is below freeze_tol relative, so the state is held for all later times (what a
practitioner does; without it fast cells would pay for thousands of idle time constants).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp

#: Convergence ("freeze") tolerance of the timed baselines (relative).
FREEZE_TOL = 1e-7
#: The accuracy reference: (method, rtol, freeze tolerance just above DOP853's noise floor near rest).
REFERENCE = ("DOP853", 1e-12, 1e-11)
ATOL_RATIO = 1e-3
#: An ODE run is abandoned after this many right-hand-side calls: near rest a loose solver's F
#: jitters at about its tolerance, never passes the freeze test, and crawls to the last time.
MAX_NFEV = 20_000


class StalledError(RuntimeError):
    """The ODE solver used MAX_NFEV right-hand-side calls without reaching the freeze test."""


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
    def k0(self) -> float:
        """Initial (learning-rate-weighted) NTK K0 = kappa^2 (eta_u |w0|^2 + eta_w |u0|^2)."""
        return self.kappa**2 * (self.lr_u * float(self.w0 @ self.w0) + self.lr_w * float(self.u0 @ self.u0))


def make_cells(widths, init_scales, seed: int = 2024) -> list[Cell]:
    """Width x init scale in the NTK parametrization (kappa = d^-1/2, eta = 1, E[x^2] = 1, m = 1),
    width-major. Each width draws one pair of standard normal vectors; the init scales multiply it."""
    out = []
    for width in widths:
        rng = np.random.default_rng([seed, width])
        z_u, z_w = rng.standard_normal(width), rng.standard_normal(width)
        out += [Cell(width, s, width**-0.5, 1.0, 1.0, 1.0, 1.0, s * z_u, s * z_w) for s in init_scales]
    return out


def kernel_inputs(cells: list[Cell]) -> np.ndarray:
    """Kernel inputs (9, n) of the cells, Gram numbers from the vectors with ``phasefl.gram``."""
    from phasefl.gram import gram

    cols = []
    for c in cells:
        g = gram(c.u0, c.w0)
        cols.append([c.kappa, c.lr_u, c.lr_w, c.x_var, c.xy_cov, g.uu, g.ww, g.uw, g.d2])
    return np.array(cols, dtype=float).T.copy()


def rel_error(F: np.ndarray, F_ref: np.ndarray) -> float:
    """max_t |F - F_ref| / max_t |F_ref| (inf when F is not finite)."""
    err = float(np.max(np.abs(F - F_ref)) / np.max(np.abs(F_ref)))
    return err if math.isfinite(err) else math.inf


def _counted(rhs, method, rtol):
    calls = [0]

    def wrapped(t, y):
        calls[0] += 1
        if calls[0] > MAX_NFEV:
            raise StalledError(f"{method} rtol {rtol:g}: no convergence in {MAX_NFEV} rhs calls")
        return rhs(t, y)

    return wrapped


def _solve(rhs, y0, times, method, rtol, atol, converged) -> np.ndarray:
    """solve_ivp to times[-1] stopping at ``converged``; the state at every time (held after the stop)."""
    converged.terminal = True
    sol = solve_ivp(_counted(rhs, method, rtol), (0.0, float(times[-1])), y0, method=method, rtol=rtol, atol=atol,
                    t_eval=times, events=converged)  # fmt: skip
    if sol.status < 0:
        raise RuntimeError(f"solve_ivp failed: {sol.message}")
    ys = sol.y
    if ys.shape[1] < times.size:  # stopped at convergence: hold the final state
        y_end = sol.y_events[0][-1] if sol.t_events[0].size else ys[:, -1]
        ys = np.concatenate([ys, np.repeat(y_end[:, None], times.size - ys.shape[1], axis=1)], axis=1)
    return ys


def ivp_full(cell: Cell, times, method="DOP853", rtol=1e-12, freeze_tol=FREEZE_TOL) -> np.ndarray:
    """F at ``times`` from the 2d-dimensional gradient flow of one cell."""
    kappa, eta_u, eta_w, a, b = cell.kappa, cell.lr_u, cell.lr_w, cell.x_var, cell.xy_cov
    m, d = b / a, cell.u0.size
    y0 = np.concatenate([cell.u0, cell.w0])

    def rhs(t, y):
        u, w = y[:d], y[d:]
        r = kappa * (a * kappa * float(u @ w) - b)
        out = np.empty_like(y)
        np.multiply(w, -eta_u * r, out=out[:d])
        np.multiply(u, -eta_w * r, out=out[d:])
        return out

    scale_F = max(abs(kappa * float(cell.u0 @ cell.w0)), abs(m))

    def converged(t, y):
        u, w = y[:d], y[d:]
        weights = kappa * math.sqrt(float(u @ u) * float(w @ w))
        return abs(kappa * float(u @ w) - m) - freeze_tol * min(weights, scale_F)

    atol = ATOL_RATIO * rtol * float(np.max(np.abs(y0)))
    ys = _solve(rhs, y0, times, method, rtol, atol, converged)
    return kappa * np.einsum("ij,ij->j", ys[:d], ys[d:])


def ivp_reduced(col: np.ndarray, times, method="DOP853", rtol=1e-12, freeze_tol=FREEZE_TOL) -> np.ndarray:
    """F at ``times`` from dF/dt = -a (F - m) sqrt(Kc^2 + g^2 F^2), one column of kernel inputs."""
    kappa, lr_u, lr_w, a, b, uu, ww, uw, d2 = (float(x) for x in col)
    s = math.sqrt(lr_u * lr_w)
    m, g, F0 = b / a, 2.0 * kappa * s, kappa * uw
    Kc = kappa**2 * math.hypot(lr_w * uu - lr_u * ww, 2.0 * math.sqrt(d2) * s)
    Kc2, g2 = Kc * Kc, g * g
    scale = max(abs(F0), abs(m))

    def rhs(t, y):
        F = y[0]
        return np.array([-a * (F - m) * math.sqrt(Kc2 + g2 * F * F)])

    def converged(t, y):
        return abs(y[0] - m) - freeze_tol * scale

    return _solve(rhs, [F0], times, method, rtol, ATOL_RATIO * rtol * scale, converged)[0]


def gd_numpy(cell: Cell, times, c: float, freeze_tol: float = FREEZE_TOL, check_every: int = 64) -> np.ndarray:
    """F at ``times`` from gradient descent with step h = c / (a K0).

    Between consecutive output times it takes ceil(dt / h) equal steps, so every time is hit
    exactly; the convergence test runs every ``check_every`` steps. NaN where it diverged.
    """
    kappa, eta_u, eta_w, a, b = cell.kappa, cell.lr_u, cell.lr_w, cell.x_var, cell.xy_cov
    m = b / a
    u, w = cell.u0.copy(), cell.w0.copy()
    h0 = c / (a * cell.k0)
    scale_F = max(abs(kappa * float(u @ w)), abs(m))
    F = np.empty(len(times))
    t, frozen = 0.0, False
    for j, tj in enumerate(times):
        dt = float(tj) - t
        if dt > 0 and not frozen:
            n = max(1, math.ceil(dt / h0))
            h = dt / n
            gu, gw = h * eta_u * kappa, h * eta_w * kappa
            for k in range(1, n + 1):
                r = a * kappa * float(u @ w) - b
                u, w = u - (gu * r) * w, w - (gw * r) * u
                if k % check_every == 0 or k == n:
                    uu, ww = float(u @ u), float(w @ w)
                    if not math.isfinite(uu + ww):
                        return np.full(len(times), np.nan)
                    rate = h * a * kappa**2 * (eta_u * ww + eta_w * uu)
                    if (
                        abs(kappa * float(u @ w) - m) <= freeze_tol * min(kappa * math.sqrt(uu * ww), scale_F)
                        and rate <= 1
                    ):
                        frozen = True
                        break
        t = float(tj)
        F[j] = kappa * float(u @ w)
    return F


def gd_torch(cells: list[Cell], times, c: float, freeze_tol: float = FREEZE_TOL, check_every: int = 256) -> np.ndarray:
    """F (cells, times) from gradient descent of ``cells`` (one width) as one batched PyTorch program.

    On the interval to the next output time cell i takes n_i = ceil(dt / h_i) steps of dt / n_i; the
    batch runs max_i n_i steps, a cell whose steps are done or that has converged gets step 0.
    """
    import torch

    f64 = torch.float64
    U = torch.tensor(np.stack([cl.u0 for cl in cells]), dtype=f64)
    W = torch.tensor(np.stack([cl.w0 for cl in cells]), dtype=f64)
    kappa, eta_u, eta_w, a, b = (
        np.array([getattr(cl, k) for cl in cells]) for k in ("kappa", "lr_u", "lr_w", "x_var", "xy_cov")
    )
    m = b / a
    h0 = c / (a * np.array([cl.k0 for cl in cells]))
    scale_F = np.maximum(np.abs(kappa * (U * W).sum(1).numpy()), np.abs(m))
    akappa, bt = torch.tensor(a * kappa, dtype=f64), torch.tensor(b, dtype=f64)
    F_out = np.empty((len(cells), len(times)))
    frozen = np.zeros(len(cells), dtype=bool)
    t = 0.0
    for j, tj in enumerate(times):
        dt = float(tj) - t
        if dt > 0 and not frozen.all():
            n = np.where(frozen, 0, np.maximum(1, np.ceil(dt / h0))).astype(np.int64)
            h = dt / np.maximum(n, 1)
            k = 0
            while k < n.max():
                live = (n > k) & ~frozen
                if not live.any():
                    break
                gu = torch.tensor(np.where(live, h * eta_u * kappa, 0.0), dtype=f64).unsqueeze(1)
                gw = torch.tensor(np.where(live, h * eta_w * kappa, 0.0), dtype=f64).unsqueeze(1)
                chunk = int(min(check_every, np.min(n[live]) - k))
                for _ in range(chunk):
                    r = ((U * W).sum(1) * akappa - bt).unsqueeze(1)
                    U, W = torch.addcmul(U, gu * r, W, value=-1.0), torch.addcmul(W, gw * r, U, value=-1.0)
                k += chunk
                F = kappa * (U * W).sum(1).numpy()
                uu, ww = (U * U).sum(1).numpy(), (W * W).sum(1).numpy()
                if not np.isfinite(uu + ww).all():
                    return np.full(F_out.shape, np.nan)
                rate = h * a * kappa**2 * (eta_u * ww + eta_w * uu)
                frozen |= (
                    live & (np.abs(F - m) <= freeze_tol * np.minimum(kappa * np.sqrt(uu * ww), scale_F)) & (rate <= 1)
                )
        t = float(tj)
        F_out[:, j] = kappa * (U * W).sum(1).numpy()
    return F_out
