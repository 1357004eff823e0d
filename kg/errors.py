"""One exception type for every user-facing failure: a message that names the problem and a fix."""
from __future__ import annotations


class ArtkgError(Exception):
    """An error a user can act on. The CLI prints it as one line on stderr and exits non-zero."""

    def __init__(self, problem: str, fix: str | None = None):
        self.problem = problem
        self.fix = fix
        super().__init__(problem if not fix else f"{problem} — {fix}")


class EndpointError(ArtkgError):
    """A SPARQL endpoint could not be reached or answered badly, after retries."""


class InputError(ArtkgError):
    """A file, directory or argument given by the user cannot be used."""


class NotFoundError(ArtkgError):
    """A named entity (artist, artwork, class) is not in the graph."""
