"""The dynamics backends (``phasefl.dynamics``): every registered one answers in the same schema, its
batch form agrees with its one-network form, and the backends agree with each other where the
physics says they must."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import phasefl
from phasefl import Model, gram, solve
from phasefl.dynamics import BACKENDS, Dynamics, backend, register
from phasefl.ranges import parse_range
from phasefl.schema import OBSERVABLES
from phasefl.sweep import FLOW_ONLY, SweepSpec, sweep

TIMES = np.array([0.0, 0.3, 2.0, 15.0])
# (model, width, init scale): alignment from a small init, a large-init (near-kernel) cell, a
# negative target with unequal rates, and one with a zero layer
CASES = [
    (Model(1.0, 1.0, 1.0, 1.0, 1.0), 6, 0.05),
    (Model(0.2, 1.0, 1.0, 1.0, 1.0), 40, 1.0),
    (Model(0.5, 2.0, 0.5, 1.5, -1.2), 9, 0.4),
    (Model(0.7, 1.0, 3.0, 1.0, 0.8), 5, 0.0),
]


def weights(width: int, scale: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    u0 = scale * rng.standard_normal(width)
    w0 = rng.standard_normal(width) * (scale if scale else 0.6)
    return u0, w0


def fields(traj) -> dict[str, np.ndarray]:
    out = {name: np.asarray(getattr(traj, name)) for name in OBSERVABLES}
    out.update({f"final.{name}": np.asarray(getattr(traj.final, name)) for name in OBSERVABLES})
    return out


def assert_close(a: dict, b: dict, rtol: float, atol: float) -> None:
    for name in a:
        np.testing.assert_allclose(a[name], b[name], rtol=rtol, atol=atol, err_msg=name)


#: Options a backend needs (gradient descent: a step that divides TIMES).
OPTIONS = {"gd": {"step": 0.1}}


def test_the_four_backends_are_registered_with_descriptions():
    assert list(BACKENDS)[:4] == ["flow", "kernel", "reference", "gd"]
    assert all(b.description and b.name == name for name, b in BACKENDS.items())


@pytest.mark.parametrize("name", list(BACKENDS))
@pytest.mark.parametrize("case", range(len(CASES)))
def test_batch_of_gram_numbers_equals_the_network_from_its_weights(name, case):
    """The batch form sees only the Gram numbers; from them it must give the trajectory of the
    network itself (the reference batch builds two-dimensional weights: a wrong construction
    gives a different network)."""
    model, width, scale = CASES[case]
    u0, w0 = weights(width, scale)
    one = backend(name).trajectory(model, u0, w0, TIMES, **OPTIONS.get(name, {}))
    cell = (*model.as_tuple(), *gram(u0, w0))
    batch = backend(name).batch(*(np.full((2, 1), v) for v in cell), TIMES, **OPTIONS.get(name, {}))
    for field, value in fields(batch).items():
        assert value.shape == ((2, 1, TIMES.size) if "." not in field else (2, 1)), field
    # the simulator integrates a different state (width vs 2 entries): agreement to its accuracy
    rtol, atol = (1e-9, 1e-12) if name == "reference" else (1e-12, 1e-15)
    assert_close({k: v[1, 0] for k, v in fields(batch).items()}, fields(one), rtol, atol)


@pytest.mark.parametrize("case", range(len(CASES)))
def test_the_closed_form_flow_matches_the_simulated_network(case):
    model, width, scale = CASES[case]
    u0, w0 = weights(width, scale, seed=1)
    assert_close(fields(solve(model, u0, w0, TIMES)), fields(solve(model, u0, w0, TIMES, "reference")), 1e-9, 1e-12)


def test_the_kernel_dynamics_is_the_flow_at_init_and_keeps_its_ntk():
    model, width, scale = CASES[0]
    u0, w0 = weights(width, scale)
    flow, kern = solve(model, u0, w0, TIMES), solve(model, u0, w0, TIMES, dynamics="kernel")
    at_init = [{k: v[..., 0] for k, v in fields(traj).items() if "." not in k} for traj in (kern, flow)]
    assert_close(*at_init, 1e-12, 1e-300)  # F = m + (F0 - m) e^0 rounds: a few ulps of m
    np.testing.assert_array_equal(kern.ntk, kern.ntk[0])
    assert flow.final.ntk > 10 * kern.final.ntk  # a small init aligns: the real NTK grows, the frozen one cannot


def test_the_kernel_dynamics_approaches_the_flow_as_the_width_grows():
    """Under NTK scaling the NTK of a wider network moves less (by ~1/d): the gap between the two
    dynamics' F, relative to |m - F0| and in the median over 8 seeds, falls about tenfold per
    decade of width (measured 6e-3, 5e-4, 3e-5 at d = 10, 100, 1000)."""
    gaps = []
    for width in (10, 100, 1000):
        model = Model(width**-0.5, 1.0, 1.0, 1.0, 1.0)
        rel = []
        for seed in range(8):
            u0, w0 = weights(width, 1.0, seed)
            flow, kern = solve(model, u0, w0, TIMES), solve(model, u0, w0, TIMES, dynamics="kernel")
            rel.append(np.max(np.abs(flow.F - kern.F)) / abs(model.xy_cov - flow.F[0]))
        gaps.append(np.median(rel))
    assert gaps[0] > 5 * gaps[1] > 25 * gaps[2] > 0


def test_reference_options_reach_the_simulator():
    model, width, scale = CASES[1]
    u0, w0 = weights(width, scale)
    flow = solve(model, u0, w0, TIMES, dynamics="reference")
    gd = [solve(model, u0, w0, TIMES, dynamics="reference", method="gd", step=h) for h in (0.02, 0.01)]
    errors = [np.max(np.abs(g.F - flow.F)) for g in gd]
    assert 1.8 < errors[0] / errors[1] < 2.2  # gradient descent: first order in the step


def test_bad_dynamics_and_options_are_named():
    u0, w0 = weights(3, 1.0)
    with pytest.raises(ValueError, match="dynamics must be one of 'flow', 'kernel', 'reference', 'gd'.*'sgd'"):
        solve(Model(1.0, 1.0, 1.0), u0, w0, TIMES, dynamics="sgd")
    with pytest.raises(TypeError, match="'flow' takes no options; got step"):
        solve(Model(1.0, 1.0, 1.0), u0, w0, TIMES, step=0.1)
    with pytest.raises(TypeError, match="'reference' takes only method, step; got rtol"):
        solve(Model(1.0, 1.0, 1.0), u0, w0, TIMES, dynamics="reference", rtol=1e-3)
    with pytest.raises(TypeError, match="'gd' takes only step; got method"):
        solve(Model(1.0, 1.0, 1.0), u0, w0, TIMES, dynamics="gd", step=0.1, method="gd")


def test_a_registered_dynamics_is_reachable_by_name_and_names_are_unique():
    def frozen(model, u0, w0, times):
        return phasefl.kernel_baseline(model, u0, w0, times)

    added = register(Dynamics("frozen-test", "a test double", frozen, BACKENDS["kernel"].batch))
    try:
        u0, w0 = weights(4, 0.5)
        got = solve(Model(1.0, 1.0, 1.0), u0, w0, TIMES, dynamics="frozen-test")
        assert_close(fields(got), fields(solve(Model(1.0, 1.0, 1.0), u0, w0, TIMES, dynamics="kernel")), 0, 0)
        with pytest.raises(ValueError, match="'frozen-test' is registered already"):
            register(added)
    finally:
        del BACKENDS["frozen-test"]


def small_spec(**changes) -> SweepSpec:
    axes = (parse_range("width", "2:200:3"), parse_range("init_scale", "1e-2:10:3"))
    spec = SweepSpec(axes, {"target": 0.7, "output_scale": 0.4}, "mup", seeds=3, seed=5, time=2.0)
    return replace(spec, **changes)


THRESHOLDS = {"kernel_threshold": 0.3, "zeta_threshold": 0.5}  # with these the grid has rescaling cells too


@pytest.mark.parametrize("settings", [{}, THRESHOLDS, {"time": None, **THRESHOLDS}])
def test_a_sweep_of_the_simulated_network_matches_the_closed_form_sweep(settings):
    """The generic path (a dynamics' batch form, reduced over seeds with numpy) against the fused
    closed-form kernel: the same labels and fractions, and the same medians to the simulator's
    accuracy (1e-9; the excess loss at the time to 1e-9 of the initial excess loss, as it may sit
    at rounding level). Without a time, and with other thresholds, too."""
    flow, ref = sweep(small_spec(**settings)), sweep(small_spec(dynamics="reference", **settings))
    timed = "time" not in settings
    assert ("ntk_ratio_at_time" in ref) == timed and set(ref.data_vars) == set(flow.data_vars) - set(FLOW_ONLY)
    exact = ("label", "label_fraction", "dominant_u", "gamma", "gamma0", "zeta", "imbalance") + (
        "label_at_time",
    ) * timed
    for name in exact:
        np.testing.assert_array_equal(ref[name].values, flow[name].values, err_msg=name)
    close = ("ntk_ratio", "ntk_ratio_q25", "ntk_ratio_q75", "ntk_plain_ratio", "margin") + (
        "ntk_ratio_at_time",
    ) * timed
    for name in close:
        np.testing.assert_allclose(ref[name].values, flow[name].values, rtol=1e-9, err_msg=name)
    np.testing.assert_allclose(ref["ntk_rel_change"].values, flow["ntk_rel_change"].values, rtol=0, atol=1e-9)
    if timed:
        np.testing.assert_allclose(ref["loss_excess_at_time"].values, flow["loss_excess_at_time"].values, atol=1e-9)
    assert len(np.unique(flow["label"].values)) == (3 if settings else 2)  # regimes the labels must tell apart
    assert ref.attrs["dynamics"].startswith("reference: ") and flow.attrs["dynamics"].startswith("flow: ")


def test_a_sweep_of_the_frozen_kernel_is_all_kernel():
    ds = sweep(small_spec(dynamics="kernel"))
    assert (ds["label"].values == 0).all() and (ds["label_at_time"].values == 0).all()
    np.testing.assert_array_equal(ds["ntk_ratio"].values, 1.0)
    np.testing.assert_array_equal(ds["ntk_rel_change"].values, 0.0)
    np.testing.assert_array_equal(ds["ntk_ratio_at_time"].values, 1.0)
    assert (sweep(small_spec())["label"].values != 0).any()  # the real flow of this grid learns features


def test_a_sweep_names_an_unknown_dynamics():
    with pytest.raises(ValueError, match="dynamics must be one of 'flow', 'kernel', 'reference'.*'sgd'"):
        small_spec(dynamics="sgd")
