"""Pydantic validation errors as one line naming the offending key."""

from __future__ import annotations

from banditsim.envs.errors import BanditsimError


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
        return f"{source}: unknown key '{loc}'{_suggestion(exc.title, err.get('loc', ()))}"
    if kind == "missing":
        return f"{source}: missing required key '{loc}'"
    msg = err.get("msg", "invalid value")
    msg = _printable(msg.removeprefix("Value error, "))
    more = len(exc.errors()) - 1
    tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"{source}: {loc}: {msg}{tail}" if loc else f"{source}: {msg}{tail}"


def validate_model(model, data, source: str = "config"):
    """``data`` validated by pydantic ``model``; any problem is one :class:`ConfigError` line naming the key."""
    from pydantic import ValidationError

    if not isinstance(data, dict):
        raise ConfigError(f"{source}: top level must be a mapping of sections, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, source)) from None


def _model_named(title: str):
    """The config model class called ``title`` (every config model derives from ``banditsim.sim.config.section.Section``)."""
    from banditsim.sim.config.section import Section

    todo = [Section]
    while todo:
        cls = todo.pop()
        if cls.__name__ == title:
            return cls
        todo.extend(cls.__subclasses__())
    return None


def _inner_model(annotation):
    """The model class inside ``Optional[X]``, ``list[X]``, ``dict[str, X]`` (or None)."""
    import typing

    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def valid_keys(title: str, loc) -> list[str]:
    """The keys allowed where ``loc`` (a pydantic error location) points, in model ``title``."""
    model = _model_named(title)
    for part in list(loc)[:-1]:
        if model is None:
            return []
        if isinstance(part, int) or part not in model.model_fields:
            continue  # a list index or a validator tag: stay on the same model
        model = _inner_model(model.model_fields[part].annotation)
    return list(model.model_fields) if model is not None else []


def _suggestion(title: str, loc) -> str:
    """``; did you mean 'user_column'?`` for the closest valid key (difflib), else the valid keys."""
    import difflib

    keys = valid_keys(title, loc)
    if not keys or not loc:
        return ""
    close = difflib.get_close_matches(str(loc[-1]), keys, n=1, cutoff=0.6)
    if close:
        return f"; did you mean '{close[0]}'?"
    return f"; valid keys here: {', '.join(keys)}"
