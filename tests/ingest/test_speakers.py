"""pipeline/ingest/speakers.py: which paragraphs start a speaker turn, in files read from tmp_path."""

from __future__ import annotations

from pipeline import paths
from pipeline.anonymise import Pseudonymiser
from pipeline.config import validate_config
from pipeline.ingest import run_ingest
from pipeline.ingest.text import read_text_document
from pipeline.ingest.word import read_docx
from word_files import make_docx

NOTES = ("---\nwave: 1\n---\n"
         "Interviewer: How has the partnership changed?\n\n"
         "Priya Chaudhry: It has grown a lot.\n\n"
         "Overall: it went well, and Overall the board agrees.\n\n"
         "Background: the hub opened in 2023.\n\n"
         "Key Challenges: staffing and Funding.\n\n"
         "Step 2: agree the plan.\n\n"
         "Interviewer 2: Anything else?\n\n"
         "Participant 2: Not really.\n")


def test_note_headings_are_text_not_speakers(tmp_path):
    path = tmp_path / "p001.md"
    path.write_text(NOTES, encoding="utf-8")
    document = read_text_document(path, "interviews/p001.md", "interview")
    assert [(b.speaker, b.text) for b in document.blocks] == [
        ("Interviewer", "How has the partnership changed?"),
        ("Priya Chaudhry", "It has grown a lot."),
        ("Priya Chaudhry", "Overall: it went well, and Overall the board agrees."),
        ("Priya Chaudhry", "Background: the hub opened in 2023."),
        ("Priya Chaudhry", "Key Challenges: staffing and Funding."),
        ("Priya Chaudhry", "Step 2: agree the plan."),
        ("Interviewer 2", "Anything else?"),
        ("Participant 2", "Not really."),
    ]


def test_note_headings_are_not_pseudonymised_as_people(tmp_path):
    root = tmp_path / "project"
    (root / "data" / "raw" / "interviews").mkdir(parents=True)
    (root / "data" / "raw" / "participants.csv").write_text(
        "participant_id,site,sector,organisation,role,name\nP001,quillmere,voluntary,QCA,Manager,Jo Bloggs\n",
        encoding="utf-8")
    (root / "data" / "raw" / "interviews" / "p001.md").write_text(
        NOTES.replace("wave: 1", "participant: P001\nwave: 1"), encoding="utf-8")
    config = validate_config({})
    run_ingest(config, root)
    assert (root / paths.SEGMENTS).exists()
    pseudonymiser = Pseudonymiser.from_project(config, root)
    text = "Overall, the Background and Key Challenges sections on Funding; Priya Chaudhry agreed."
    assert pseudonymiser.apply(text) == (
        "Overall, the Background and Key Challenges sections on Funding; [Named person 1] agreed.")
    assert set(pseudonymiser.log_frame()["participant_id"]) == {"P001", "speaker 0001"}


OWN_LINE = ["Interviewer:", "How did the partnership start?", "Priya Chaudhry:",
            "It started with a grant in 2023.", "Then the hub opened.", "**Interviewer:**", "And now?",
            "Participant 2:", "Now it is self-sustaining."]
OWN_LINE_TURNS = [
    ("Interviewer", "How did the partnership start?"),
    ("Priya Chaudhry", "It started with a grant in 2023."),
    ("Priya Chaudhry", "Then the hub opened."),
    ("Interviewer", "And now?"),
    ("Participant 2", "Now it is self-sustaining."),
]


def test_label_on_its_own_line_in_markdown(tmp_path):
    path = tmp_path / "i.md"
    path.write_text("---\nwave: 1\n---\n" + "\n\n".join(OWN_LINE) + "\n", encoding="utf-8")
    document = read_text_document(path, "interviews/i.md", "interview")
    assert [(b.speaker, b.text) for b in document.blocks] == OWN_LINE_TURNS


def test_label_on_its_own_line_in_word(tmp_path):
    path = make_docx(tmp_path / "i.docx", OWN_LINE)
    document = read_docx(path, "interviews/i.docx", "interview")
    assert [(b.speaker, b.text) for b in document.blocks] == OWN_LINE_TURNS
