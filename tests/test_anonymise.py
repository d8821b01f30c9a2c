"""Tests for pipeline/anonymise.py: names and terms never reach reports/."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pandas as pd
import pytest
from conftest import REPO

from pipeline import paths
from pipeline.anonymise import (
    AMBIGUOUS_PSEUDONYM,
    COMMON_WORD_NAMES,
    Person,
    Pseudonymiser,
    attribution_label,
    possible_identifiers,
)

SECTORS = {
    "voluntary": "Voluntary sector",
    "statutory_health": "Statutory sector (NHS)",
    "local_authority": "Local authority",
    "programme": "Programme stakeholder",
}
PEOPLE = [
    Person("P001", "Priya Chaudhry", "voluntary"),
    Person("P002", "Owen Pritchard", "statutory_health"),
    Person("P003", "Sarah Lindqvist", "local_authority"),
    Person("P004", "Jamal Haddad", "voluntary"),
    Person("P005", "Kerry-Ann Walcott", "voluntary"),
    Person("P006", "Irene Marsh", "voluntary"),
    Person("P007", "Fiona Jane McAllister", "statutory_health"),
]
TERMS = {"Kettlewick Street Surgery": "[a GP practice]", "Marram Road Community Centre": "[a local venue]"}


@pytest.fixture
def pseudonymiser() -> Pseudonymiser:
    return Pseudonymiser.from_people(PEOPLE, SECTORS, TERMS)


def test_full_name_first_name_and_surname(pseudonymiser):
    text = "Priya Chaudhry chairs it. Priya said Chaudhry was late."
    assert pseudonymiser.apply(text) == (
        "[Voluntary sector partner 1] chairs it. [Voluntary sector partner 1] said "
        "[Voluntary sector partner 1] was late."
    )


def test_numbers_follow_participant_order_within_label(pseudonymiser):
    assert pseudonymiser.person_pseudonyms == {
        "P001": "[Voluntary sector partner 1]",
        "P002": "[Statutory sector stakeholder (NHS) 1]",
        "P003": "[Local authority stakeholder 1]",
        "P004": "[Voluntary sector partner 2]",
        "P005": "[Voluntary sector partner 3]",
        "P006": "[Voluntary sector partner 4]",
        "P007": "[Statutory sector stakeholder (NHS) 2]",
    }


def test_all_capitals_and_possessives(pseudonymiser):
    out = pseudonymiser.apply("SARAH LINDQVIST: Sarah's team and Sarah’s budget; OWEN'S view.")
    assert out == ("[Local authority stakeholder 1]: [Local authority stakeholder 1]'s team and "
                   "[Local authority stakeholder 1]’s budget; [Statutory sector stakeholder (NHS) 1]'S view.")


def test_whole_words_only(pseudonymiser):
    assert pseudonymiser.apply("Owens and Sarahs and Priyanka") == "Owens and Sarahs and Priyanka"


def test_longest_match_first_and_line_breaks(pseudonymiser):
    out = pseudonymiser.apply("Fiona Jane\nMcAllister and Fiona McAllister")
    assert out == "[Statutory sector stakeholder (NHS) 2] and [Statutory sector stakeholder (NHS) 2]"


def test_hyphenated_names_and_titles(pseudonymiser):
    out = pseudonymiser.apply("Kerry-Ann came with Dr Lindqvist and Mrs Walcott.")
    assert out == ("[Voluntary sector partner 3] came with [Local authority stakeholder 1] "
                   "and [Voluntary sector partner 3].")


def test_everyday_word_names_only_when_capitalised(pseudonymiser):
    assert pseudonymiser.apply("the salt marsh by Marsh") == "the salt marsh by [Voluntary sector partner 4]"
    assert pseudonymiser.apply("we miss Sarah") == "we miss [Local authority stakeholder 1]"


def test_a_name_that_is_an_everyday_english_word_is_matched_only_capitalised():
    # Not in the hand-written list of names that are words: found by how common the word is.
    p = Pseudonymiser.from_people([Person("K03", "Aoife Power", "voluntary")], SECTORS)
    assert "power" not in COMMON_WORD_NAMES
    assert p.apply("Mostly convening power.") == "Mostly convening power."
    assert p.apply("Power said so; POWER again.") == (
        "[Voluntary sector partner 1] said so; [Voluntary sector partner 1] again.")
    assert p.apply("aoife power rang") == "[Voluntary sector partner 1] rang"   # a full name in any case


def test_a_one_word_name_inside_a_project_label_is_left_alone():
    p = Pseudonymiser.from_people(
        [Person("K03", "Aoife Power", "voluntary")], SECTORS, {"Power Street Hub": "[a venue]"},
        labels=["Power and culture between sectors", "Power Street Hub referrals", "Access to services"])
    # Only labels holding a one-word name are kept; an identifying term is replaced inside them too.
    assert p.protected == ["Power and culture between sectors", "Power Street Hub referrals"]
    text = ("## Power and culture between sectors\n\nPower said: Power and culture between sectors, "
            "as Dr Power put it. Power Street Hub referrals.")
    assert p.apply(text) == (
        "## Power and culture between sectors\n\n[Voluntary sector partner 1] said: Power and culture "
        "between sectors, as [Voluntary sector partner 1] put it. [a venue] referrals.")
    full = Pseudonymiser.from_people([Person("K03", "Aoife Power", "voluntary")], SECTORS,
                                     labels=["Aoife Power and culture"])
    assert full.apply("Aoife Power and culture") == "[Voluntary sector partner 1] and culture"


def test_from_project_knows_the_codebook_and_site_labels(tmp_path: Path):
    (tmp_path / "data/raw").mkdir(parents=True)
    (tmp_path / paths.PARTICIPANTS).write_text(
        "participant_id,site,sector,name\nK03,kestrel_bay,voluntary,Aoife Power\n"
        "K04,kestrel_bay,voluntary,Hal Kestrel\n", encoding="utf-8")
    (tmp_path / "codebook").mkdir()
    (tmp_path / "codebook/codebook.yaml").write_text(
        "name: Test codebook\nthemes:\n  - id: pow\n    label: Power and culture between sectors\n"
        "    codes:\n      - id: pow_imbalance\n        label: Power imbalance\n"
        "        definition: One partner holds more sway than the others.\n", encoding="utf-8")
    config = {"sectors": SECTORS, "sites": {"kestrel_bay": "Kestrel Bay"}}
    p = Pseudonymiser.from_project(config, tmp_path)
    for label in ("Power and culture between sectors", "Power imbalance", "Kestrel Bay"):
        assert p.apply(label) == label
    assert p.apply("Kestrel rang Power.") == "[Voluntary sector partner 2] rang [Voluntary sector partner 1]."


def test_identifying_terms(pseudonymiser):
    out = pseudonymiser.apply("Held at KETTLEWICK STREET SURGERY, then Marram Road Community Centre.")
    assert out == "Held at [a GP practice], then [a local venue]."


def test_shared_first_name_is_ambiguous():
    p = Pseudonymiser.from_people([Person("P1", "Sarah Lindqvist", "voluntary"),
                                   Person("P2", "Sarah Brown", "local_authority")], SECTORS)
    assert p.apply("Sarah rang") == f"{AMBIGUOUS_PSEUDONYM} rang"
    assert p.apply("Sarah Brown rang") == "[Local authority stakeholder 1] rang"


def test_consistent_and_no_name_left(pseudonymiser):
    text = " ".join(p.name for p in PEOPLE) + " " + " ".join(p.name.upper() for p in PEOPLE)
    first = pseudonymiser.apply(text)
    assert first == pseudonymiser.apply(text)
    for person in PEOPLE:
        for word in person.name.split():
            assert word.lower() not in first.lower()


def test_non_text_passes_through(pseudonymiser):
    assert pseudonymiser.apply(None) is None
    assert pseudonymiser.apply(3) == 3


def test_from_project_reads_register_and_writes_log_only_to_processed(tmp_path: Path):
    (tmp_path / "data/raw").mkdir(parents=True)
    (tmp_path / paths.PARTICIPANTS).write_text(
        "participant_id,site,sector,organisation,role,name\n"
        "P001,quillmere,voluntary,Org,Manager,Priya Chaudhry\n"
        "P002,quillmere,programme,Funder,Officer,Harriet Blackwood\n", encoding="utf-8")
    config = {"sectors": SECTORS, "privacy": {"identifying_terms": TERMS}}
    p = Pseudonymiser.from_project(config, tmp_path)
    assert p.apply("Harriet and Priya") == "[Programme stakeholder 1] and [Voluntary sector partner 1]"
    target = p.write_log(tmp_path)
    assert target == tmp_path / paths.ANONYMISATION_LOG
    log = pd.read_csv(target, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert {"Priya Chaudhry", "Harriet", "Kettlewick Street Surgery"} <= set(log["real"])
    assert not (tmp_path / "reports").exists()


def test_a_participant_dropped_from_the_register_is_warned_about_by_id(tmp_path: Path, caplog):
    """A withdrawn participant's register row deleted: others' mentions of them would no longer be replaced."""
    people = [Person("P001", "Priya Chaudhry", "voluntary"), Person("P002", "Harriet Blackwood", "programme")]
    Pseudonymiser.from_people(people, SECTORS).write_log(tmp_path)
    Pseudonymiser.from_people(people, SECTORS).write_log(tmp_path)
    assert "no longer named" not in caplog.text
    (tmp_path / paths.ANONYMISATION_LOG).unlink()   # a report rule's output: Snakemake removes it first
    Pseudonymiser.from_people(people[:1], SECTORS).write_log(tmp_path)
    assert "A participant named in the last run (P002) no longer named in data/raw/participants.csv" in caplog.text
    assert "withdrawn: yes" in caplog.text and "Harriet" not in caplog.text


def test_a_name_with_accents_is_also_found_without_them():
    p = Pseudonymiser.from_people([Person("P001", "Siân Pryce-Tudor", "voluntary"),
                                   Person("P002", "Łukasz Wójcik", "local_authority"),
                                   Person("P003", "Zoe Marsh", "voluntary"), Person("P004", "Zoë Ní Bhriain", "voluntary")],
                                  SECTORS)
    assert p.apply("SIAN and Sian Pryce Tudor met Lukasz Wojcik and Łukasz.") == (
        "[Voluntary sector partner 1] and [Voluntary sector partner 1] met [Local authority stakeholder 1] "
        "and [Local authority stakeholder 1].")
    # decomposed accents (pasted from a Mac or a PDF) are the same letters
    assert p.apply(unicodedata.normalize("NFD", "Siân said so.")) == "[Voluntary sector partner 1] said so."
    # two people who are one name once accents go: neither can be told apart
    assert p.apply("Zoe came; Zoë Ní Bhriain too.") == f"{AMBIGUOUS_PSEUDONYM} came; [Voluntary sector partner 3] too."


def test_contact_details_are_masked_whoever_they_belong_to():
    p = Pseudonymiser.from_people([Person("P001", "Priya Chaudhry", "voluntary")], SECTORS)
    text = ("Write to priya.chaudhry@quillmere-ca.org.uk, call Priya on 07700 900123 or (01632) 960 123, "
            "or drop in at 14 Mill Lane, WR4 7QT. We had 1,200 visits in 2025 and 0.5 FTE.")
    assert p.apply(text) == (
        "Write to [email address], call [Voluntary sector partner 1] on [phone number] or [phone number], "
        "or drop in at 14 Mill Lane, [postcode]. We had 1,200 visits in 2025 and 0.5 FTE.")
    # with no register and no terms, too
    assert Pseudonymiser().apply("ring +44 7700 900123") == "ring [phone number]"


def test_no_register_means_only_terms(tmp_path: Path):
    p = Pseudonymiser.from_project({"sectors": SECTORS, "privacy": {"identifying_terms": TERMS}}, tmp_path)
    assert p.apply("at Kettlewick Street Surgery") == "at [a GP practice]"


def test_attribution_labels():
    assert attribution_label("statutory_health", SECTORS) == "Statutory sector stakeholder (NHS)"
    assert attribution_label("local_authority", SECTORS) == "Local authority stakeholder"
    assert attribution_label("programme", SECTORS) == "Programme stakeholder"
    assert attribution_label("police", {"police": "Police (county)"}) == "Police stakeholder (county)"
    assert attribution_label("voluntary", SECTORS, {"voluntary": "VCSE partner"}) == "VCSE partner"
    assert attribution_label("", SECTORS) == "Participant"


def test_possible_identifiers(pseudonymiser):
    texts = pd.DataFrame({
        "segment_id": ["s1", "s2", "s3"],
        "text": [
            "I spoke to Bob about it and Priya agreed with Bob.",
            "The Hub is great; the hub opens daily. We met Dr Okonjo at Quillmere.",
            "Bob. Sarah Lindqvist said so.",
        ],
    })
    found = possible_identifiers(texts, pseudonymiser, known_words=["Quillmere"])
    assert list(found["token"]) == ["Bob", "Okonjo"]
    bob = found.iloc[0]
    assert bob["count"] == 2 and bob["example_segment_id"] == "s1"
    assert "«Bob»" in bob["context"] and "Priya" not in bob["context"]
    assert "[Voluntary sector partner 1]" in bob["context"]
    assert found["review_note"].str.contains("inside the evaluation team").all()


def test_a_name_at_the_start_of_a_sentence_is_reported_unless_it_is_an_english_word(pseudonymiser):
    texts = pd.DataFrame({"segment_id": ["s1", "s2"], "text": [
        "Gwyneth from the library is lovely. Thankfully it opened.",
        "We run the stall. Ffion and I do Saturdays."]})
    assert sorted(possible_identifiers(texts, pseudonymiser)["token"]) == ["Ffion", "Gwyneth"]


def test_transcript_speakers_outside_the_register_are_pseudonymised(tmp_path):
    from pipeline import paths
    from pipeline.anonymise import transcript_speakers

    segments = tmp_path / paths.SEGMENTS
    segments.parent.mkdir(parents=True)
    pd.DataFrame({
        "speaker": ["Rosalind Pryce", "Sarah Lindqvist", "Interviewer", "", "Jo Bloggs"],
        "speaker_role": ["interviewer", "participant", "interviewer", "", "other"],
    }).to_parquet(segments)
    register = [Person("P001", "Sarah Lindqvist", "local_authority")]
    speakers = transcript_speakers(segments, register)
    assert [(p.name, p.label) for p in speakers] == [("Rosalind Pryce", "Interviewer"),
                                                      ("Jo Bloggs", "Named person")]
    pseudonymiser = Pseudonymiser.from_people(register + speakers, sectors={"local_authority": "Local authority"})
    text = pseudonymiser.apply("Thanks, Rosalind. Jo Bloggs and SARAH agreed.")
    assert text == "Thanks, [Interviewer 1]. [Named person 1] and [Local authority stakeholder 1] agreed."


def test_a_notes_heading_read_as_a_speaker_label_is_not_a_name(tmp_path):
    from pipeline.anonymise import transcript_speakers

    segments = tmp_path / paths.SEGMENTS
    segments.parent.mkdir(parents=True)
    pd.DataFrame({"speaker": ["Volunteers", "Referrals", "To be honest", "Rose", "Sarah Banks", "Guy"],
                  "speaker_role": ["other"] * 5 + ["interviewer"]}).to_parquet(segments)
    speakers = transcript_speakers(segments, [])
    # Rose and Guy: names that are also words
    assert [p.name for p in speakers] == ["Rose", "Sarah Banks", "Guy"]
    pseudonymiser = Pseudonymiser.from_people(speakers)
    assert pseudonymiser.apply("Volunteers are tired; referrals from volunteers went up.") == \
        "Volunteers are tired; referrals from volunteers went up."
    assert pseudonymiser.apply("Guy from the evaluation team is a nice guy.") == \
        "[Interviewer 1] from the evaluation team is a nice guy."


def test_names_written_last_first_or_with_an_organisation():
    pseudonymiser = Pseudonymiser.from_people(
        [Person("P001", "Okafor, Grace", "local_authority"),
         Person("P002", "Tomasz Nowicki (Brindle Council)", "voluntary")],
        sectors=SECTORS)
    text = pseudonymiser.apply("Grace Okafor, then Okafor, Grace and GRACE; Tomasz Nowicki of Brindle Council "
                               "and Mr Nowicki's team.")
    assert text == ("[Local authority stakeholder 1], then [Local authority stakeholder 1] and "
                    "[Local authority stakeholder 1]; [Voluntary sector partner 1] of Brindle Council "
                    "and [Voluntary sector partner 1]'s team.")
    logged = set(pseudonymiser.log_frame()["real"])
    assert {"Grace Okafor", "Okafor, Grace", "Grace", "Okafor", "Tomasz Nowicki"} <= logged
    assert not [real for real in logged if "Brindle" in real or "(" in real]


def test_transcript_speakers_written_last_first_or_with_an_organisation(tmp_path):
    from pipeline.anonymise import transcript_speakers

    segments = tmp_path / paths.SEGMENTS
    segments.parent.mkdir(parents=True)
    pd.DataFrame({
        "speaker": ["Evaluator, Sam", "Chaudhry, Priya", "Sam Evaluator (Lanternfield Learning)",
                    "Priya Chaudhry (Quillmere Hub)", "Interviewer (Lanternfield Learning)", "Participant 2", "P1"],
        "speaker_role": ["interviewer", "participant", "interviewer", "participant", "interviewer", "other",
                         "other"],
    }).to_parquet(segments)
    register = [Person("P001", "Priya Chaudhry", "voluntary")]
    speakers = transcript_speakers(segments, register)
    assert [(p.name, p.label) for p in speakers] == [("Sam Evaluator", "Interviewer")]
    pseudonymiser = Pseudonymiser.from_people(register + speakers, sectors=SECTORS)
    text = pseudonymiser.apply("Sam Evaluator (Lanternfield Learning) asked; Evaluator said Priya's hub helped "
                               "Chaudhry, Priya.")
    assert text == ("[Interviewer 1] (Lanternfield Learning) asked; [Interviewer 1] said "
                    "[Voluntary sector partner 1]'s hub helped [Voluntary sector partner 1].")


# ---------------------------------------------------------------- apostrophes, hyphens and suffixes

REGISTER_HEADER = "participant_id,site,sector,organisation,role,name\n"


def register_pseudonymiser(root: Path, rows, terms=None) -> Pseudonymiser:
    """Built the way the report stage builds it: from participants.csv and the validated config."""
    from pipeline.config import validate_config

    (root / "data/raw").mkdir(parents=True, exist_ok=True)
    (root / paths.PARTICIPANTS).write_text(
        REGISTER_HEADER + "".join(f"{pid},north,{sector},Org,Role,{name}\n" for pid, sector, name in rows),
        encoding="utf-8")
    config = validate_config({"privacy": {"identifying_terms": terms or {}}})
    return Pseudonymiser.from_project(config, root)


def test_names_and_terms_with_an_apostrophe(tmp_path):
    p = register_pseudonymiser(tmp_path, [("P001", "voluntary", "Siobhan O'Neill")],
                               {"St Mary's Hospice": "[a hospice]"})
    text = p.apply("Siobhan O'Neill and Mrs O’Neill at St Mary’s Hospice; O'NEILL's view of ST MARY'S HOSPICE.")
    assert text == ("[Voluntary sector partner 1] and [Voluntary sector partner 1] at [a hospice]; "
                    "[Voluntary sector partner 1]'s view of [a hospice].")


def test_name_followed_by_a_hyphenated_word_or_a_contraction(tmp_path):
    p = register_pseudonymiser(tmp_path, [
        ("P001", "voluntary", "Priya Chaudhry"), ("P002", "local_authority", "Sarah Lindqvist"),
        ("P003", "voluntary", "Jamal Haddad"), ("P004", "voluntary", "Owen Tudor"),
        ("P005", "voluntary", "Gwen Tudor-Rees")])
    text = p.apply("The Priya-led bid failed, Sarah'll tell you; the Jamal-style model, a pro-Priya vote, "
                   "Sarah's team and SARAH’S budget.")
    assert text == ("The [Voluntary sector partner 1]-led bid failed, [Local authority stakeholder 1]'ll tell "
                    "you; the [Voluntary sector partner 2]-style model, a pro-[Voluntary sector partner 1] vote, "
                    "[Local authority stakeholder 1]'s team and [Local authority stakeholder 1]’S budget.")
    # A hyphenated register name is one name (the longest match wins), not "Tudor" and "-Rees".
    assert p.apply("Tudor-Rees and Tudor agreed; the Tudor-led review") == (
        "[Voluntary sector partner 4] and [Voluntary sector partner 3] agreed; the "
        "[Voluntary sector partner 3]-led review")
    assert p.apply("Priyanka and Sarahs") == "Priyanka and Sarahs"


def test_hyphenated_surname_wrapped_spaced_or_with_an_en_dash(tmp_path):
    from pipeline.config import validate_config
    from pipeline.ingest import run_ingest

    raw = tmp_path / "data/raw"
    (raw / "interviews").mkdir(parents=True)
    (raw / "participants.csv").write_text(
        REGISTER_HEADER + "P015,sallowdene,voluntary,Carers Hub,Manager,Gwen Tudor-Rees\n"
        "P016,sallowdene,local_authority,Council,Officer,Claire Bowditch\n", encoding="utf-8")
    (raw / "interviews" / "sallowdene_p016_w1.txt").write_text(
        "---\nparticipant: P016\nwave: 1\ndate: 2025-03-01\n---\n"
        "Funding is year to year. Claire said the hub manager, Gwen Tudor-\n"
        "Rees, bids for the same pots every spring, and Tudor Rees told the\n"
        "board so; Tudor–Rees and Tudor‑Rees agreed.\n", encoding="utf-8")
    config = validate_config({})
    run_ingest(config, tmp_path)
    (text,) = pd.read_parquet(tmp_path / paths.SEGMENTS)["text"]
    assert "Gwen Tudor- Rees," in text   # how ingest joins a line wrapped at the hyphen
    assert Pseudonymiser.from_project(config, tmp_path).apply(text) == (
        "Funding is year to year. [Local authority stakeholder 1] said the hub manager, "
        "[Voluntary sector partner 1], bids for the same pots every spring, and [Voluntary sector partner 1] "
        "told the board so; [Voluntary sector partner 1] and [Voluntary sector partner 1] agreed.")


def test_the_everyday_words_are_what_the_script_makes_from_spacy_lookups_data():
    import importlib.util

    spec = importlib.util.spec_from_file_location("common_words_script", REPO / "scripts/common_words.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    words = script.everyday_words()
    assert {"to", "be", "honest", "power"} <= set(words) and not {"sarah", "priya", "john"} & set(words)
    assert script.TARGET.read_text(encoding="utf-8") == script.module_text(words)
