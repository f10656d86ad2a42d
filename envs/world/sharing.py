"""Deep copies that share what is never written: a World's copies share its build-time tables."""

from __future__ import annotations

import copy


def deepcopy_sharing(obj, memo: dict, *shared):
    """A deep copy of ``obj`` (for its ``__deepcopy__``) in which the objects ``shared`` are the same
    objects, not copies.

    >>> class Box:
    ...     def __init__(self): self.big, self.state = [0] * 3, [1]
    ...     def __deepcopy__(self, memo): return deepcopy_sharing(self, memo, self.big)
    >>> a = Box(); b = copy.deepcopy(a)
    >>> b.big is a.big, b.state is a.state, b.state == a.state
    (True, False, True)
    """
    for value in shared:
        memo[id(value)] = value
    new = object.__new__(type(obj))
    memo[id(obj)] = new
    for key, value in obj.__dict__.items():
        new.__dict__[key] = copy.deepcopy(value, memo)
    return new
