import os
import signal
import subprocess
import sys

import pandas as pd
import pytest

from pipeline.atomic import atomic_path, write_csv, write_parquet


def test_failed_write_leaves_the_old_file_and_no_temp(tmp_path):
    target = tmp_path / "table.csv"
    target.write_text("old\n")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.csv"]


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_written_files_follow_the_umask_like_an_ordinary_write(tmp_path, umask):
    old = os.umask(umask)
    try:
        write_parquet(tmp_path / "table.parquet", pd.DataFrame({"a": [1]}))
        (tmp_path / "plain.txt").write_text("x")
    finally:
        os.umask(old)
    mode = (tmp_path / "table.parquet").stat().st_mode & 0o777
    assert mode == (tmp_path / "plain.txt").stat().st_mode & 0o777 == 0o666 & ~umask


def test_killed_writer_leaves_no_partial_file_and_next_run_recovers(tmp_path):
    target = tmp_path / "out.xlsx"
    code = f"""
from openpyxl import Workbook
from pipeline.atomic import atomic_path
with atomic_path({str(target)!r}) as tmp:
    Workbook().save(tmp)
    print("written", flush=True)
    time.sleep(60)
"""
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "written"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not target.exists()
    # The next run writes the file normally; the stray temp file does not get in its way.
    frame = pd.DataFrame({"a": [1]})
    write_parquet(target.with_suffix(".parquet"), frame)
    from openpyxl import Workbook, load_workbook

    with atomic_path(target) as tmp:
        Workbook().save(tmp)
    assert load_workbook(target).sheetnames


def test_write_csv_neutralises_formulas_but_not_the_frame(tmp_path):
    frame = pd.DataFrame({"text": ["=HYPERLINK(\"http://x\")", "+44 7700", "plain", "@SUM(A1)"], "n": [1, -2, 3, 4]})
    write_csv(tmp_path / "t.csv", frame)
    back = pd.read_csv(tmp_path / "t.csv", encoding="utf-8-sig")
    assert back["text"].tolist() == ["'=HYPERLINK(\"http://x\")", "'+44 7700", "plain", "'@SUM(A1)"]
    assert back["n"].tolist() == [1, -2, 3, 4]
    assert frame.loc[0, "text"].startswith("=")


def test_atomic_dir_renames_a_finished_folder_and_keeps_one_another_process_finished_first(tmp_path):
    from pipeline.atomic import atomic_dir

    def finished(folder):
        return (folder / "done").is_file()

    target = tmp_path / "cache" / "key"
    with atomic_dir(target, finished) as tmp:
        (tmp / "done").write_text("first")
    assert (target / "done").read_text() == "first"

    with atomic_dir(target, finished) as tmp:      # the rename fails: target is a full folder
        (tmp / "done").write_text("second")
    assert (target / "done").read_text() == "first"
    assert sorted(p.name for p in target.parent.iterdir()) == ["key"]   # no temp folder left

    (target / "done").rename(target / "partial")     # an unfinished folder is not mistaken for one
    with pytest.raises(OSError), atomic_dir(target, finished) as tmp:
        (tmp / "done").write_text("third")
    assert sorted(p.name for p in target.parent.iterdir()) == ["key"]


def test_temp_folders_of_killed_writers_are_removed_but_not_those_being_written(tmp_path):
    """A killed atomic_dir leaves its temp folder; it is removed once no live process holds it."""
    import time

    from pipeline.atomic import TEMP_GRACE_SECONDS, atomic_dir, remove_stale_temp_dirs, temp_dir_in_use

    target = tmp_path / "cache" / "key"
    code = f"""
import time
from pipeline.atomic import atomic_dir
with atomic_dir({str(target)!r}, lambda folder: False) as tmp:
    (tmp / "weights").write_bytes(b"x" * 1000)
    print(tmp, flush=True)
    time.sleep(120)
"""
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        from pathlib import Path

        leftover = Path(process.stdout.readline().strip())
        assert leftover.parent == target.parent and leftover.name.startswith(".tmp-key.")
        old = time.time() - 10 * TEMP_GRACE_SECONDS
        os.utime(leftover, (old, old))
        assert temp_dir_in_use(leftover)               # its writer is alive and holds it
        assert remove_stale_temp_dirs(target.parent) == [] and leftover.is_dir()
    finally:
        process.kill()
        process.wait()
    assert not temp_dir_in_use(leftover)
    recent = target.parent / ".tmp-other.abc"          # just made by another process: kept for a while
    recent.mkdir()
    (target.parent / ".tmp-file.xyz").write_text("a stray temp file is left alone")

    # The next atomic_dir of the same target removes its leftovers.
    with atomic_dir(target, lambda folder: False) as tmp:
        (tmp / "weights").write_text("done")
    assert sorted(p.name for p in target.parent.iterdir()) == [".tmp-file.xyz", ".tmp-other.abc", "key"]
    os.utime(recent, (old, old))
    assert remove_stale_temp_dirs(target.parent) == [recent]
    assert sorted(p.name for p in target.parent.iterdir()) == [".tmp-file.xyz", "key"]
