"""phasefl: exact feature-learning phase diagrams of the solvable linear network of Xu & Ziyin.

The network f(x) = kappa sum_i u_i w_i x on one-dimensional data, trained by gradient flow
with layer-wise learning rates, solved exactly (spec: shared/spec/model.md).
"""

from .asymptotics import phase_exponents
from .baseline import kernel_baseline, kernel_baseline_batch
from .gram import Gram, gram, sample_gram
from .params import Model
from .regimes import LABELS, Classification, classify, classify_batch
from .results import OBSERVABLES, State, Trajectory
from .simulate import simulate
from .solve import final_batch, solve, solve_batch

__version__ = "0.1.0"

__all__ = [
    "LABELS",
    "OBSERVABLES",
    "Classification",
    "Gram",
    "Model",
    "State",
    "Trajectory",
    "classify",
    "classify_batch",
    "final_batch",
    "gram",
    "kernel_baseline",
    "kernel_baseline_batch",
    "phase_exponents",
    "sample_gram",
    "simulate",
    "solve",
    "solve_batch",
]

