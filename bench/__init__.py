"""Benchmarks of banditsim against its peers (obp, MABWiser, Vowpal Wabbit): ``python -m bench``.

Never imported by the package itself and never run by the test suite (a smoke test runs
``python -m bench --quick`` at tiny size).
"""
