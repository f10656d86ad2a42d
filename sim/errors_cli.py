"""Turn user-caused errors into one clear line on stderr and a non-zero exit."""

from __future__ import annotations

import sys
from typing import Callable

EXIT_BAD_INPUT = 2


def user_error_types() -> tuple[type[BaseException], ...]:
    """Exception types that mean 'the input was bad', not 'banditsim has a bug'."""
    from envs.errors import BanditsimError

    types: list[type[BaseException]] = [BanditsimError, ValueError, FileNotFoundError,
                                        PermissionError, IsADirectoryError, NotADirectoryError]
    try:
        from pydantic import ValidationError

        types.insert(0, ValidationError)
    except ImportError:  # pragma: no cover
        pass
    return tuple(types)


def one_line(exc: BaseException) -> str:
    """The first meaningful line of an exception's message."""
    text = str(exc).strip()
    if not text:
        return type(exc).__name__
    return text.splitlines()[0]


def run_guarded(fn: Callable[[], object], debug: bool = False) -> int:
    """Call ``fn``; on a user error print ``error: <message>`` and return exit code 2.

    With ``debug`` the exception propagates (full traceback).
    """
    try:
        fn()
    except user_error_types() as exc:
        if debug:
            raise
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except MemoryError as exc:
        if debug:
            raise
        detail = one_line(exc) if str(exc).strip() else "an allocation failed"
        print(f"error: out of memory ({detail}); use a smaller catalog, world.n_users or population.n_users",
              file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0
