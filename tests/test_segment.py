"""pipeline/segment.py: splitting long paragraphs and stable IDs."""

from __future__ import annotations

import hashlib

from pipeline.ingest.model import Block, RawDocument
from pipeline.segment import (
    build_tables,
    document_id,
    normalise_text,
    segment_document,
    segment_id,
    split_paragraph,
)

SENTENCE = "The partnership met every month to review referrals from the hub. "


def make_document(texts, source_file="interviews/P1.md", key="", method="interview", **blocks):
    return RawDocument(method=method, source_file=source_file, source_format="md",
                       blocks=[Block(text=t, **blocks) for t in texts], key=key,
                       metadata={"site": "a", "sector": "voluntary", "participant_id": "P1",
                                 "source_id": "P1", "wave": "1", "date": "2025-03-04"})


def test_id_rule_is_the_documented_one():
    assert document_id("interviews/P1.md") == "doc_" + hashlib.sha1(b"interviews/P1.md").hexdigest()[:12]
    assert document_id("surveys/s.csv", "R_1") == "doc_" + hashlib.sha1(b"surveys/s.csv#R_1").hexdigest()[:12]
    expected = hashlib.sha1("doc_x\x1fsome text\x1f0".encode()).hexdigest()[:12]
    assert segment_id("doc_x", "  some\n text ", 0) == "seg_" + expected


def test_short_paragraph_is_one_segment():
    assert split_paragraph("Just a short answer.", 700, 150) == ["Just a short answer."]


def test_long_paragraph_is_split_at_sentences_within_bounds():
    text = SENTENCE * 30  # about 2,000 characters
    chunks = split_paragraph(text, 700, 150)
    assert len(chunks) >= 3
    assert all(150 <= len(c) <= 700 for c in chunks)
    assert all(c.endswith("hub.") for c in chunks)
    assert " ".join(chunks) == normalise_text(text)


def test_short_tail_is_merged_when_it_fits():
    text = SENTENCE * 9 + "Yes."  # 9 sentences fill ~600 chars; the tail is tiny
    chunks = split_paragraph(text, 700, 150)
    assert chunks[-1].endswith("Yes.") and len(chunks[-1]) >= 150


def test_unpunctuated_run_is_cut_at_spaces():
    text = "word " * 400
    chunks = split_paragraph(text, 700, 150)
    assert all(len(c) <= 700 for c in chunks) and " ".join(chunks) == normalise_text(text)


def test_survey_answers_are_never_split():
    document = make_document([SENTENCE * 30], question="What worked?")
    rows = segment_document(document, 700, 150)
    assert len(rows) == 1 and rows[0]["question"] == "What worked?"


def test_positions_and_repeated_text_get_distinct_ids():
    rows = segment_document(make_document(["Yes.", "Something else.", "Yes."]))
    assert [r["position"] for r in rows] == [0, 1, 2]
    assert rows[0]["segment_id"] != rows[2]["segment_id"]
    doc = document_id("interviews/P1.md")
    assert rows[2]["segment_id"] == segment_id(doc, "Yes.", 1)


def test_ids_survive_insertions_elsewhere_and_whitespace_changes():
    before = {r["text"]: r["segment_id"] for r in segment_document(make_document(["One.", "Two.", "Three."]))}
    after = {r["text"]: r["segment_id"]
             for r in segment_document(make_document(["New first.", "One.", "  Two.\n", "Inserted.", "Three."]))}
    for text, sid in before.items():
        assert after[text] == sid


def test_ids_do_not_depend_on_other_documents():
    a = make_document(["Shared text."], source_file="interviews/A.md")
    b = make_document(["Shared text."], source_file="interviews/B.md")
    _, alone = build_tables([a])
    _, together = build_tables([b, a])
    assert alone["segment_id"].iloc[0] in set(together["segment_id"])
    assert together["segment_id"].is_unique


def test_tables_have_the_contract_columns_and_types():
    from pipeline.tables import DOCUMENT_COLUMNS, SEGMENT_COLUMNS

    documents, segments = build_tables([make_document(["One.", "Two."], speaker="Priya",
                                                      speaker_role="participant")])
    assert list(documents.columns) == DOCUMENT_COLUMNS and list(segments.columns) == SEGMENT_COLUMNS
    assert documents["n_segments"].tolist() == [2]
    assert segments["position"].dtype == "int64" and segments["wave"].tolist() == ["1", "1"]
    assert segments["speaker_role"].tolist() == ["participant", "participant"]
