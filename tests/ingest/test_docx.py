"""pipeline/ingest/word.py: reading .docx files in document order."""

from __future__ import annotations

import logging

import docx
import pytest
from docx.oxml import OxmlElement

from pipeline.errors import InputError
from pipeline.ingest.word import read_docx
from word_files import make_docx, textbox_xml, tracked_xml


def test_paragraphs_in_order_and_headings_left_out(tmp_path):
    path = make_docx(tmp_path / "n.docx", ["First paragraph.", "Second paragraph."], heading="Notes")
    document = read_docx(path, "observations/n.docx", "observation")
    assert [b.text for b in document.blocks] == ["First paragraph.", "Second paragraph."]
    assert document.source_format == "docx"
    assert "skipped" not in document.metadata                      # a section title, not a lost answer
    path = make_docx(tmp_path / "s.docx", ["First paragraph."], heading="We never got the money we were promised.")
    document = read_docx(path, "observations/s.docx", "observation")
    assert document.metadata["skipped"] == "1 sentence in a heading style"   # warned, and in the ingest log
    path = make_docx(tmp_path / "t.docx", ["First paragraph."], heading="Why did it stall?",
                     header_text="CONFIDENTIAL")
    document = read_docx(path, "observations/t.docx", "observation")
    assert document.metadata["skipped"] == "1 header, 1 sentence in a heading style"


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


def _wrap_in_content_control(element):
    """Put ``element`` inside a content control (``w:sdt``/``w:sdtContent``), as Word does."""
    sdt, properties, content = OxmlElement("w:sdt"), OxmlElement("w:sdtPr"), OxmlElement("w:sdtContent")
    element.addprevious(sdt)
    sdt.append(properties)
    sdt.append(content)
    content.append(element)


def test_text_in_content_controls_is_read_in_body_rows_and_cells(tmp_path):
    path = tmp_path / "controls.docx"
    document = docx.Document()
    document.add_paragraph("A paragraph in a control.")
    run_paragraph = document.add_paragraph("A run before ")
    run_paragraph.add_run("and a run in a control.")
    table = document.add_table(rows=2, cols=2)
    rows = [["Theme", "The board now meets monthly."], ["Row in a control", "Second cell"]]
    for row, values in zip(table.rows, rows):
        for cell, value in zip(row.cells, values):
            cell.text = value
    _wrap_in_content_control(document.paragraphs[0]._p)
    _wrap_in_content_control(run_paragraph.runs[1]._r)
    _wrap_in_content_control(table.rows[0].cells[1]._tc)  # one cell
    _wrap_in_content_control(table.rows[1]._tr)  # a whole row (a repeating section)
    document.save(path)
    texts = [b.text for b in read_docx(path, "observations/controls.docx", "observation").blocks]
    assert texts == ["A paragraph in a control.", "A run before and a run in a control.",
                     "Theme | The board now meets monthly.", "Row in a control | Second cell"]


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


def test_teams_text_ending_in_a_time_is_kept_as_text(tmp_path):
    path = make_docx(tmp_path / "teams.docx", [
        "Sam Evaluator   0:03", "Thanks for joining today.",
        "Priya Chaudhry   0:10", "Happy to help.", "We met at 10:30", "It went well.",
        "Sam Evaluator   1:02", "Shall we pick this up next week?",
        "Priya Chaudhry   1:15", "See you on Tuesday at 2:30",
        "Sam Evaluator   1:20", "Or on Wednesday at  4:45",  # typed with two spaces, but no text follows
        "Priya Chaudhry   1:25", "Great, thank you.",
    ])
    document = read_docx(path, "interviews/teams.docx", "interview")
    assert document.source_format == "docx-teams"
    assert [(b.speaker, b.text) for b in document.blocks] == [
        ("Sam Evaluator", "Thanks for joining today."),
        ("Priya Chaudhry", "Happy to help."),
        ("Priya Chaudhry", "We met at 10:30"),
        ("Priya Chaudhry", "It went well."),
        ("Sam Evaluator", "Shall we pick this up next week?"),
        ("Priya Chaudhry", "See you on Tuesday at 2:30"),
        ("Sam Evaluator", "Or on Wednesday at 4:45"),
        ("Priya Chaudhry", "Great, thank you."),
    ]


@pytest.mark.parametrize("interviewer, participant", [
    ("Evaluator, Sam", "Chaudhry, Priya"),  # "Last, First" display names
    ("Speaker 1", "Speaker 2"),  # unnamed speakers
])
def test_teams_names_with_commas_or_numbers_are_speakers(tmp_path, interviewer, participant):
    path = make_docx(tmp_path / "teams.docx", [
        "Partnership interview", "March 4, 2025, 10:00AM", "42m 10s", f"{interviewer} started transcription",
        f"{interviewer}   0:03", "Thanks for joining.", f"{participant}   0:10", "Happy to help.",
        f"{interviewer}   00:01:02", "What changed?", f"{participant}   00:01:15", "Everything changed.",
    ])
    document = read_docx(path, "interviews/teams.docx", "interview")
    assert document.source_format == "docx-teams"
    assert [(b.speaker, b.text) for b in document.blocks] == [
        (interviewer, "Thanks for joining."), (participant, "Happy to help."),
        (interviewer, "What changed?"), (participant, "Everything changed."),
    ]


def test_teams_turns_over_several_paragraphs(tmp_path):
    # Fewer than a third of the paragraphs are speaker lines.
    path = make_docx(tmp_path / "teams.docx", [
        "Partnership interview", "March 4, 2025, 10:00AM", "42m 10s", "Sam Evaluator started transcription",
        "Sam Evaluator   0:03", "Thanks for joining.",
        "Priya Chaudhry   0:10", "Happy to help.", "We started in 2023.", "The council joined later.",
        "It took a year.",
        "Sam Evaluator   1:02", "What changed?",
        "Priya Chaudhry   1:15", "Everything changed.", "Mostly for the better.",
    ])
    document = read_docx(path, "interviews/teams.docx", "interview")
    assert document.source_format == "docx-teams"
    assert [(b.speaker, b.text) for b in document.blocks] == [
        ("Sam Evaluator", "Thanks for joining."),
        ("Priya Chaudhry", "Happy to help."), ("Priya Chaudhry", "We started in 2023."),
        ("Priya Chaudhry", "The council joined later."), ("Priya Chaudhry", "It took a year."),
        ("Sam Evaluator", "What changed?"),
        ("Priya Chaudhry", "Everything changed."), ("Priya Chaudhry", "Mostly for the better."),
    ]


@pytest.mark.parametrize("lines", [
    # Timed lines, but no label comes twice: a visit log, not a conversation.
    ["Interview notes, Quillmere, wave 1",
     "Arrival at the hub   10:15", "The hub was busy; six people waiting.",
     "Interview with the manager   10:30", "She described how the hub began in 2023.",
     "We agreed to meet again on Tuesday at 2:30",
     "Departure   11:45", "Notes typed up the same day."],
    # A timed label comes twice, but after more notes than a meeting's details,
    # which must not be left out as a preamble.
    ["Interview notes, Fenhollow, wave 2", "The manager has been in post for a year.",
     "Volunteers have fallen.", "Two village schemes merged.", "One scheme closed.",
     "Drivers are the hardest to find.", "The taster scheme helped.",
     "Phone call with the manager   14:00", "She confirmed the figures.",
     "Phone call with the manager   16:30", "She sent the minutes."],
])
def test_interview_notes_with_timed_lines_are_not_a_transcript(tmp_path, lines):
    path = make_docx(tmp_path / "notes.docx", lines)
    document = read_docx(path, "interviews/notes.docx", "interview")
    assert document.source_format == "docx"
    assert [" ".join(b.text.split()) for b in document.blocks] == [" ".join(line.split()) for line in lines]


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
