"""``JsonOptions``: a dataclass of options that reads and writes JSON (a run's ``config.json``)."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path


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
        config = cls(**{k: v for k, v in d.items() if k in names})
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
