"""Simulation baselines that phasefl is measured against (none of them uses the closed form).

* ``ivp_full``: scipy ``solve_ivp`` on the full 2d-dimensional gradient flow (spec B)
      du/dt = -eta_u kappa (aF - b) w,   dw/dt = -eta_w kappa (aF - b) u,   F = kappa u.w
  At rtol 1e-12 (DOP853) it is the accuracy reference of the benchmark.
* ``ivp_reduced``: ``solve_ivp`` on the reduced 1-D ODE of spec D.2,
      dF/dt = -a (F - m) sqrt(Kc^2 + g^2 F^2),   with g, Kc from the Gram numbers (spec D.1).
* ``gd_numpy``: full-batch gradient descent of the d-dimensional network, one cell at a time,
  step h = c / (a K0) from the initial NTK K0 (first order in h: error proportional to c).
* ``gd_torch``: the same gradient descent in PyTorch (CPU, float64) with all cells of one width
  stacked into one (cells, d) tensor program; each cell keeps its own step c_i / (a K0_i).

Every method stops integrating a cell once it has converged: when |F - m| <= freeze_tol *
min(kappa |u| |w|, max(|F0|, |m|)) both the remaining change of F (which is F - m itself) and
the remaining motion of the weights (at most |F - m| / (kappa |u| |w|) relative) are below
freeze_tol relative, so the state is held for all later times. This is
what a practitioner does (and what ``phasefl.simulate`` does); without it the fast cells would
pay for thousands of idle time constants up to the shared t_end.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.integrate import solve_ivp

#: Convergence ("freeze") tolerance of the timed baselines: a tenth of the 1e-6 accuracy target,
#: so stopping early costs at most 1e-7 of the error budget.
FREEZE_TOL = 1e-7
#: ... of the reference (rtol 1e-12): just above DOP853's noise floor near rest.
REFERENCE_FREEZE_TOL = 1e-11
#: An ODE run is abandoned ("stalled") after this many right-hand-side calls. Near rest an
#: adaptive solver's F jitters at about its own tolerance; when that is above the freeze test it
#: never passes and the solver crawls to t_end at its stability-limited step (measured: 40-90 s
#: per cell at rtol 1e-5 instead of 3 ms). Such a configuration is too loose anyway.
MAX_NFEV = 20_000


class StalledError(RuntimeError):
    """The ODE solver used MAX_NFEV right-hand-side calls without reaching the freeze test."""


#: atol = ATOL_RATIO * rtol * (scale of the state), so that the relative tolerance decides.
ATOL_RATIO = 1e-3


def ivp_full(cell, times: np.ndarray, method: str = "DOP853", rtol: float = 1e-12, freeze_tol: float = FREEZE_TOL):
    """Integrate the 2d-dimensional flow of one cell; (F at times, K at the last time, n rhs calls, converged)."""
    kappa, eta_u, eta_w, a, b = cell.kappa, cell.lr_u, cell.lr_w, cell.x_var, cell.xy_cov
    m = b / a
    d = cell.u0.size
    y0 = np.concatenate([cell.u0, cell.w0])

    calls = [0]

    def rhs(t, y):
        calls[0] += 1
        if calls[0] > MAX_NFEV:
            raise StalledError(f"{method} rtol {rtol:g}: no convergence in {MAX_NFEV} rhs calls")
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

    converged.terminal = True
    atol = ATOL_RATIO * rtol * float(np.max(np.abs(y0)))
    sol = solve_ivp(rhs, (0.0, float(times[-1])), y0, method=method, rtol=rtol, atol=atol, t_eval=times,
                    events=converged)  # fmt: skip
    if sol.status < 0:
        raise RuntimeError(f"solve_ivp failed: {sol.message}")
    ys = sol.y
    if ys.shape[1] < times.size:  # stopped at convergence: hold the final state
        y_end = sol.y_events[0][-1] if sol.t_events[0].size else sol.y[:, -1]
        ys = np.concatenate([ys, np.repeat(y_end[:, None], times.size - ys.shape[1], axis=1)], axis=1)
    u, w = ys[:d], ys[d:]
    F = kappa * np.einsum("ij,ij->j", u, w)
    ue, we = u[:, -1], w[:, -1]
    K_end = kappa**2 * (eta_u * float(we @ we) + eta_w * float(ue @ ue))
    return F, K_end, int(sol.nfev), bool(sol.status == 1)


def reduced_constants(col: np.ndarray) -> dict:
    """Constants of spec D.1 from one column of kernel inputs (kappa, eta_u, eta_w, a, b, uu, ww, uw, d2)."""
    kappa, lr_u, lr_w, a, b, uu, ww, uw, d2 = (float(x) for x in col)
    s = math.sqrt(lr_u * lr_w)
    C = lr_w * uu - lr_u * ww
    return {
        "a": a,
        "m": b / a,
        "g": 2.0 * kappa * s,
        "Kc": kappa**2 * math.hypot(C, 2.0 * math.sqrt(d2) * s),
        "F0": kappa * uw,
        "K0": kappa**2 * (lr_u * ww + lr_w * uu),
    }


def ivp_reduced(col: np.ndarray, times: np.ndarray, method: str = "DOP853", rtol: float = 1e-12,
                freeze_tol: float = FREEZE_TOL):  # fmt: skip
    """Integrate dF/dt = -a (F - m) sqrt(Kc^2 + g^2 F^2); (F at times, K at the last time, n rhs calls, converged)."""
    c = reduced_constants(col)
    a, m, g, Kc, F0 = c["a"], c["m"], c["g"], c["Kc"], c["F0"]
    Kc2, g2 = Kc * Kc, g * g
    scale = max(abs(F0), abs(m))

    calls = [0]

    def rhs(t, y):
        calls[0] += 1
        if calls[0] > MAX_NFEV:
            raise StalledError(f"{method} rtol {rtol:g}: no convergence in {MAX_NFEV} rhs calls")
        F = y[0]
        return np.array([-a * (F - m) * math.sqrt(Kc2 + g2 * F * F)])

    def converged(t, y):
        return abs(y[0] - m) - freeze_tol * scale

    converged.terminal = True
    sol = solve_ivp(rhs, (0.0, float(times[-1])), [F0], method=method, rtol=rtol, atol=ATOL_RATIO * rtol * scale,
                    t_eval=times, events=converged)  # fmt: skip
    if sol.status < 0:
        raise RuntimeError(f"solve_ivp failed: {sol.message}")
    F = sol.y[0]
    if F.size < times.size:
        F_end = sol.y_events[0][-1][0] if sol.t_events[0].size else F[-1]
        F = np.concatenate([F, np.full(times.size - F.size, F_end)])
    K_end = math.sqrt(Kc2 + g2 * F[-1] ** 2)
    return F, K_end, int(sol.nfev), bool(sol.status == 1)


def gd_numpy(cell, times: np.ndarray, c: float, freeze_tol: float = FREEZE_TOL, check_every: int = 64):
    """Gradient descent with step h = c / (a K0); (F at times, K at the last time, steps taken, converged).

    Between consecutive output times it takes ceil(dt / h) equal steps, so every time is hit
    exactly. The convergence test runs every ``check_every`` steps.
    """
    kappa, eta_u, eta_w, a, b = cell.kappa, cell.lr_u, cell.lr_w, cell.x_var, cell.xy_cov
    m = b / a
    u, w = cell.u0.copy(), cell.w0.copy()
    h0 = c / (a * cell.k0)
    scale_F = max(abs(kappa * float(u @ w)), abs(m))
    F = np.empty(times.size)
    t, steps, frozen = 0.0, 0, False
    for j, tj in enumerate(times):
        dt = float(tj) - t
        if dt > 0 and not frozen:
            n = max(1, math.ceil(dt / h0))
            h = dt / n
            gu, gw = h * eta_u * kappa, h * eta_w * kappa
            k = 0
            while k < n:
                r = a * kappa * float(u @ w) - b
                u, w = u - (gu * r) * w, w - (gw * r) * u
                k += 1
                if k % check_every == 0 or k == n:
                    uu, ww = float(u @ u), float(w @ w)
                    if not (math.isfinite(uu) and math.isfinite(ww)):
                        return np.full(times.size, np.nan), np.nan, steps + k, False
                    resid = abs(kappa * float(u @ w) - m)
                    rate = h * a * kappa**2 * (eta_u * ww + eta_w * uu)
                    if resid <= freeze_tol * min(kappa * math.sqrt(uu * ww), scale_F) and rate <= 1.0:
                        frozen = True
                        break
            steps += k
        t = float(tj)
        F[j] = kappa * float(u @ w)
    K_end = kappa**2 * (eta_u * float(w @ w) + eta_w * float(u @ u))
    return F, K_end, steps, frozen


def gd_torch(cells: list, times: np.ndarray, c, freeze_tol: float = FREEZE_TOL, check_every: int = 256):
    """Gradient descent of all ``cells`` (one width) as one batched PyTorch program on the CPU.

    ``c`` is a scalar or one value per cell; cell i steps with h_i = c_i / (a K0_i). On the
    interval to the next output time, cell i takes n_i = ceil(dt / h_i) steps of dt / n_i; the
    batch runs max_i n_i steps and a cell whose n_i steps are done (or that has converged) gets
    step 0. Returns (F (cells, T), K at the last time (cells,), batch steps, converged (cells,),
    freeze time of each cell (inf if it never froze)).
    """
    import torch

    dtype = torch.float64
    B = len(cells)
    U = torch.tensor(np.stack([cl.u0 for cl in cells]), dtype=dtype)
    W = torch.tensor(np.stack([cl.w0 for cl in cells]), dtype=dtype)
    kappa = np.array([cl.kappa for cl in cells])
    eta_u = np.array([cl.lr_u for cl in cells])
    eta_w = np.array([cl.lr_w for cl in cells])
    a = np.array([cl.x_var for cl in cells])
    b = np.array([cl.xy_cov for cl in cells])
    m = b / a
    h0 = np.broadcast_to(np.asarray(c, dtype=float), (B,)) / (a * np.array([cl.k0 for cl in cells]))
    scale_F = np.maximum(np.abs(kappa * (U * W).sum(1).numpy()), np.abs(m))
    akappa = torch.tensor(a * kappa, dtype=dtype)
    bt = torch.tensor(b, dtype=dtype)
    F_out = np.empty((B, times.size))
    frozen = np.zeros(B, dtype=bool)
    t_freeze = np.full(B, np.inf)
    t, batch_steps = 0.0, 0

    def check(h):
        F = kappa * (U * W).sum(1).numpy()
        uu, ww = (U * U).sum(1).numpy(), (W * W).sum(1).numpy()
        rate = h * a * kappa**2 * (eta_u * ww + eta_w * uu)
        tol = freeze_tol * np.minimum(kappa * np.sqrt(uu * ww), scale_F)
        return (np.abs(F - m) <= tol) & (rate <= 1.0), np.isfinite(uu + ww)

    for j, tj in enumerate(times):
        dt = float(tj) - t
        if dt > 0 and not frozen.all():
            n = np.where(frozen, 0, np.maximum(1, np.ceil(dt / h0))).astype(np.int64)
            h = dt / np.maximum(n, 1)
            active = n > 0
            gu = torch.tensor(np.where(active, h * eta_u * kappa, 0.0), dtype=dtype)
            gw = torch.tensor(np.where(active, h * eta_w * kappa, 0.0), dtype=dtype)
            k = 0
            for stop in np.unique(n[n > 0]):
                while k < stop:
                    chunk = int(min(stop - k, check_every))
                    for _ in range(chunk):
                        r = torch.sub(torch.mul((U * W).sum(1), akappa), bt)
                        su = torch.mul(gu, r).unsqueeze(1)
                        sw = torch.mul(gw, r).unsqueeze(1)
                        U, W = torch.addcmul(U, su, W, value=-1.0), torch.addcmul(W, sw, U, value=-1.0)
                    k += chunk
                    done, finite = check(h)
                    if not finite.all():
                        raise RuntimeError("batched gradient descent diverged")
                    newly = done & active & ~frozen
                    if newly.any():
                        frozen |= newly
                        t_freeze[newly] = t + k * h[newly]
                        active &= ~newly
                        gu[torch.from_numpy(newly)] = 0.0
                        gw[torch.from_numpy(newly)] = 0.0
                    if not (active & (n > k)).any():
                        break
                finished = n <= k
                gu[torch.from_numpy(finished)] = 0.0
                gw[torch.from_numpy(finished)] = 0.0
                if not (active & (n > k)).any():
                    break
            batch_steps += k
        t = float(tj)
        F_out[:, j] = kappa * (U * W).sum(1).numpy()
    uu, ww = (U * U).sum(1).numpy(), (W * W).sum(1).numpy()
    K_end = kappa**2 * (eta_u * ww + eta_w * uu)
    return F_out, K_end, batch_steps, frozen.copy(), t_freeze


def torch_batch_steps(times: np.ndarray, h0: np.ndarray, t_freeze: np.ndarray) -> int:
    """Steps the batched program takes with per-cell steps h0 when cell i freezes at t_freeze[i].

    Sum over output intervals of the largest per-cell step count among the cells not frozen at
    the interval's start (the freeze inside an interval is ignored: an upper bound within one
    interval). Used to extrapolate the batch's time to the matched-accuracy steps.
    """
    total, t = 0, 0.0
    for tj in times:
        dt = float(tj) - t
        if dt > 0:
            live = t_freeze > t
            if live.any():
                n = np.maximum(1, np.ceil(dt / h0[live]))
                stop = np.minimum(n, np.ceil((t_freeze[live] - t) / (dt / n)) + 256)
                total += int(stop.max())
        t = float(tj)
    return total
