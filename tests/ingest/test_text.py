"""pipeline/ingest/text.py: markdown and text notes with YAML front matter."""

from __future__ import annotations

import pytest

from pipeline.errors import InputError
from pipeline.ingest.text import parse_front_matter, read_text_document, text_blocks


def test_front_matter_values_stay_strings(tmp_path):
    path = tmp_path / "P1.md"
    path.write_text("---\nparticipant: 00123\nwave: 1\ndate: 2025-03-04\n---\n\nHello there.\n",
                    encoding="utf-8")
    document = read_text_document(path, "interviews/P1.md", "interview")
    assert document.metadata == {"participant": "00123", "wave": "1", "date": "2025-03-04"}
    assert document.source_format == "md" and document.encoding == "utf-8"
    assert [b.text for b in document.blocks] == ["Hello there."]


def test_malformed_front_matter_names_file_and_line():
    text = "---\nparticipant: P1\nwave: [1\nsite: a\n---\nBody"
    with pytest.raises(InputError) as info:
        parse_front_matter(text, "data/raw/interviews/x.md")
    assert info.value.file == "data/raw/interviews/x.md"
    assert info.value.row is not None and 3 <= info.value.row <= 5
    assert "line" in str(info.value)


def test_unclosed_front_matter_is_an_error():
    with pytest.raises(InputError, match="never closed"):
        parse_front_matter("---\nwave: 1\nBody text", "x.md")


def test_front_matter_must_be_a_mapping():
    with pytest.raises(InputError, match="key: value"):
        parse_front_matter("---\n- a\n- b\n---\nBody", "x.md")


def test_no_front_matter():
    assert parse_front_matter("Just text.", "x.txt") == ({}, "Just text.", 1)


def test_markdown_structure():
    body = "# Heading\n\nA paragraph that\nwraps over lines.\n\n- first item\n- second item\n\n---\n\n> quoted text"
    assert [b.text for b in text_blocks(body, False)] == [
        "A paragraph that wraps over lines.", "first item", "second item", "quoted text"]


def test_speaker_labels_and_continuation():
    body = ("**Interviewer:** How did it start?\n\n**Respondent:** Slowly.\n\nThen all at once.\n\n"
            "Q: Why?\nA: Money.")
    blocks = text_blocks(body, True)
    assert [(b.speaker, b.text) for b in blocks] == [
        ("Interviewer", "How did it start?"), ("Respondent", "Slowly."), ("Respondent", "Then all at once."),
        ("Q", "Why?"), ("A", "Money.")]


def test_prose_with_a_colon_is_not_a_speaker():
    blocks = text_blocks("The aim was simple: meet weekly.\n\nNote: bring the register.", True)
    assert [b.speaker for b in blocks] == ["", ""]


def test_observation_notes_have_no_speakers(tmp_path):
    path = tmp_path / "obs.txt"
    path.write_text("---\nsession: Board meeting\nsite: quillmere\nwave: 1\n---\nChair: opened the meeting.\n",
                    encoding="utf-8")
    document = read_text_document(path, "observations/obs.txt", "observation")
    assert document.source_format == "txt"
    assert document.blocks[0].speaker == "" and document.metadata["session"] == "Board meeting"


def test_cp1252_text_is_decoded_and_recorded(tmp_path):
    path = tmp_path / "n.txt"
    path.write_bytes("---\nwave: 1\n---\nThe caf\u00e9\u2019s volunteers \u2013 all of them.\n".encode("cp1252"))
    document = read_text_document(path, "observations/n.txt", "observation")
    assert document.encoding == "cp1252"
    assert document.blocks[0].text == "The caf\u00e9\u2019s volunteers \u2013 all of them."


def test_an_undecodable_file_is_named_from_the_project_folder(tmp_path):
    path = tmp_path / "n.txt"
    path.write_bytes("---\nwave: 1\n---\ncaf\u00e9 opened ".encode("utf-8") + "\u201cquoted\u201d".encode("cp1252"))
    with pytest.raises(InputError, match="mixes two encodings") as info:
        read_text_document(path, "interviews/n.txt", "interview")
    assert info.value.file == "data/raw/interviews/n.txt"


def test_only_front_matter_is_an_error(tmp_path):
    path = tmp_path / "e.md"
    path.write_text("---\nwave: 1\n---\n# Title only\n", encoding="utf-8")
    with pytest.raises(InputError, match="no text"):
        read_text_document(path, "interviews/e.md", "interview")
