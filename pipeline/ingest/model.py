"""What every reader returns: documents made of blocks, before segmentation."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Block:
    """One paragraph, speaker turn or survey answer, before it is segmented."""

    text: str
    speaker: str = ""
    speaker_role: str = ""   # participant | interviewer | other | ""
    question: str = ""
    record: str = ""         # "notes" for the evaluator's text among speaker turns, else the document's


# The metadata a file may give about itself (front matter; fieldwork.csv gives the same keys).
METADATA_KEYS = ("participant", "site", "sector", "wave", "date", "session", "title", "record")


@dataclass
class RawDocument:
    """One interview, survey response, observation session or workshop.

    ``metadata`` holds what the file itself says (front matter, survey
    columns): any of ``participant``, ``site``, ``sector``, ``wave``, ``date``, ``record``,
    ``title``, ``response_id``, ``session``. The ingest stage fills the rest from
    the register and fieldwork.csv, and reports what cannot be resolved.
    """

    method: str
    source_file: str                      # relative to data/raw/, with forward slashes
    source_format: str
    blocks: list[Block]
    metadata: dict = field(default_factory=dict)
    encoding: str = ""
    key: str = ""                         # identity inside a multi-document file: response ID, session name
