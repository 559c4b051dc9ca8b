"""phasefl.empirical: deep networks on digits, checked against the exact model in its own case.

Oracles: (1) the factored NTK and loss gradients equal PyTorch autograd for ReLU, tanh and linear
networks; (2) a depth-2 linear network on one-dimensional data *is* the exact model (spec A): its
empirical NTK equals K x x^T with K from ``phasefl.solve`` at t = 0 exactly and after training to
GD accuracy (first order: halving the step halves the error), and so do its layer rotations and
norms; (3) its labels equal ``phasefl.classify`` for the same initialization in the kernel,
alignment, rescaling and disalignment regimes, and its distance to the linearized network equals
the exact kernel-baseline distance; (4) the linearized counterpart is exact when the
network is linear in the parameters that move; (5) the command line and the figure-9 scripts.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import phasefl  # noqa: E402
from phasefl.baseline import baseline_distance_batch  # noqa: E402
from phasefl.empirical import MLP, Dataset, Schedule, factors, forward, ntk, train  # noqa: E402
from phasefl.empirical.__main__ import main  # noqa: E402
from phasefl.empirical.network import loss_gradients  # noqa: E402
from phasefl.solve import model_cell  # noqa: E402

torch.set_num_threads(1)
FIGURES_DIR = Path(__file__).resolve().parent.parent / "figures"


def line_data(n=64, seed=0) -> Dataset:
    """One-dimensional data y = x + noise (target slope m close to 1); the first 16 points are the probe."""
    rng = np.random.default_rng(seed)
    x, xt = rng.normal(size=n), rng.normal(size=32)
    y, yt = x + 0.3 * rng.normal(size=n), xt + 0.3 * rng.normal(size=32)
    return Dataset(x[:, None], y, xt[:, None], yt, probe=np.arange(16))


def exact_pair(data: Dataset, kappa: float, lr_u: float, lr_w: float):
    """The exact model of the data's moments, and a maker of the depth-2 linear network that is that model."""
    x, y = data.x_train[:, 0], data.y_train
    model = phasefl.Model(kappa, lr_u, lr_w, x_var=float(np.mean(x * x)), xy_cov=float(np.mean(x * y)))

    def make(width: int) -> MLP:
        return MLP(
            1,
            depth=2,
            width=width,
            activation="linear",
            output_scale=kappa,
            lr=math.sqrt(lr_u * lr_w),
            lr_ratio=lr_w / lr_u,
        )

    return model, make


def weights_of(u0, w0):
    """W_1 = w (d x 1), W_2 = u (1 x d): f(x) = kappa u.w x."""
    return [torch.as_tensor(w0[:, None]), torch.as_tensor(u0[None, :])]


# --- (1) the factored NTK and gradients against autograd -------------------------------------------


@pytest.mark.parametrize("activation", ["relu", "tanh", "linear"])
def test_factored_ntk_and_gradients_match_autograd(activation):
    net = MLP(input_dim=5, depth=4, width=7, activation=activation, lr_ratio=3.0, output_scale=0.7)
    weights = net.init(seed=1)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(6, 5, dtype=torch.float64, generator=gen)
    y = torch.randn(6, dtype=torch.float64, generator=gen)
    jac = torch.autograd.functional.jacobian(lambda *ws: forward(net, list(ws), x), tuple(weights))
    rows = [j.reshape(6, -1) for j in jac]
    theta = sum(eta * r @ r.T for eta, r in zip(net.learning_rates, rows))
    torch.testing.assert_close(ntk(net, weights, x).sum(0), theta, rtol=1e-12, atol=1e-12)
    cross = ntk(net, weights, x[:2], x[2:]).sum(0)
    torch.testing.assert_close(cross, theta[:2, 2:], rtol=1e-12, atol=1e-12)
    live = [w.clone().requires_grad_(True) for w in weights]
    loss = 0.5 * ((forward(net, live, x) - y) ** 2).mean()
    auto = torch.autograd.grad(loss, live)
    f, inputs, deltas = factors(net, weights, x)
    for a, b in zip(auto, loss_gradients(net, inputs, deltas, f - y)):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)


# --- (2) the exact model's case: NTK, rotations and norms ---------------------------------------------


def test_linear_two_layer_ntk_equals_exact_at_init():
    data = line_data()
    rng = np.random.default_rng(3)
    d = 50
    u0, w0 = rng.normal(size=d), 0.5 * rng.normal(size=d)
    model, make = exact_pair(data, 1 / d, 0.7, 2.0)
    net = make(d)
    x = torch.as_tensor(data.x_train)
    k0 = phasefl.solve(model, u0, w0, [0.0]).ntk[0]
    theta = ntk(net, weights_of(u0, w0), x)
    torch.testing.assert_close(theta.sum(0), k0 * x @ x.T, rtol=1e-12, atol=0)
    # the per-layer terms are eta_w kappa^2 |u|^2 x x' (hidden w) and eta_u kappa^2 |w|^2 x x' (output u)
    kappa = 1 / d
    torch.testing.assert_close(theta[0], 2.0 * kappa**2 * float(u0 @ u0) * x @ x.T, rtol=1e-12, atol=0)
    torch.testing.assert_close(theta[1], 0.7 * kappa**2 * float(w0 @ w0) * x @ x.T, rtol=1e-12, atol=0)


def _trained_errors(step: float):
    """Max relative error of K(t), and max error of the rotations (rad) and norm ratios, against solve."""
    data = line_data()
    rng = np.random.default_rng(4)
    d = 40
    u0, w0 = rng.normal(size=d), rng.normal(size=d)
    model, make = exact_pair(data, 1 / d, 1.0, 1.5)  # mean field: K grows by ~40%
    schedule = Schedule(horizon=6.0, step=step, max_rel_change=step, checkpoints=6, dtype="float64")
    run = train(make(d), data, schedule, weights=weights_of(u0, w0), linearized=False)
    h = run.history
    traj = phasefl.solve(model, u0, w0, h["time"])
    mean_x2 = float(np.mean(data.x_train[data.probe, 0] ** 2))
    k_emp = h["ntk_trace"].sum(axis=1) / mean_x2
    err_k = np.max(np.abs(k_emp / traj.ntk - 1))
    err_rot = max(np.max(np.abs(h["rotation"][:, 1] - traj.rot_u)), np.max(np.abs(h["rotation"][:, 0] - traj.rot_w)))
    err_norm = max(
        np.max(np.abs(h["norm_ratio"][:, 1] - np.sqrt(traj.norm_u2 / traj.norm_u2[0]))),
        np.max(np.abs(h["norm_ratio"][:, 0] - np.sqrt(traj.norm_w2 / traj.norm_w2[0]))),
    )
    # the NTK of the trained weights is rank one, K x x^T, with K = kappa^2 (eta_u |w|^2 + eta_w |u|^2)
    w, u = (t.numpy().ravel() for t in run.weights)
    k_now = (1 / d) ** 2 * (1.0 * w @ w + 1.5 * u @ u)
    x = torch.as_tensor(data.x_train)
    torch.testing.assert_close(ntk(make(d), run.weights, x).sum(0), k_now * x @ x.T, rtol=1e-12, atol=0)
    assert traj.ntk[-1] / traj.ntk[0] > 1.2  # feature learning: the check is not trivial
    return err_k, err_rot, err_norm


def test_linear_two_layer_ntk_rotation_norms_follow_exact_solution_to_first_order():
    coarse, fine = _trained_errors(0.02), _trained_errors(0.01)
    for c, f in zip(coarse, fine):
        assert c < 5e-3  # ~1e-3 at step 0.02 (max over 6 times; relative for K, absolute for angles/norms) ...
        assert 0.4 < f / c < 0.6  # ... and first-order convergence: halving the step halves the error


# --- (3) labels against phasefl.classify ----------------------------------------------------------------


def _init(kind: str, d: int, rng):
    if kind == "correlated":  # |F0| = kappa u.w  >  |m|: the network must unlearn its initial output
        w0 = rng.normal(size=d)
        return w0 + 0.3 * rng.normal(size=d), w0
    return rng.normal(size=d), rng.normal(size=d)


CONFIGS = {  # name: (width, kappa, lr_u, lr_w, init scale, init kind)
    "kernel": (400, 400**-0.5, 1.0, 1.0, 1.0, "iid"),
    "alignment": (100, 1 / 100, 1.0, 1.0, 1.0, "iid"),
    "rescaling": (100, 1 / 100, 1.0, 100.0, 0.3, "iid"),
    "disalignment": (8, 3 / 8, 1.0, 1.0, 1.0, "correlated"),
}


@pytest.mark.parametrize("expected", list(CONFIGS))
def test_labels_of_linear_two_layer_networks_match_classify(expected):
    width, kappa, lr_u, lr_w, sigma, kind = CONFIGS[expected]
    data = line_data(seed=1)
    u0, w0 = (sigma * v for v in _init(kind, width, np.random.default_rng(5)))
    model, make = exact_pair(data, kappa, lr_u, lr_w)
    exact = phasefl.classify(model, u0, w0)
    assert exact.label == expected
    schedule = Schedule(horizon=25.0, step=0.05, max_rel_change=0.05, dtype="float64")
    run = train(make(width), data, schedule, weights=weights_of(u0, w0))
    assert run.label == exact.label
    # rK to GD accuracy (the residual after tau = 25 is e^-25); zeta_emp = zeta sqrt(1 - Gamma0^2) exactly
    assert run.summary["ntk_rel_change"] == pytest.approx(exact.ntk_rel_change, rel=0.03, abs=1e-4)
    # the distance to the linearized network is the exact kernel-baseline distance (sampled at 12 times)
    exact_distance = baseline_distance_batch(*model_cell(model, phasefl.gram(u0, w0)))
    assert run.summary["kernel_distance"] == pytest.approx(float(exact_distance), rel=0.1, abs=1e-3)
    assert run.summary["zeta"] == pytest.approx(exact.zeta * math.sqrt(1 - exact.gamma0**2), rel=1e-10)
    assert run.summary["converged"] == 1.0


# --- (4) the linearized counterpart -----------------------------------------------------------------------


def test_linearized_counterpart_is_exact_for_a_network_linear_in_its_moving_weights():
    """With eta_hidden / eta_last = 1e-12 only the last layer moves, so f is linear in what moves: f = f_lin."""
    rng = np.random.default_rng(0)
    x, xt = rng.normal(size=(40, 6)), rng.normal(size=(20, 6))
    data = Dataset(x, np.sign(x[:, 0]), xt, np.sign(xt[:, 0]), probe=np.arange(10))
    net = MLP(input_dim=6, depth=3, width=12, activation="tanh", lr_ratio=1e-12)
    run = train(net, data, Schedule(horizon=20.0, dtype="float64"))
    assert run.summary["kernel_distance"] < 1e-8
    np.testing.assert_allclose(run.history["lin_test_loss"], run.history["test_loss"], rtol=1e-8)
    assert run.label == "kernel" and run.summary["ntk_share_last"] > 0.999


def test_digits_loader_is_offline_standardized_and_fixed():
    pytest.importorskip("sklearn")
    from phasefl.empirical import digits

    a, b = digits(n_train=300, probe_size=40, seed=2), digits(n_train=300, probe_size=40, seed=2)
    assert a.x_train.shape == (300, 64) and a.x_test.shape == (1797 - 300, 64)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.probe, b.probe)
    assert np.abs(a.x_train.mean(axis=0)).max() < 1e-12
    assert set(np.unique(a.y_train)) == {-1.0, 1.0}
    with pytest.raises(ValueError, match="n_train"):
        digits(n_train=5000)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="depth"):
        MLP(input_dim=3, depth=1)
    with pytest.raises(ValueError, match="activation"):
        MLP(input_dim=3, activation="gelu")
    with pytest.raises(ValueError, match="init_scale"):
        MLP(input_dim=3, init_scale=-1.0)
    with pytest.raises(ValueError, match="x_train"):
        Dataset(np.zeros((3, 2)), np.zeros(4), np.zeros((2, 2)), np.zeros(2), probe=[0])
    with pytest.raises(ValueError, match="input dimension"):
        train(MLP(input_dim=3), line_data(), Schedule())
    with pytest.raises(ValueError, match="step"):
        Schedule(step=0.0)


# --- (5) command line and figure 9 ------------------------------------------------------------------------

TINY = ["--width", "8", "--n-train", "120", "--probe-size", "16", "--horizon", "4", "--quiet"]


def test_cli_writes_dataset_and_figures(tmp_path):
    pytest.importorskip("sklearn")
    import xarray as xr

    out = tmp_path / "e"
    argv = ["--axis", "init_scale,lr_ratio", "--init-scale", "0.1:3:2", "--lr-ratio", "0.01:100:3", *TINY]
    assert main([*argv, "--format", "png,pdf", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["diagram.nc", "diagram.pdf", "diagram.png"]
    with xr.open_dataset(out / "diagram.nc", engine="scipy") as ds:
        assert ds["label"].dims == ("init_scale", "lr_ratio") and ds["label"].shape == (2, 3)
        assert ds["exact_label"].shape == (2, 3)
        assert ds["label"].attrs["flag_meanings"] == "kernel alignment disalignment rescaling"
        assert "python -m phasefl.empirical" in ds.attrs["command"]
        for name in ("ntk_ratio", "zeta", "kta", "rotation_last", "test_acc", "lin_test_acc", "kernel_distance"):
            assert np.isfinite(ds[name].values).all(), name


def test_cli_one_axis(tmp_path):
    pytest.importorskip("sklearn")
    out = tmp_path / "one"
    assert main(["--axis", "init_scale", "--init-scale", "0.1:3:3", "--no-exact", *TINY, "--out", str(out)]) == 0
    assert (out / "diagram.png").is_file()


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--axis", "depth"], "unknown axis"),
        (["--axis", "init_scale", "--init-scale", "0:1:3"], "START, STOP > 0"),
        (["--axis", "init_scale", "--init-scale", "abc"], "expects START:STOP:N"),
        (["--axis", "init_scale", "--width", "10000"], "at most 4096"),
        (["--axis", "init_scale", "--seeds", "0"], "seeds"),
        (["--axis", "init_scale,init_scale"], "must differ"),
        (["--axis", "init_scale", "--depth", "1"], "depth"),
        (["--axis", "init_scale", "--horizon", "-1"], "horizon"),
        (["--axis", "init_scale", "--lr-ratio", "1:10:3"], "not an axis"),
        (["--axis", "init_scale", "--n-train", "5000"], "n_train"),
        (["--axis", "init_scale", "--activation", "gelu"], "invalid choice"),
    ],
)
def test_cli_bad_input_one_line_exit_2_nothing_written(tmp_path, capsys, argv, words):
    out = tmp_path / "never"
    assert main([*argv, "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("python -m phasefl.empirical: error:") and words in err
    assert not out.exists()


def test_cli_without_torch_says_how_to_install(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    monkeypatch.delitem(sys.modules, "phasefl.empirical._torch")
    assert main(["--axis", "init_scale", "--out", str(tmp_path / "x"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "pip install -e '.[empirical]'" in err
    assert not (tmp_path / "x").exists()


def test_figure_9_scripts_run_tiny(tmp_path, run_figure_script):
    pytest.importorskip("sklearn")
    data, out = tmp_path / "data", tmp_path / "out"
    run_figure_script("data_empirical", ["--tiny", "--data", str(data)])
    assert (data / "empirical.nc").stat().st_size > 0 and not list(data.glob(".*"))
    run_figure_script("fig_9_empirical", ["--tiny", "--data", str(data), "--out", str(out)])
    for ext, magic in (("pdf", b"%PDF"), ("png", b"\x89PNG")):
        path = out / f"fig9_empirical.{ext}"
        assert path.stat().st_size > 1000 and path.read_bytes()[:4] == magic
