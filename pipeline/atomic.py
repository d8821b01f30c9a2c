"""Atomic file writes: write to a temp file (or folder) beside the target, then rename.

An interrupted run therefore never leaves a half-written table at a final path;
at worst a ``.tmp-*`` file or folder remains beside it. The next run ignores a
stray temp file. A temp folder (a model or an export, up to about 90 MB) is
removed by the next :func:`atomic_dir` of the same target, or by
:func:`remove_stale_temp_dirs`, once no live process holds it (see
:func:`temp_dir_in_use`).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

if TYPE_CHECKING:  # pandas is not imported here: the workflow imports this module when it loads
    import pandas as pd

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows
    fcntl = None

# A temp folder no process holds a lock on is left alone for this long after it was last
# changed: another process may have just created it and not yet taken its lock.
TEMP_GRACE_SECONDS = 60
# Where folders cannot be locked (some network file systems), a temp folder counts as
# abandoned only when it has not changed for this long.
UNLOCKABLE_TEMP_SECONDS = 24 * 3600


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temp path in the target's folder; rename it onto ``target`` on success.

    Examples
    --------
    >>> with atomic_path("out.xlsx") as tmp:          # doctest: +SKIP
    ...     workbook.save(tmp)
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".tmp-{target.name}.", dir=target.parent)
    # mkstemp makes the file private (0600); give it the permissions an ordinary
    # write would, so that a team sharing the project folder can read the outputs.
    os.fchmod(fd, 0o666 & ~_umask())
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def atomic_dir(target: str | Path, finished: Callable[[Path], bool]) -> Iterator[Path]:
    """Yield a temp folder beside ``target``; rename it onto ``target`` on success.

    For caches that several processes may fill at once: when the rename fails
    because another process has already put a finished folder at ``target``
    (``finished(target)`` is true), that folder is kept and this one dropped.
    The temp folder gets the parent folder's permissions (not mkdtemp's private
    0700), so that a team sharing the project folder can use what is in it.

    While the block runs, this process holds a lock on the temp folder, which
    the operating system releases if the process is killed; temp folders of
    the same target that no process holds any more (left by an interrupted
    run) are removed first.

    Examples
    --------
    >>> with atomic_dir(cache / key, lambda p: (p / "modules.json").is_file()) as tmp:   # doctest: +SKIP
    ...     model.save(str(tmp))
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temp_dirs(target.parent, prefix=f".tmp-{target.name}.")
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{target.name}.", dir=target.parent))
    lock = _lock_dir(tmp)
    try:
        tmp.chmod(target.parent.stat().st_mode & 0o777)
        yield tmp
        try:
            os.replace(tmp, target)
        except OSError:
            if not finished(target):
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
        if lock is not None:
            os.close(lock)


def _lock_dir(folder: Path) -> int | None:
    """An open descriptor of ``folder`` holding an exclusive lock on it; None where folders cannot be locked."""
    if fcntl is None:
        return None
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def temp_dir_in_use(folder: str | Path) -> bool:
    """Whether a temp folder of :func:`atomic_dir` may still be being written.

    True while the process writing it runs (it holds a lock on the folder,
    released by the operating system when the process ends, however it ends),
    and for :data:`TEMP_GRACE_SECONDS` after the folder last changed. Where
    folders cannot be locked, for :data:`UNLOCKABLE_TEMP_SECONDS` after it
    last changed.
    """
    folder = Path(folder)
    try:
        age = time.time() - folder.stat().st_mtime
    except FileNotFoundError:
        return False
    if age < TEMP_GRACE_SECONDS:
        return True
    if fcntl is None:
        return age < UNLOCKABLE_TEMP_SECONDS
    try:
        fd = os.open(folder, os.O_RDONLY)
    except FileNotFoundError:
        return False
    except OSError:
        return age < UNLOCKABLE_TEMP_SECONDS
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True                         # a live process holds it
    except OSError:
        return age < UNLOCKABLE_TEMP_SECONDS   # this file system cannot lock folders
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def remove_stale_temp_dirs(parent: str | Path, prefix: str = ".tmp-") -> list[Path]:
    """Remove the temp folders of :func:`atomic_dir` in ``parent`` that an interrupted run left.

    Only folders whose name starts with ``prefix`` and that are not in use
    (:func:`temp_dir_in_use`) are removed; temp files are left alone.

    Returns
    -------
    list of Path
        The folders removed.
    """
    parent = Path(parent)
    try:
        candidates = [p for p in parent.iterdir() if p.name.startswith(prefix) and p.is_dir()]
    except FileNotFoundError:
        return []
    removed = []
    for folder in candidates:
        if not temp_dir_in_use(folder):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes(target: str | Path, data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def write_text(target: str | Path, text: str) -> None:
    write_bytes(target, text.encode("utf-8"))


def write_json(target: str | Path, obj) -> None:
    write_text(target, json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")


def write_parquet(target: str | Path, frame: pd.DataFrame) -> None:
    with atomic_path(target) as tmp:
        frame.to_parquet(tmp, index=False)


def write_csv(target: str | Path, frame: pd.DataFrame) -> None:
    """Write a CSV for people to open in Excel: UTF-8 with BOM, formula-safe text.

    Text that a spreadsheet would read as a formula is neutralised (see
    :func:`pipeline.spreadsheet.neutralise_formula`); the frame itself is not changed.
    """
    from pipeline.spreadsheet import neutralise_frame

    with atomic_path(target) as tmp:
        neutralise_frame(frame).to_csv(tmp, index=False, encoding="utf-8-sig")
