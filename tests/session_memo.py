"""A test-session memo for deterministic, expensive builders (the users' taste fits).

:func:`memoise_by_value` wraps a function so that a second call with equal arguments (arrays
compared by their bytes, shape and dtype; keyword defaults filled in) returns a deep copy of the
first call's result instead of computing it again. Every caller gets its own copy, so a test that
changes the returned object in place cannot leak into another test. Calls whose arguments cannot
be keyed (an object the key does not understand) and calls that raise are never memoised.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import hashlib
import importlib
import inspect
import os
import sys
from collections import OrderedDict

import numpy as np


class _Unkeyable(Exception):
    pass


def _feed(h, value) -> None:
    """Hash ``value`` by content: arrays by bytes/shape/dtype, containers and dataclasses item by item."""
    if isinstance(value, np.ndarray):
        arr = np.ascontiguousarray(value)
        h.update(f"nd{arr.shape}{arr.dtype.str}".encode())
        h.update(arr.tobytes())
    elif value is None or isinstance(value, (bool, int, float, str, bytes)):
        h.update(f"{type(value).__name__}:{value!r};".encode())
    elif isinstance(value, (list, tuple)):
        h.update(f"{type(value).__name__}[{len(value)}](".encode())
        for v in value:
            _feed(h, v)
        h.update(b")")
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        h.update(f"dc:{type(value).__module__}.{type(value).__qualname__}(".encode())
        for f in dataclasses.fields(value):
            _feed(h, f.name)
            _feed(h, getattr(value, f.name))
        h.update(b")")
    elif isinstance(value, dict):
        h.update(f"dict[{len(value)}](".encode())
        for k in sorted(value, key=repr):
            _feed(h, k)
            _feed(h, value[k])
        h.update(b")")
    else:
        raise _Unkeyable(type(value).__name__)


def value_key(fn, args: tuple, kwargs: dict) -> str:
    """A digest of the call ``fn(*args, **kwargs)`` by value, defaults filled in.

    >>> def f(x, *, scale=2.0):
    ...     return x * scale
    >>> value_key(f, (np.ones(3),), {}) == value_key(f, (np.ones(3),), {"scale": 2.0})
    True
    >>> value_key(f, (np.ones(3),), {}) == value_key(f, (np.ones(3, dtype=np.float32),), {})
    False
    """
    bound = inspect.signature(fn).bind(*args, **kwargs)
    bound.apply_defaults()
    h = hashlib.sha256()
    _feed(h, sorted(bound.arguments.items()))
    return h.hexdigest()


def memoise_by_value(fn, *, when=lambda bound: True, max_entries: int = 4):
    """``fn`` with a by-value memo; ``when(bound_arguments)`` False bypasses it (computes afresh).

    At most ``max_entries`` results are kept (the least recently used goes first). The wrapper's
    ``memo_stats`` dict counts ``hits`` and ``misses`` (bypassed calls count as neither).
    """
    memo: OrderedDict[str, object] = OrderedDict()
    stats = {"hits": 0, "misses": 0}
    sig = inspect.signature(fn)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        bound = sig.bind(*args, **kwargs)
        bound.apply_defaults()
        if not when(bound.arguments):
            return fn(*args, **kwargs)
        try:
            key = value_key(fn, args, kwargs)
        except _Unkeyable:
            return fn(*args, **kwargs)
        if key in memo:
            stats["hits"] += 1
            memo.move_to_end(key)
        else:
            memo[key] = fn(*args, **kwargs)
            stats["misses"] += 1
            while len(memo) > max_entries:
                memo.popitem(last=False)
        return copy.deepcopy(memo[key])

    wrapper.memo_stats = stats
    wrapper.memo_clear = memo.clear
    return wrapper


# --- the taste-fit memo the root conftest installs for the whole session -------------------------
# Each distinct taste fit is computed once per test session.
# 
# Fitting users to ratings (``envs.fit_ratings.fit_tastes``: the built-in MovieLens users take
# 5-9 s on 2 cores) is repeated with identical inputs by every default-config run, the Gymnasium
# default world, the MovieLens export round trip and several other tests. The fit is deterministic
# (one BLAS thread, seeded splits), so within one pytest session it is memoised by value
# (this module): the first call fits for real, a later call with equal item vectors,
# ratings and settings gets a deep copy of that result.
# 
# A call always fits afresh when it shows progress (``progress=True``, or
# ``BANDITSIM_PROGRESS_SECONDS`` set, as the progress-line tests do), when a test has replaced
# anything in the fit's modules (a knob such as ``GRAM_BYTES``, or a function: the fit would not be
# the one memoised), and always with ``BANDITSIM_TEST_NO_MEMO=1`` in the environment.


#: the modules whose code and module-level knobs the fit runs on
FIT_MODULES = ("banditsim.envs.fit_ratings", "banditsim.envs.ratings", "banditsim.envs.text_mf", "banditsim.envs.text_mf_choice", "banditsim.envs.grouped_ridge",
               "banditsim._blas_threads", "banditsim.envs.progress", "banditsim.envs.population")
_AS_IMPORTED: dict[str, dict[str, object]] = {}


def fit_modules_untouched() -> bool:
    """Every public and private name of :data:`FIT_MODULES` still holds the object it held at start-up."""
    for name, attrs in _AS_IMPORTED.items():
        now = {k: v for k, v in vars(sys.modules[name]).items() if not k.startswith("__")}
        if now.keys() != attrs.keys() or any(now[k] is not v for k, v in attrs.items()):
            return False
    return True


def _memo_applies(args: dict) -> bool:
    """Memoise only fits that print nothing a test could look for, on the code as imported."""
    return not args["progress"] and not os.environ.get("BANDITSIM_PROGRESS_SECONDS") and fit_modules_untouched()


def install_fit_memo() -> None:
    """Wrap ``fit_tastes`` (where it is defined and where it is imported by name) in the session memo."""
    if os.environ.get("BANDITSIM_TEST_NO_MEMO"):
        return
    import banditsim.envs.fit_ratings as fit_ratings
    import banditsim.envs.ratings_log as ratings_log

    if getattr(fit_ratings.fit_tastes, "memo_stats", None) is None:
        # 32 results: the small fits of tests/envs/test_text_mf.py and tests/sim/test_ratings_population.py
        # (kilobytes each) must not push out the MovieLens fit (10.5 MB) between its users
        fit_ratings.fit_tastes = memoise_by_value(fit_ratings.fit_tastes, when=_memo_applies, max_entries=32)
    ratings_log.fit_tastes = fit_ratings.fit_tastes
    for name in FIT_MODULES:
        _AS_IMPORTED[name] = {k: v for k, v in vars(importlib.import_module(name)).items() if not k.startswith("__")}
