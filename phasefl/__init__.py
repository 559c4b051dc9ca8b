"""phasefl: exact feature-learning phase diagrams of the solvable linear network of Xu & Ziyin.

The network f(x) = kappa sum_i u_i w_i x on one-dimensional data, trained by gradient flow
with layer-wise learning rates, solved exactly.
"""

__version__ = "0.1.0"  # first: the modules below record it in their outputs

from .asymptotics import phase_exponents
from .baseline import kernel_baseline, kernel_baseline_batch
from .gram import Gram, gram, sample_gram
from .params import Model
from .probabilities import RegimeProbabilities, regime_probabilities
from .regimes import LABELS, Classification, classify, classify_batch
from .results import OBSERVABLES, State, Trajectory
from .scalings import Configuration, parametrization
from .solve import final_batch, slope_batch, solve, solve_batch

__all__ = [
    "LABELS",
    "OBSERVABLES",
    "Classification",
    "Configuration",
    "Gram",
    "Model",
    "RegimeProbabilities",
    "State",
    "Trajectory",
    "classify",
    "classify_batch",
    "final_batch",
    "gram",
    "kernel_baseline",
    "kernel_baseline_batch",
    "parametrization",
    "regime_probabilities",
    "phase_exponents",
    "sample_gram",
    "simulate",
    "solve",
    "slope_batch",
    "solve_batch",
]


def __getattr__(name):
    # The reference simulator pulls in scipy.integrate; load it on first use to keep start-up fast.
    if name == "simulate":
        from .simulation import simulate

        return simulate
    raise AttributeError(f"module 'phasefl' has no attribute {name!r}")
