"""Agreement measures against hand-computed values."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from pipeline.codebook import load_codebook
from pipeline.review.agreement import (
    agreement_table,
    cohen_kappa,
    krippendorff_alpha,
    percent_agreement,
)

from .test_coded import decision


@pytest.fixture
def codebook(project):
    return load_codebook(project / "codebook" / "codebook.yaml")


def test_cohen_kappa_by_hand():
    # p_o = 4/6; p_e = (3/6)(3/6) + (3/6)(3/6) = 1/2; kappa = (2/3 - 1/2) / (1/2) = 1/3
    assert cohen_kappa([1, 1, 0, 0, 1, 0], [1, 0, 0, 0, 1, 1]) == pytest.approx(1 / 3)
    # p_o = 3/4; p_e = .5*.25 + .5*.75 = .5; kappa = .5
    assert cohen_kappa(list("aabb"), list("abbb")) == pytest.approx(0.5)
    assert cohen_kappa(list("ab"), list("ab")) == pytest.approx(1.0)


def test_kappa_degenerate_cases_are_nan():
    assert math.isnan(cohen_kappa([], []))
    assert math.isnan(cohen_kappa(["x", "x"], ["x", "x"]))   # one category only


def test_krippendorff_alpha_by_hand():
    # Units (a,a), (a,b), (b,b), (b,b): coincidences o_ab = o_ba = 1, n_a = 3, n_b = 5, n = 8.
    # alpha = 1 - (n - 1) * (o_ab + o_ba) / (2 * n_a * n_b) = 1 - 7 * 2 / 30 = 8/15
    assert krippendorff_alpha([["a", "a"], ["a", "b"], ["b", "b"], ["b", "b"]]) == pytest.approx(8 / 15)
    # missing values: a unit with one label is ignored
    assert krippendorff_alpha([["a", "a"], ["a", "b"], ["b", "b"], ["b", "b"], ["a"]]) == pytest.approx(8 / 15)
    assert math.isnan(krippendorff_alpha([["a", "a"], ["a", "a"]]))
    assert math.isnan(krippendorff_alpha([["a"]]))


def test_percent_agreement():
    assert percent_agreement(list("aabb"), list("abbb")) == 0.75
    assert math.isnan(percent_agreement([], []))


def value(table, measure, code_id, coder_a, coder_b=""):
    rows = table[(table.measure == measure) & (table.code_id == code_id) & (table.coder_a == coder_a)
                 & (table.coder_b == coder_b)]
    assert len(rows) == 1, (measure, code_id, coder_a, coder_b)
    return rows.iloc[0]["value"], rows.iloc[0]["n"]


def test_agreement_table_small_example(codebook):
    # suggestions above threshold (see conftest): 00123 {res_funding, res_staff}, 1234… {res_staff,
    # res_funding}, seg_a {rel_trust}, seg_b {rel_comms, rel_trust, res_funding}
    from .conftest import suggestions_frame
    decisions = pd.DataFrame([
        decision("00123", "alice", "accept", "res_funding"),
        decision("1234567890123456", "alice", "change", "rel_trust"),
        decision("seg_a", "alice", "accept", "rel_trust"),
        decision("seg_b", "alice", "reject", ""),
        decision("00123", "bob", "accept", "res_funding"),
        decision("1234567890123456", "bob", "change", "res_staff"),
        decision("seg_a", "bob", "reject", ""),
        decision("seg_b", "bob", "reject", ""),
        decision("seg_c", "bob", "change", "rel_comms"),               # only bob: not shared
        decision("seg_x", "alice", "accept", "rel_trust", orphaned=True),  # left out
    ])
    table = agreement_table(decisions, suggestions_frame(), codebook)
    assert list(table.columns) == ["measure", "code_id", "coder_a", "coder_b", "value", "n"]

    # res_funding suggested on 00123, 1234…, seg_b for each of 2 coders = 6 offers, kept twice
    assert value(table, "acceptance_rate", "res_funding", "(all coders)") == (pytest.approx(2 / 6), 6)
    # rel_trust offered on seg_a and seg_b (x2 coders) = 4, kept by alice on seg_a = 1
    assert value(table, "acceptance_rate", "rel_trust", "(all coders)") == (pytest.approx(1 / 4), 4)

    # pair alice-bob on 4 shared segments; whole-set labels:
    # alice: res_funding, rel_trust, rel_trust, (none); bob: res_funding, res_staff, (none), (none)
    # p_o = 2/4; alice counts {res_funding:1, rel_trust:2, none:1}, bob {res_funding:1, res_staff:1,
    # none:2}; p_e = (1*1 + 1*2) / 16 = 3/16; kappa = (1/2 - 3/16) / (13/16) = 5/13
    assert value(table, "kappa", "(all)", "alice", "bob") == (pytest.approx(5 / 13), 4)
    assert value(table, "percent_agreement", "(all)", "alice", "bob") == (0.5, 4)
    # res_funding presence: both [1,0,0,0] -> perfect agreement
    assert value(table, "kappa", "res_funding", "alice", "bob")[0] == pytest.approx(1.0)
    # with two coders and no missing data alpha is defined on the same four units
    alpha, n = value(table, "krippendorff_alpha", "(all)", "(all coders)")
    assert n == 4
    assert alpha == pytest.approx(krippendorff_alpha([
        ["res_funding", "res_funding"], ["rel_trust", "res_staff"], ["rel_trust", "(none)"],
        ["(none)", "(none)"]]))
    # suggestion vs alice, overall: top-1 [res_funding, res_staff, rel_trust, rel_comms] vs
    # alice [res_funding, rel_trust, rel_trust, (none)]
    expected = cohen_kappa(["res_funding", "res_staff", "rel_trust", "rel_comms"],
                           ["res_funding", "rel_trust", "rel_trust", "(none)"])
    assert value(table, "kappa_suggestion", "(all)", "suggestion", "alice") == (pytest.approx(expected), 4)
    assert not table["value"].isna().all()


def test_degenerate_agreement_does_not_crash(codebook):
    from .conftest import suggestions_frame
    decisions = pd.DataFrame([
        decision("seg_a", "alice", "reject", ""),
        decision("seg_a", "bob", "reject", ""),
    ])
    table = agreement_table(decisions, suggestions_frame(), codebook)
    kappa, n = value(table, "kappa", "(all)", "alice", "bob")
    assert math.isnan(kappa) and n == 1
    alpha, n = value(table, "krippendorff_alpha", "(all)", "(all coders)")
    assert math.isnan(alpha) and n == 1
    assert value(table, "percent_agreement", "(all)", "(all coders)") == (1.0, 1)
    empty = agreement_table(decisions.iloc[0:0], suggestions_frame(), codebook)
    assert list(empty["measure"]) == ["acceptance_rate"]


def test_a_decision_for_a_removed_code_is_not_counted_as_no_code(codebook):
    from .conftest import suggestions_frame
    decisions = pd.DataFrame([
        decision("seg_a", "alice", "change", "old_code"),   # old_code is not in the codebook
        decision("seg_a", "bob", "reject", ""),
        decision("seg_b", "alice", "reject", ""),
        decision("seg_b", "bob", "reject", ""),
        decision("00123", "alice", "change", "old_code"),   # one removed, one live code
        decision("00123", "alice", "change", "res_staff"),
        decision("00123", "bob", "change", "res_staff"),
    ])
    table = agreement_table(decisions, suggestions_frame(), codebook)
    # seg_a is left out (alice's only code was removed); seg_b and 00123 agree
    assert value(table, "percent_agreement", "(all)", "alice", "bob") == (1.0, 2)
    assert value(table, "kappa_suggestion", "(all)", "suggestion", "alice")[1] == 2


def test_only_the_suggestions_the_workbook_shows_count(codebook):
    # suggest.top_k: 4 puts four codes above the threshold, but the workbook shows
    # suggested_1..3: the fourth was never offered, so it is neither accepted nor refused.
    from .conftest import suggestions_frame
    suggestions = suggestions_frame({"seg_a": [("rel_trust", 0.9), ("rel_comms", 0.8), ("res_staff", 0.7),
                                               ("res_funding", 0.6)]})
    table = agreement_table(pd.DataFrame([decision("seg_a", "alice", "accept", "rel_trust")]), suggestions,
                            codebook)
    rates = table[table.measure == "acceptance_rate"]
    assert "res_funding" not in set(rates["code_id"])
    assert value(table, "acceptance_rate", "(all)", "(all coders)") == (pytest.approx(1 / 3), 3)
    assert "res_funding" not in set(table[table.measure == "kappa_suggestion"]["code_id"])


@pytest.mark.parametrize("typed", [("res_funding", "res_staff"), ("res_staff", "res_funding")])
def test_suggestion_kappa_does_not_depend_on_the_final_code_column(codebook, typed):
    # 00123's top suggestion is res_funding; alice coded it res_funding and res_staff, in
    # final_code_1 and final_code_2 either way round: she kept the top suggestion both times.
    from sklearn.metrics import cohen_kappa_score

    from .conftest import suggestions_frame
    decisions = pd.DataFrame([
        decision("00123", "alice", "change", typed[0]),
        decision("00123", "alice", "change", typed[1]),
        decision("seg_a", "alice", "accept", "rel_trust"),
        decision("seg_b", "alice", "reject", ""),
        decision("seg_c", "alice", "reject", ""),
    ])
    table = agreement_table(decisions, suggestions_frame(), codebook)
    expected = cohen_kappa_score(["res_funding", "rel_trust", "rel_comms", "(none)"],
                                 ["res_funding", "rel_trust", "(none)", "(none)"])
    assert value(table, "kappa_suggestion", "(all)", "suggestion", "alice") == (pytest.approx(expected), 4)


def test_decisions_are_compared_with_the_suggestions_their_row_showed(codebook):
    # alice saw rel_comms first on seg_a and changed it to rel_trust. Re-trained on her
    # decision, the current suggestions now put rel_trust first: compared with those, she
    # would seem to have accepted it. bob's row is not known (his workbook was removed):
    # his decision falls back to the current suggestions.
    from .conftest import suggestions_frame
    suggestions = suggestions_frame({"seg_a": [("rel_trust", 0.9)], "seg_b": [("rel_trust", 0.9)]})
    decisions = pd.DataFrame([
        {**decision("seg_a", "alice", "change", "rel_trust"), "shown_codes": "rel_comms;res_staff"},
        {**decision("seg_b", "bob", "accept", "rel_trust"), "shown_codes": None},
    ])
    table = agreement_table(decisions, suggestions, codebook)
    assert value(table, "acceptance_rate", "rel_comms", "(all coders)") == (0.0, 1)
    assert value(table, "acceptance_rate", "res_staff", "(all coders)") == (0.0, 1)
    assert value(table, "acceptance_rate", "rel_trust", "(all coders)") == (1.0, 1)   # bob's only
    assert value(table, "acceptance_rate", "(all)", "(all coders)") == (pytest.approx(1 / 3), 3)
