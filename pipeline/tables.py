"""The data contract: the columns of every tidy table passed between stages.

The README documents these; readers and writers check against them
(:func:`read_checked`).
"""

from pathlib import Path

METHODS = ("interview", "survey", "observation", "workshop")

DOCUMENT_COLUMNS = [
    "document_id",     # stable: hash of the source path (and response ID for surveys)
    "method",          # interview | survey | observation | workshop
    "source_file",     # path relative to data/raw/
    "source_format",   # docx | docx-teams | md | txt | vtt-teams | vtt-zoom | vtt | qualtrics | surveymonkey | msforms | googleforms | generic | log-csv | log-xlsx
    "site",
    "sector",          # may be empty for observation and workshop sessions
    "participant_id",  # interviews; empty otherwise
    "source_id",       # the distinct source counted in triangulation: participant, response or session
    "wave",            # string, e.g. "1"
    "date",            # ISO date string or empty
    "record",          # transcript | notes (fieldwork files) | response (surveys)
    "title",           # session name, survey name or file stem
    "encoding",        # for text files, the detected encoding; empty for binary formats
    "finished",        # False for an unfinished survey response kept by unfinished_responses: flag
    "n_segments",
]

SEGMENT_COLUMNS = [
    "segment_id",      # stable: hash of document_id, text and its occurrence in the document
    "document_id",
    "method",
    "site",
    "sector",
    "participant_id",
    "source_id",
    "wave",
    "date",
    "speaker",         # transcript speaker as written (personal data: never reported)
    "speaker_role",    # participant | interviewer | other | "" (unknown)
    "question",        # survey question text, or empty
    "record",          # the document's record: transcript | notes | response
    "position",        # 0-based order of the segment within its document
    "text",
]

# Added after tables were first written: a table from an older run may lack them
# (:func:`pipeline.segment.with_record` fills ``record`` in).
OPTIONAL_SEGMENT_COLUMNS = ("record",)

SUGGESTION_COLUMNS = ["segment_id", "code_id", "rank", "score", "confidence", "suggested"]


def read_checked(path, required, name: str, hint: str):
    """Read a parquet table a stage wrote, checking that it has the ``required`` columns.

    Raises
    ------
    pipeline.errors.InputError
        Naming the file, the table (``name``) and the missing columns, with ``hint``.
    """
    import pandas as pd

    from pipeline.errors import InputError

    frame = pd.read_parquet(path)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InputError(f"the {name} table lacks the column(s) {', '.join(missing)}", file=path, hint=hint)
    return frame


def read_optional_csv(path):
    """A CSV from another stage (or the register), as text, or an empty frame when it does not exist."""
    import pandas as pd

    if not Path(path).is_file():
        return pd.DataFrame()
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
