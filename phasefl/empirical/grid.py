"""Names, defaults and meaning of the empirical sweep's axes (no PyTorch needed: the CLI's --help uses it)."""

from __future__ import annotations

#: Axes of an empirical sweep, in the order of the command line.
AXES = ("init_scale", "lr_ratio", "output_scale", "width")

#: name -> (long name, units), stored as coordinate attributes.
AXIS_INFO = {
    "init_scale": ("init scale sigma of every layer", "x base std (sqrt(2) for ReLU layers, 1 otherwise)"),
    "lr_ratio": ("learning-rate ratio eta_hidden / eta_last", "1"),
    "output_scale": ("output scale kappa", "x base kappa (width^-1/2 for ntk, width^-1 for mean-field)"),
    "width": ("width (hidden units per layer)", "hidden units"),
}

#: Default range of each axis (START:STOP:N, log-spaced).
DEFAULT_RANGES = {
    "init_scale": "1e-2:1e1:7",
    "lr_ratio": "1e-2:1e2:5",
    "output_scale": "1e-2:1e2:6",
    "width": "16:1024:4",
}

#: Value of each parameter that is not an axis.
FIXED_DEFAULTS = {"init_scale": 1.0, "lr_ratio": 1.0, "output_scale": 1.0, "width": 256.0}

#: Output-scale bases: kappa = output_scale * width^-exponent.
BASES = {"ntk": 0.5, "mean-field": 1.0}

#: Largest width accepted.
MAX_WIDTH = 4096
