"""The closed form against the actual d-dimensional network (spec D), its identities, bad input."""

from types import SimpleNamespace

import numpy as np
import pytest

from phasefl import Model, classify, gram, kernel_baseline, simulate, solve
from phasefl.results import OBSERVABLES


def _gauss(d, su, sw, seed):
    rng = np.random.default_rng(seed)
    return su * rng.normal(size=d), sw * rng.normal(size=d)


def _configs():
    """(name, model, u0, w0): every regime and every special case named by the issue."""
    out = []
    for d in (1, 2, 4, 10, 100, 1000, 4000):
        u0, w0 = _gauss(d, 1.0, 1.0, d)
        out.append((f"ntk d={d}", Model(d**-0.5, 1.0, 1.0), u0, w0))
        out.append((f"mean-field d={d}", Model(1.0 / d, 1.0, 1.0), u0, w0))
    d = 100
    u0, w0 = _gauss(d, 1.0, 1.0, 7)
    out += [
        ("small init", Model(d**-0.5, 1.0, 1.0), 1e-3 * u0, 1e-3 * w0),
        ("large init", Model(d**-0.5, 1.0, 1.0), 30 * u0, 30 * w0),
        ("large init mean-field d=4", Model(0.25, 1.0, 1.0), *_gauss(4, 10.0, 10.0, 8)),
        ("lr_w/lr_u = 100", Model(1.0 / d, 0.1, 10.0), u0, w0),
        ("lr_w/lr_u = 1/100", Model(1.0 / d, 10.0, 0.1), u0, w0),
        ("sigma_w/sigma_u = 100", Model(1.0 / d, 1.0, 1.0), 0.1 * u0, 10 * w0),
        ("aligned init", Model(1.0 / d, 1.0, 2.0), u0, 0.5 * u0),
        ("zero output layer", Model(1.0 / d, 1.0, 1.0), np.zeros(d), w0),
        ("zero hidden layer", Model(1.0 / d, 1.0, 1.0), u0, np.zeros(d)),
        ("target opposite to F0", Model(0.5, 1.0, 1.0, xy_cov=-1.0), *_gauss(4, 1.0, 1.0, 11)),
        ("small init, target opposite", Model(0.1, 1.0, 1.0, xy_cov=-0.5), 0.1 * u0 + 0.01, 0.1 * u0 + 0.02),
        ("zero target", Model(1.0 / d, 1.0, 1.0, xy_cov=0.0), u0, w0),
        ("degenerate Kc = 0", Model(0.2, 1.0, 1.0, x_var=1.5, xy_cov=0.9), u0[:10], u0[:10]),
        ("degenerate, opposite target", Model(0.2, 1.0, 1.0, xy_cov=-0.9), u0[:10], u0[:10]),
        ("degenerate, zero target", Model(0.2, 1.0, 1.0, xy_cov=0.0), u0[:10], u0[:10]),
        ("orthogonal init", Model(1.0 / d, 2.0, 0.5), u0, w0 - (w0 @ u0) / (u0 @ u0) * u0),
    ]
    return out


CONFIGS = _configs()


def _times(model, u0, w0):
    """0, then log-spaced times from well before the first scale to well after convergence."""
    g = gram(u0, w0)
    k0 = model.output_scale**2 * (model.lr_u * g.ww + model.lr_w * g.uu)
    slope_scale = max(abs(model.target), model.output_scale * abs(g.uw), 1e-300)
    coupling = 2 * model.output_scale * np.sqrt(model.lr_u * model.lr_w)
    fast = 1.0 / (model.x_var * max(k0, coupling * slope_scale))
    slow = 1.0 / (model.x_var * min(k0, coupling * slope_scale) if k0 > 0 else coupling * slope_scale)
    return np.concatenate([[0.0], np.geomspace(1e-3 * fast, 10 * slow * (1 + np.log1p(slow / fast)), 40)])


def _compare(exact, sim, scale_F, tol, floor=None):
    """Errors above tol: F relative to scale_F, NTKs and norms relative (to at least floor[name]), angles absolute."""
    err = {}
    err["F"] = np.max(np.abs(exact.F - sim.F)) / scale_F
    for name in ("ntk", "ntk_plain", "norm_u2", "norm_w2"):
        a, b = getattr(exact, name), getattr(sim, name)
        both_zero = (a == 0) & (b == 0)
        ref = np.maximum(np.abs(b), (floor or {}).get(name, 1e-300))
        err[name] = np.max(np.where(both_zero, 0.0, np.abs(a - b) / ref))
    for name in ("cos_uw", "rot_u", "rot_w"):
        a, b = getattr(exact, name), getattr(sim, name)
        assert np.array_equal(np.isnan(a), np.isnan(b)), name
        err[name] = np.nanmax(np.abs(a - b), initial=0.0)
    return {k: v for k, v in err.items() if not v <= tol}


@pytest.mark.parametrize("name, model, u0, w0", CONFIGS, ids=[c[0] for c in CONFIGS])
def test_closed_form_matches_gradient_flow_of_the_network(name, model, u0, w0):
    times = _times(model, u0, w0)
    exact = solve(model, u0, w0, times)
    sim = simulate(model, u0, w0, times, method="flow")
    scale_F = max(abs(model.target), abs(exact.F[0]))
    bad = _compare(exact, sim, scale_F, 1e-9)
    assert not bad, f"{name}: errors above 1e-9: {bad}"
    # t = infinity, every observable, against the simulator's converged limit (its own stopping rule:
    # changes below 1e-12 of the scale over two horizon doublings; where the limit is 0 and convergence is
    # algebraic it stops ~1e-12 of the largest value short of it: relative to at least 1e-3 x the largest
    # value, 1e-8 allows 1e-11 of it in absolute terms)
    at_infinity = [SimpleNamespace(**{k: np.array([getattr(t.final, k)]) for k in OBSERVABLES}) for t in (exact, sim)]
    floor = {k: 1e-3 * np.max(np.abs(getattr(sim, k))) for k in OBSERVABLES}
    bad = _compare(*at_infinity, scale_F, 1e-8, floor)
    assert not bad, f"{name}: t = infinity errors above 1e-8: {bad}"


def test_every_regime_is_covered():
    labels = {classify(model, u0, w0).label for _, model, u0, w0 in CONFIGS}
    assert labels == {"kernel", "alignment", "disalignment", "rescaling"}


def test_gradient_descent_converges_at_first_order():
    d = 50
    u0, w0 = _gauss(d, 1.0, 1.0, 3)
    model = Model(1.0 / d, 1.0, 1.0)
    times = np.array([0.0, 1.0, 3.0, 10.0, 30.0])
    exact = solve(model, u0, w0, times)
    errors = [
        np.max(np.abs(simulate(model, u0, w0, times, method="gd", step=h).F - exact.F)) for h in (0.02, 0.01, 0.005)
    ]
    ratios = [errors[0] / errors[1], errors[1] / errors[2]]
    assert all(1.8 < r < 2.2 for r in ratios), (errors, ratios)


def test_late_time_decay_rate_is_a_kinf():
    d = 30
    u0, w0 = _gauss(d, 1.0, 1.0, 4)
    model = Model(1.0 / d, 1.0, 1.0, x_var=2.0, xy_cov=1.0)
    traj = solve(model, u0, w0, [0.0])
    kinf = traj.final.ntk
    t = np.array([20.0, 21.0]) / (model.x_var * kinf)
    resid = np.sqrt(2 * solve(model, u0, w0, t).loss_excess / model.x_var)
    rate = np.log(resid[0] / resid[1]) / (t[1] - t[0])
    assert rate == pytest.approx(model.x_var * kinf, rel=1e-7)


def test_ntk_growth_iff_alignment_grows():
    # spec D.6: with D^2 > 0, K rises exactly when |cos(u, w)| rises.
    rng = np.random.default_rng(5)
    for _ in range(40):
        d = int(rng.integers(2, 50))
        u0, w0 = _gauss(d, 10 ** rng.uniform(-1, 1), 10 ** rng.uniform(-1, 1), int(rng.integers(1e6)))
        model = Model(10 ** rng.uniform(-2, 0), 10 ** rng.uniform(-1, 1), 10 ** rng.uniform(-1, 1), xy_cov=rng.normal())
        traj = solve(model, u0, w0, np.geomspace(1e-3, 1e3, 60))
        dk, dcos = np.diff(traj.ntk), np.diff(np.abs(traj.cos_uw))
        big = np.abs(dk) > 1e-12 * traj.ntk[1:]
        assert np.array_equal(np.sign(dk[big]), np.sign(dcos[big]))


def test_kernel_baseline_is_the_linearized_network():
    # Integrate the network linearized at init (f_lin = f0 + grad f0 . (theta - theta0)) directly.
    from scipy.integrate import solve_ivp

    d = 20
    u0, w0 = _gauss(d, 1.0, 1.0, 6)
    model = Model(0.3, 0.5, 2.0, x_var=1.3, xy_cov=0.7)
    k, a, b = model.output_scale, model.x_var, model.xy_cov

    def rhs(_, theta):
        u, w = theta[:d], theta[d:]
        f_lin = k * (u0 @ w0 + w0 @ (u - u0) + u0 @ (w - w0))
        return np.concatenate([-model.lr_u * k * (a * f_lin - b) * w0, -model.lr_w * k * (a * f_lin - b) * u0])

    times = np.array([0.0, 0.1, 1.0, 5.0, 200.0])
    sol = solve_ivp(rhs, (0, 200), np.concatenate([u0, w0]), t_eval=times, rtol=1e-12, atol=1e-14, method="DOP853")
    u, w = sol.y[:d], sol.y[d:]
    f_lin = k * (u0 @ w0 + w0 @ (u - u0[:, None]) + u0 @ (w - w0[:, None]))
    base = kernel_baseline(model, u0, w0, times)
    np.testing.assert_allclose(base.F, f_lin, rtol=1e-9)
    norm_u2, norm_w2 = np.sum(u * u, axis=0), np.sum(w * w, axis=0)
    np.testing.assert_allclose(base.norm_u2, norm_u2, rtol=1e-9)
    np.testing.assert_allclose(base.norm_w2, norm_w2, rtol=1e-9)
    np.testing.assert_allclose(base.cos_uw, np.sum(u * w, axis=0) / np.sqrt(norm_u2 * norm_w2), atol=1e-9)
    angle = lambda v, v0: np.arccos(np.clip(v0 @ v / np.sqrt(v0 @ v0 * np.sum(v * v, axis=0)), -1, 1))  # noqa: E731
    np.testing.assert_allclose(base.rot_u, angle(u, u0), atol=1e-7)  # arccos: ~sqrt(eps) near 0
    np.testing.assert_allclose(base.rot_w, angle(w, w0), atol=1e-7)
    k0 = k**2 * (model.lr_u * w0 @ w0 + model.lr_w * u0 @ u0)
    assert np.all(base.ntk == pytest.approx(k0, rel=1e-14)) and base.final.ntk == pytest.approx(k0, rel=1e-14)
    np.testing.assert_allclose(base.loss_excess, 0.5 * a * (f_lin - b / a) ** 2, rtol=1e-8, atol=1e-20)
    # t = 200 is 100+ e-folds of a K0: the linearized network is at its limit
    for name in ("F", "norm_u2", "norm_w2", "cos_uw", "rot_u", "rot_w"):
        assert getattr(base.final, name) == pytest.approx(getattr(base, name)[-1], rel=1e-12, abs=1e-12), name


@pytest.mark.parametrize("m", [0.5, -0.7])
def test_kernel_baseline_with_a_zero_layer(m):
    """w0 = 0: u stays at u0 (rot_u = 0), w = w0 - r_w u0 moves along u0, so cos(u, w) = -sign(r_w) = sign(m)
    for t > 0, to rounding and never beyond +-1 (dot / sqrt(nu nw) rounds past 1 for most u0), and the rotation
    of w is undefined (nan); mirrored for u0 = 0. At t = 0, cos is 0/0 (nan)."""
    rng = np.random.default_rng(11)
    model = Model(1.0, 1.0, 1.0, xy_cov=m)
    for _ in range(20):
        v, zero = rng.standard_normal(3), np.zeros(3)
        for u0, w0, moving, still in ((v, zero, "rot_w", "rot_u"), (zero, v, "rot_u", "rot_w")):
            base = kernel_baseline(model, u0, w0, [0.0, 0.5, 3.0])
            assert np.isnan(getattr(base, moving)).all() and np.isnan(getattr(base.final, moving))
            assert np.all(getattr(base, still) == 0.0) and getattr(base.final, still) == 0.0
            assert np.isnan(base.cos_uw[0])
            cos = np.append(base.cos_uw[1:], base.final.cos_uw)
            assert np.all(np.abs(cos) <= 1.0) and np.allclose(cos, np.sign(m), rtol=0, atol=4e-16)


def test_solve_returns_every_observable():
    u0, w0 = _gauss(5, 1.0, 1.0, 9)
    traj = solve(Model(0.2, 1.0, 1.0), u0, w0, [0.0, 1.0])
    for name in OBSERVABLES:
        assert getattr(traj, name).shape == (2,)
        assert isinstance(getattr(traj.final, name), float)
    g = gram(u0, w0)
    assert traj.norm_u2[0] == pytest.approx(g.uu, rel=1e-14)
    assert traj.F[0] == pytest.approx(0.2 * g.uw, rel=1e-14)
    assert traj.rot_u[0] == 0 and traj.rot_w[0] == 0


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: Model(0.0, 1.0, 1.0), "output_scale"),
        (lambda: Model(1.0, -1.0, 1.0), "lr_u"),
        (lambda: Model(1.0, 1.0, np.inf), "lr_w"),
        (lambda: Model(1.0, 1.0, 1.0, x_var=0.0), "x_var"),
        (lambda: Model(1.0, 1.0, 1.0, xy_cov=np.nan), "xy_cov"),
        (lambda: solve(Model(1.0, 1.0, 1.0), [1.0, 2.0], [1.0], [0.0]), "same length"),
        (lambda: solve(Model(1.0, 1.0, 1.0), [], [], [0.0]), "u0"),
        (lambda: solve(Model(1.0, 1.0, 1.0), [1.0, np.nan], [1.0, 2.0], [0.0]), "u0"),
        (lambda: solve(Model(1.0, 1.0, 1.0), [1.0], [np.inf], [0.0]), "w0"),
        (lambda: solve(Model(1.0, 1.0, 1.0), [[1.0]], [[1.0]], [0.0]), "1-D"),
        (lambda: solve(Model(1.0, 1.0, 1.0), [0.0], [0.0], [0.0]), "both zero"),
        (lambda: solve(Model(1.0, 1.0, 1.0), [1.0], [1.0], [0.0, -1.0]), "times"),
        (lambda: solve(Model(1.0, 1.0, 1.0), [1.0], [1.0], [np.nan]), "times"),
        (lambda: classify(Model(1.0, 1.0, 1.0), [1.0], [1.0, 2.0]), "same length"),
        (lambda: kernel_baseline(Model(1.0, 1.0, 1.0), [1.0], [1.0], [np.inf]), "times"),
    ],
)
def test_bad_input_raises_value_error_naming_it(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_model_must_be_a_model():
    with pytest.raises(TypeError, match="Model"):
        solve((1.0, 1.0, 1.0), [1.0], [1.0], [0.0])


def test_spec_kinf_is_wrong_for_the_degenerate_collapse():
    """Spec D.1 says K_inf = sqrt(Kc^2 + g^2 m^2) and F -> m. With Kc = 0 (u0 = w0, equal rates) and a
    target of the opposite sign, K = g|F| vanishes at F = 0: the network collapses to u = w = 0 instead
    (F -> 0, K -> 0, the excess loss stays (a/2) m^2). The simulated network agrees with phasefl, not
    with the spec's formula."""
    u0 = np.random.default_rng(12).normal(size=6)
    model = Model(0.2, 1.0, 1.0, xy_cov=-0.9)
    exact, sim = solve(model, u0, u0, [0.0]), simulate(model, u0, u0, [0.0, 50.0, 500.0])
    g = 2 * model.output_scale * np.sqrt(model.lr_u * model.lr_w)
    spec_kinf = g * abs(model.target)  # sqrt(0 + g^2 m^2)
    assert exact.final.F == 0 and exact.final.ntk == 0
    assert abs(sim.final.F) < 1e-10 and sim.final.ntk < 1e-10 * spec_kinf
    assert sim.F[-1] > 0  # never crosses zero, never approaches m < 0
    assert classify(model, u0, u0).ntk_ratio == 0


def test_slope_batch_is_the_slope_of_solve_batch():
    """The F-only kernel evaluates the same lines of the closed form: bit-identical F, every branch."""
    from phasefl import sample_gram, slope_batch, solve_batch

    rng = np.random.default_rng(11)
    n = 4000
    widths = 10 ** rng.uniform(0, 8, n)
    g = sample_gram(widths, 10 ** rng.uniform(-3, 3, n), 10 ** rng.uniform(-3, 3, n), seed=12)
    cells = [widths**-0.5, 10 ** rng.uniform(-2, 2, n), 10 ** rng.uniform(-2, 2, n), 1.0,
             rng.choice([-1.0, 0.0, 0.5, 2.0], n), g.uu, g.ww, g.uw, g.d2]  # fmt: skip
    # degenerate cells (Kc = 0): u0 = w0 with equal rates, targets of both signs and zero
    cells = [np.concatenate([np.broadcast_to(c, n), np.full(3, v)]) for c, v in zip(cells, [1, 1, 1, 1, 0, 2, 2, 2, 0])]
    cells[4][-3:] = [-1.0, 0.0, 1.0]
    times = np.concatenate([[0.0], np.geomspace(1e-4, 1e4, 40)])
    F = slope_batch(*cells, times)
    assert F.shape == (n + 3, times.size)
    np.testing.assert_array_equal(F, solve_batch(*cells, times).F)
    kinds = {int(k) for k in np.unique(np.sign(cells[4] * cells[7]))}
    assert kinds == {-1, 0, 1}  # crossing (m F0 < 0), zero target, same signs
    assert slope_batch(1.0, 1.0, 1.0, 1.0, 1.0, [[1.0], [2.0]], 1.0, 0.5, 0.75, [0.0, 1.0]).shape == (2, 1, 2)


def test_ntk_plain_final_kernel_is_the_final_ntk_plain():
    """The sweep's ntk_plain-only kernel evaluates the same lines as observables_final: bit-identical."""
    from phasefl import kernels, sample_gram
    from phasefl.solve import cell_inputs

    rng = np.random.default_rng(13)
    n = 3000
    widths = 10 ** rng.uniform(0, 8, n)
    g = sample_gram(widths, 10 ** rng.uniform(-3, 3, n), 10 ** rng.uniform(-3, 3, n), seed=14)
    inputs, _ = cell_inputs(widths**-0.5, 1.0, 10 ** rng.uniform(-2, 2, n), 1.0, rng.choice([-1.0, 0.0, 1.0], n),
                            g.uu, g.ww, g.uw, g.d2)  # fmt: skip
    np.testing.assert_array_equal(
        kernels.ntk_plain_finals(inputs), kernels.finals(inputs)[OBSERVABLES.index("ntk_plain")]
    )


def test_kernel_baseline_of_a_zero_layer_and_small_weights():
    """u0 = 0: the angle of u is undefined (nan) and u grows along w0; small weights (|u0|^2 < 1) are
    no special case; ntk_plain is the un-weighted NTK at init; times come back as given."""
    w0 = np.array([0.3, -0.2, 0.1])
    base = kernel_baseline(Model(0.5, 2.0, 1.0), np.zeros(3), w0, [0.0, 1.0, 3.0])
    assert np.all(np.isnan(base.rot_u)) and np.isnan(base.final.rot_u)
    assert np.all(base.rot_w == 0.0)  # w moves along u0 = 0: it does not move
    np.testing.assert_array_equal(base.times, [0.0, 1.0, 3.0])
    assert base.ntk_plain == pytest.approx(np.full(3, 0.25 * (w0 @ w0)), rel=1e-15)
    assert base.norm_u2[0] == 0.0 and base.norm_u2[2] > base.norm_u2[1] > 0.0
    assert np.all(np.abs(base.cos_uw[1:]) == pytest.approx(1.0, abs=1e-15))  # u is parallel to w0
    u0 = np.array([0.1, 0.05, 0.0])  # |u0|^2 < 1
    small = kernel_baseline(Model(0.5, 2.0, 1.0), u0, w0, [0.5])
    assert np.isfinite(small.rot_u[0]) and 0.0 < small.rot_u[0] < np.pi and -1.0 <= small.cos_uw[0] <= 1.0
