"""Atomic file writes: write to a temp file (or folder) beside the target, then rename.

An interrupted run therefore never leaves a half-written table at a final path;
at worst a ``.tmp-*`` file remains, which the next run ignores and overwrites.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Iterator

import pandas as pd


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

    Examples
    --------
    >>> with atomic_dir(cache / key, lambda p: (p / "modules.json").is_file()) as tmp:   # doctest: +SKIP
    ...     model.save(str(tmp))
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{target.name}.", dir=target.parent))
    tmp.chmod(target.parent.stat().st_mode & 0o777)
    try:
        yield tmp
        try:
            os.replace(tmp, target)
        except OSError:
            if not finished(target):
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


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
