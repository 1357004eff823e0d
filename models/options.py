"""``JsonOptions``: a dataclass of options that reads and writes JSON (a run's ``config.json``).

Values are validated against the dataclass's annotations with pydantic (types, and ranges written
as ``Annotated[float, Field(gt=0)]``): a wrong value is one line naming the key, the value, what is
expected and an example (the default), e.g. ``lr in cfg.json must be a valid number, unable to parse
string as a number (got 'fast') — e.g. "lr": 0.001``. Subclasses add the checks that relate several
options in :meth:`JsonOptions.validate`.
"""
from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import typing
from pathlib import Path
from typing import Annotated, Any, Callable

try:  # ranges of option values, read by pydantic from the annotations
    from pydantic import Field
except ImportError:  # pragma: no cover - pydantic is a core dependency
    def Field(**_: Any) -> None:  # noqa: N802
        return None

PositiveInt = Annotated[int, Field(ge=1)]
NonNegativeInt = Annotated[int, Field(ge=0)]
PositiveFloat = Annotated[float, Field(gt=0)]
NonNegativeFloat = Annotated[float, Field(ge=0)]
Fraction = Annotated[float, Field(ge=0, lt=1)]  # [0, 1)


@functools.lru_cache(maxsize=None)
def _adapters(cls: type) -> dict:
    from pydantic import TypeAdapter

    hints = typing.get_type_hints(cls, include_extras=True)
    return {f.name: TypeAdapter(hints[f.name]) for f in dataclasses.fields(cls) if f.name in hints}


def _why(exc, key: str, where: str, value: Any, example: Any) -> str:
    """One line from a pydantic ValidationError."""
    errors = exc.errors()
    err = errors[0]
    inner = "" if len(errors) > 1 else ".".join(str(x) for x in err.get("loc", ()))  # a union: no one place
    name = f"{key}[{inner}]" if inner else key
    msg = err["msg"].replace("Input should be", "must be").replace("Value error, ", "")
    if msg.startswith("Input"):
        msg = "is invalid: " + msg
    return f"{name} in {where} {msg} (got {value!r})", f"e.g. {json.dumps({key: example})[1:-1]}"


def validate_values(cls: type, d: dict, where: str) -> dict:
    """``d`` with every value checked (and coerced: ``"3"`` → 3) against ``cls``'s field types."""
    from pydantic import ValidationError

    from artkg.kg.errors import InputError

    adapters = _adapters(cls)
    defaults = {f.name: (f.default if f.default is not dataclasses.MISSING else
                         f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
                for f in dataclasses.fields(cls)}
    out = dict(d)
    for key, value in d.items():
        if key not in adapters:
            continue
        try:
            out[key] = adapters[key].validate_python(value)
        except ValidationError as exc:
            raise InputError(*_why(exc, key, where, value, defaults.get(key))) from None
    return out


def check_call_kwargs(fn: Callable, kwargs: dict, what: str) -> dict:
    """Check the types of ``kwargs`` for ``fn`` (a class or function) against its annotations.

    Unknown names are left to the caller; annotations that cannot be resolved are not checked.
    Returns the kwargs, coerced (``"32"`` → 32).
    """
    from pydantic import TypeAdapter, ValidationError

    from artkg.kg.errors import InputError

    target = fn.__init__ if inspect.isclass(fn) else fn
    try:
        hints = typing.get_type_hints(target, include_extras=True)
    except Exception:  # forward references to optional packages: skip the check
        return dict(kwargs)
    params = inspect.signature(fn).parameters
    out = dict(kwargs)
    for key, value in kwargs.items():
        if key not in hints:
            continue
        try:
            out[key] = TypeAdapter(hints[key]).validate_python(value)
        except ValidationError as exc:
            default = params[key].default if key in params else None
            default = None if default is inspect.Parameter.empty else default
            problem, fix = _why(exc, key, what, value, default)
            raise InputError(problem, fix) from None
        except Exception:  # a type pydantic cannot build a validator for: not checked
            continue
    return out


class JsonOptions:
    """Mixin for option dataclasses: unknown keys are a clear error, ``_comment`` keys document."""

    def validate(self) -> None:  # subclasses check their values
        pass

    @classmethod
    def from_dict(cls, d: dict, where: str = "the config"):
        from artkg.kg.errors import InputError

        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(k for k in d if k not in names and not k.startswith("_"))
        if unknown:
            raise InputError(f"unknown option(s) in {where}: {', '.join(unknown)}",
                             f"valid options are {', '.join(sorted(names))}")
        values = validate_values(cls, {k: v for k, v in d.items() if k in names}, where)
        config = cls(**values)
        config.validate()
        return config

    @classmethod
    def from_file(cls, path: str | Path):
        from artkg.kg.errors import InputError

        path = Path(path)
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise InputError(f"cannot read the config {path}: {exc.strerror}", "pass an existing JSON file") from exc
        except ValueError as exc:
            raise InputError(f"{path} is not valid JSON: {exc}", "fix the file (see examples/configs/)") from exc
        if not isinstance(d, dict):
            raise InputError(f"{path} must hold a JSON object", "see examples/configs/")
        return cls.from_dict(d, str(path))

    @classmethod
    def coerce(cls, config=None, overrides: dict | None = None):
        """An instance from ``None`` (the defaults), an instance, a dict or a JSON file path, with
        ``overrides`` applied (and validated)."""
        if config is None:
            config = cls()
        elif isinstance(config, (str, Path)):
            config = cls.from_file(config)
        elif isinstance(config, dict):
            config = cls.from_dict(config)
        return config.replace(**(overrides or {}))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def replace(self, **changes):
        return type(self).from_dict({**self.to_dict(), **changes})
