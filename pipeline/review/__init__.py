"""Analyst review: the coding workbook, decisions read back from it, coded segments.

* :mod:`pipeline.review.workbook` writes ``reports/review/coding_review.xlsx``,
  one row per codable segment with the suggested codes and a place for the
  analyst's decision.
* :mod:`pipeline.review.decisions` reads every workbook saved into
  ``data/review/``, validates it and merges the decisions into
  ``data/processed/decisions.parquet``, keeping an append-only audit log
  (``data/processed/decisions_audit.csv``) that is the durable memory of every
  decision.
* :mod:`pipeline.review.coded` turns suggestions and decisions into
  ``data/processed/coded_segments.parquet``; :mod:`pipeline.review.agreement`
  measures how far analysts agree with the suggestions and with each other.
"""

# The layout of the review workbook, shared by the writer (workbook.py) and the
# reader (decisions.py). The reader finds sheets and columns by these header
# names, never by position, so analysts may rename sheets and insert columns.
REVIEW_SHEET = "Review"
CODEBOOK_SHEET = "Codebook"
ABOUT_SHEET = "About"
CODES_SHEET = "Codes"        # hidden: the list the final_code_* dropdowns draw from
ISSUED_SHEET = "Issued"      # hidden: the segment IDs as issued, to detect deleted rows
ISSUED_HEADER = "issued_segment_id"

N_SUGGESTED = 3
N_FINAL = 3
SUGGESTED_HEADERS = [f"suggested_{i}" for i in range(1, N_SUGGESTED + 1)]
SCORE_HEADERS = [f"score_{i}" for i in range(1, N_SUGGESTED + 1)]
FINAL_HEADERS = [f"final_code_{i}" for i in range(1, N_FINAL + 1)]
REVIEW_HEADERS = (
    ["segment_id", "site", "sector", "method", "participant", "wave", "text"]
    + [h for pair in zip(SUGGESTED_HEADERS, SCORE_HEADERS) for h in pair]
    + ["decision"] + FINAL_HEADERS + ["coder", "comment"]
)
# The columns an analyst fills in; every other cell of the Review sheet is locked.
EDITABLE_HEADERS = ["decision", *FINAL_HEADERS, "coder", "comment"]

ACCEPT, REJECT, CHANGE = "accept", "reject", "change"
# Joins several codes in one cell of the audit log or decisions.parquet.
CODE_SEPARATOR = ";"  # code ids cannot contain it (see pipeline.codebook.ID_PATTERN)
DECISION_VALUES = (ACCEPT, REJECT, CHANGE)
