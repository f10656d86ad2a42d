"""Parameter declarations of the world's parts: each field's allowed values, written once on its class.

Like scikit-learn's ``_parameter_constraints``: a frozen dataclass lists, in a class-level
``parameters`` table, one :class:`Param` per field a config may set (its default is the
dataclass field's), and its ``__post_init__`` calls :func:`check_parameters`. The run config builds its
world sections from the same table (``banditsim.sim.config.world_sections``), so a default,
a range or a key's help text is written once. Plain checks, not pydantic, so the world's
errors stay :class:`WorldConfigError` with one line naming the field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from banditsim.envs.world_errors import WorldConfigError


@dataclass(frozen=True)
class Param:
    """Allowed values of one parameter and its one-line help text.

    ``ge``/``gt``/``le``/``lt``: bounds; ``finite``: no inf/nan; ``integer``: a true integer
    (not a bool, not 2.5); ``choices``: the only values allowed; ``optional``: None allowed too.
    A Param with none of them is help text only: any value is allowed.

    >>> Param("", ge=0, lt=1).describe(), Param("", integer=True, ge=1).describe()
    ('in [0, 1)', 'an integer ≥ 1')
    >>> Param("", choices=("full", "tastes")).admits("tastes"), Param("", gt=0).admits(float("nan"))
    (True, False)
    """

    doc: str
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    finite: bool = False
    integer: bool = False
    choices: tuple | None = None
    optional: bool = False

    def admits(self, value) -> bool:
        """Whether ``value`` is allowed."""
        if self.choices is None and not (self.integer or self.finite or self.optional or self._bounds()):
            return True  # help text only (a switch such as ``enabled``)
        if value is None:
            return self.optional
        if self.choices is not None:
            return value in self.choices
        if self.integer and (isinstance(value, bool) or not isinstance(value, (int, np.integer))):
            return False
        try:
            x = float(value)
        except (TypeError, ValueError):
            return False
        if self.finite and not math.isfinite(x):
            return False
        return ((self.ge is None or x >= self.ge) and (self.gt is None or x > self.gt)
                and (self.le is None or x <= self.le) and (self.lt is None or x < self.lt))

    def _bounds(self) -> list[tuple[str, float]]:
        return [(op, v) for op, v in (("≥", self.ge), (">", self.gt), ("≤", self.le), ("<", self.lt)) if v is not None]

    def describe(self) -> str:
        """What an allowed value is, as the error message says it."""
        if self.choices is not None:
            return " or ".join(repr(c) for c in self.choices)
        low = (f"[{self.ge:g}" if self.ge is not None else f"({self.gt:g}" if self.gt is not None else None)
        high = (f"{self.le:g}]" if self.le is not None else f"{self.lt:g})" if self.lt is not None else None)
        if low and high:
            text = f"in {low}, {high}"
        else:
            text = " and ".join(f"{op} {v:g}" for op, v in self._bounds())
        text = ("an integer " if self.integer else "finite and " if self.finite else "") + text
        return text + (" or None" if self.optional else "")


def check_parameters(obj, label: str = "") -> None:
    """Raise :class:`WorldConfigError` for the first field of ``obj`` its ``parameters`` table refuses.

    ``label`` (e.g. ``"fatigue"``) starts the message: ``fatigue recovery must be in [0, 1), got 1``.
    """
    for name, param in type(obj).parameters.items():
        value = getattr(obj, name)
        if not param.admits(value):
            shown = repr(value) if isinstance(value, str) else value
            raise WorldConfigError(f"{label + ' ' if label else ''}{name} must be {param.describe()}, got {shown}")
