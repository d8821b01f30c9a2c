"""Inductive discovery on a fixture whose codebook leaves one theme out.

tests/fixtures/discover/segments.yaml holds 60 invented segments about five
covered codes, 12 about digital exclusion (no code for it) and 5 unrelated
remarks. The real embedding model is used.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from openpyxl import load_workbook

from pipeline import discover, paths
from pipeline.codebook import load_codebook
from pipeline.config import validate_config
from pipeline.discover import (
    CANDIDATE_COLUMNS,
    CANDIDATE_SHEET,
    CANDIDATE_THEMES_SHEET,
    DiscoverySettings,
    candidate_sheet_files,
    class_tfidf,
    cluster_segments,
    discover_candidates,
    proposed_label,
    read_candidate_table,
    run_discover,
)
from pipeline.embed import embed_texts, text_hash, write_embeddings
from pipeline.review.inbox import review_inbox_files
from pipeline.errors import InputError
from pipeline.review.workbook import run_review_workbook
from pipeline.tables import SEGMENT_COLUMNS

FIXTURES = Path(__file__).parent / "fixtures" / "discover"
SITES = ["north", "south", "east"]
SECTORS = ["voluntary", "statutory_health", "local_authority"]
DIGITAL_WORDS = {"digital", "internet", "online", "smartphone", "smartphones", "wifi", "broadband",
                 "computer", "device", "phone", "app", "library"}
CONFIG = {"sites": {"north": "North Bay", "south": "South Shore", "east": "East Vale"}}


def _segment_table() -> tuple[pd.DataFrame, dict[str, str]]:
    """Segments spread over 12 interviews; returns the table and segment_id -> group."""
    groups = yaml.safe_load((FIXTURES / "segments.yaml").read_text(encoding="utf-8"))
    rows, group_of = [], {}
    n = 0
    for group, texts in groups.items():
        for text in texts:
            document = n % 12
            segment_id = f"seg{n:03d}"
            rows.append({
                "segment_id": segment_id, "document_id": f"doc{document:02d}", "method": "interview",
                "site": SITES[document % 3], "sector": SECTORS[document // 4 % 3],
                "participant_id": f"P{document:03d}", "source_id": f"P{document:03d}", "wave": "1",
                "date": f"2025-0{1 + document % 9}-01", "speaker": "R", "speaker_role": "participant",
                "question": "", "position": n, "text": text,
            })
            group_of[segment_id] = group
            n += 1
    # An interviewer's question about the left-out theme is never a candidate.
    rows.append({**rows[0], "segment_id": "seg_interviewer", "speaker_role": "interviewer",
                 "text": "Do people round here have internet access and smartphones at home?"})
    group_of["seg_interviewer"] = "interviewer"
    return pd.DataFrame(rows, columns=SEGMENT_COLUMNS), group_of


def _build_project(root: Path) -> dict[str, str]:
    """Write every input of the discover stage under ``root``; return segment_id -> group."""
    segments, group_of = _segment_table()
    (root / paths.PROCESSED).mkdir(parents=True)
    (root / "codebook").mkdir()
    shutil.copy(FIXTURES / "codebook.yaml", root / "codebook" / "codebook.yaml")
    segments.to_parquet(root / paths.SEGMENTS)
    config = validate_config(dict(CONFIG))
    vectors = embed_texts(segments["text"].tolist(), config, root)
    write_embeddings(root / paths.EMBEDDINGS, segments["segment_id"].tolist(),
                     [text_hash(t) for t in segments["text"]], vectors)

    covered = [s for s, g in group_of.items() if g not in ("digital_exclusion", "other", "interviewer")]
    suggestions = pd.DataFrame(
        [{"segment_id": s, "code_id": group_of[s], "rank": 1, "score": 0.6, "confidence": 0.8,
          "suggested": True} for s in covered]
        + [{"segment_id": s, "code_id": "trust", "rank": 1, "score": 0.1, "confidence": 0.1,
            "suggested": False} for s, g in group_of.items() if g in ("digital_exclusion", "other")])
    suggestions.to_parquet(root / paths.SUGGESTIONS)

    digital = [s for s, g in group_of.items() if g == "digital_exclusion"]
    rejected = [covered[0], covered[30]]          # analyst: no code applies -> back in the pool
    accepted_digital = digital[-1]                # analyst coded it -> not a candidate
    when = pd.Timestamp("2025-06-01", tz="UTC")
    decisions = pd.DataFrame(
        [{"segment_id": s, "coder": "ana", "decision": "reject", "code_id": "", "comment": "",
          "source_file": "data/review/ana.xlsx", "row": 2, "recorded_at": when, "orphaned": False}
         for s in rejected]
        + [{"segment_id": accepted_digital, "coder": "ana", "decision": "change", "code_id": "volunteers",
            "comment": "", "source_file": "data/review/ana.xlsx", "row": 3, "recorded_at": when,
            "orphaned": False}])
    decisions.to_parquet(root / paths.DECISIONS)

    meta = segments.set_index("segment_id")
    coded = [{"segment_id": s, "code_id": group_of[s], "theme_id": "x", "status": "suggested",
              "score": 0.6, "coder": ""} for s in covered if s not in rejected]
    coded.append({"segment_id": accepted_digital, "code_id": "volunteers", "theme_id": "resources",
                  "status": "changed", "score": np.nan, "coder": "ana"})
    coded = pd.DataFrame(coded)
    for column in ("document_id", "method", "site", "sector", "participant_id", "source_id", "wave", "date"):
        coded[column] = coded["segment_id"].map(meta[column])
    coded.to_parquet(root / paths.CODED_SEGMENTS)
    return group_of


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("discover") / "project"
    root.mkdir()
    group_of = _build_project(root)
    run_discover(validate_config(dict(CONFIG)), root)
    run_review_workbook(validate_config(dict(CONFIG)), root)  # shows the candidates to the analyst
    return root, group_of


def _candidates(root: Path) -> pd.DataFrame:
    return pd.read_csv(root / paths.CANDIDATE_CODES_CSV, encoding="utf-8-sig", keep_default_na=False)


def test_left_out_theme_is_found_as_one_candidate(project):
    root, group_of = project
    candidates = _candidates(root)
    assert list(candidates.columns) == CANDIDATE_COLUMNS
    assert len(candidates) == 1, candidates[["candidate_id", "proposed_label", "size"]]
    candidate = candidates.iloc[0]
    assert candidate.candidate_id == "C01"
    # 12 digital segments, less the one an analyst coded; nothing else joined them.
    assert candidate["size"] == 11
    exemplar_ids = candidate.exemplar_segment_ids.split("; ")
    assert {group_of[s] for s in exemplar_ids} == {"digital_exclusion"}
    assert "seg_interviewer" not in exemplar_ids


def test_keywords_and_label_come_from_the_left_out_theme(project):
    root, _ = project
    candidate = _candidates(root).iloc[0]
    keywords = candidate.keywords.split(", ")
    assert len(keywords) == 8
    assert len(DIGITAL_WORDS & set(keywords[:4])) >= 2, keywords
    assert candidate.proposed_label == " / ".join(k.title() for k in keywords[:3])
    assert "North Bay (" in candidate.sites and "(" in candidate.sectors


def test_three_to_five_exemplars_closest_to_the_centre(project):
    root, _ = project
    candidate = _candidates(root).iloc[0]
    exemplars = [candidate[f"exemplar_{i}"] for i in range(1, 6) if candidate[f"exemplar_{i}"]]
    assert len(exemplars) == 4 == len(candidate.exemplar_segment_ids.split("; "))


def test_review_workbook_has_the_candidate_sheet_and_dropdowns(project):
    root, _ = project
    assert not (root / "reports/review/candidate_codes.xlsx").exists()  # no separate workbook any more
    workbook = load_workbook(root / paths.REVIEW_WORKBOOK)
    assert workbook.sheetnames[0] == "Review"
    sheet = workbook[CANDIDATE_SHEET]
    header = [c.value for c in sheet[1]]
    for column in ("candidate_id", "proposed_label", "promote", "label", "definition", "theme"):
        assert column in header
    assert sheet.cell(row=2, column=1).value == "C01"
    assert sheet.cell(row=2, column=header.index("size") + 1).value == 11
    assert sheet.cell(row=2, column=header.index("exemplar_1") + 1).value == _candidates(root).iloc[0].exemplar_1
    formulas = {dv.formula1 for dv in sheet.data_validations.dataValidation}
    assert '"yes,no"' in formulas
    assert f"{CANDIDATE_THEMES_SHEET}!$A$2:$A$4" in formulas
    themes = workbook[CANDIDATE_THEMES_SHEET]
    assert themes.sheet_state == "hidden"
    assert [c.value for c in themes["A"]] == ["theme_id", "resources", "partnership", "proposed"]
    # only the analyst's columns can be edited
    assert sheet.protection.sheet
    for column in ("promote", "label", "definition", "theme"):
        assert not sheet.cell(row=2, column=header.index(column) + 1).protection.locked
    assert sheet.cell(row=2, column=1).protection.locked


def _promote(root: Path, name: str, **cells) -> Path:
    """Save a copy of the review workbook into data/review/ with row 2 of Candidate codes filled in."""
    workbook = load_workbook(root / paths.REVIEW_WORKBOOK)
    sheet = workbook[CANDIDATE_SHEET]
    header = [c.value for c in sheet[1]]
    for column, value in cells.items():
        sheet.cell(row=2, column=header.index(column) + 1, value=value)
    target = root / paths.REVIEW_INBOX / name
    target.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(target)
    return target


def test_promoted_candidate_goes_into_the_proposed_codebook_only(project):
    root, _ = project
    live = root / "codebook" / "codebook.yaml"
    before = live.read_bytes()
    proposed = root / paths.PROPOSED_CODEBOOK
    assert not proposed.exists()  # nothing promoted yet
    saved = _promote(root, "ana candidates.xlsx", promote="yes", label="Digital exclusion",
                     definition="Residents unable to get online: no internet, device or skills.")
    try:
        run_discover(validate_config(dict(CONFIG)), root)
        codebook = load_codebook(proposed)
        assert codebook.theme_of("digital_exclusion").id == "proposed"
        code = codebook.code_by_id("digital_exclusion")
        assert code.label == "Digital exclusion"
        assert 3 <= len(code.examples) <= 5
        assert set(load_codebook(live).code_ids) < set(codebook.code_ids)
        assert live.read_bytes() == before
        assert proposed.read_text(encoding="utf-8").startswith("# PROPOSED codebook")

        # The analyst picks an existing theme instead; the label defaults to the proposed one.
        _promote(root, "ana candidates.xlsx", promote="Yes", label=None, theme="partnership",
                 definition="Residents unable to get online.")
        run_discover(validate_config(dict(CONFIG)), root)
        codebook = load_codebook(proposed)
        (new_code,) = [c for c in codebook.codes if c.id not in load_codebook(live).code_ids]
        assert codebook.theme_of(new_code.id).id == "partnership"
        assert new_code.label == _candidates(root).iloc[0].proposed_label
        assert "proposed" not in codebook.theme_ids
        assert live.read_bytes() == before
    finally:
        saved.unlink()
        proposed.unlink(missing_ok=True)


def test_proposed_codebook_keeps_guids_and_colours(tmp_path):
    from pipeline.codebook import Code, Codebook, Theme
    from pipeline.discover import PROPOSED_THEME_ID, PromotedCode, proposed_codebook, \
        write_proposed_codebook

    live = Codebook(name="x", version="1", themes=[Theme(
        id="t", label="T", guid="0a1b2c3d-0000-4000-8000-000000000001", codes=[
            Code(id="a", label="A", definition="A.", color="#112233",
                 guid="0a1b2c3d-0000-4000-8000-000000000002")])])
    promoted = [PromotedCode("ana.xlsx", 2, "cand_1", "New code", "Something new.",
                             PROPOSED_THEME_ID)]
    target = tmp_path / "proposed.yaml"
    write_proposed_codebook(proposed_codebook(live, promoted), "codebook.yaml", promoted, target)
    proposed = load_codebook(target)
    assert proposed.themes[0] == live.themes[0]
    assert proposed.code_by_id("new_code").guid is None


def test_review_copies_without_the_candidate_sheet_are_skipped(project):
    root, _ = project
    old = root / paths.REVIEW_INBOX / "old copy.xlsx"
    workbook = load_workbook(root / paths.REVIEW_WORKBOOK)
    del workbook[CANDIDATE_SHEET]
    workbook.save(old)
    (root / paths.REVIEW_INBOX / "~$old copy.xlsx").write_bytes(b"lock")
    try:
        assert candidate_sheet_files(review_inbox_files(root)) == []
        run_discover(validate_config(dict(CONFIG)), root)
        assert not (root / paths.PROPOSED_CODEBOOK).exists()
    finally:
        old.unlink()
        (root / paths.REVIEW_INBOX / "~$old copy.xlsx").unlink()


def test_review_import_ignores_the_candidate_sheet(project):
    from pipeline.review.decisions import run_review_import

    root, _ = project
    decisions = (root / paths.DECISIONS).read_bytes()
    saved = _promote(root, "ana review.xlsx", promote="yes", label="Digital exclusion",
                     definition="Residents unable to get online.")
    try:
        run_review_import(validate_config(dict(CONFIG)), root)
        conflicts = pd.read_csv(root / paths.REVIEW_CONFLICTS, dtype=str, keep_default_na=False)
        assert conflicts.empty, conflicts
        imported = pd.read_parquet(root / paths.DECISIONS)
        assert set(imported["decision"]) <= {"reject", "change"}  # the pre-filled Review rows only
    finally:
        saved.unlink()
        (root / paths.DECISIONS).write_bytes(decisions)
        for leftover in (paths.DECISIONS_AUDIT, paths.REVIEW_CONFLICTS, paths.PROPOSED_CODEBOOK):
            (root / leftover).unlink(missing_ok=True)


def test_candidate_table_round_trips_formula_like_text(tmp_path):
    table = pd.DataFrame([{c: "" for c in CANDIDATE_COLUMNS} | {
        "candidate_id": "C01", "size": 5, "exemplar_1": "=HYPERLINK(1)", "exemplar_2": "'quoted'"}])
    from pipeline.atomic import write_csv

    write_csv(tmp_path / "c.csv", table)
    back = read_candidate_table(tmp_path / "c.csv")
    assert back.iloc[0]["exemplar_1"] == "=HYPERLINK(1)" and back.iloc[0]["exemplar_2"] == "'quoted'"
    assert back.iloc[0]["size"] == 5
    assert read_candidate_table(tmp_path / "missing.csv").empty


def test_promotion_without_a_definition_names_the_cell(project):
    root, _ = project
    # (in a subfolder, with the extension in capitals: read all the same)
    saved = _promote(root, "round2/BAD.XLSX", promote="yes", label="Digital exclusion", theme="nonsense")
    try:
        with pytest.raises(InputError) as error:
            run_discover(validate_config(dict(CONFIG)), root)
        message = str(error.value)
        assert "round2/BAD.XLSX, row 2, column 'definition'" in message
        assert not (root / paths.PROPOSED_CODEBOOK).exists()
    finally:
        saved.unlink()


def test_exemplars_are_pseudonymised_and_small_clusters_are_noise():
    rng = np.random.default_rng(0)
    centre = rng.normal(size=16)
    tight = centre + 0.05 * rng.normal(size=(6, 16))
    scattered = rng.normal(size=(4, 16))
    vectors = np.vstack([tight, scattered])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    pool = pd.DataFrame({
        "segment_id": [f"s{i}" for i in range(10)], "document_id": "d1", "source_id": "P1",
        "site": "north", "sector": "", "method": "interview",
        "text": [f"Brenda lost broadband access at the library computers, case {i}" for i in range(10)],
    })
    settings = DiscoverySettings(min_cluster_size=5, exemplars=3)
    candidates = discover_candidates(pool, vectors, settings, lambda t: t.replace("Brenda", "[P1]"))
    assert len(candidates) == 1 and candidates.iloc[0]["size"] == 6
    texts = [candidates.iloc[0][f"exemplar_{i}"] for i in (1, 2, 3)]
    assert all(t.startswith("[P1] lost") for t in texts)
    # Keywords come from the pseudonymised text without the pseudonyms themselves.
    keywords = candidates.iloc[0]["keywords"].split(", ")
    assert "brenda" not in keywords and "p1" not in keywords
    assert {"broadband", "library", "computer"} <= set(keywords)
    assert candidates.iloc[0]["exemplar_4"] == ""
    assert candidates.iloc[0]["sectors"] == "(none) (6)"


def test_cluster_labels_are_ordered_by_size():
    vectors = np.array([[1, 0], [1, 0.01], [1, 0.02], [0, 1], [0.01, 1], [0.02, 1], [0.03, 1]], float)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    assert cluster_segments(vectors, 0.5, 3).tolist() == [1, 1, 1, 0, 0, 0, 0]
    assert cluster_segments(vectors, 0.5, 4).tolist() == [-1, -1, -1, 0, 0, 0, 0]
    assert cluster_segments(vectors[:2], 0.5, 3).tolist() == [-1, -1]


def test_a_pool_smaller_than_a_cluster_needs_no_lemmas(monkeypatch):
    def no_spacy():
        raise AssertionError("spaCy was loaded for a pool too small to cluster")

    monkeypatch.setattr(discover, "lemmatizer", no_spacy)
    pool = pd.DataFrame({"segment_id": ["a", "b"], "document_id": "d", "source_id": "", "site": "",
                         "sector": "", "method": "interview",
                         "text": ["Lots of residents cannot get online.", "The library wifi is slow."]})
    candidates = discover_candidates(pool, np.eye(2, 4), DiscoverySettings(min_cluster_size=3))
    assert list(candidates.columns) == CANDIDATE_COLUMNS and candidates.empty


def test_class_tfidf_weighs_terms_specific_to_a_class():
    lemmas = [["wifi", "library"], ["wifi", "grant"], ["grant", "budget"], ["grant", "rent"]]
    classes, terms, weights, segment_counts = class_tfidf(lemmas, np.array([0, 0, 1, 1]))
    assert classes == [0, 1]
    w = dict(zip(terms, weights[0]))
    assert w["wifi"] > w["library"] > w["grant"]
    assert segment_counts[0][terms.index("wifi")] == 2
    assert proposed_label(["wifi", "library", "grant", "rent"]) == "Wifi / Library / Grant"


def test_no_candidates_when_too_few_segments_have_content(tmp_path):
    texts = ["Yes.", "No.", "Mm, yes.", "Right.", "OK.", "Lots of residents cannot get online at the library."]
    pool = pd.DataFrame({"segment_id": list("abcdef"), "document_id": "d", "source_id": "", "site": "",
                         "sector": "", "method": "interview", "text": texts})
    candidates = discover_candidates(pool, np.eye(6, 8), DiscoverySettings(min_cluster_size=5))
    assert list(candidates.columns) == CANDIDATE_COLUMNS and candidates.empty
    from openpyxl import Workbook

    from pipeline.discover import write_candidate_sheet

    workbook = Workbook()
    write_candidate_sheet(workbook, candidates, ["proposed"])
    workbook.save(tmp_path / "empty.xlsx")
    assert [c.value for c in load_workbook(tmp_path / "empty.xlsx")[CANDIDATE_SHEET][1]][:3] == [
        "candidate_id", "proposed_label", "promote"]


def test_site_labels_of_candidates_are_pseudonymised(project, tmp_path):

    root = shutil.copytree(project[0], tmp_path / "project")
    config = validate_config({**CONFIG, "privacy": {"identifying_terms": {"North Bay": "[a bay]"}}})
    run_discover(config, root)
    text = (root / paths.CANDIDATE_CODES_CSV).read_text(encoding="utf-8-sig")
    assert "North Bay" not in text and "[a bay] (" in _candidates(root).iloc[0]["sites"]
