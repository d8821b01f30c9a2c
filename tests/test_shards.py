"""Sharded embedding (embedding.shards): same result as one job; job count fixed by N."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from pipeline import embed, paths
from pipeline.config import validate_config
from pipeline.finetune import FINETUNED_CACHE, encoder_config, run_finetune
from pipeline.suggest import run_suggest
from tests.conftest import REPO, run_snakemake

TEXTS = [
    "Funding for the referral hub runs out next March and nobody knows what happens after that.",
    "We spent most of last year writing bids instead of delivering anything for residents.",
    "Our coordinator left after six months and the post was vacant until the spring.",
    "The volunteers are brilliant but most of them are over seventy now.",
    "The board has twenty members and it takes forever to agree anything.",
    "It took fourteen months to get a data-sharing agreement signed with the NHS trust.",
    "Trust has built up slowly because the same people keep turning up to meetings.",
    "There was a real falling-out at the board about how the money was split.",
    "The statutory partners set the agenda and we are asked to comment at the end.",
    "The residents' panel now votes on how the community chest is spent each year.",
    "Reporting to the funder takes a day a month, which is a lot for a small charity.",
    "The coaching from the learning partner helped us think about what we were for.",
    "Several people said they would not have left the house without the befriending scheme.",
    "The discharge pathway changed, so people go home with support already arranged.",
    "There is now a pooled budget for prevention work, which is a first for the borough.",
    "We are writing a legacy plan so the contacts and learning do not disappear.",
    "Could you say a bit more about that?",
    "The kettle in the kitchen has stopped working again.",
    "Other areas have copied our referral protocol, which is nice to see.",
    "Residents without a smartphone cannot book appointments online.",
]


def make_segments(root: Path) -> pd.DataFrame:
    """A segment table (as ingest writes it) and the example codebook in ``root``."""
    segments = pd.DataFrame({
        "segment_id": [f"doc{i % 4}-{i:04d}" for i in range(len(TEXTS))],
        "text": TEXTS,
        "speaker_role": ["interviewer" if t.endswith("?") else "participant" for t in TEXTS],
    })
    (root / paths.PROCESSED).mkdir(parents=True, exist_ok=True)
    segments.to_parquet(root / paths.SEGMENTS, index=False)
    shutil.copytree(REPO / "codebook", root / "codebook")
    return segments


def test_shard_of_is_stable_and_in_range():
    ids = [f"seg-{i}" for i in range(300)]
    shards = [embed.shard_of(s, 3) for s in ids]
    assert set(shards) == {0, 1, 2}
    assert shards == [embed.shard_of(s, 3) for s in ids]
    assert all(embed.shard_of(s, 1) == 0 for s in ids)
    # sha1-based, so the same on every machine and Python version
    assert embed.shard_of("seg-0", 7) == int(hashlib.sha1(b"seg-0").hexdigest()[:8], 16) % 7


def test_three_shards_give_the_same_embeddings_and_suggestions_as_one(tmp_path):
    one, three = tmp_path / "one", tmp_path / "three"
    for root in (one, three):
        root.mkdir()
        segments = make_segments(root)
    # The default path: a fine-tuned encoder (one pass to keep the test quick), trained once
    # and shared, as a cluster's shard jobs share the project folder.
    tuned = {"fine_tune": True, "fine_tune_passes": 1}
    config_one = validate_config({"embedding": {"shards": 1}, "suggest": tuned})
    config_three = validate_config({"embedding": {"shards": 3}, "suggest": tuned})
    run_finetune(config_one, one)
    shutil.copytree(one / FINETUNED_CACHE, three / FINETUNED_CACHE)
    shutil.copy2(one / paths.ENCODER, three / paths.ENCODER)

    embed.run_embed(config_one, one)
    for shard in range(3):
        embed.run_embed_shard(config_three, three, str(shard), "3")   # as Snakemake passes them
    assert len({len(pd.read_parquet(embed.shard_path(three, s, 3))) for s in range(3)} - {0}) >= 1
    embed.run_embed_merge(config_three, three)

    ids_one, vectors_one = embed.read_embeddings(one / paths.EMBEDDINGS)
    ids_three, vectors_three = embed.read_embeddings(three / paths.EMBEDDINGS)
    assert ids_one == ids_three == segments["segment_id"].tolist()
    np.testing.assert_allclose(vectors_three, vectors_one, atol=1e-5)

    # The merge filled the cache: a second sharded run embeds nothing new.
    cache = embed.read_cache(embed.cache_file(three, embed.model_key(encoder_config(config_three, three), three)))
    assert {embed.text_hash(t) for t in TEXTS} <= set(cache)

    run_suggest(config_one, one)
    run_suggest(config_three, three)
    a = pd.read_parquet(one / paths.SUGGESTIONS)
    b = pd.read_parquet(three / paths.SUGGESTIONS)
    pd.testing.assert_frame_equal(a.drop(columns="score"), b.drop(columns="score"))
    np.testing.assert_allclose(a["score"], b["score"], atol=1e-3)


def test_merge_reports_a_missing_shard(tmp_path):
    from pipeline.errors import InputError

    config = {"embedding": {"shards": 2}, "suggest": {"fine_tune": False}}
    make_segments(tmp_path)
    embed.run_embed_shard(config, tmp_path, 0, 2)
    with pytest.raises(InputError, match="shard not found"):
        embed.run_embed_merge(config, tmp_path)


def test_merge_refuses_a_shard_made_with_another_model(tmp_path):
    import pyarrow.parquet as pq

    from pipeline.errors import InputError

    config = {"embedding": {"shards": 2}, "suggest": {"fine_tune": False}}
    make_segments(tmp_path)
    for shard in range(2):
        embed.run_embed_shard(config, tmp_path, shard, 2)
    stale = embed.shard_path(tmp_path, 1, 2)
    table = pq.read_table(stale)
    pq.write_table(table.replace_schema_metadata({embed.MODEL_KEY_METADATA: b"an-older-model"}), stale)
    with pytest.raises(InputError, match="another model") as caught:
        embed.run_embed_merge(config, tmp_path)
    assert "forcerun embed_shard" in str(caught.value)
    assert not (tmp_path / paths.EMBEDDINGS).exists()


def test_merge_refuses_a_shard_made_from_an_earlier_text_of_a_segment(tmp_path):
    from pipeline.errors import InputError

    config = {"embedding": {"shards": 2}, "suggest": {"fine_tune": False}}
    segments = make_segments(tmp_path)
    for shard in range(2):
        embed.run_embed_shard(config, tmp_path, shard, 2)
    segments.loc[3, "text"] = "A corrected transcript: the residents' panel now votes on the budget."
    segments.to_parquet(tmp_path / paths.SEGMENTS, index=False)
    with pytest.raises(InputError, match="changed text") as caught:
        embed.run_embed_merge(config, tmp_path)
    assert segments.loc[3, "segment_id"] in str(caught.value)
    assert f"shard-{embed.shard_of(segments.loc[3, 'segment_id'], 2)}-of-2" in str(caught.value)
    assert not (tmp_path / paths.EMBEDDINGS).exists()


# ----------------------------------------------------------------- workflow


def make_raw_project(root: Path, n_documents: int, shards: int) -> Path:
    raw = root / "data" / "raw" / "interviews"
    raw.mkdir(parents=True)
    register = ["participant_id,site,sector,organisation,role,name"]
    for i in range(n_documents):
        register.append(f"P{i:03d},north,voluntary,Org,Role,Person {i}")
        (raw / f"north_p{i:03d}_w1.md").write_text(
            f"---\nparticipant: P{i:03d}\nwave: \"1\"\ndate: 2025-03-01\n---\n\n"
            f"**Interviewer:** How is it going?\n\n**Respondent:** {TEXTS[i % len(TEXTS)]}\n",
            encoding="utf-8")
    (root / "data" / "raw" / "participants.csv").write_text("\n".join(register) + "\n")
    shutil.copytree(REPO / "codebook", root / "codebook")
    (root / "config.yaml").write_text(yaml.safe_dump({"embedding": {"shards": shards}}))
    return root


def job_counts(output: str) -> dict[str, int]:
    """The 'Job stats' table of a dry run: {rule: count}."""
    counts = {}
    for rule, count in re.findall(r"^(\w+)\s+(\d+)\s*$", output, re.MULTILINE):
        counts[rule] = int(count)
    return counts


def test_dry_run_has_n_shard_jobs_and_one_merge_whatever_the_number_of_documents(tmp_path):
    totals = {}
    for n_documents in (10, 50):
        project = make_raw_project(tmp_path / f"sharded{n_documents}", n_documents, shards=3)
        result = run_snakemake(project, "-n", "--forceall")
        counts = job_counts(result.stdout + result.stderr)
        assert counts["embed_shard"] == 3
        assert counts["embed"] == 1
        assert "shard-2-of-3.parquet" in result.stdout + result.stderr
        single = run_snakemake(make_raw_project(tmp_path / f"single{n_documents}", n_documents, shards=1),
                               "-n", "--forceall")
        single_counts = job_counts(single.stdout + single.stderr)
        assert "embed_shard" not in single_counts
        assert counts["total"] == single_counts["total"] + 3
        totals[n_documents] = counts["total"]
    assert totals[10] == totals[50]
