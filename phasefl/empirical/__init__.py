"""phasefl.empirical: the three mechanisms in deep nonlinear networks on a real task.

Trains small fully connected networks (depth 2-8 weight layers, ReLU / tanh / linear, widths up
to a few thousand) on scikit-learn's digits (bundled; nothing is downloaded) by small-step
full-batch gradient descent, a discretized gradient flow, and measures the exact model's
observables: the learning-rate-weighted empirical NTK on a fixed probe batch (its scale change,
its kernel-target alignment), each layer's rotation and norm change, train/test loss and
accuracy. Each run is labelled kernel / alignment / disalignment / rescaling with the exact
model's rule and thresholds (``phasefl.regimes``) and compared with its linearized (kernel)
counterpart trained by the same steps.

Needs the optional extra: ``pip install -e '.[empirical]'`` (PyTorch 2.13.0, CPU build, and
scikit-learn). The command line is ``python -m phasefl.empirical --axis init_scale,lr_ratio``.

Definitions (each reduces to the exact model's in its case: depth 2, linear, 1-D input):

* NTK: Theta(x, x') = sum_l eta_l df(x)/dW_l . df(x')/dW_l (``ntk``); its scale is tr Theta / P on
  the probe batch, = K mean(x^2) in the exact model, so tr Theta(t) / tr Theta(0) = K(t) / K0.
* rK = tr Theta(T) / tr Theta(0) - 1 at the end T of training.
* zeta = |T_last - T_hidden| / (T_last + T_hidden), the layer imbalance of the NTK's trace at init,
  = zeta_exact sqrt(1 - Gamma0^2) in the exact model (``train`` explains why).
"""

from importlib import import_module

#: public name -> submodule; loaded on first use, so that ``python -m phasefl.empirical --help`` and the
#: missing-PyTorch error need no PyTorch.
_PUBLIC = {
    "Dataset": "data",
    "digits": "data",
    "MLP": "network",
    "factors": "network",
    "forward": "network",
    "ntk": "network",
    "EmpiricalSpec": "sweeps",
    "make_axis": "sweeps",
    "sweep": "sweeps",
    "SUMMARY": "training",
    "Run": "training",
    "Schedule": "training",
    "train": "training",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name):
    if name in _PUBLIC:
        return getattr(import_module(f".{_PUBLIC[name]}", __name__), name)
    raise AttributeError(f"module 'phasefl.empirical' has no attribute {name!r}")
