"""Import PyTorch once, with an error that says how to install it."""

from __future__ import annotations

try:
    import torch
except ImportError as err:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "phasefl.empirical needs PyTorch (CPU build) and scikit-learn: pip install -e '.[empirical]' "
        "(it pins torch==2.13.0)"
    ) from err

DTYPES = {"float32": torch.float32, "float64": torch.float64}


def dtype_of(name: str) -> torch.dtype:
    """torch dtype from 'float32' or 'float64' (ValueError otherwise)."""
    if name not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {name!r}")
    return DTYPES[name]


__all__ = ["DTYPES", "dtype_of", "torch"]
