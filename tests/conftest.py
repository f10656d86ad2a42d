"""Session-wide setup of the tests under ``tests/``: each distinct taste fit is computed once.

Fitting users to ratings (``envs.fit_ratings.fit_tastes``: the built-in MovieLens users take
5-9 s on 2 cores) is repeated with identical inputs by every default-config run, the Gymnasium
default world, the MovieLens export round trip and several other tests. The fit is deterministic
(one BLAS thread, seeded splits), so within one pytest session it is memoised by value
(:mod:`tests.session_memo`): the first call fits for real, a later call with equal item vectors,
ratings and settings gets a deep copy of that result.

A call always fits afresh when it shows progress (``progress=True``, or
``BANDITSIM_PROGRESS_SECONDS`` set, as the progress-line tests do), when a test has replaced
anything in the fit's modules (a knob such as ``GRAM_BYTES``, or a function: the fit would not be
the one memoised), and always with ``BANDITSIM_TEST_NO_MEMO=1`` in the environment.
"""

from __future__ import annotations

import importlib
import os
import sys

#: the modules whose code and module-level knobs the fit runs on
FIT_MODULES = ("envs.fit_ratings", "envs.text_mf", "envs.text_mf_choice", "envs.grouped_ridge",
               "envs.blas_threads", "envs.progress", "envs.population")
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


def pytest_configure(config):
    """Wrap ``fit_tastes`` (where it is defined and where it is imported by name) in the session memo."""
    if os.environ.get("BANDITSIM_TEST_NO_MEMO"):
        return
    import envs.fit_ratings as fit_ratings
    import envs.ratings_log as ratings_log
    from tests.session_memo import memoise_by_value

    if getattr(fit_ratings.fit_tastes, "memo_stats", None) is None:
        # 32 results: the small fits of tests/envs/test_text_mf.py and tests/sim/test_ratings_population.py
        # (kilobytes each) must not push out the MovieLens fit (10.5 MB) between its users
        fit_ratings.fit_tastes = memoise_by_value(fit_ratings.fit_tastes, when=_memo_applies, max_entries=32)
    ratings_log.fit_tastes = fit_ratings.fit_tastes
    for name in FIT_MODULES:
        _AS_IMPORTED[name] = {k: v for k, v in vars(importlib.import_module(name)).items() if not k.startswith("__")}
