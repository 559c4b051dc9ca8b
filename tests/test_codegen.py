"""The checked-in kernels equal a fresh lowering of phasefl.symbolic, and backends agree."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from scipy.integrate import solve_ivp

from phasefl import codegen, solve_batch
from phasefl.symbolic import solution
from phasefl.symbolic.symbols import F0, Kc, Kinf, g, m, t, x_var


def test_generated_module_is_fresh():
    assert codegen.TARGET.read_text() == codegen.render(), "run `make generate` and commit the result"


def test_generated_module_imports_only_math_numba_and_numpy():
    """In particular not the import block of loops.py (which imports the generated module itself)."""
    text = codegen.TARGET.read_text()
    imports = [line for line in text.splitlines() if line.startswith(("import ", "from "))]
    assert imports == ["import math", "import numba", "import numpy as np"]


ORDERS_OF_ONE_CELL = """
import numpy as np
from phasefl import kernels
cell = np.array([[1.0], [1.0], [1.0], [1.0], [1.0], [1.0], [1.0], [0.5], [0.75]])
print(kernels.__file__)
print(repr(float(kernels.orders(cell)[0, 0])))
"""


@pytest.mark.slow
def test_a_regenerated_module_changes_what_the_kernels_compute_without_deleting_caches(tmp_path):
    """numba keys its on-disk cache on the file that defines a function. The loops live in the generated
    module with the closed form they inline, so when that file changes (here its text doubles gamma, as
    an edit of phasefl.symbolic and make generate would) the next run recompiles and sees the change.
    With the loops in kernels.py, numba kept the cached loops with the old closed form inlined."""
    root = Path(codegen.__file__).parent
    shutil.copytree(root, tmp_path / "phasefl", ignore=shutil.ignore_patterns("__pycache__"))
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba-cache"), PYTHONPATH=str(tmp_path))

    def gamma() -> float:
        out = subprocess.run(
            [sys.executable, "-c", ORDERS_OF_ONE_CELL],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert out.returncode == 0, out.stderr
        where, value = out.stdout.split()
        assert Path(where).is_relative_to(tmp_path), where  # the copy, not the installed package
        return float(value)

    before = gamma()
    assert any((tmp_path / "numba-cache").rglob("*.nbi")), "numba wrote no cache"
    target = tmp_path / "phasefl" / "_generated" / "closed_form.py"
    text = target.read_text()
    assert text.count("    gamma = g*abs(m)/K0\n") == 1
    target.write_text(text.replace("    gamma = g*abs(m)/K0\n", "    gamma = 2.0*g*abs(m)/K0\n"))
    assert gamma() == 2.0 * before


# Moderate cells where every form is accurate: (kappa, lr_u, lr_w, a, b, uu, ww, uw, d2)
CELLS = [
    (0.1, 1.0, 1.0, 1.0, 1.0, 30.0, 20.0, 3.0, 30.0 * 20.0 - 9.0),
    (0.05, 2.0, 0.5, 1.5, -1.0, 8.0, 40.0, 5.0, 8.0 * 40.0 - 25.0),
    (1.0, 1.0, 3.0, 1.0, 0.3, 0.5, 0.2, -0.2, 0.5 * 0.2 - 0.04),
]
TIMES = np.array([0.0, 0.01, 0.3, 1.0, 3.0, 10.0, 40.0])


def _riccati_numpy(cell):
    """The spec's Riccati y-form, lambdified to NumPy: an independent backend."""
    kappa, lr_u, lr_w, a, b, uu, ww, uw, d2 = cell
    s = np.sqrt(lr_u * lr_w)
    C = lr_w * uu - lr_u * ww
    kc = kappa**2 * np.sqrt(C**2 + 4 * s**2 * d2)
    gg, mm, f0 = 2 * kappa * s, b / a, kappa * uw
    kinf = np.sqrt(kc**2 + gg**2 * mm**2)
    y0 = np.exp(np.arcsinh(gg * f0 / kc))
    y0_sym = sp.Symbol("y0", positive=True)
    f = sp.lambdify((t, y0_sym, Kc, g, m, x_var, Kinf), solution.F_riccati.subs(solution.y0, y0_sym), "numpy")
    return f(TIMES, y0, kc, gg, mm, a, kinf)


def _reduced_ode(cell):
    """scipy integration of the unsolved reduced ODE dF/dt = -a (F - m) sqrt(Kc^2 + g^2 F^2)."""
    kappa, lr_u, lr_w, a, b, uu, ww, uw, d2 = cell
    s = np.sqrt(lr_u * lr_w)
    kc = kappa**2 * np.sqrt((lr_w * uu - lr_u * ww) ** 2 + 4 * s**2 * d2)
    gg, mm = 2 * kappa * s, b / a
    sol = solve_ivp(
        lambda _, f: -a * (f - mm) * np.sqrt(kc**2 + gg**2 * f**2),
        (0, TIMES[-1]),
        [kappa * uw],
        t_eval=TIMES,
        rtol=1e-12,
        atol=1e-14,
        method="DOP853",
    )
    return sol.y[0]


def test_numba_lambdify_and_ode_backends_agree():
    for cell in CELLS:
        exact = solve_batch(*cell, TIMES).F
        scale = max(abs(cell[4] / cell[3]), abs(cell[0] * cell[7]))
        np.testing.assert_allclose(exact, _riccati_numpy(cell), rtol=0, atol=1e-12 * scale)
        np.testing.assert_allclose(exact, _reduced_ode(cell), rtol=0, atol=1e-9 * scale)


def test_degenerate_branch_matches_lambdified_logistic():
    # u0 = w0, equal rates: C = 0 and D^2 = 0, so Kc = 0 and K = g|F| (spec D.3).
    kappa, lr, a, b, uu = 0.3, 0.7, 1.2, 0.9, 2.0
    traj = solve_batch(kappa, lr, lr, a, b, uu, uu, uu, 0.0, TIMES)
    f = sp.lambdify((t, F0, m, g, x_var), solution.F_logistic, "numpy")
    np.testing.assert_allclose(traj.F, f(TIMES, kappa * uu, b / a, 2 * kappa * lr, a), rtol=1e-13)


def test_fast_hypot_agrees_with_math_hypot_at_every_scale():
    """The generated kernels' hypot (a sqrt of squares where they are safe, else math.hypot)."""
    import math

    from phasefl._generated.closed_form import fast_hypot

    rng = np.random.default_rng(3)
    for _ in range(2000):
        x, y = (float(rng.choice([-1, 1]) * 10 ** rng.uniform(-300, 300)) for _ in range(2))
        if rng.random() < 0.3:  # nearby scales, where both squares matter
            y = x * 10 ** rng.uniform(-3, 3)
        assert fast_hypot(x, y) == pytest.approx(math.hypot(x, y), rel=4e-16), (x, y)
    assert fast_hypot(0.0, 0.0) == 0.0 and fast_hypot(-3.0, 4.0) == 5.0


def test_fast_atan2_is_within_its_ulp_bound_of_math_atan2():
    """The generated kernels' atan2 (SLEEF's atan2k polynomial, documented within 3.5 ulp) on
    every quadrant and scale, plus the special values the rotation angles can meet."""
    import math

    from phasefl._generated.closed_form import fast_atan2

    rng = np.random.default_rng(4)
    n = 20_000
    scale = 10 ** rng.uniform(-100, 100, n)
    angle = rng.uniform(-math.pi, math.pi, n)
    ys, xs = scale * np.sin(angle), scale * np.cos(angle)
    far = rng.random(n) < 0.3  # one coordinate dominating the other by many decades
    ys[far] *= 10 ** rng.uniform(-200, 200, far.sum())
    got = np.array([fast_atan2(y, x) for y, x in zip(ys, xs)])
    ref = np.arctan2(ys, xs)
    ulps = np.abs(got - ref) / np.spacing(np.abs(ref))
    assert ulps.max() <= 3.5, (ulps.max(), ys[ulps.argmax()], xs[ulps.argmax()])
    cases = [(0.0, 0.0), (0.0, -1.0), (-0.0, -1.0), (1.0, 0.0), (-1.0, 0.0), (math.inf, 1.0), (1.0, math.inf),
             (1.0, -math.inf), (math.inf, math.inf), (-math.inf, -math.inf), (2.0, 2.0), (1e-320, 1.0)]  # fmt: skip
    for y, x in cases:
        assert fast_atan2(y, x) == pytest.approx(math.atan2(y, x), rel=4e-16, abs=0.0), (y, x)
    assert math.isnan(fast_atan2(math.nan, 1.0)) and math.isnan(fast_atan2(1.0, math.nan))
