"""Turn user-caused errors into one clear line on stderr and a non-zero exit."""

from __future__ import annotations

import sys
from typing import Callable

from banditsim.sim.interrupts import Interrupted

EXIT_BAD_INPUT = 2


def user_error_types() -> tuple[type[BaseException], ...]:
    """Exception types that mean 'the input was bad', not 'banditsim has a bug'."""
    from banditsim.envs.errors import BanditsimError

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
    except OSError as exc:  # a full disk, a read-only folder: the system said no
        if debug:
            raise
        print(f"error: {os_error_line(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except MemoryError as exc:
        if debug:
            raise
        detail = one_line(exc) if str(exc).strip() else "an allocation failed"
        print(f"error: out of memory ({detail}); lower run.horizon, world.n_users, population.n_users or "
              "log.max_rows_per_cell, or use a smaller catalog", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Interrupted as exc:
        print("interrupted", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        interrupt = interrupt_in_chain(exc)
        if interrupt is None or debug:
            raise
        print("interrupted", file=sys.stderr)  # a C extension (Ray's wait) wrapped our Interrupted
        return interrupt.exit_code
    return 0


def interrupt_in_chain(exc: BaseException) -> Interrupted | None:
    """The :class:`Interrupted` that ``exc`` was raised from or during, if any.

    Some C extensions turn an exception raised by a signal handler into their own error
    (Ray's ``wait``: ``SystemError: ... returned a result with an exception set``).
    """
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, Interrupted):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def os_error_line(exc: OSError) -> str:
    """``/x/summary.json: No space left on device`` from an ``OSError`` (the file and the system's reason).

    >>> import errno
    >>> os_error_line(OSError(errno.ENOSPC, "No space left on device", "/r/summary.json"))
    '/r/summary.json: No space left on device'
    """
    what = exc.strerror or one_line(exc)
    if exc.filename:
        return f"{exc.filename}: {what}"
    return f"system error: {what}"
