"""What the CLI modules share: logging to stderr, one-line errors with a fix, JSON output, option parsing."""
from __future__ import annotations

import functools
import json
import logging
import sys
from typing import Any, Callable, Optional

import typer

from artkg.kg.errors import ArtkgError


def setup_logging(verbose: int = 0, quiet: bool = False) -> None:
    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname).1s %(message)s" if verbose else "%(message)s"))
    logger = logging.getLogger("artkg")
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False


def fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def friendly_errors(fn: Callable) -> Callable:
    """Turn ArtkgError (and a few common OS errors) into one line on stderr and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any):
        try:
            return fn(*args, **kwargs)
        except ArtkgError as exc:
            fail(str(exc))
        except KeyboardInterrupt:
            fail("interrupted — what was fetched is cached; rerun the same command to resume", 130)
        except PermissionError as exc:
            fail(f"permission denied: {exc.filename} — choose a writable --out")
        except OSError as exc:
            if exc.errno == 28:
                fail("no space left on the device — free some disk space and rerun (cached answers are kept)")
            raise

    return wrapper


def emit(result: Any, as_json: bool, human: Callable[[Any], str]) -> None:
    """Results to stdout: JSON for machines, text for people."""
    typer.echo(json.dumps(result, indent=2, ensure_ascii=False) if as_json else human(result))


JsonOption = typer.Option(False, "--json", help="Machine-readable JSON on stdout.")


def _json_kwargs(text: str | None, option: str) -> dict:
    from artkg.kg.errors import InputError

    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InputError(f"{option} is not valid JSON: {exc}", f"pass an object, e.g. {option} '{{\"image_size\": 128}}'")
    if not isinstance(value, dict):
        raise InputError(f"{option} must be a JSON object", f"e.g. {option} '{{\"image_size\": 128}}'")
    return value


def _renamed_inputs(old: Optional[str]) -> None:
    """``--features`` once chose the input kind of artwork ranking; that is ``--inputs`` now."""
    if old is not None:
        from artkg.kg.errors import InputError

        raise InputError(f"--features {old}: the input kind is --inputs now (image, text or image+text)",
                         f"pass --inputs {old}")
