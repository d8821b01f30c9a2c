"""Coded segments: the suggestions, overruled by the analysts' decisions.

``data/processed/coded_segments.parquet`` has one row per segment and code
with the columns :data:`CODED_COLUMNS`:

* a reviewed segment carries the codes of its current decision — ``status``
  ``accepted`` (the analyst accepted the suggestion) or ``changed`` (the analyst
  chose the codes); a segment rejected with no code has no rows;
* a segment nobody has reviewed carries its best-ranked suggestion above the
  threshold (``suggested == True``) with ``status = "suggested"`` and an empty
  ``coder``. Its lower-ranked suggestions are offered in the review workbook
  but do not count as evidence: on the labelled sets a segment's second and
  third suggestions are its code about one time in six or less, against 57%
  and 88% for the first (``benchmarks/experiments/rank_precision.py``).

Multi-coder rule: when several coders decided a segment, the most recent
decision (latest ``recorded_at``) is the one used here; the agreement table
(:mod:`pipeline.review.agreement`) compares all of them. Orphaned decisions
(segments no longer in the segments table) and codes no longer in the codebook
are left out (aliases are mapped to their code); a decision none of whose codes
is left is set aside, so another coder's decision applies or the segment counts
as unreviewed again and carries its suggestion.
``score`` is the suggestion's similarity score for that segment and code, or
NaN when the code was not among the suggestions.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline import paths
from pipeline.atomic import write_csv, write_parquet
from pipeline.codebook import Codebook, project_codebook
from pipeline.review import ACCEPT
from pipeline.review.agreement import agreement_table
from pipeline.review.decisions import current_decisions, read_decisions, without_removed_codes

log = logging.getLogger(__name__)

METADATA_COLUMNS = ["document_id", "method", "site", "sector", "participant_id", "source_id", "wave",
                    "date", "speaker_role", "question", "record", "text"]
CODED_COLUMNS = ["segment_id", "code_id", "theme_id", "status", "score", "coder", *METADATA_COLUMNS]
STATUSES = ("accepted", "changed", "suggested")


def coded_segments(segments: pd.DataFrame, suggestions: pd.DataFrame, decisions: pd.DataFrame,
                   codebook: Codebook) -> pd.DataFrame:
    """Combine suggestions and decisions into one row per segment and code.

    Parameters
    ----------
    segments : DataFrame
        ``segments.parquet``.
    suggestions : DataFrame
        ``suggestions.parquet`` (``segment_id, code_id, rank, score, confidence, suggested``).
    decisions : DataFrame
        ``decisions.parquet``.
    codebook : Codebook

    Returns
    -------
    DataFrame
        Columns :data:`CODED_COLUMNS`, in the segments' order.
    """
    segment_ids = set(segments["segment_id"].astype(str))
    suggestions = suggestions.assign(segment_id=suggestions["segment_id"].astype(str),
                                     code_id=suggestions["code_id"].astype(str))
    decisions, set_aside = without_removed_codes(decisions, codebook)
    if set_aside:
        log.warning("%d decision(s) have none of their codes in the codebook any more: they no longer code "
                    "their segments (another coder's decision applies, or the segment counts its suggestion "
                    "and is offered for review again); reports/review/conflicts.csv lists them as "
                    "'removed code'", set_aside)
    current = current_decisions(decisions)
    current = current[current["segment_id"].isin(segment_ids)]
    reviewed = set(current["segment_id"])
    decided = current[current["code_id"].fillna("").astype(str) != ""]   # rejected: no code applies
    shown = suggestions[suggestions["suggested"].astype(bool)
                        & ~suggestions["segment_id"].isin(reviewed)
                        & suggestions["segment_id"].isin(segment_ids)]
    live = {code: codebook.resolve_alias(code) for code in set(decided["code_id"]) | set(shown["code_id"])}
    dropped = {code for code, live_id in live.items() if live_id is None}
    # the best-ranked suggestion still in the codebook (see the module docstring)
    shown = shown[~shown["code_id"].isin(dropped)].sort_values(["segment_id", "rank"]).drop_duplicates("segment_id")

    # A decision's score is its suggestion's, under the code as recorded or as it is now.
    score_of = suggestions.drop_duplicates(["segment_id", "code_id"], keep="last").set_index(
        ["segment_id", "code_id"])["score"]
    decided = decided.assign(live_id=decided["code_id"].map(live))
    decided = decided[decided["live_id"].notna()]
    recorded = score_of.reindex(pd.MultiIndex.from_arrays([decided["segment_id"], decided["code_id"]]))
    renamed = score_of.reindex(pd.MultiIndex.from_arrays([decided["segment_id"], decided["live_id"]]))
    score = np.where(recorded.isna(), renamed.to_numpy(dtype=float), recorded.to_numpy(dtype=float))
    reviewed_rows = pd.DataFrame({
        "segment_id": decided["segment_id"].to_numpy(), "code_id": decided["live_id"].to_numpy(),
        "status": np.where(decided["decision"].to_numpy() == ACCEPT, "accepted", "changed"),
        "score": score, "coder": decided["coder"].to_numpy()})
    shown = shown.assign(live_id=shown["code_id"].map(live))
    shown = shown[shown["live_id"].notna()]
    suggested_rows = pd.DataFrame({
        "segment_id": shown["segment_id"].to_numpy(), "code_id": shown["live_id"].to_numpy(),
        "status": "suggested", "score": shown["score"].to_numpy(dtype=float), "coder": ""})
    if dropped:
        log.warning("Codes no longer in the codebook were left out of the coded segments: %s "
                    "(list an old id in a code's aliases to keep its decisions)",
                    ", ".join(sorted(dropped)))

    coded = pd.concat([reviewed_rows, suggested_rows], ignore_index=True)
    coded = coded.drop_duplicates(["segment_id", "code_id"], keep="first")
    theme_of = {code_id: codebook.theme_of(code_id).id for code_id in set(coded["code_id"])}
    coded["theme_id"] = coded["code_id"].map(theme_of)
    meta = segments[["segment_id", *METADATA_COLUMNS]].copy()
    meta["segment_id"] = meta["segment_id"].astype(str)
    meta["_order"] = range(len(meta))
    coded = coded.merge(meta, on="segment_id", how="inner")
    # Segments in document order; within a segment, the decision's codes or the suggestions' ranks.
    coded = coded.sort_values(["_order"], kind="stable").drop(columns=["_order"])
    coded["score"] = coded["score"].astype(float)
    return coded[CODED_COLUMNS].reset_index(drop=True)


def run_apply_decisions(config: dict, root: Path) -> None:
    """Stage: write ``coded_segments.parquet`` and ``reports/tables/agreement.csv``.

    Parameters
    ----------
    config : dict
        Validated configuration (``codebook.file``).
    root : Path
        The project folder.
    """
    from pipeline.review.workbook import read_suggestions
    from pipeline.segment import read_segments

    root = Path(root)
    codebook = project_codebook(config, root)
    segments = read_segments(root)
    suggestions = read_suggestions(root)
    decisions = read_decisions(root / paths.DECISIONS)
    coded = coded_segments(segments, suggestions, decisions, codebook)
    write_parquet(root / paths.CODED_SEGMENTS, coded)
    agreement = agreement_table(decisions, suggestions, codebook)
    write_csv(root / paths.AGREEMENT_CSV, agreement)
    counts = coded["status"].value_counts()
    log.info("Coded segments: %d rows on %d segments (%d accepted, %d changed, %d suggested); "
             "agreement: %d measures", len(coded), coded["segment_id"].nunique(),
             counts.get("accepted", 0), counts.get("changed", 0), counts.get("suggested", 0),
             len(agreement))
