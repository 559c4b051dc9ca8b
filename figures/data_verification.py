"""Data of figure 8: verification of the closed form against the actual d-dimensional network.

For the alignment, rescaling and disalignment examples of ``data_mechanisms.py``:

* ``gd``: gradient descent (``phasefl.simulate(method="gd")``) with step h = c / (a K_max),
  c from 0.3 down to 1e-3; error = max over the output times of |F_gd - F_exact| / |m - F0|.
  Gradient descent is first order, so the error should fall like h.
* ``ivp``: the gradient flow of the 2d weights integrated by ``scipy.integrate.solve_ivp``
  (RK45 and DOP853) at rtol = 1e-3 ... 1e-12 (atol = 1e-6 rtol max|y0|), same error measure,
  and the error of phasefl's own reference integrator (``phasefl.simulate``, DOP853 at
  rtol 1e-13 with safeguards).

Output times: 24 log-spaced times in [0.01, 10] / (a K0). Writes ``<data>/verification.npz``.
"""

from __future__ import annotations

import sys

import numpy as np
import phasefl
from scipy.integrate import solve_ivp

from common import arguments, save_npz
from data_mechanisms import example

MECHANISMS = ("alignment", "rescaling", "disalignment")
METHODS = ("RK45", "DOP853")


def flow_rhs(model):
    kappa, eta_u, eta_w, a, b = model.as_tuple()

    def rhs(t, y):
        d = y.size // 2
        u, w = y[:d], y[d:]
        r = kappa * (a * kappa * (u @ w) - b)  # kappa (aF - b), spec B
        return np.concatenate([-eta_u * r * w, -eta_w * r * u])

    return rhs


def main(argv=None) -> int:
    args = arguments(__doc__.splitlines()[0], argv)
    steps = np.array([0.3, 0.1] if args.tiny else [0.3, 0.1, 0.03, 0.01, 0.003, 0.001])
    rtols = np.array([1e-3, 1e-6] if args.tiny else [1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-11, 1e-12])
    out = {"names": np.array(MECHANISMS), "methods": np.array(METHODS), "steps": steps, "rtols": rtols}
    for name in MECHANISMS:
        model, u0, w0, _ = example(name)
        a, m = model.x_var, model.target
        k0 = model.output_scale**2 * (model.lr_u * w0 @ w0 + model.lr_w * u0 @ u0)
        times = np.geomspace(1e-2, 10.0, 24) / (a * k0)
        exact = phasefl.solve(model, u0, w0, times)
        k_max = max(k0, float(np.max(exact.ntk)))
        scale = abs(m - model.output_scale * (u0 @ w0))

        def error(F, exact=exact, scale=scale):
            return float(np.max(np.abs(F - exact.F)) / scale)

        out[f"{name}/gd"] = np.array(
            [error(phasefl.simulate(model, u0, w0, times, method="gd", step=c / (a * k_max)).F) for c in steps]
        )
        y0 = np.concatenate([u0, w0])
        for method in METHODS:
            errs = []
            for rtol in rtols:
                sol = solve_ivp(
                    flow_rhs(model), (0.0, times[-1]), y0, method=method, t_eval=times,
                    rtol=rtol, atol=1e-6 * rtol * np.max(np.abs(y0)),
                )  # fmt: skip
                d = u0.size
                errs.append(error(model.output_scale * np.einsum("it,it->t", sol.y[:d], sol.y[d:])))
            out[f"{name}/ivp/{method}"] = np.array(errs)
        out[f"{name}/reference"] = np.array(error(phasefl.simulate(model, u0, w0, times).F))
        print(
            f"{name:>13}: GD error {out[f'{name}/gd'][0]:.1e} ... {out[f'{name}/gd'][-1]:.1e}; "
            f"DOP853 {out[f'{name}/ivp/DOP853'][-1]:.1e} at rtol {rtols[-1]:g}; "
            f"phasefl.simulate {out[f'{name}/reference']:.1e}"
        )
    path = save_npz(args.data / "verification.npz", **out)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
