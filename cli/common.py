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


def _click_exceptions() -> list:
    """click's exception modules: typer ≥ 0.20 carries its own copy of click, older ones use click."""
    import importlib

    found = []
    for name in ("typer._click.exceptions", "click.exceptions"):
        try:
            found.append(importlib.import_module(name))
        except ImportError:
            pass
    return found


def run_app(app: typer.Typer) -> None:
    """Run a typer app so that every mistake on the command line is one line on stderr, exit code 2.

    click prints a usage error as a usage line, a hint and a boxed message; here it becomes
    ``error: <message> — see `artkg train --help```. Exceptions that are not the user's (bugs) still
    show their traceback.
    """
    modules = _click_exceptions()
    no_args = tuple(m.NoArgsIsHelpError for m in modules if hasattr(m, "NoArgsIsHelpError"))
    usage = tuple(m.UsageError for m in modules)
    other = tuple(m.ClickException for m in modules)
    abort = tuple(m.Abort for m in modules if hasattr(m, "Abort"))
    try:
        code = app(standalone_mode=False)
    except no_args as exc:  # `artkg` alone: its help
        typer.echo(exc.ctx.get_help() if exc.ctx is not None else exc.format_message())
        sys.exit(0)
    except usage as exc:
        where = exc.ctx.command_path if exc.ctx is not None else (app.info.name or "the command")
        message = " ".join(exc.format_message().split())
        typer.echo(f"error: {message} — see `{where} --help`", err=True)
        sys.exit(2)
    except other as exc:  # e.g. a file option that cannot be opened
        typer.echo(f"error: {' '.join(exc.format_message().split())}", err=True)
        sys.exit(exc.exit_code)
    except abort:
        typer.echo("error: aborted", err=True)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


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
