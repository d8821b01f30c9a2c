"""How far analysts agree with the suggestions, and with each other.

Writes ``reports/tables/agreement.csv``, a tidy table with the columns
``measure, code_id, coder_a, coder_b, value, n``:

``acceptance_rate``
    Per code: of the analysts' decisions on segments where the code was
    suggested (above the threshold and shown in the workbook's ``suggested_1``
    … ``suggested_3``), the share that kept it among their codes.
    ``code_id = "(all)"`` pools every suggested code. ``coder_a`` is
    ``"(all coders)"``; ``n`` counts (decision, suggested code) pairs.
``kappa_suggestion``
    Cohen's κ between the suggestions and each coder's decisions
    (``coder_a = "suggestion"``, ``coder_b`` a coder or ``"(all coders)"``).
    Per code: the code suggested or not against the code chosen or not, over
    the coder's decisions. Overall (``"(all)"``): the top suggestion (or none)
    against one of the analyst's codes (or none, for a reject): the top
    suggestion when the analyst kept it, else their first code in codebook
    order; which final_code column a code was typed in makes no difference.
``kappa``, ``percent_agreement``
    For each pair of coders, over the segments both decided. Per code:
    presence/absence of the code. Overall: the whole set of codes each gave
    (agreement means exactly the same codes).
``krippendorff_alpha``, ``percent_agreement`` with ``coder_a = "(all coders)"``
    Nominal Krippendorff's α over every segment decided by two or more coders
    (missing decisions allowed), per code and overall as above; the percent
    agreement is the share of those segments on which all their coders agree.

Orphaned decisions and codes no longer in the codebook are left out (aliases
are mapped). A measure that is undefined — one category only, too few
segments — is NaN (an empty cell in the CSV), with its ``n``, never an error.

The suggestions a decision is compared with are those its workbook row showed
(``shown_codes`` in ``decisions.parquet``), not the current
``suggestions.parquet``: after a review round those come from models trained
on these same decisions and would overstate how well the suggestions did. Only
a decision whose row is not known (its workbook has left ``data/review/``)
falls back to the current suggestions of its segment.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections import Counter

import numpy as np
import pandas as pd

from pipeline.codebook import Codebook
from pipeline.review import CODE_SEPARATOR, N_SUGGESTED

log = logging.getLogger(__name__)

AGREEMENT_COLUMNS = ["measure", "code_id", "coder_a", "coder_b", "value", "n"]
ALL_CODES = "(all)"
ALL_CODERS = "(all coders)"
SUGGESTION = "suggestion"
NONE = "(none)"


def cohen_kappa(a: list, b: list) -> float:
    """Cohen's κ of two raters' nominal labels on the same units.

    Parameters
    ----------
    a, b : sequence
        Labels, one per unit, in the same order.

    Returns
    -------
    float
        κ = (p_o − p_e) / (1 − p_e); NaN when there are no units or chance
        agreement is 1 (both raters used one and the same category only).

    Examples
    --------
    >>> cohen_kappa(["x", "x", "y", "y"], ["x", "y", "y", "y"])
    0.5
    """
    n = len(a)
    if n == 0 or n != len(b):
        return math.nan
    observed = sum(x == y for x, y in zip(a, b)) / n
    count_a, count_b = Counter(a), Counter(b)
    expected = sum(count_a[c] * count_b[c] for c in count_a) / (n * n)
    if math.isclose(expected, 1.0):
        return math.nan
    return (observed - expected) / (1 - expected)


def percent_agreement(a: list, b: list) -> float:
    """Share of units on which two raters give the same label (NaN if no units)."""
    if not a:
        return math.nan
    return sum(x == y for x, y in zip(a, b)) / len(a)


def krippendorff_alpha(units: list[list]) -> float:
    """Nominal Krippendorff's α.

    Parameters
    ----------
    units : list of list
        For each unit, the labels the coders gave it (missing coders omitted).
        Units with fewer than two labels carry no information and are ignored.

    Returns
    -------
    float
        α, or NaN when it is undefined (fewer than two pairable values, or a
        single category in all the data).
    """
    import krippendorff

    units = [u for u in units if len(u) >= 2]
    if not units:
        return math.nan
    categories = sorted({label for unit in units for label in unit}, key=str)
    if len(categories) < 2:
        return math.nan
    index = {label: i for i, label in enumerate(categories)}
    width = max(len(u) for u in units)
    matrix = np.full((width, len(units)), np.nan)
    for j, unit in enumerate(units):
        for i, label in enumerate(unit):
            matrix[i, j] = index[label]
    try:
        return float(krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal",
                                        value_domain=list(range(len(categories)))))
    except (ValueError, ZeroDivisionError):
        return math.nan


def _decision_codes(decisions: pd.DataFrame, codebook: Codebook) -> dict[tuple[str, str], list[str]]:
    """(segment_id, coder) -> live codes chosen, in order (empty for a reject).

    Orphans are left out, and so are decisions whose codes have all been
    removed from the codebook: they are not a "no code applies", and there is
    nothing left to compare them on.
    """
    live = decisions[~decisions["orphaned"].astype(bool)]
    chosen: dict[tuple[str, str], list[str]] = {}
    with_codes: set[tuple[str, str]] = set()
    for row in live.itertuples(index=False):
        key = (row.segment_id, row.coder)
        codes = chosen.setdefault(key, [])
        if row.code_id:
            with_codes.add(key)
            code_id = codebook.resolve_alias(row.code_id)
            if code_id and code_id not in codes:
                codes.append(code_id)
    return {key: codes for key, codes in chosen.items() if codes or key not in with_codes}


def _suggested(suggestions: pd.DataFrame, codebook: Codebook, segment_ids: set[str]) -> dict[str, list[str]]:
    """segment_id -> the live codes suggested for it, in rank order, for ``segment_ids``.

    Only the suggestions the review workbook shows (``suggested_1`` …
    ``suggested_3``, the first :data:`N_SUGGESTED` above the threshold by rank)
    count: with ``suggest.top_k`` above 3, a code ranked lower was never offered.
    """
    shown = suggestions[suggestions["suggested"].astype(bool)
                        & suggestions["segment_id"].astype(str).isin(segment_ids)]
    shown = shown.sort_values(["segment_id", "rank"])
    shown = shown.groupby(shown["segment_id"].astype(str), sort=False).head(N_SUGGESTED)
    ranked: dict[str, list[str]] = {}
    for row in shown.itertuples(index=False):
        code_id = codebook.resolve_alias(str(row.code_id))
        codes = ranked.setdefault(str(row.segment_id), [])
        if code_id is not None and code_id not in codes:
            codes.append(code_id)
    return ranked


def _shown(decisions: pd.DataFrame, codebook: Codebook, keys) -> dict[tuple[str, str], list[str]]:
    """(segment_id, coder) -> the live codes the decision's workbook row showed, in order,
    for the decisions of ``keys`` whose row is known (``shown_codes`` not null)."""
    if "shown_codes" not in decisions:
        return {}
    known = decisions[decisions["shown_codes"].notna()].drop_duplicates(["segment_id", "coder"])
    shown = {}
    for row in known.itertuples(index=False):
        key = (row.segment_id, row.coder)
        if key in keys:
            codes = (codebook.resolve_alias(c) for c in str(row.shown_codes).split(CODE_SEPARATOR) if c)
            shown[key] = list(dict.fromkeys(c for c in codes if c))
    return shown


def _row(measure, code_id, coder_a, coder_b, value, n) -> dict:
    return {"measure": measure, "code_id": code_id, "coder_a": coder_a, "coder_b": coder_b,
            "value": float(value), "n": int(n)}


def _main_code(codes: list[str], top: str | None, code_order: dict[str, int]) -> str:
    """The one code a decision is compared with the top suggestion on.

    The top suggestion itself when the analyst kept it among their codes, else
    their first code in codebook order, or :data:`NONE` for a reject. Never the
    order of the final_code columns: that is only where the analyst typed them.
    """
    if not codes:
        return NONE
    if top in codes:
        return top
    return min(codes, key=lambda code: code_order.get(code, len(code_order)))


def _label(codes: list[str]) -> str:
    return "+".join(sorted(codes)) if codes else NONE


def agreement_table(decisions: pd.DataFrame, suggestions: pd.DataFrame,
                    codebook: Codebook) -> pd.DataFrame:
    """Compute every agreement measure (see the module docstring).

    Parameters
    ----------
    decisions : DataFrame
        ``decisions.parquet``.
    suggestions : DataFrame
        ``suggestions.parquet`` (``segment_id, code_id, rank, score, confidence, suggested``).
    codebook : Codebook

    Returns
    -------
    DataFrame
        Columns :data:`AGREEMENT_COLUMNS`.
    """
    chosen = _decision_codes(decisions, codebook)
    # What each decision is compared with: the suggestions its workbook row showed, or
    # (row no longer known) the current ones for its segment; in rank order.
    current = _suggested(suggestions, codebook, {segment_id for segment_id, _c in chosen})
    seen = _shown(decisions, codebook, chosen)
    shown_to = {k: seen[k] if k in seen else current.get(k[0], []) for k in chosen}
    top = {k: codes[0] if codes else NONE for k, codes in shown_to.items()}
    code_order = {code_id: i for i, code_id in enumerate(codebook.code_ids)}
    rows: list[dict] = []

    # Suggestion acceptance, per code and pooled.
    accepted, offered = Counter(), Counter()
    for key, codes in chosen.items():
        for code_id in shown_to[key]:
            offered[code_id] += 1
            accepted[code_id] += code_id in codes
    for code_id in sorted(offered, key=code_order.get):
        rows.append(_row("acceptance_rate", code_id, ALL_CODERS, "", accepted[code_id] / offered[code_id],
                         offered[code_id]))
    total = sum(offered.values())
    rows.append(_row("acceptance_rate", ALL_CODES, ALL_CODERS, "",
                     sum(accepted.values()) / total if total else math.nan, total))

    # Suggestions against each coder's decisions, and against all decisions pooled.
    coders = sorted({coder for _segment, coder in chosen})
    for coder in coders + ([ALL_CODERS] if len(coders) > 1 else []):
        keys = [k for k in chosen if coder == ALL_CODERS or k[1] == coder]
        model = [top[k] for k in keys]
        human = [_main_code(chosen[k], top[k], code_order) for k in keys]
        rows.append(_row("kappa_suggestion", ALL_CODES, SUGGESTION, coder, cohen_kappa(model, human),
                         len(keys)))
        used = {c for k in keys for c in chosen[k]} | {c for k in keys for c in shown_to[k]}
        for code_id in sorted(used, key=code_order.get):
            model = [code_id in shown_to[k] for k in keys]
            human = [code_id in chosen[k] for k in keys]
            rows.append(_row("kappa_suggestion", code_id, SUGGESTION, coder,
                             cohen_kappa(model, human), len(keys)))

    # Between coders, on the segments two or more of them decided.
    by_segment: dict[str, dict[str, list[str]]] = {}
    for (segment_id, coder), codes in chosen.items():
        by_segment.setdefault(segment_id, {})[coder] = codes
    shared = {s: c for s, c in by_segment.items() if len(c) >= 2}
    if shared:
        used = sorted({code for per in shared.values() for codes in per.values() for code in codes},
                      key=code_order.get)
        for coder_a, coder_b in itertools.combinations(coders, 2):
            both = [s for s, per in shared.items() if coder_a in per and coder_b in per]
            if not both:
                continue
            a = [_label(shared[s][coder_a]) for s in both]
            b = [_label(shared[s][coder_b]) for s in both]
            rows.append(_row("kappa", ALL_CODES, coder_a, coder_b, cohen_kappa(a, b), len(both)))
            rows.append(_row("percent_agreement", ALL_CODES, coder_a, coder_b, percent_agreement(a, b),
                             len(both)))
            for code_id in used:
                a = [code_id in shared[s][coder_a] for s in both]
                b = [code_id in shared[s][coder_b] for s in both]
                rows.append(_row("kappa", code_id, coder_a, coder_b, cohen_kappa(a, b), len(both)))
                rows.append(_row("percent_agreement", code_id, coder_a, coder_b,
                                 percent_agreement(a, b), len(both)))
        units = [[_label(codes) for codes in per.values()] for per in shared.values()]
        rows.append(_row("krippendorff_alpha", ALL_CODES, ALL_CODERS, "", krippendorff_alpha(units),
                         len(units)))
        rows.append(_row("percent_agreement", ALL_CODES, ALL_CODERS, "",
                         sum(len(set(u)) == 1 for u in units) / len(units), len(units)))
        for code_id in used:
            units = [[code_id in codes for codes in per.values()] for per in shared.values()]
            rows.append(_row("krippendorff_alpha", code_id, ALL_CODERS, "", krippendorff_alpha(units),
                             len(units)))
            rows.append(_row("percent_agreement", code_id, ALL_CODERS, "",
                             sum(len(set(u)) == 1 for u in units) / len(units), len(units)))
    return pd.DataFrame(rows, columns=AGREEMENT_COLUMNS)
