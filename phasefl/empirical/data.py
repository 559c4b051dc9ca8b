"""Data sets for the empirical networks: scikit-learn's digits (bundled, offline) and user arrays.

The task is a scalar regression with the MSE loss of the exact model (spec A):
L = E[(f(x) - y)^2] / 2 over the training set, with y = +1 for an even digit and -1 for an
odd one ("parity"). Inputs are standardized with the training set's mean and standard
deviation (constant pixels stay 0). The split and the probe batch are fixed by a seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TASKS = ("parity",)


@dataclass(frozen=True)
class Dataset:
    """A fixed train/test split and the probe batch on which the NTK is measured.

    Attributes
    ----------
    x_train, x_test : float arrays (n, input_dim)
    y_train, y_test : float arrays (n,), the scalar targets
    probe : int array (P,), indices into the training set (the fixed probe batch)
    name : str
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    probe: np.ndarray
    name: str = "custom"

    def __post_init__(self) -> None:
        for part in ("train", "test"):
            x = np.asarray(getattr(self, f"x_{part}"), dtype=float)
            y = np.asarray(getattr(self, f"y_{part}"), dtype=float)
            if x.ndim != 2 or y.ndim != 1 or x.shape[0] != y.shape[0] or x.shape[0] == 0:
                raise ValueError(
                    f"x_{part} must be (n, input_dim) and y_{part} (n,) with n >= 1, got {x.shape} and {y.shape}"
                )
            if not (np.isfinite(x).all() and np.isfinite(y).all()):
                raise ValueError(f"x_{part} and y_{part} must be finite")
            object.__setattr__(self, f"x_{part}", x)
            object.__setattr__(self, f"y_{part}", y)
        if self.x_train.shape[1] != self.x_test.shape[1]:
            dims = (self.x_train.shape[1], self.x_test.shape[1])
            raise ValueError(f"train and test inputs differ in dimension: {dims[0]} vs {dims[1]}")
        probe = np.asarray(self.probe, dtype=np.int64)
        if probe.ndim != 1 or probe.size == 0 or probe.min() < 0 or probe.max() >= self.x_train.shape[0]:
            raise ValueError("probe must be a non-empty 1-D array of training-set indices")
        object.__setattr__(self, "probe", probe)

    @property
    def input_dim(self) -> int:
        return int(self.x_train.shape[1])

    def describe(self) -> dict:
        return {
            "name": self.name,
            "n_train": int(self.x_train.shape[0]),
            "n_test": int(self.x_test.shape[0]),
            "input_dim": self.input_dim,
            "probe_size": int(self.probe.size),
        }


def digits(task: str = "parity", n_train: int = 1200, probe_size: int = 256, seed: int = 0) -> Dataset:
    """scikit-learn's digits (1,797 8x8 images, shipped inside scikit-learn; nothing is downloaded).

    Parameters
    ----------
    task : "parity"
        y = +1 for an even digit, -1 for an odd one.
    n_train : int
        Training images (the rest, 1797 - n_train, are the test set), drawn by ``seed``.
    probe_size : int
        Training images in the fixed probe batch of the NTK (at most n_train).
    seed : int
        Seed of the split and the probe batch.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
    try:
        from sklearn.datasets import load_digits
    except ImportError as err:  # pragma: no cover
        raise ImportError("the digits data set needs scikit-learn: pip install -e '.[empirical]'") from err
    bunch = load_digits()
    x, label = bunch.data.astype(float), bunch.target
    total = x.shape[0]
    if not 2 <= n_train <= total - 1:
        raise ValueError(f"n_train must be between 2 and {total - 1} (digits has {total} images), got {n_train}")
    if not 1 <= probe_size <= n_train:
        raise ValueError(f"probe_size must be between 1 and n_train = {n_train}, got {probe_size}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(total)
    train, test = order[:n_train], order[n_train:]
    mean, std = x[train].mean(axis=0), x[train].std(axis=0)
    std[std == 0] = 1.0
    x = (x - mean) / std
    y = np.where(label % 2 == 0, 1.0, -1.0)
    probe = np.sort(rng.choice(n_train, size=probe_size, replace=False))
    return Dataset(x[train], y[train], x[test], y[test], probe, name=f"digits-{task}")
