"""The names of what phasefl computes, in one place: the inputs of a cell, the observables of a
trajectory and the order parameters of a cell, each with its long name and units.

The generated program declares them (``phasefl.symbolic.lowering.INTERFACE``, written out by
``make generate``); ``Trajectory`` and ``State``, the sweep's Dataset and zarr store, and the CLI
are built from these tables, so a quantity added on the symbolic side reaches all of them.
"""

from __future__ import annotations

from ._generated.closed_form import DESCRIPTIONS, INPUTS, OBSERVABLES, ORDER_PARAMETERS

__all__ = ["INPUTS", "OBSERVABLES", "ORDER_PARAMETERS", "describe"]


def describe(name: str) -> tuple[str, str]:
    """(long name, units) of an input, observable or order parameter."""
    try:
        return DESCRIPTIONS[name]
    except KeyError:
        raise KeyError(f"{name!r} is not an input, observable or order parameter of phasefl") from None
