"""One writer per output directory: a lock that a second ``kgbuild``/``features``/``train`` meets.

:func:`output_lock` takes an exclusive lock (``filelock``, an OS-level ``flock`` released when the
process dies) on ``DIR/.artkg.lock`` and records who holds it in ``DIR/.artkg.lock.json``. A second
writer fails at once with one line that names the other process, or waits up to ``wait`` seconds.
A directory that the lock itself created and that is still empty afterwards (a failed first build)
is removed again, so nothing half-made is left behind.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from artkg.kg.errors import InputError

LOCK, OWNER = ".artkg.lock", ".artkg.lock.json"


class LockedError(InputError):
    """Another process is writing the directory."""


def _owner_text(root: Path) -> str:
    try:
        owner = json.loads((root / OWNER).read_text())
        return f"pid {owner['pid']}: {owner['command']}, since {owner['started']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


@contextmanager
def output_lock(root: str | os.PathLike, what: str = "--out", wait: float = 0.0) -> Iterator[Path]:
    """Hold the write lock of directory ``root`` (created if missing) for the block.

    ``what`` names the option that chose the directory, for the error's fix. ``wait``: seconds to
    wait for another writer (0: fail at once).
    """
    import filelock

    root = Path(root)
    if root.exists() and not root.is_dir():
        raise InputError(f"{root} exists and is not a directory", f"choose another {what}")
    created = not root.exists()
    root.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(str(root / LOCK), timeout=wait, is_singleton=False)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise LockedError(f"{root} is being written by another artkg process ({_owner_text(root)})",
                          f"wait for it to finish, or choose another {what}") from None
    try:
        owner = {"pid": os.getpid(), "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
                 "started": dt.datetime.now().isoformat(timespec="seconds")}
        (root / OWNER).write_text(json.dumps(owner) + "\n")
        yield root
    finally:
        (root / OWNER).unlink(missing_ok=True)
        lock.release()
        if created and _only_lock_left(root):
            shutil.rmtree(root, ignore_errors=True)


def _only_lock_left(root: Path) -> bool:
    try:
        return {p.name for p in root.iterdir()} <= {LOCK, OWNER}
    except OSError:
        return False


def is_locked(root: str | os.PathLike) -> str | None:
    """Who holds ``root``'s lock (a description), or ``None`` when nobody does."""
    import filelock

    root = Path(root)
    if not (root / LOCK).exists():
        return None
    lock = filelock.FileLock(str(root / LOCK), timeout=0, is_singleton=False)
    try:
        lock.acquire()
    except filelock.Timeout:
        return _owner_text(root)
    lock.release()
    return None
