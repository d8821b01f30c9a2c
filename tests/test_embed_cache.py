"""The embedding cache of pipeline/embed.py: a folder of parquet parts per model (no model needed)."""

from __future__ import annotations

import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline import embed, paths


def vectors(start: int, n: int, dim: int = 4) -> dict[str, np.ndarray]:
    """``n`` distinct cache entries, named h<start> … h<start + n - 1>."""
    return {f"h{i}": np.full(dim, i, dtype=np.float32) for i in range(start, start + n)}


def parts(path: Path) -> list[Path]:
    return sorted(path.glob("part-*.parquet"))


def assert_holds(cache: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> None:
    assert set(cache) == set(expected)
    for key, vector in expected.items():
        np.testing.assert_array_equal(cache[key], vector)


@pytest.fixture
def path(tmp_path) -> Path:
    return embed.cache_file(tmp_path, "0123456789abcdef")


def test_the_cache_of_a_model_is_a_folder_under_the_cache_directory(tmp_path):
    assert embed.cache_file(tmp_path, "abc") == tmp_path / paths.EMBEDDING_CACHE / "abc"
    assert embed.read_cache(embed.cache_file(tmp_path, "abc")) == {}


def test_entries_survive_across_calls_and_each_flush_adds_a_part(path):
    embed.write_cache(path, vectors(0, 3))
    embed.write_cache(path, vectors(3, 2))
    embed.write_cache(path, {})                      # nothing to add: no part
    assert len(parts(path)) == 2
    assert_holds(embed.read_cache(path), vectors(0, 5))


def test_many_flushes_are_compacted_into_one_part(path):
    for flush in range(embed.CACHE_MAX_PARTS + 1):
        embed.write_cache(path, vectors(flush * 10, 10))
    assert len(parts(path)) == 1
    embed.write_cache(path, vectors(1000, 1))
    assert len(parts(path)) == 2
    assert_holds(embed.read_cache(path), vectors(0, (embed.CACHE_MAX_PARTS + 1) * 10) | vectors(1000, 1))


def test_a_corrupt_part_is_ignored_with_a_warning_and_removed_by_compaction(path, caplog):
    embed.write_cache(path, vectors(0, 2))
    (path / "part-corrupt.parquet").write_bytes(b"not parquet")
    with caplog.at_level(logging.WARNING, logger="pipeline.embed"):
        cache = embed.read_cache(path)
    assert_holds(cache, vectors(0, 2))
    assert "part-corrupt.parquet" in caplog.text and "unreadable" in caplog.text
    embed.compact_cache(path)
    assert not (path / "part-corrupt.parquet").exists()
    assert_holds(embed.read_cache(path), vectors(0, 2))


def test_the_single_file_cache_of_older_versions_is_read_then_merged(path):
    old = vectors(0, 3)
    single = path.with_name(path.name + ".parquet")    # <model key>.parquet, as older versions wrote it
    single.parent.mkdir(parents=True)
    pq.write_table(pa.table({"text_hash": list(old),
                             "embedding": [v.tolist() for v in old.values()]}), single)
    assert_holds(embed.read_cache(path), old)
    embed.write_cache(path, vectors(3, 1))
    assert_holds(embed.read_cache(path), vectors(0, 4))
    embed.compact_cache(path)
    assert not single.exists() and len(parts(path)) == 1
    assert_holds(embed.read_cache(path), vectors(0, 4))


def test_a_part_merged_away_while_it_is_read_is_found_in_the_merged_part(path, monkeypatch):
    for start in (0, 10, 20):
        embed.write_cache(path, vectors(start, 10))
    real_read_table = pq.read_table

    def another_process_compacts_first(*args, **kwargs):
        monkeypatch.setattr(pq, "read_table", real_read_table)
        embed.compact_cache(path)                    # between this reader's listing and its reads
        return real_read_table(*args, **kwargs)

    monkeypatch.setattr(pq, "read_table", another_process_compacts_first)
    assert_holds(embed.read_cache(path), vectors(0, 30))


def test_compaction_keeps_a_part_added_after_it_listed_the_parts(path, monkeypatch):
    for start in (0, 10):
        embed.write_cache(path, vectors(start, 10))
    real_read_parts = embed._read_cache_parts

    def then_another_process_adds_a_part(folder):
        read = real_read_parts(folder)
        embed._write_cache_part(folder, vectors(100, 1))
        return read

    monkeypatch.setattr(embed, "_read_cache_parts", then_another_process_adds_a_part)
    embed.compact_cache(path)
    monkeypatch.undo()
    assert len(parts(path)) == 2
    assert_holds(embed.read_cache(path), vectors(0, 20) | vectors(100, 1))


def add_entries(path: Path, start: int) -> None:
    """One process's flushes (run in a child process)."""
    for flush in range(embed.CACHE_MAX_PARTS + 4):
        embed.write_cache(path, vectors(start + flush * 5, 5))


def test_two_processes_adding_at_once_lose_nothing(path):
    context = multiprocessing.get_context("spawn")   # no fork of a process that may hold torch threads
    with ProcessPoolExecutor(2, mp_context=context) as pool:
        list(pool.map(add_entries, [path, path], [0, 100_000]))
    flushes = embed.CACHE_MAX_PARTS + 4
    assert_holds(embed.read_cache(path), vectors(0, flushes * 5) | vectors(100_000, flushes * 5))
    assert len(parts(path)) <= embed.CACHE_MAX_PARTS + 1
