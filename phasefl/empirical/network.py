"""Deep fully connected networks parametrized like the exact model, and their empirical NTK.

The network (depth L >= 2 weight layers, no biases, scalar output):

    a_0 = x,   h_l = c_l W_l a_{l-1},   a_l = phi(h_l)  (l < L),   f(x) = h_L

with multipliers c_l = 1/sqrt(n_{l-1}) for the hidden layers (l < L, n_{l-1} the fan-in) and
c_L = kappa (the output scale) for the last layer. Weights are drawn i.i.d.
W_l ~ N(0, (sigma g_l)^2), with sigma the init scale of every layer and g_l the base gain
(sqrt(2) for a ReLU layer, 1 otherwise). Layer-wise learning rates: eta_L = lr / sqrt(lr_ratio)
for the last layer and eta_l = lr * sqrt(lr_ratio) for the hidden ones, so that
lr_ratio = eta_hidden / eta_last at a fixed geometric mean, as in ``phasefl.sweep``.

Reduction to the exact model (spec A): depth 2, linear activation, one-dimensional input.
Then n_0 = 1, c_1 = 1, W_1 = w (d x 1), W_2 = u (1 x d), and f(x) = kappa u.w x with
eta_u = eta_last, eta_w = eta_hidden.

The learning-rate-weighted empirical NTK (spec D.6 for the exact model) is

    Theta(x, x') = sum_l eta_l  df(x)/dW_l . df(x')/dW_l
                 = sum_l eta_l c_l^2  (delta_l(x) . delta_l(x')) (a_{l-1}(x) . a_{l-1}(x')),

with delta_l = df/dh_l, because df/dW_l = c_l delta_l a_{l-1}^T is an outer product. The
per-layer terms Theta_l are what ``ntk`` returns; they are computed from one forward and one
backward pass (``factors``) without forming any Jacobian, so the NTK of a few thousand points
costs a few matrix products.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..params import check_positive
from ._torch import dtype_of, torch

ACTIVATIONS = ("relu", "tanh", "linear")
GAINS = {"relu": math.sqrt(2.0), "tanh": 1.0, "linear": 1.0}


@dataclass(frozen=True)
class MLP:
    """Architecture and hyperparameters of one network.

    Parameters
    ----------
    input_dim : int
        n_0, the input dimension (64 for digits, 1 for the exact model's data).
    depth : int
        L >= 2, the number of weight layers (depth 2 = one hidden layer).
    width : int
        Hidden units per hidden layer.
    activation : "relu", "tanh" or "linear"
    output_scale : float or None
        kappa, the last layer's multiplier; None gives the NTK value width**-0.5.
    init_scale : float
        sigma, multiplying the base standard deviation g_l of every layer.
    lr : float
        Geometric mean sqrt(eta_last eta_hidden) of the learning rates (only rescales time).
    lr_ratio : float
        eta_hidden / eta_last.
    """

    input_dim: int
    depth: int = 3
    width: int = 256
    activation: str = "relu"
    output_scale: float | None = None
    init_scale: float = 1.0
    lr: float = 1.0
    lr_ratio: float = 1.0

    def __post_init__(self) -> None:
        for name in ("input_dim", "depth", "width"):
            value = getattr(self, name)
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
            object.__setattr__(self, name, int(value))
        if self.depth < 2:
            raise ValueError(f"depth must be >= 2 weight layers (one hidden layer), got {self.depth}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {self.activation!r}")
        kappa = self.width**-0.5 if self.output_scale is None else self.output_scale
        object.__setattr__(self, "output_scale", check_positive("output_scale", kappa))
        for name in ("init_scale", "lr", "lr_ratio"):
            object.__setattr__(self, name, check_positive(name, getattr(self, name)))

    @property
    def shapes(self) -> list[tuple[int, int]]:
        """(fan_out, fan_in) of W_1 ... W_L."""
        dims = [self.input_dim] + [self.width] * (self.depth - 1) + [1]
        return [(dims[i + 1], dims[i]) for i in range(self.depth)]

    @property
    def multipliers(self) -> list[float]:
        """c_1 ... c_L: 1/sqrt(fan_in) for the hidden layers, kappa for the last."""
        assert self.output_scale is not None  # set by __post_init__
        return [fan_in**-0.5 for _, fan_in in self.shapes[:-1]] + [float(self.output_scale)]

    @property
    def learning_rates(self) -> list[float]:
        """eta_1 ... eta_L: lr * sqrt(lr_ratio) for the hidden layers, lr / sqrt(lr_ratio) for the last."""
        root = math.sqrt(self.lr_ratio)
        return [self.lr * root] * (self.depth - 1) + [self.lr / root]

    @property
    def gains(self) -> list[float]:
        """Base standard deviations g_l of the weights (sqrt(2) for a ReLU layer, 1 otherwise)."""
        return [GAINS[self.activation]] * (self.depth - 1) + [1.0]

    def init(self, seed: int = 0, dtype: str = "float64") -> list:
        """Weights W_l = sigma g_l Z_l with Z_l i.i.d. N(0, 1) drawn from ``seed``.

        The standard normals depend only on (seed, shapes), not on sigma or the dtype, so a
        sweep over init scales rescales one draw.
        """
        rng = np.random.default_rng(seed)
        return [
            torch.as_tensor(self.init_scale * g * rng.standard_normal(shape), dtype=dtype_of(dtype))
            for g, shape in zip(self.gains, self.shapes)
        ]

    def check_weights(self, weights) -> list:
        """Validate a list of weight tensors (or arrays) against ``shapes``; return tensors."""
        if len(weights) != self.depth:
            raise ValueError(f"expected {self.depth} weight matrices, got {len(weights)}")
        out = []
        for l, (w, shape) in enumerate(zip(weights, self.shapes), start=1):
            w = torch.as_tensor(w)
            if tuple(w.shape) != shape:
                raise ValueError(f"W_{l} must have shape {shape}, got {tuple(w.shape)}")
            if not torch.isfinite(w).all():
                raise ValueError(f"W_{l} must be finite")
            out.append(w)
        return out


def _phi(name: str, h):
    if name == "relu":
        return torch.relu(h)
    if name == "tanh":
        return torch.tanh(h)
    return h


def _phi_prime(name: str, h, a):
    if name == "relu":
        return torch.sign(a)  # a = relu(h) >= 0: 1 where h > 0, else 0 (faster than a comparison)
    if name == "tanh":
        return 1.0 - a * a
    return torch.ones_like(h)


def factors(net: MLP, weights, x):
    """One forward and one backward pass: f(x), the layer inputs a_{l-1} and delta_l = df/dh_l.

    Parameters
    ----------
    net : MLP
    weights : list of tensors W_1 ... W_L
    x : tensor (n, input_dim)

    Returns
    -------
    f : tensor (n,)
    inputs : list of L tensors, a_0 = x ... a_{L-1}, each (n, fan_in)
    deltas : list of L tensors, delta_1 ... delta_L, each (n, fan_out) (delta_L = 1)
    """
    c = net.multipliers
    inputs, pre = [], []
    a = x
    for l, w in enumerate(weights):
        inputs.append(a)
        h = c[l] * (a @ w.T)
        pre.append(h)
        if l < net.depth - 1:
            a = _phi(net.activation, h)
    f = pre[-1][:, 0]
    deltas = [torch.ones_like(pre[-1])]
    for l in range(net.depth - 2, -1, -1):
        back = c[l + 1] * (deltas[0] @ weights[l + 1])
        deltas.insert(0, _phi_prime(net.activation, pre[l], inputs[l + 1]) * back)
    return f, inputs, deltas


def forward(net: MLP, weights, x):
    """f(x) for a batch x (n, input_dim): tensor (n,)."""
    a = x
    c = net.multipliers
    for l, w in enumerate(weights):
        h = c[l] * (a @ w.T)
        a = _phi(net.activation, h) if l < net.depth - 1 else h
    return a[:, 0]


def ntk_from_factors(net: MLP, inputs, deltas, rows=None, cols=None, weighted: bool = True):
    """Per-layer NTK terms Theta_l on (rows x cols) of a factored batch: tensor (L, n_rows, n_cols).

    Theta_l(x, x') = eta_l c_l^2 (delta_l(x) . delta_l(x')) (a_{l-1}(x) . a_{l-1}(x')); with
    ``weighted=False`` the eta_l are left out (the un-weighted NTK of spec D.6).
    """
    rows = slice(None) if rows is None else rows
    cols = slice(None) if cols is None else cols
    eta = net.learning_rates if weighted else [1.0] * net.depth
    terms = []
    for l in range(net.depth):
        d, a = deltas[l], inputs[l]
        gram_d = d[rows] @ d[cols].T
        gram_a = a[rows] @ a[cols].T
        terms.append((eta[l] * net.multipliers[l] ** 2) * gram_d * gram_a)
    return torch.stack(terms)


def ntk(net: MLP, weights, x, x2=None, weighted: bool = True):
    """Learning-rate-weighted empirical NTK per layer: tensor (L, n, n2); sum over axis 0 for Theta.

    Theta(x, x') = sum_l eta_l df(x)/dW_l . df(x')/dW_l (see the module docstring). ``x2``
    defaults to ``x``. In the exact model's case (depth 2, linear, 1-D input) the sum is
    K x x' with K = kappa^2 (eta_u |w|^2 + eta_w |u|^2) (spec D.6).
    """
    if x2 is None:
        _, inputs, deltas = factors(net, weights, x)
        return ntk_from_factors(net, inputs, deltas, weighted=weighted)
    n = x.shape[0]
    _, inputs, deltas = factors(net, weights, torch.cat([x, x2]))
    return ntk_from_factors(net, inputs, deltas, slice(0, n), slice(n, None), weighted=weighted)


def trace_terms(net: MLP, inputs, deltas, weighted: bool = True):
    """Per-layer diagonal mean of the NTK over the batch: tensor (L,), mean_x Theta_l(x, x).

    Equals tr(Theta_l)/n, computed in O(n width) from |delta_l(x)|^2 |a_{l-1}(x)|^2.
    """
    eta = net.learning_rates if weighted else [1.0] * net.depth
    return torch.stack(
        [
            (eta[l] * net.multipliers[l] ** 2) * ((deltas[l] ** 2).sum(dim=1) * (inputs[l] ** 2).sum(dim=1)).mean()
            for l in range(net.depth)
        ]
    )


def loss_gradients(net: MLP, inputs, deltas, residual):
    """Gradients dL/dW_l of L = mean((f - y)^2)/2: c_l (delta_l * r)^T a_{l-1} / n, for r = f - y."""
    n = residual.shape[0]
    return [(net.multipliers[l] / n) * ((deltas[l] * residual[:, None]).T @ inputs[l]) for l in range(net.depth)]
