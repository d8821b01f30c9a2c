"""pipeline/ingest/word.py: reading .docx files in document order."""

from __future__ import annotations

import logging

import docx
import pytest

from pipeline.errors import InputError
from pipeline.ingest.word import read_docx
from word_files import make_docx, textbox_xml, tracked_xml


def test_paragraphs_in_order_and_headings_left_out(tmp_path):
    path = make_docx(tmp_path / "n.docx", ["First paragraph.", "Second paragraph."], heading="Notes")
    document = read_docx(path, "observations/n.docx", "observation")
    assert [b.text for b in document.blocks] == ["First paragraph.", "Second paragraph."]
    assert document.source_format == "docx"


def test_table_rows_text_boxes_and_tracked_changes(tmp_path):
    body = textbox_xml("Text in a box.") + tracked_xml("Kept text", "inserted text", "deleted text")
    path = make_docx(tmp_path / "t.docx", ["Before the table."],
                     table=[["Cell one", "Cell two"], ["Cell three", ""]], body_xml=body)
    texts = [b.text for b in read_docx(path, "observations/t.docx", "observation").blocks]
    # Each table row is one line, so single-word cells do not become segments of their own.
    assert texts == ["Before the table.", "Cell one | Cell two", "Cell three",
                     "Text in a box.", "Kept text inserted text"]
    assert not any("deleted" in t for t in texts)
    assert texts.count("Text in a box.") == 1  # the VML fallback copy is not read twice


def test_footnotes_appended_and_marked(tmp_path):
    path = make_docx(tmp_path / "f.docx", ["Body text."], footnote="A footnote.")
    texts = [b.text for b in read_docx(path, "interviews/f.docx", "interview").blocks]
    assert texts == ["Body text.", "[footnote 1] A footnote."]


def test_comments_and_headers_are_skipped_with_a_warning(tmp_path, caplog):
    path = make_docx(tmp_path / "c.docx", ["Body text."], header_text="CONFIDENTIAL", comment="Check this")
    with caplog.at_level(logging.WARNING, logger="pipeline.ingest"):
        document = read_docx(path, "interviews/c.docx", "interview")
    assert [b.text for b in document.blocks] == ["Body text."]
    assert "1 comment" in caplog.text and "1 header" in caplog.text
    assert "1 comment" in document.metadata["skipped"]


def test_speaker_labels_in_an_interview(tmp_path):
    path = make_docx(tmp_path / "i.docx", ["Interviewer: How did it start?", "Respondent: Slowly.",
                                           "Then all at once."])
    blocks = read_docx(path, "interviews/i.docx", "interview").blocks
    assert [(b.speaker, b.text) for b in blocks] == [
        ("Interviewer", "How did it start?"), ("Respondent", "Slowly."), ("Respondent", "Then all at once.")]


def test_teams_docx_transcript_becomes_speaker_turns(tmp_path):
    path = make_docx(tmp_path / "teams.docx", [
        "Partnership interview", "10 March 2026, 14:03", "32m 10s", "Tom Ashdown started transcription",
        "Tom Ashdown   0:03", "Thanks for joining.",
        "Priya Chaudhry   0:09", "Happy to help.",
        "Priya Chaudhry   0:15", "It started in 2020.",
        "Tom Ashdown   1:02:03", "Thank you.",
    ])
    document = read_docx(path, "interviews/teams.docx", "interview")
    assert document.source_format == "docx-teams"
    assert [(b.speaker, b.text) for b in document.blocks] == [
        ("Tom Ashdown", "Thanks for joining."),
        ("Priya Chaudhry", "Happy to help. It started in 2020."),
        ("Tom Ashdown", "Thank you."),
    ]


def test_prose_ending_in_a_time_is_not_a_transcript(tmp_path):
    path = make_docx(tmp_path / "p.docx", ["We met at 10:30", "It went well and lasted an hour.",
                                           "Everyone came.", "Next meeting is in May."])
    assert read_docx(path, "observations/p.docx", "observation").source_format == "docx"


def test_resaved_docx_gives_the_same_text(tmp_path):
    path = make_docx(tmp_path / "a.docx", ["One.", "Two."])
    resaved = tmp_path / "b.docx"
    reopened = docx.Document(str(path))
    reopened.core_properties.author = "Someone else"
    reopened.save(resaved)
    assert path.read_bytes() != resaved.read_bytes()
    first = [b.text for b in read_docx(path, "x.docx", "observation").blocks]
    assert first == [b.text for b in read_docx(resaved, "x.docx", "observation").blocks]


def test_empty_document_is_an_error(tmp_path):
    path = make_docx(tmp_path / "e.docx", [])
    with pytest.raises(InputError, match="no text"):
        read_docx(path, "interviews/e.docx", "interview")
