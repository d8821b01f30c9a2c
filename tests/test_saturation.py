import pandas as pd
import pytest

from pipeline import paths
from pipeline.config import validate_config
from pipeline.saturation import (
    run_saturation,
    saturation_statement,
    saturation_summary,
    saturation_table,
)

# Interview -> (site, date, codes). Dates are deliberately out of file order.
INTERVIEWS = {
    "d3": ("north", "2025-03-01", {"c", "d"}),
    "d1": ("north", "2025-01-10", {"a", "b"}),
    "d2": ("south", "2025-02-01", {"a", "c"}),
    "d4": ("south", "2025-04-01", {"a"}),
    "d5": ("north", "2025-05-01", {"b", "d"}),
    "d6": ("south", "2025-06-01", {"c"}),
    "d7": ("north", "2025-07-01", {"a", "e"}),
}


def _tables(interviews=INTERVIEWS):
    documents = pd.DataFrame(
        [{"document_id": doc, "method": "interview", "site": site, "date": date}
         for doc, (site, date, _codes) in interviews.items()]
        + [{"document_id": "survey1", "method": "survey", "site": "north", "date": "2025-01-01"}]
    )
    coded = pd.DataFrame(
        [{"segment_id": f"{doc}-{code}", "document_id": doc, "code_id": code, "status": "accepted"}
         for doc, (_s, _d, codes) in interviews.items() for code in sorted(codes)]
        + [{"segment_id": "survey1-z", "document_id": "survey1", "code_id": "z", "status": "accepted"},
           {"segment_id": "d6-x", "document_id": "d6", "code_id": "x", "status": "suggested"}]
    )
    return documents, coded


def test_new_codes_per_interview_in_date_order():
    documents, coded = _tables()
    table = saturation_table(documents, coded, include_suggested=False)
    overall = table[table.scope == "overall"]
    assert overall.document_id.tolist() == ["d1", "d2", "d3", "d4", "d5", "d6", "d7"]
    assert overall.new_codes.tolist() == [2, 1, 1, 0, 0, 0, 1]
    assert overall.cumulative_codes.tolist() == [2, 3, 4, 4, 4, 4, 5]
    assert overall.new_code_ids.tolist()[:2] == ["a; b", "c"]
    north = table[table.scope == "north"]
    assert north.document_id.tolist() == ["d1", "d3", "d5", "d7"]
    assert north.new_codes.tolist() == [2, 2, 0, 1]
    assert list(table.scope.unique()) == ["overall", "north", "south"]


def test_suggested_codes_count_only_when_asked():
    documents, coded = _tables()
    with_suggested = saturation_table(documents, coded, include_suggested=True)
    overall = with_suggested[with_suggested.scope == "overall"]
    assert overall.new_codes.tolist() == [2, 1, 1, 0, 0, 1, 1]  # "x" is new in d6


@pytest.mark.parametrize("window, saturated", [(3, False), (2, False), (1, False)])
def test_not_saturated_when_a_recent_interview_brought_a_new_code(window, saturated):
    documents, coded = _tables()
    summary = saturation_summary(saturation_table(documents, coded, False), window)
    overall = summary.set_index("scope").loc["overall"]
    assert bool(overall.saturated) is saturated
    assert overall.last_new_code_at == 7
    assert "saturation not reached" in overall.statement


def test_saturated_when_the_last_k_interviews_brought_nothing_new():
    interviews = {doc: spec for doc, spec in INTERVIEWS.items() if doc != "d7"}
    documents, coded = _tables(interviews)
    table = saturation_table(documents, coded, False)
    summary = saturation_summary(table, window=3).set_index("scope")
    assert bool(summary.loc["overall", "saturated"]) is True
    assert summary.loc["overall", "interviews"] == 6
    assert summary.loc["overall", "codes"] == 4
    assert summary.loc["overall", "last_new_code_at"] == 3
    assert summary.loc["overall", "statement"] == (
        "No new codes emerged in the last 3 of 6 interviews: saturation reached.")
    # k = 4 reaches back to interview 3, which brought a new code.
    assert not saturation_summary(table, window=4).set_index("scope").loc["overall", "saturated"]
    # Three interviews per site: too few to judge with k = 3.
    assert not summary.loc["south", "saturated"]
    assert "too few" in summary.loc["south", "statement"]


def test_undated_interviews_come_last_and_uncoded_ones_are_left_out():
    interviews = dict(INTERVIEWS)
    interviews["d0"] = ("north", "", {"f"})
    interviews["d9"] = ("north", "2025-01-01", set())
    documents, coded = _tables(interviews)
    overall = saturation_table(documents, coded, False).query("scope == 'overall'")
    assert overall.document_id.tolist()[-1] == "d0"
    assert "d9" not in overall.document_id.tolist()


def test_statement_for_a_scope_and_a_missing_scope():
    documents, coded = _tables()
    summary = saturation_summary(saturation_table(documents, coded, False), 3)
    assert saturation_statement(summary, "overall").endswith("saturation not reached.")
    assert "cannot be judged" in saturation_statement(summary, "nowhere")
    # Works on the CSV as read back, where booleans and numbers are re-typed.
    assert saturation_statement(summary.astype(str), "north") == saturation_statement(summary, "north")
    one = saturation_summary(saturation_table(*_tables({"d1": ("north", "2025-01-10", {"a"})}), False), 3)
    assert saturation_statement(one, "north").startswith("Only 1 coded interview so far (1 code):")


def _write_stage_inputs(root, documents, coded, segments=None, decisions=None):
    """The saturation stage's inputs; by default one participant segment per coded row and no decisions."""
    (root / paths.PROCESSED).mkdir(parents=True)
    documents.to_parquet(root / paths.DOCUMENTS)
    coded.to_parquet(root / paths.CODED_SEGMENTS)
    if segments is None:
        segments = coded[["segment_id", "document_id"]].assign(speaker_role="participant")
    segments.assign(speaker="").to_parquet(root / paths.SEGMENTS)
    if decisions is None:
        decisions = pd.DataFrame({"segment_id": pd.Series(dtype=str), "orphaned": pd.Series(dtype=bool)})
    decisions.to_parquet(root / paths.DECISIONS)


def test_stage_writes_tables_and_figure(tmp_path):
    documents, coded = _tables()
    _write_stage_inputs(tmp_path, documents, coded)
    config = validate_config({"sites": {"south": "South Shore"}})
    run_saturation(config, tmp_path)
    table = pd.read_csv(tmp_path / paths.SATURATION_CSV)
    assert list(table.scope.unique()) == ["overall", "south", "north"]
    summary = pd.read_csv(tmp_path / paths.SATURATION_SUMMARY_CSV, encoding="utf-8-sig")
    assert list(summary.columns[:6]) == ["scope", "interviews", "codes", "saturated",
                                         "last_new_code_at", "window"]
    figure = tmp_path / paths.SATURATION_FIGURE
    assert figure.read_bytes().startswith(b"\x89PNG") and figure.stat().st_size > 5000


def test_a_site_that_is_an_identifying_term_is_replaced_in_the_tables_and_the_figure(tmp_path, monkeypatch):
    import pipeline.saturation as saturation

    documents, coded = _tables()
    _write_stage_inputs(tmp_path, documents, coded)
    config = validate_config({"sites": {"north": "Northam"},
                              "privacy": {"identifying_terms": {"Northam": "[a market town]",
                                                                "north": "[a place]"}}})
    drawn = {}
    monkeypatch.setattr(saturation, "plot_saturation",
                        lambda table, summary, target, labels: drawn.update(labels))
    run_saturation(config, tmp_path)
    for path in (paths.SATURATION_CSV, paths.SATURATION_SUMMARY_CSV):
        text = (tmp_path / path).read_text(encoding="utf-8-sig")
        assert "north" not in text.lower() and "[a place]" in text, path
    assert drawn["north"] == "[a market town]" and drawn["south"] == "south"


def test_interviewer_turns_bring_no_codes():
    """A decision recorded on a turn later attributed to the interviewer is not evidence, as in triangulation."""
    documents, coded = _tables()
    coded["speaker_role"] = "participant"
    interviewer = pd.DataFrame([{"segment_id": "d1-q", "document_id": "d1", "code_id": "e",
                                 "status": "accepted", "speaker_role": "interviewer"}])
    table = saturation_table(documents, pd.concat([coded, interviewer], ignore_index=True))
    first = table[table.scope == "overall"].iloc[0]
    assert first.document_id == "d1" and first.new_code_ids == "a; b"


def test_undated_interviews_keep_the_order_of_the_waves():
    """Without dates the curve follows the fieldwork's waves (2 before 10), not the order of document IDs."""
    documents = pd.DataFrame([
        {"document_id": doc, "method": "interview", "site": "north", "date": "", "wave": wave}
        for doc, wave in (("a", "10"), ("b", "2"), ("c", "1"), ("d", "2"))])
    coded = pd.DataFrame([{"segment_id": f"{doc}-x", "document_id": doc, "code_id": "x", "status": "accepted"}
                          for doc in "abcd"])
    overall = saturation_table(documents, coded).query("scope == 'overall'")
    assert overall.document_id.tolist() == ["c", "b", "d", "a"]
    # a dated interview still comes first, whatever its wave
    documents.loc[documents.document_id == "a", "date"] = "2025-01-01"
    assert saturation_table(documents, coded).query("scope == 'overall'").document_id.tolist()[0] == "a"


def test_an_interview_whose_segments_were_all_rejected_counts_with_no_new_code(tmp_path):
    """Reviewed and found to hold no code is evidence that nothing new was said; unreviewed is not."""
    interviews = dict(INTERVIEWS)
    interviews["d8"] = ("south", "2025-08-01", set())   # every participant turn rejected
    interviews["d9"] = ("south", "2025-09-01", set())   # one of its two turns decided
    documents, coded = _tables(interviews)
    segments = pd.concat([
        coded[["segment_id", "document_id"]].assign(speaker_role="participant"),
        pd.DataFrame({"segment_id": ["d8-q", "d8-1", "d8-2", "d9-1", "d9-2", "gone"],
                      "document_id": ["d8", "d8", "d8", "d9", "d9", "d9"],
                      "speaker_role": ["interviewer", "participant", "participant", "participant",
                                       "participant", "participant"]})], ignore_index=True)
    segments = segments[segments.segment_id != "gone"]
    decisions = pd.DataFrame({"segment_id": ["d8-1", "d8-2", "d9-1", "d9-2"],
                              "orphaned": [False, False, False, True]})   # d9-2's decision is an orphan
    _write_stage_inputs(tmp_path, documents, coded, segments, decisions)
    run_saturation(validate_config({}), tmp_path)
    table = pd.read_csv(tmp_path / paths.SATURATION_CSV)
    overall = table[table.scope == "overall"]
    assert overall.document_id.tolist() == ["d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8"]
    assert overall.new_codes.tolist()[-1] == 0
    summary = pd.read_csv(tmp_path / paths.SATURATION_SUMMARY_CSV, encoding="utf-8-sig").set_index("scope")
    assert summary.loc["overall", "interviews"] == 8 and summary.loc["south", "interviews"] == 4
