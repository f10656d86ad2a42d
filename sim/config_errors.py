"""Pydantic validation errors as one line naming the offending key."""

from __future__ import annotations

from envs.errors import BanditsimError


class ConfigError(BanditsimError):
    """A run config is invalid (unknown key, wrong type, out-of-range value, bad file)."""


def _printable(text: str) -> str:
    """``text`` with control characters escaped, so an error stays one readable line."""
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


def describe_validation_error(exc, source: str = "config") -> str:
    """``config: agents.0.params.epsilon: Input should be less than or equal to 1`` from a pydantic error."""
    err = exc.errors()[0]
    loc = _printable(".".join(str(p) for p in err.get("loc", ()) if p not in ("function-after", "function-before")))
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        return f"{source}: unknown key '{loc}'"
    if kind == "missing":
        return f"{source}: missing required key '{loc}'"
    msg = err.get("msg", "invalid value")
    msg = _printable(msg.removeprefix("Value error, "))
    more = len(exc.errors()) - 1
    tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"{source}: {loc}: {msg}{tail}" if loc else f"{source}: {msg}{tail}"
