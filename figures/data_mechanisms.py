"""Data of figures 1 and 2: one example network per regime, exact trajectory and gradient descent.

For each example (kernel, alignment, rescaling, disalignment) the initial weights are drawn
i.i.d. Gaussian with a fixed seed; ``phasefl.classify`` must give the intended label (asserted).
The exact observables come from ``phasefl.solve`` on a dense log-spaced time grid; the markers
are gradient descent of the actual d-dimensional network (``phasefl.simulate(method="gd")``)
with a step of 2e-3 / (a K_max), checked here to sit on the exact curves.

Time is measured in units of the initial kernel time 1 / (a K0) of each example.

Writes ``<data>/mechanisms.npz``.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np
import phasefl

from common import arguments, save_npz

#: name -> (width, output scale kappa, init scale sigma (both layers), eta_w/eta_u, seed, description).
#: Learning rates are eta_u = ratio^-1/2, eta_w = ratio^1/2 (geometric mean 1: only their ratio matters).
EXAMPLES = {
    "kernel": (1000, 1000**-0.5, 1.0, 1.0, 0, r"NTK $\kappa=d^{-1/2}$, $d=1000$, $\sigma=1$"),
    "alignment": (1000, 1e-3, 0.5, 1.0, 0, r"mean-field $\kappa=1/d$, $d=1000$, $\sigma=0.5$"),
    "rescaling": (1000, 1e-3, 0.2, 100.0, 0, r"mean-field, $d=1000$, $\sigma=0.2$, $\eta_w/\eta_u=100$"),
    "disalignment": (4, 4**-0.5, 3.0, 1.0, 8, r"NTK, $d=4$, $\sigma=3$ (seed 8)"),
}
#: Largest allowed relative gap between gradient descent and the exact NTK at the marker times.
MARKER_TOL = 1e-2


def example(name: str):
    """(model, u0, w0, description) of one example."""
    width, kappa, sigma, ratio, seed, text = EXAMPLES[name]
    rng = np.random.default_rng(seed)
    u0 = sigma * rng.standard_normal(width)
    w0 = sigma * rng.standard_normal(width)
    model = phasefl.Model(output_scale=kappa, lr_u=ratio**-0.5, lr_w=ratio**0.5)
    return model, u0, w0, text


def main(argv=None) -> int:
    args = arguments(__doc__.splitlines()[0], argv)
    n_exact, n_gd = (40, 4) if args.tiny else (400, 17)
    step_factor = 2e-2 if args.tiny else 2e-3
    out = {"names": np.array(list(EXAMPLES))}
    for name in EXAMPLES:
        model, u0, w0, text = example(name)
        c = phasefl.classify(model, u0, w0)
        assert c.label == name, f"example {name!r} is classified {c.label!r}"
        a = model.x_var
        k0 = model.output_scale**2 * (model.lr_u * w0 @ w0 + model.lr_w * u0 @ u0)
        t_unit = 1.0 / (a * k0)
        tau = np.geomspace(1e-3, 1e2, n_exact)  # time in units of 1/(a K0)
        exact = phasefl.solve(model, u0, w0, tau * t_unit)
        initial = phasefl.solve(model, u0, w0, [0.0])
        tau_gd = np.geomspace(1e-2, 1e2, n_gd)
        k_max = max(k0, float(np.max(exact.ntk)))
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # GD must stay in its stable range
            gd = phasefl.simulate(model, u0, w0, tau_gd * t_unit, method="gd", step=step_factor / (a * k_max))
        on_curve = phasefl.solve(model, u0, w0, tau_gd * t_unit)
        gap = float(np.max(np.abs(gd.ntk / on_curve.ntk - 1)))
        if not args.tiny:
            assert gap < MARKER_TOL, f"{name}: gradient descent is {gap:.2e} off the exact NTK"
        print(
            f"{name:>13}: label {c.label}, K_inf/K0 = {c.ntk_ratio:.3f}, Gamma = {c.gamma:.3f}, "
            f"Gamma0 = {c.gamma0:.3f}, zeta = {c.zeta:.3f}, dominant {c.dominant_layer}, "
            f"rotation u {np.degrees(exact.final.rot_u):.1f} deg, w {np.degrees(exact.final.rot_w):.1f} deg, "
            f"GD gap {gap:.1e}"
        )
        out[f"{name}/description"] = np.array(text)
        out[f"{name}/label"] = np.array(c.label)
        out[f"{name}/dominant_layer"] = np.array(c.dominant_layer)
        for key in ("ntk_ratio", "gamma", "gamma0", "zeta"):
            out[f"{name}/{key}"] = np.array(getattr(c, key))
        out[f"{name}/width"] = np.array(u0.size)
        out[f"{name}/target"] = np.array(model.target)
        out[f"{name}/tau"] = tau
        out[f"{name}/tau_gd"] = tau_gd
        out[f"{name}/gd_gap"] = np.array(gap)
        for field in ("F", "ntk", "ntk_plain", "norm_u2", "norm_w2", "cos_uw", "rot_u", "rot_w"):
            out[f"{name}/exact/{field}"] = getattr(exact, field)
            out[f"{name}/gd/{field}"] = getattr(gd, field)
            out[f"{name}/final/{field}"] = np.array(getattr(exact.final, field))
            out[f"{name}/init/{field}"] = np.array(getattr(initial, field)[0])
        out[f"{name}/K0"] = np.array(k0)
        out[f"{name}/F0"] = np.array(model.output_scale * (u0 @ w0))
    path = save_npz(args.data / "mechanisms.npz", **out)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
