"""The result types shared by the exact solution and the simulators.

``solve`` (closed form) and ``simulate`` (the actual d-dimensional network) return the same
``Trajectory``, so tests and figures compare them field by field. Both types have one attribute per
observable of ``phasefl.schema.OBSERVABLES`` (in that order), named and described there.
"""

from __future__ import annotations

from typing import Any

from .schema import OBSERVABLES

__all__ = ["OBSERVABLES", "State", "Trajectory", "one_network"]


class _Record:
    """Read-only attributes ``FIELDS`` given by keyword, all of them and nothing else."""

    FIELDS: tuple[str, ...] = ()
    __slots__ = ()

    def __init__(self, **values: Any) -> None:
        missing = [name for name in self.FIELDS if name not in values]
        unknown = [name for name in values if name not in self.FIELDS]
        if missing or unknown:
            raise TypeError(
                f"{type(self).__name__} takes exactly {', '.join(self.FIELDS)}; missing {missing}, unknown {unknown}"
            )
        for name in self.FIELDS:
            object.__setattr__(self, name, values[name])

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")

    def __getattr__(self, name: str) -> Any:  # only reached for names that are not fields
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}; it has {', '.join(self.FIELDS)}")

    def __eq__(self, other: object) -> bool:  # field by field, as a dataclass compares
        if type(other) is not type(self):
            return NotImplemented
        return tuple(getattr(self, name) for name in self.FIELDS) == tuple(getattr(other, n) for n in self.FIELDS)

    def __reduce__(self):  # pickle through the constructor (__setattr__ refuses the default way)
        return _rebuild, (type(self), {name: getattr(self, name) for name in self.FIELDS})


def _rebuild(cls: type, values: dict) -> Any:
    return cls(**values)


class State(_Record):
    """All observables at one time (floats, or arrays of a batch's shape), e.g. ``Trajectory.final``
    at t = infinity: one attribute per name in ``OBSERVABLES``."""

    FIELDS = OBSERVABLES
    __slots__ = OBSERVABLES

    def __repr__(self) -> str:
        return "State(" + ", ".join(f"{name}={getattr(self, name)!r}" for name in self.FIELDS) + ")"


class Trajectory(_Record):
    """Observables over ``times`` (each an array whose last axis runs over the times) and ``final``,
    the ``State`` at t = infinity (or None): one attribute per name in ``OBSERVABLES``."""

    FIELDS = ("times", *OBSERVABLES, "final")
    __slots__ = FIELDS

    def __init__(self, *, final: State | None = None, **values: Any) -> None:
        super().__init__(final=final, **values)

    def at(self, i: int) -> State:
        """The observables at ``times[i]``."""
        return State(**{name: float(getattr(self, name)[i]) for name in OBSERVABLES})

    def __repr__(self) -> str:
        """A few rows (first, last, and t = infinity) instead of the full arrays."""
        n = len(self.times)
        rows = sorted({0, n - 1}) if n else []
        head = f"Trajectory({n} times from {self.times[0]:.4g} to {self.times[-1]:.4g}" if n else "Trajectory(0 times"
        lines = [head + ", observables: " + ", ".join(OBSERVABLES) + ")"]
        lines.append("  " + f"{'t':>11}" + "".join(f"{name:>13}" for name in OBSERVABLES))
        for i in rows:
            lines.append(
                "  " + f"{self.times[i]:>11.4g}" + "".join(f"{getattr(self, k)[i]:>13.6g}" for k in OBSERVABLES)
            )
        if self.final is not None:
            lines.append("  " + f"{'inf':>11}" + "".join(f"{getattr(self.final, k):>13.6g}" for k in OBSERVABLES))
        return "\n".join(lines)


def one_network(traj: Trajectory) -> Trajectory:
    """A batch trajectory of one cell (fields of shape (T,), ``final`` fields of shape ()) as one
    network's: the same arrays, with ``final`` as floats."""
    final = State(**{name: float(getattr(traj.final, name)) for name in OBSERVABLES})
    return Trajectory(times=traj.times, **{name: getattr(traj, name) for name in OBSERVABLES}, final=final)
