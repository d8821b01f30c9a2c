"""pipeline/ingest/speakers.py: which paragraphs start a speaker turn, in files read from tmp_path."""

from __future__ import annotations

import shutil
from pathlib import Path

import docx
import pandas as pd
from docx.oxml.ns import qn

from pipeline import paths
from pipeline.anonymise import Pseudonymiser
from pipeline.config import validate_config
from pipeline.ingest import run_ingest
from pipeline.ingest.speakers import assign_speaker_roles
from pipeline.ingest.text import read_text_document
from pipeline.ingest.word import read_docx
from pipeline.triangulate import run_triangulate
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
        # a note heading is the evaluator's: it ends Priya's turn
        ("", "Overall: it went well, and Overall the board agrees."),
        ("", "Background: the hub opened in 2023."),
        ("", "Key Challenges: staffing and Funding."),
        ("", "Step 2: agree the plan."),
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


# ------------------------------------------------- who is the interviewer, and whose turns are quoted

THREE_SPEAKERS = """WEBVTT

00:00:01.000 --> 00:00:09.000
<v Rosalind Pryce>Thanks for joining. We have heard from other partners that year to year funding makes it impossible to plan beyond the next grant round, is that your experience too?</v>

00:00:10.000 --> 00:00:16.000
<v Tom Notetaker>Just for the notes: the council's funding letter came three months late this year as well.</v>

00:00:17.000 --> 00:00:25.000
<v Priya Chaudhry>Yes. Funding is year to year, so we spend every January writing bids for the same small pots instead of running groups.</v>

00:00:26.000 --> 00:00:30.000
<v Rosalind Pryce>And what would a longer grant change?</v>
"""

WORKSHOP = ("---\nsession: Partners workshop\nsite: quillmere\nwave: 1\n---\n\n"
            "Jo Bloggs: Funding for the youth club ends in March and nobody has a plan for what comes next.\n\n"
            "Sam Sample: Our funding is the same, one year at a time, and the volunteers feel it most of all.\n")


def test_second_evaluator_is_the_interviewer_and_others_are_not_quoted(tmp_path):
    root = tmp_path / "project"
    raw = root / "data" / "raw"
    for folder in ("interviews", "workshops"):
        (raw / folder).mkdir(parents=True)
    (raw / "participants.csv").write_text(
        "participant_id,site,sector,organisation,role,name\n"
        "P001,quillmere,voluntary,Quillmere Community Action,Partnership manager,Priya Chaudhry\n", encoding="utf-8")
    (raw / "interviews" / "q_p001_w1.vtt").write_text(THREE_SPEAKERS, encoding="utf-8")
    (raw / "fieldwork.csv").write_text(
        "file,participant,site,sector,wave,date\ninterviews/q_p001_w1.vtt,P001,,,1,2025-03-01\n", encoding="utf-8")
    (raw / "workshops" / "partners.md").write_text(WORKSHOP, encoding="utf-8")
    (root / "codebook").mkdir()
    shutil.copy(Path(__file__).resolve().parents[2] / "codebook" / "codebook.yaml", root / "codebook")
    config = validate_config({})
    run_ingest(config, root)

    segments = pd.read_parquet(root / paths.SEGMENTS)
    role = dict(zip(segments["speaker"], segments["speaker_role"]))
    # Rosalind asks the questions: the interviewer, though a third person speaks too.
    assert role == {"Rosalind Pryce": "interviewer", "Tom Notetaker": "other", "Priya Chaudhry": "participant",
                    "Jo Bloggs": "other", "Sam Sample": "other"}

    # An analyst codes every turn the review workbook shows (all but the interviewer's);
    # the note-taker's remark is the interview's only turn coded to trust.
    shown = segments[segments["speaker_role"] != "interviewer"]
    tom = shown["speaker"] == "Tom Notetaker"
    coded = shown.drop(columns=["speaker", "position"]).assign(
        code_id=tom.map({True: "rel_trust", False: "res_funding"}),
        theme_id=tom.map({True: "relationships", False: "resources"}), status="accepted", score=0.5, coder="a")
    coded.to_parquet(root / paths.CODED_SEGMENTS, index=False)
    run_triangulate(config, root)

    quotes = pd.read_csv(root / "reports/tables/quotes.csv", dtype=str)
    texts = set(quotes["quote"])
    assert any(t.startswith("Yes. Funding is year to year") for t in texts)
    assert not any("grant round" in t or "funding letter" in t for t in texts)   # never the evaluators' words
    # workshops keep quoting their named speakers (several people legitimately speak there)
    assert any("youth club" in t or "volunteers feel it" in t for t in texts)
    # Tom's turn still counts as evidence from the interview (it is not an interviewer's)
    matrix = pd.read_csv(root / "reports/tables/matrix_theme_method.csv", dtype=str).set_index(["theme_id", "method"])
    assert matrix.loc[("relationships", "interview"), ["segments", "sources"]].tolist() == ["1", "1"]
    assert matrix.loc[("resources", "interview"), ["segments", "sources"]].tolist() == ["1", "1"]


def test_no_question_no_interviewer(tmp_path):
    """With three speakers and no labelled interviewer, a speaker who asks nothing stays ``other``."""
    path = tmp_path / "i.md"
    path.write_text("---\nwave: 1\n---\n"
                    "Rosalind Pryce: Tell me about the funding.\n\n"
                    "Tom Notetaker: Noted.\n\n"
                    "Priya Chaudhry: It is year to year.\n", encoding="utf-8")
    document = read_text_document(path, "interviews/i.md", "interview")
    assign_speaker_roles(document, "Priya Chaudhry")
    assert [b.speaker_role for b in document.blocks] == ["other", "other", "participant"]


def test_a_meeting_display_name_finds_the_interviewee_and_so_the_interviewer(tmp_path):
    """Zoom and Teams often label speakers by first name or "First L."; the register name
    still finds the interviewee, and with two speakers the other one asks the questions."""
    for label in ("Priya", "Priya C.", "Dr Chaudhry"):
        path = tmp_path / "i.md"
        path.write_text(f"---\nwave: 1\n---\nMorwenna: How is trust between partners?\n\n"
                        f"{label}: Better than last year.\n", encoding="utf-8")
        document = read_text_document(path, "interviews/i.md", "interview")
        roles = assign_speaker_roles(document, "Priya Chaudhry")
        assert roles == {"Morwenna": "interviewer", label: "participant"}, label


def test_an_interview_whose_speakers_miss_the_interviewee_is_warned_about(tmp_path, caplog):
    root = tmp_path / "project"
    (root / "data/raw/interviews").mkdir(parents=True)
    (root / "data/raw/participants.csv").write_text(
        "participant_id,site,sector,organisation,role,name\n"
        "P001,quillmere,voluntary,Quillmere Community Action,Partnership manager,Priya Chaudhry\n", encoding="utf-8")
    (root / "data/raw/interviews/q_p001_w1.md").write_text(
        "---\nparticipant: P001\nwave: 1\n---\nMorwenna: How is trust between the sectors?\n\n"
        "Speaker 2: Better than last year, since the council joined the board.\n", encoding="utf-8")
    (root / "codebook").mkdir()
    shutil.copy(Path(__file__).resolve().parents[2] / "codebook" / "codebook.yaml", root / "codebook")
    run_ingest(validate_config({}), root)
    warnings = [r.getMessage() for r in caplog.records if "no speaker label is the interviewee" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].startswith("data/raw/interviews/q_p001_w1.md: ")
    assert "P001's register name" in warnings[0] and "the turns of all 2 speakers are" in warnings[0]
    assert "the interviewer's questions too" in warnings[0]
    assert "Morwenna" not in warnings[0]   # speaker labels are names: not in the log
    roles = set(pd.read_parquet(root / paths.SEGMENTS)["speaker_role"])
    assert roles == {"other"}


def test_text_outside_the_turns_is_the_evaluators_notes_not_speech(tmp_path):
    """A heading, a table or a note heading ends a turn: what follows is the evaluator's text,
    kept as a segment but recorded as notes, so it is never quoted as the speaker's words."""
    root = tmp_path / "project"
    for folder in ("interviews", "workshops"):
        (root / "data/raw" / folder).mkdir(parents=True)
    (root / "data/raw/participants.csv").write_text(
        "participant_id,site,sector,organisation,role,name\n"
        "P001,quillmere,voluntary,Quillmere Community Action,Partnership manager,Priya Chaudhry\n", encoding="utf-8")
    (root / "data/raw/interviews/q_p001_w1.md").write_text(
        "---\nparticipant: P001\nwave: 1\n---\nInterview held in the community hall.\n\n"
        "Interviewer: What gets in the way?\n\nPriya Chaudhry: Funding, every year.\n\nAnd the paperwork.\n\n"
        "## Barriers\n\nThe respondent became visibly frustrated at this point.\n", encoding="utf-8")
    (root / "data/raw/workshops/partners.md").write_text(
        "---\nsession: Partners workshop\nsite: quillmere\nwave: 1\n---\n"
        "Participant 2: The referral hub is the best thing we have built together.\n\n"
        "Summary: the group agreed three outcomes for the next year.\n", encoding="utf-8")
    word = docx.Document()
    word.add_paragraph("Interviewer: Who is on the board?")
    word.add_paragraph("Respondent: Mostly the voluntary sector, and the surgery since March.")
    table = word.add_table(rows=2, cols=2)
    for row, cells in zip(table.rows, [("Organisation", "Seats"), ("Quillmere Council", "2")]):
        row.cells[0].text, row.cells[1].text = cells
    word.add_paragraph("The interview ended early.")
    word.save(root / "data/raw/interviews/q_p001_w2.docx")
    (root / "data/raw/fieldwork.csv").write_text(
        "file,participant,wave\ninterviews/q_p001_w2.docx,P001,2\n", encoding="utf-8")
    (root / "codebook").mkdir()
    shutil.copy(Path(__file__).resolve().parents[2] / "codebook" / "codebook.yaml", root / "codebook")
    run_ingest(validate_config({}), root)

    segments = pd.read_parquet(root / paths.SEGMENTS)
    found = {text: (speaker, role, record) for text, speaker, role, record in zip(
        segments["text"], segments["speaker"], segments["speaker_role"], segments["record"])}
    assert found["Funding, every year."] == ("Priya Chaudhry", "participant", "transcript")
    assert found["And the paperwork."] == ("Priya Chaudhry", "participant", "transcript")
    assert found["Interview held in the community hall."] == ("", "", "notes")
    assert found["The respondent became visibly frustrated at this point."] == ("", "", "notes")
    assert found["The referral hub is the best thing we have built together."] == ("Participant 2", "participant",
                                                                                   "transcript")
    assert found["Summary: the group agreed three outcomes for the next year."] == ("", "", "notes")
    assert found["Mostly the voluntary sector, and the surgery since March."] == ("Respondent", "participant",
                                                                                  "transcript")
    assert found["Quillmere Council | 2"] == ("", "", "notes")
    assert found["The interview ended early."] == ("", "", "notes")


def test_a_one_word_inflected_label_is_a_heading_unless_a_role_or_a_name():
    from pipeline.ingest.speakers import split_speaker_label

    for heading in ("Volunteers: she said four drivers do it all.", "**Meetings:** monthly, at the hub."):
        assert split_speaker_label(heading) is None
    assert split_speaker_label("Participants: we agreed.") == ("Participants", "we agreed.")
    assert split_speaker_label("Rose: It started in 2020.") == ("Rose", "It started in 2020.")
    assert split_speaker_label("Transport: buses.") == ("Transport", "buses.")   # not inflected: a label


def test_more_of_the_evaluators_structure_ends_a_turn(tmp_path):
    """Note headings however typed, pipe tables, bold lines, underlined titles, and in Word a line
    of underscores, a paragraph border or a paragraph all in bold: what follows is not the speaker's."""
    path = tmp_path / "p001.md"
    path.write_text("---\nwave: 1\n---\n"
                    "Respondent: Yes.\nInterviewer note: she paused here.\n\n"
                    "Respondent: The board meets monthly.\n\n*Note:* the chair left early.\n\n"
                    "Respondent: Three seats.\n| Organisation | Seats |\n|---|---|\n| Council | 2 |\n\n"
                    "Respondent: Mostly the hub.\n\n**Key points**\n\nThe hub came up twice.\n\n"
                    "Respondent: And the food bank.\n\nNext topic\n----------\nShe gave an example.\n",
                    encoding="utf-8")
    blocks = [(b.speaker, b.text) for b in read_text_document(path, "interviews/p001.md", "interview").blocks]
    assert blocks == [
        ("Respondent", "Yes."), ("", "Interviewer note: she paused here."),
        ("Respondent", "The board meets monthly."), ("", "*Note:* the chair left early."),
        ("Respondent", "Three seats."), ("", "Organisation | Seats"), ("", "Council | 2"),
        ("Respondent", "Mostly the hub."), ("", "**Key points**"), ("", "The hub came up twice."),
        ("Respondent", "And the food bank."), ("", "Next topic"), ("", "She gave an example."),
    ]
    word = docx.Document()
    word.add_paragraph("Respondent: The board meets monthly.")
    word.add_paragraph("_______________")
    word.add_paragraph("The interviewer's summary follows.")
    word.add_paragraph("Respondent: And the hub.")
    bordered = word.add_paragraph()
    border = bordered._p.get_or_add_pPr()
    border.append(border.makeelement(qn("w:pBdr"), {}))
    word.add_paragraph("Afterwards she showed us the garden.")
    word.add_paragraph("Respondent: Then the surgery.")
    word.add_paragraph().add_run("Key points").bold = True
    word.add_paragraph("The surgery came up twice.")
    labelled = word.add_paragraph()
    labelled.add_run("Interviewer:").bold = True
    labelled.add_run(" Anything else?")
    word.add_paragraph().add_run("Respondent: No, that is all.").bold = True
    word.add_paragraph("Thank you.")
    word.save(tmp_path / "p002.docx")
    blocks = [(b.speaker, b.text) for b in read_docx(tmp_path / "p002.docx", "interviews/p002.docx",
                                                     "interview").blocks]
    assert blocks == [("Respondent", "The board meets monthly."), ("", "The interviewer's summary follows."),
                      ("Respondent", "And the hub."), ("", "Afterwards she showed us the garden."),
                      ("Respondent", "Then the surgery."), ("", "Key points"), ("", "The surgery came up twice."),
                      ("Interviewer", "Anything else?"), ("Respondent", "No, that is all."),
                      ("Respondent", "Thank you.")]
