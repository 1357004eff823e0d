"""``artkg``: query, inspect (and later train and explain on) artkg graph directories.

One module per verb group, each registering its commands on :data:`app`: :mod:`.influence` (influence, index build),
:mod:`.info` (info, schema, ls, version), :mod:`.search`, :mod:`.train` (features, train, eval, predict),
:mod:`.recommend`, :mod:`.signatures`, :mod:`.explain`;
:mod:`.build` holds the separate ``kgbuild`` app."""
from __future__ import annotations

import typer

app = typer.Typer(
    name="artkg",
    help="Computational art history on knowledge graphs. Build graphs with `kgbuild`; query them here.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _register_verb_groups() -> None:
    """Import each verb-group module (it registers its commands on ``app``), then keep the historical help order."""
    from artkg.cli import (  # noqa: F401  (imported for their side effect)
        explain, influence, info, recommend, search, signatures, train)

    explain.register(app)
    order = ["search", "influence", "info", "features", "train", "eval", "predict", "recommend", "signatures", "schema",
             "ls", "version", "explain"]
    app.registered_commands.sort(key=lambda c: order.index(c.name or c.callback.__name__)
                                 if (c.name or c.callback.__name__) in order else len(order))


_register_verb_groups()


def main() -> None:
    """The ``artkg`` entry point (usage errors are one line; see :func:`artkg.cli.common.run_app`)."""
    from artkg.cli.common import run_app

    run_app(app)


def kgbuild_main() -> None:
    """The ``kgbuild`` entry point."""
    from artkg.cli.build import kgbuild_app
    from artkg.cli.common import run_app

    run_app(kgbuild_app)


if __name__ == "__main__":  # pragma: no cover
    main()
