"""pipeline/ingest/__init__.py: run_ingest on small projects made in tmp_path."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pandas as pd
import pytest

from pipeline import paths
from pipeline.config import validate_config
from pipeline.errors import InputError
from pipeline.ingest import run_ingest
from pipeline.tables import DOCUMENT_COLUMNS, SEGMENT_COLUMNS

sys.path.insert(0, str(Path(__file__).parent / "ingest"))
from word_files import make_docx  # noqa: E402 (test helper beside the reader tests)

OUTPUTS = (paths.SEGMENTS, paths.SEGMENTS_CSV, paths.DOCUMENTS, paths.INGEST_LOG)

REGISTER = ("participant_id,site,sector,organisation,role,name\n"
            "P001,quillmere,voluntary,QCA,Manager,Priya Chaudhry\n"
            "00123,sallowdene,statutory_health,Trust,Director,Richard Stanforth\n"
            "P900,Calloway Wren Foundation,programme,Calloway Wren Foundation,Officer,Harriet Vale\n")

TEAMS = """WEBVTT

a/1-0
00:00:01.000 --> 00:00:04.000
<v Tom Ashdown>Could you describe your role?</v>

a/2-0
00:00:05.000 --> 00:00:09.000
<v Richard Stanforth>I chair the board.</v>

a/2-1
00:00:09.000 --> 00:00:12.000
<v Richard Stanforth>Since it started.</v>
"""


def make_project(root: Path, config: dict | None = None) -> tuple[Path, dict]:
    """A small valid project: md, vtt and docx interviews, notes, and a workshop log."""
    raw = root / "data" / "raw"
    for folder in ("interviews", "observations", "workshops"):
        (raw / folder).mkdir(parents=True, exist_ok=True)
    (raw / "participants.csv").write_text(REGISTER, encoding="utf-8")
    (raw / "interviews" / "p001_w1.md").write_text(
        "---\nparticipant: P001\nwave: 1\ndate: 2025-03-04\n---\n\n"
        "**Interviewer:** How did the partnership start?\n\n"
        "**Respondent:** It grew out of the food response.\n\nThen the hub opened.\n", encoding="utf-8")
    (raw / "interviews" / "p00123_w2.vtt").write_text(TEAMS, encoding="utf-8")
    make_docx(raw / "interviews" / "p900_w1.docx", ["Interviewer: What does the foundation fund?",
                                                     "Harriet: Partnerships in five places."])
    (raw / "fieldwork.csv").write_text(
        "file,participant,site,sector,wave,date\n"
        "interviews/p00123_w2.vtt,00123,,,2,2025-09-01\n"
        "interviews/p900_w1.docx,P900,,,1,\n", encoding="utf-8")
    (raw / "observations" / "board.md").write_text(
        "---\nsession: Board meeting\nsite: quillmere\nwave: 1\ndate: 2025-03-10\n---\n\n"
        "The chair opened with referral figures.\n\nDebate about funding.\n", encoding="utf-8")
    (raw / "workshops" / "workshop_log.csv").write_text(
        "session,date,site,wave,observer,note\n"
        "Theory of change,2025-05-01,sallowdene,1,Ana Ruiz,Groups mapped local assets.\n"
        "Theory of change,2025-05-01,sallowdene,1,Ana Ruiz,Tension about data sharing.\n"
        "Reflection,2025-11-01,sallowdene,2,Ana Ruiz,Partners reported progress.\n", encoding="utf-8")
    return root, validate_config(config or {})


@pytest.fixture
def project(tmp_path):
    return make_project(tmp_path / "project")


def hashes(root: Path) -> dict[str, str]:
    raw = root / "data" / "raw"
    return {p.relative_to(raw).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(raw.rglob("*")) if p.is_file()}


def outputs_exist(root: Path) -> list[str]:
    return [o for o in OUTPUTS if (root / o).exists()]


def run_expecting_error(root: Path, config: dict) -> InputError:
    with pytest.raises(InputError) as info:
        run_ingest(config, root)
    assert outputs_exist(root) == [], "no output may be written when the run stops"
    return info.value


# ----------------------------------------------------------------- the happy path


def test_small_project(project):
    root, config = project
    before = hashes(root)
    run_ingest(config, root)
    assert hashes(root) == before, "input files must never change"
    assert outputs_exist(root) == list(OUTPUTS)

    documents = pd.read_parquet(root / paths.DOCUMENTS)
    segments = pd.read_parquet(root / paths.SEGMENTS)
    assert list(documents.columns) == DOCUMENT_COLUMNS and list(segments.columns) == SEGMENT_COLUMNS
    by_file = documents.set_index("source_file")
    assert by_file.loc["interviews/p001_w1.md", ["site", "sector", "source_id", "wave", "date"]].tolist() == [
        "quillmere", "voluntary", "P001", "1", "2025-03-04"]
    vtt = by_file.loc["interviews/p00123_w2.vtt"]
    assert (vtt["participant_id"], vtt["site"], vtt["wave"], vtt["source_format"]) == (
        "00123", "sallowdene", "2", "vtt-teams")
    assert by_file.loc["interviews/p900_w1.docx", "site"] == "Calloway Wren Foundation"
    assert by_file.loc["observations/board.md", "title"] == "Board meeting"
    assert by_file.loc["observations/board.md", "sector"] == ""
    assert (documents["source_file"] == "workshops/workshop_log.csv").sum() == 2
    assert segments["segment_id"].is_unique

    roles = segments.set_index("text")["speaker_role"]
    assert roles["How did the partnership start?"] == "interviewer"
    assert roles["Then the hub opened."] == "participant"
    assert roles["Could you describe your role?"] == "interviewer"    # the other of two speakers
    assert roles["I chair the board. Since it started."] == "participant"  # register name; cues merged
    assert roles["Partnerships in five places."] == "participant"   # the first name of P900, as Teams writes it
    assert roles["The chair opened with referral figures."] == ""
    assert roles["Groups mapped local assets."] == ""
    assert "Priya Chaudhry" not in set(segments["speaker"])
    assert "name" not in segments.columns and "name" not in documents.columns

    assert set(documents["method"]) == {"interview", "observation", "workshop"}

    ingest_log = pd.read_csv(root / paths.INGEST_LOG, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert set(ingest_log["status"]) == {"read"}
    assert "data/raw/interviews/p001_w1.md" in set(ingest_log["file"])


def test_run_twice_gives_the_same_ids(project):
    root, config = project
    run_ingest(config, root)
    first = pd.read_parquet(root / paths.SEGMENTS)["segment_id"].tolist()
    (root / "data/raw/observations/extra.md").write_text(
        "---\nsite: fenhollow\nwave: 2\n---\nNew notes.\n", encoding="utf-8")
    run_ingest(config, root)
    second = pd.read_parquet(root / paths.SEGMENTS)["segment_id"].tolist()
    assert set(first) <= set(second) and len(second) == len(first) + 1


def test_readme_and_lock_files_are_ignored(project):
    root, config = project
    (root / "data/raw/interviews/README.md").write_text("How these files were named.\n", encoding="utf-8")
    (root / "data/raw/interviews/~$p900_w1.docx").write_bytes(b"lock")
    run_ingest(config, root)
    documents = pd.read_parquet(root / paths.DOCUMENTS)
    assert len(documents) == 6


def test_non_utf8_register_is_decoded_and_recorded(project):
    root, config = project
    register = root / "data/raw/participants.csv"
    register.write_bytes(REGISTER.replace("Priya Chaudhry", "Zo\u00eb O\u2019Brien").encode("cp1252"))
    run_ingest(config, root)
    ingest_log = pd.read_csv(root / paths.INGEST_LOG, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    row = ingest_log.set_index("file").loc[paths.PARTICIPANTS]
    assert row["encoding"] == "cp1252" and row["status"] == "read"


# ----------------------------------------------------------------- every error case


def test_corrupt_and_empty_files(project):
    root, config = project
    good = (root / "data/raw/interviews/p900_w1.docx").read_bytes()
    (root / "data/raw/interviews/broken.docx").write_bytes(good[: len(good) // 3])
    (root / "data/raw/observations/empty.md").write_bytes(b"")
    error = run_expecting_error(root, config)
    files = {p.file for p in error.problems}
    assert {"data/raw/interviews/broken.docx", "data/raw/observations/empty.md"} <= files


def test_unknown_sector(project):
    root, config = project
    (root / "data/raw/interviews/x.md").write_text(
        "---\nsite: quillmere\nsector: health\nwave: 1\n---\nText.\n", encoding="utf-8")
    error = run_expecting_error(root, config)
    problem = next(p for p in error.problems if p.file == "data/raw/interviews/x.md")
    assert problem.column == "sector" and "voluntary" in problem.hint


def test_unknown_sector_in_register(project):
    root, config = project
    (root / "data/raw/participants.csv").write_text(REGISTER + "P5,a,health,,,\n", encoding="utf-8")
    error = run_expecting_error(root, config)
    assert [(p.row, p.column) for p in error.problems] == [(5, "sector")]


def test_participant_not_in_register(project):
    root, config = project
    (root / "data/raw/interviews/x.md").write_text("---\nparticipant: P404\nwave: 1\n---\nText.\n",
                                                   encoding="utf-8")
    error = run_expecting_error(root, config)
    assert any("'P404'" in p.message and "not in" in p.message for p in error.problems)


def test_a_withdrawn_participant_keeps_their_register_row_but_not_their_files(project):
    """Their row stays (so that their name is still replaced where others mention them); a file of theirs
    left in data/raw/ stops the run, naming the file and the register row."""
    root, config = project
    register = REGISTER.replace("role,name\n", "role,name,withdrawn\n").replace("Priya Chaudhry\n",
                                                                              "Priya Chaudhry,yes\n")
    (root / "data/raw/participants.csv").write_text(register, encoding="utf-8")
    error = run_expecting_error(root, config)
    (problem,) = error.problems
    assert problem.file == "data/raw/interviews/p001_w1.md"
    assert "participant 'P001' has withdrawn (data/raw/participants.csv row 2, column withdrawn)" in problem.message
    assert "delete this file" in problem.hint
    (root / "data/raw/interviews/p001_w1.md").unlink()
    run_ingest(config, root)
    assert "P001" not in set(pd.read_parquet(root / paths.SEGMENTS)["participant_id"])
    (root / "data/raw/participants.csv").write_text(register.replace(",yes\n", ",maybe\n"), encoding="utf-8")
    with pytest.raises(InputError) as info:
        run_ingest(config, root)
    assert "withdrawn is 'maybe'" in str(info.value) and "row 2" in str(info.value)


def test_a_project_given_relative_to_the_working_directory_is_not_named_in_messages(project, monkeypatch):
    root, config = project
    (root / "data/raw/participants.csv").write_bytes(REGISTER.encode() + "P7,x,voluntary,,,caf\u00e9 ".encode()
                                                     + "\u201cq\u201d\n".encode("cp1252"))
    monkeypatch.chdir(root.parent)
    with pytest.raises(InputError) as info:
        run_ingest(config, Path(root.name))
    assert [p.file for p in info.value.problems] == ["data/raw/participants.csv"]


def test_duplicate_participant_ids(project):
    root, config = project
    (root / "data/raw/participants.csv").write_text(REGISTER + "P001,fenhollow,voluntary,,,\n",
                                                    encoding="utf-8")
    error = run_expecting_error(root, config)
    assert "rows 2, 5" in str(error)


def test_unresolved_metadata_lists_every_file(project):
    root, config = project
    interviews = root / "data/raw/interviews"
    (interviews / "a.md").write_text("No front matter at all.\n", encoding="utf-8")
    (interviews / "b.vtt").write_text(TEAMS, encoding="utf-8")
    (interviews / "c.md").write_text("---\nsite: x\nsector: voluntary\n---\nNo wave.\n", encoding="utf-8")
    (root / "data/raw/observations/d.md").write_text("---\nsite: x\n---\nNo wave.\n", encoding="utf-8")
    error = run_expecting_error(root, config)
    unresolved = {p.file: p.message for p in error.problems if "not given" in p.message}
    assert unresolved == {
        "data/raw/interviews/a.md": "site, sector, wave not given",
        "data/raw/interviews/b.vtt": "site, sector, wave not given",
        "data/raw/interviews/c.md": "wave not given",
        "data/raw/observations/d.md": "wave not given",
    }
    hints = {p.file: p.hint for p in error.problems if "not given" in p.message}
    assert hints["data/raw/interviews/a.md"].startswith("add front matter, or a row in data/raw/fieldwork.csv")
    assert hints["data/raw/interviews/b.vtt"].startswith("add a row in data/raw/fieldwork.csv")   # no front matter


def test_front_matter_and_fieldwork_disagree(project):
    root, config = project
    (root / "data/raw/fieldwork.csv").write_text(
        "file,participant,site,sector,wave,date\n"
        "interviews/p00123_w2.vtt,00123,,,2,\n"
        "interviews/p900_w1.docx,P900,,,1,\n"
        "interviews/p001_w1.md,,,,2,\n", encoding="utf-8")
    error = run_expecting_error(root, config)
    problem = error.problems[0]
    assert problem.column == "wave" and "front matter" in problem.message and "row 4" in problem.message


def test_a_long_survey_answer_stays_whole_with_a_warning(project, caplog):
    root, _ = project
    (root / "data/raw/surveys").mkdir()
    answer = "We met every month and talked about referrals. " * 30     # about 1,400 characters
    (root / "data/raw/surveys/s.csv").write_text(f"ref,What changed?\n1,{answer}\n2,More trust.\n",
                                                 encoding="utf-8")
    config = validate_config({"surveys": [{"file": "s.csv", "wave": "1", "site": "quillmere",
                                           "sector": "voluntary", "id_column": "ref",
                                           "text_columns": ["What changed?"]}]})
    run_ingest(config, root)
    surveys = pd.read_parquet(root / paths.SEGMENTS).query("method == 'survey'")
    assert sorted(surveys["text"].str.len()) == [len("More trust."), len(answer.strip())]
    assert "1 survey answer(s) are longer than about 1000 characters" in caplog.text
    assert "data/raw/surveys/s.csv" in caplog.text


def test_site_spellings_are_one_site_in_every_source(tmp_path, caplog):
    # The register writes the configured label and other sources the key, or another case.
    root, config = make_project(tmp_path / "project", {"sites": {"quillmere": "Quillmere Vale"}})
    register = root / "data/raw/participants.csv"
    register.write_text(register.read_text(encoding="utf-8").replace(
        "P001,quillmere,", "P001,Quillmere Vale,").replace("00123,sallowdene,", "00123,Sallowdene,"),
        encoding="utf-8")
    run_ingest(config, root)
    sites = pd.read_parquet(root / paths.DOCUMENTS).set_index("source_file")["site"].to_dict()
    assert sites["interviews/p001_w1.md"] == sites["observations/board.md"] == "quillmere"
    # Unconfigured: the spelling most sources use (the workshop log's three sessions).
    assert sites["interviews/p00123_w2.vtt"] == sites["workshops/workshop_log.csv"] == "sallowdene"
    assert "'Quillmere Vale' is read as 'quillmere'" in caplog.text
    assert "'Sallowdene' is read as 'sallowdene'" in caplog.text and "p00123_w2.vtt" in caplog.text
    # sallowdene is not among the configured sites: a misspelling, or a site to add
    assert "Site 'sallowdene' is not among the sites in config.yaml (3 document(s), e.g. " in caplog.text
    assert "Site 'quillmere' is not among" not in caplog.text
    assert "Calloway Wren Foundation" not in caplog.text   # a programme organisation (a funder), not a site


def test_a_misspelt_site_is_warned_about_with_the_nearest_listed_one(project, caplog):
    """Even for a programme organisation, which need not be listed, when it looks like a listed site."""
    root, _ = project
    config = validate_config({"sites": {"quillmere": "Quillmere", "sallowdene": "Sallowdene",
                                        "calloway_wren": "Calloway Wren Foundation"}})
    register = root / "data/raw/participants.csv"
    register.write_text(register.read_text(encoding="utf-8").replace(
        "P900,Calloway Wren Foundation,", "P900,Caloway Wren Foundation,"), encoding="utf-8")
    run_ingest(config, root)
    assert ("Site 'Caloway Wren Foundation' is not among the sites in config.yaml (1 document(s), e.g. "
            "data/raw/interviews/p900_w1.docx); did you mean 'Calloway Wren Foundation'?") in caplog.text


def test_wave_spellings_are_one_wave_in_every_source(tmp_path, caplog):
    # One team writes the wave differently in front matter, fieldwork.csv, a session log and a
    # survey's config: each spelling of wave 1 must be wave "1", with no conflict between them.
    root, _ = make_project(tmp_path / "project")
    raw = root / "data" / "raw"

    def respell(name, *replacements):
        text = (raw / name).read_text(encoding="utf-8")
        for old, new in replacements:
            assert old in text
            text = text.replace(old, new)
        (raw / name).write_text(text, encoding="utf-8")

    respell("interviews/p001_w1.md", ("wave: 1", "wave: Wave one"))
    # fieldwork.csv's "01" for the same file must agree with the front matter's "Wave 1".
    respell("fieldwork.csv", ("p00123_w2.vtt,00123,,,2,", "p00123_w2.vtt,00123,,,W2,"),
            ("p900_w1.docx,P900,,,1,\n", "p900_w1.docx,P900,,,wave-1,\ninterviews/p001_w1.md,,,,01,\n"))
    respell("observations/board.md", ("wave: 1", "wave: Baseline"))
    respell("workshops/workshop_log.csv", ("sallowdene,1,Ana Ruiz,Groups", "sallowdene,Wave 01,Ana Ruiz,Groups"),
            ("sallowdene,1,Ana Ruiz,Tension", "sallowdene,w1,Ana Ruiz,Tension"),
            ("sallowdene,2,", "sallowdene,baseline ,"))
    (raw / "surveys").mkdir()
    (raw / "surveys" / "s.csv").write_text("ref,site,sector,What changed?\n1,quillmere,voluntary,More trust.\n",
                                           encoding="utf-8")
    config = validate_config({"surveys": [{"file": "s.csv", "wave": "01", "id_column": "ref",
                                           "site_column": "site", "sector_column": "sector",
                                           "text_columns": ["What changed?"]}]})
    run_ingest(config, root)
    waves = pd.read_parquet(root / paths.DOCUMENTS).set_index("title")["wave"].to_dict()
    # "Baseline" and "baseline " are one wave, spelt one way: capitals first on a tie.
    assert set(waves.values()) == {"1", "2", "Baseline"}
    assert waves["Board meeting"] == waves["Reflection"] == "Baseline"
    assert waves["Theory of change"] == waves["s"] == "1"
    assert "Wave 'Baseline' (e.g. data/raw/observations/board.md) is named while other waves are numbered" \
        in caplog.text


def test_fieldwork_row_for_missing_file(project):
    root, config = project
    with (root / "data/raw/fieldwork.csv").open("a", encoding="utf-8") as handle:
        handle.write("interviews/missing.docx,P001,,,1,\n")
    error = run_expecting_error(root, config)
    assert "missing.docx" in str(error)


def test_malformed_front_matter(project):
    root, config = project
    (root / "data/raw/interviews/bad.md").write_text("---\nwave: [1\n---\nText\n", encoding="utf-8")
    error = run_expecting_error(root, config)
    problem = next(p for p in error.problems if p.file.endswith("bad.md"))
    assert problem.row is not None


def test_unsupported_file_type(project):
    root, config = project
    (root / "data/raw/interviews/old.doc").write_bytes(b"\xd0\xcf\x11\xe0 legacy")
    error = run_expecting_error(root, config)
    assert any(p.file.endswith("old.doc") and ".docx" in p.hint for p in error.problems)


def test_symbolic_links_are_not_followed(project, tmp_path):
    root, config = project
    outside = tmp_path / "elsewhere"
    (outside / "folder").mkdir(parents=True)
    (outside / "secret.md").write_text("---\nparticipant: P001\nwave: 1\n---\nNot fieldwork.\n")
    (outside / "folder" / "other.md").write_text("---\nparticipant: P001\nwave: 1\n---\nNor this.\n")
    (root / "data/raw/interviews/linked.md").symlink_to(outside / "secret.md")
    (root / "data/raw/interviews/linked_folder").symlink_to(outside / "folder", target_is_directory=True)
    error = run_expecting_error(root, config)
    linked = sorted(p.file for p in error.problems if "symbolic link" in p.message)
    assert [Path(f).name for f in linked] == ["linked.md", "linked_folder"]
    assert all("copy the file" in p.hint for p in error.problems if "symbolic link" in p.message)
    assert not (root / paths.SEGMENTS).exists()


def test_symbolic_links_among_survey_exports_are_not_followed(project, tmp_path):
    root, _ = project
    outside = tmp_path / "elsewhere"
    (outside / "exports").mkdir(parents=True)
    export = "ref,What changed?\n1,Text from outside the project.\n"
    (outside / "export.csv").write_text(export, encoding="utf-8")
    (outside / "exports" / "other.csv").write_text(export, encoding="utf-8")
    surveys = root / "data/raw/surveys"
    surveys.mkdir()
    (surveys / "linked.csv").symlink_to(outside / "export.csv")
    (surveys / "linked_folder").symlink_to(outside / "exports", target_is_directory=True)
    config = validate_config({"surveys": [{"file": "linked.csv", "wave": "1", "site": "quillmere",
                                           "sector": "voluntary", "id_column": "ref",
                                           "text_columns": ["What changed?"]}]})
    error = run_expecting_error(root, config)
    linked = sorted(p.file for p in error.problems if "symbolic link" in p.message)
    assert linked == ["data/raw/surveys/linked.csv", "data/raw/surveys/linked_folder"]
    assert not (root / paths.SEGMENTS).exists()


# ----------------------------------------------------------------- skip mode


def test_skip_mode_leaves_bad_files_out(tmp_path):
    root, config = make_project(tmp_path / "project", {"ingest": {"on_bad_file": "skip"}})
    (root / "data/raw/interviews/x.md").write_text("No front matter.\n", encoding="utf-8")
    (root / "data/raw/observations/empty.txt").write_bytes(b"")
    before = hashes(root)
    run_ingest(config, root)
    assert hashes(root) == before
    documents = pd.read_parquet(root / paths.DOCUMENTS)
    assert "interviews/x.md" not in set(documents["source_file"])
    assert "interviews/p001_w1.md" in set(documents["source_file"])
    errors = pd.read_csv(root / paths.INGEST_ERRORS, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert set(errors["file"]) == {"data/raw/interviews/x.md", "data/raw/observations/empty.txt"}
    ingest_log = pd.read_csv(root / paths.INGEST_LOG, encoding="utf-8-sig", dtype=str,
                             keep_default_na=False).set_index("file")
    assert ingest_log.loc["data/raw/interviews/x.md", "status"] == "excluded"
    assert ingest_log.loc["data/raw/observations/empty.txt", "status"] == "error"
    assert "not given" in ingest_log.loc["data/raw/interviews/x.md", "message"]


def test_skip_mode_still_stops_on_a_broken_register(tmp_path):
    root, config = make_project(tmp_path / "project", {"ingest": {"on_bad_file": "skip"}})
    (root / "data/raw/participants.csv").write_text(REGISTER + "P001,a,voluntary,,,\n", encoding="utf-8")
    run_expecting_error(root, config)


# ----------------------------------------------------------------- folders that are not method folders


def test_a_file_in_a_mistyped_folder_stops_the_run_naming_the_folder(project):
    root, config = project
    (root / "data/raw/interview").mkdir()
    (root / "data/raw/interview/p002_w2.md").write_text(
        "---\nparticipant: P001\nwave: 2\n---\n\nWe lost two link workers.\n", encoding="utf-8")
    (root / "data/raw/focus_groups/round1").mkdir(parents=True)
    (root / "data/raw/focus_groups/round1/group_a.txt").write_text("Notes.\n", encoding="utf-8")
    (root / "data/raw/p003_w1.docx").write_bytes(b"")   # loose in data/raw/
    (root / "data/raw/README.md").write_text("What is where.\n", encoding="utf-8")   # not fieldwork
    error = run_expecting_error(root, config)
    by_file = {p.file: p for p in error.problems}
    assert set(by_file) == {"data/raw/interview/p002_w2.md", "data/raw/focus_groups/round1/group_a.txt",
                            "data/raw/p003_w1.docx"}
    assert "not in a method folder" in by_file["data/raw/p003_w1.docx"].message
    typo = by_file["data/raw/interview/p002_w2.md"]
    assert "data/raw/interview/" in typo.message and "not a method folder" in typo.message
    assert "data/raw/interviews/" in typo.hint  # the folder it was meant to be
    other = by_file["data/raw/focus_groups/round1/group_a.txt"]
    assert "data/raw/focus_groups/" in other.message
    for folder in ("interviews", "surveys", "observations", "workshops"):
        assert f"data/raw/{folder}/" in other.hint


def test_skip_mode_lists_files_in_a_mistyped_folder_and_still_ignores_hidden_ones(tmp_path):
    root, config = make_project(tmp_path / "project", {"ingest": {"on_bad_file": "skip"}})
    raw = root / "data/raw"
    (raw / "interview").mkdir()
    (raw / "interview/p002_w2.md").write_text(
        "---\nparticipant: P001\nwave: 2\n---\n\nWe lost two link workers.\n", encoding="utf-8")
    # Not fieldwork, in or outside a folder that is not a method folder: still ignored.
    (raw / "interview/README.md").write_text("What the folder holds.", encoding="utf-8")
    (raw / "interview/~$p002_w2.md").write_bytes(b"lock")
    (raw / "interview/.DS_Store").write_bytes(b"\0")
    (raw / ".git/objects").mkdir(parents=True)
    (raw / ".git/objects/abc").write_text("blob", encoding="utf-8")
    (raw / "~$draft").mkdir()
    (raw / "~$draft/x.md").write_text("lock", encoding="utf-8")
    (raw / "empty").mkdir()
    run_ingest(config, root)
    errors = pd.read_csv(root / paths.INGEST_ERRORS, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert list(errors["file"]) == ["data/raw/interview/p002_w2.md"]
    assert "not a method folder" in errors["message"].iloc[0]
    ingest_log = pd.read_csv(root / paths.INGEST_LOG, encoding="utf-8-sig", dtype=str,
                             keep_default_na=False).set_index("file")
    assert ingest_log.loc["data/raw/interview/p002_w2.md", "status"] == "error"
    assert ingest_log.loc["data/raw/interview/p002_w2.md", "n_documents"] == "0"
    assert not [f for f in ingest_log.index if f.startswith(("data/raw/.git", "data/raw/~$", "data/raw/empty"))
                or (f.startswith("data/raw/interview/") and f != "data/raw/interview/p002_w2.md")]
    documents = pd.read_parquet(root / paths.DOCUMENTS)
    assert "interviews/p001_w1.md" in set(documents["source_file"])


# ----------------------------------------------------------------- transcript or notes


def records(root: Path) -> dict[str, str]:
    documents = pd.read_parquet(root / paths.DOCUMENTS)
    return dict(zip(documents["source_file"], documents["record"]))


def test_record_is_detected_from_speaker_turns_and_format(project):
    root, config = project
    interviews = root / "data" / "raw" / "interviews"
    (interviews / "p001_w2.md").write_text(
        "---\nparticipant: P001\nwave: 2\n---\n\nShe said the board rarely met; felt the council dominated.\n",
        encoding="utf-8")
    make_docx(interviews / "p900_w2.docx", ["Harriet described the funding round.",
                                            "Felt the places were ready for more."])
    (root / "data" / "raw" / "fieldwork.csv").write_text(
        "file,participant,site,sector,wave,date\n"
        "interviews/p00123_w2.vtt,00123,,,2,2025-09-01\n"
        "interviews/p900_w1.docx,P900,,,1,\n"
        "interviews/p900_w2.docx,P900,,,2,\n", encoding="utf-8")
    run_ingest(config, root)
    assert records(root) == {
        "interviews/p001_w1.md": "transcript",       # speaker turns
        "interviews/p001_w2.md": "notes",            # a summary in the third person
        "interviews/p00123_w2.vtt": "transcript",
        "interviews/p900_w1.docx": "transcript",     # Interviewer: / Harriet: turns
        "interviews/p900_w2.docx": "notes",
        "observations/board.md": "notes",
        "workshops/workshop_log.csv": "notes",
    }
    segments = pd.read_parquet(root / paths.SEGMENTS)
    assert set(segments.loc[segments["document_id"].isin(
        pd.read_parquet(root / paths.DOCUMENTS).query("source_file == 'interviews/p001_w2.md'")["document_id"]),
        "record"]) == {"notes"}


def test_record_given_in_front_matter_and_fieldwork_overrides_detection(project):
    root, config = project
    raw = root / "data" / "raw"
    # Q:/A: notes are still notes; a typed-up transcript without labels is still a transcript.
    (raw / "interviews" / "p001_w1.md").write_text(
        "---\nparticipant: P001\nwave: 1\nrecord: Notes\n---\n\n"
        "**Interviewer:** How did the partnership start?\n\n**Respondent:** Out of the food response, she said.\n",
        encoding="utf-8")
    make_docx(raw / "interviews" / "p900_w1.docx", ["We fund partnerships in five places."])
    (raw / "fieldwork.csv").write_text(
        "file,participant,site,sector,wave,date,record\n"
        "interviews/p00123_w2.vtt,00123,,,2,2025-09-01,\n"
        "interviews/p900_w1.docx,P900,,,1,,transcript\n", encoding="utf-8")
    run_ingest(config, root)
    found = records(root)
    assert found["interviews/p001_w1.md"] == "notes"
    assert found["interviews/p900_w1.docx"] == "transcript"
    assert found["interviews/p00123_w2.vtt"] == "transcript"


@pytest.mark.parametrize("where", ["front matter", "fieldwork.csv"])
def test_unknown_record_names_the_file_and_value(project, where):
    root, config = project
    raw = root / "data" / "raw"
    if where == "front matter":
        (raw / "interviews" / "p001_w1.md").write_text(
            "---\nparticipant: P001\nwave: 1\nrecord: verbatim\n---\n\nIt grew out of the food response.\n",
            encoding="utf-8")
        file = "data/raw/interviews/p001_w1.md"
    else:
        (raw / "fieldwork.csv").write_text(
            "file,participant,site,sector,wave,date,record\n"
            "interviews/p00123_w2.vtt,00123,,,2,2025-09-01,\n"
            "interviews/p900_w1.docx,P900,,,1,,verbatim\n", encoding="utf-8")
        file = "data/raw/interviews/p900_w1.docx"
    error = run_expecting_error(root, config)
    problems = [p for p in error.problems if p.column == "record"]
    assert [p.file for p in problems] == [file]
    assert "'verbatim'" in problems[0].message and "transcript" in problems[0].message
    assert (where if where == "front matter" else "fieldwork.csv row 3") in problems[0].message
