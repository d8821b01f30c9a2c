"""Segmentation: documents into paragraph-sized segments with stable IDs.

Every block a reader returns (a paragraph, a speaker turn, a note, a survey
answer) becomes one segment, except that a block longer than
``ingest.max_segment_chars`` is split at sentence boundaries (spaCy's
rule-based sentencizer) and the sentences are packed, in order, into chunks of
at least ``min_segment_chars`` and at most ``max_segment_chars`` characters
where the sentences allow. A survey answer (a block with a question) is never
split: it is the respondent's whole answer to one question.

Stable IDs
----------
Coding decisions are stored against segment IDs, so an ID must survive
anything that does not change the segment's own text::

    document_id = "doc_" + sha1(source_file + ("#" + key if key else ""))[:12]
    segment_id  = "seg_" + sha1(document_id + "\\x1f" + normalised_text
                                + "\\x1f" + str(occurrence))[:12]

* ``source_file`` is the path relative to ``data/raw/`` with forward slashes;
  ``key`` identifies a document inside a multi-document file (a survey
  response ID, a logged session ``session|date|site``) and is empty otherwise.
* ``normalised_text`` is the segment text with runs of whitespace collapsed to
  one space and the ends stripped.
* ``occurrence`` is how many earlier segments of the same document have the
  same normalised text (0 for the first), so that two identical answers
  ("Yes.") in one transcript get different IDs.

Hence an ID does not change when other files are added or removed, when a
.docx is re-saved (its bytes change, its text does not), when whitespace is
re-flowed, or when paragraphs are inserted elsewhere in the document (the
position changes, the ID does not). Editing a segment's text, renaming or
moving its file gives new IDs, deliberately: it is no longer the same evidence.
Two exceptions: identical texts in one document are numbered in order, so
inserting or deleting one of them ("Yes, definitely.") moves the later ones'
IDs, and their decisions, along by one; and changing ``ingest.max_segment_chars``
or ``min_segment_chars`` re-splits long paragraphs into segments with new IDs.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from pipeline import paths
from pipeline.errors import InputError
from pipeline.tables import DOCUMENT_COLUMNS, OPTIONAL_SEGMENT_COLUMNS, SEGMENT_COLUMNS, read_checked

if TYPE_CHECKING:  # importing pipeline.ingest here would be circular: it imports this module
    from pipeline.ingest.model import RawDocument

log = logging.getLogger("pipeline.segment")


def document_id(source_file: str, key: str = "") -> str:
    """Stable ID of a document.

    Examples
    --------
    >>> document_id("interviews/P001.md")
    'doc_7f8742154d3f'
    """
    identity = source_file + ("#" + key if key else "")
    return "doc_" + hashlib.sha1(identity.encode("utf-8")).hexdigest()[:12]


def normalise_text(text: str) -> str:
    """Collapse runs of whitespace to one space and strip the ends.

    Examples
    --------
    >>> normalise_text("  two\\n  lines ")
    'two lines'
    """
    return " ".join(text.split())


def segment_id(document: str, text: str, occurrence: int = 0) -> str:
    """Stable ID of a segment from its document ID, text and occurrence.

    Parameters
    ----------
    document : str
        The document ID.
    text : str
        The segment text (normalised here).
    occurrence : int
        How many earlier segments of the document have the same normalised text.
    """
    identity = document + "\x1f" + normalise_text(text) + "\x1f" + str(occurrence)
    return "seg_" + hashlib.sha1(identity.encode("utf-8")).hexdigest()[:12]


@functools.lru_cache(maxsize=1)
def sentence_splitter():
    """The spaCy pipeline used to find sentences, built once per process."""
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return nlp


def split_paragraph(text: str, max_chars: int = 700, min_chars: int = 150) -> list[str]:
    """Split a long paragraph at sentence boundaries into chunks of ``min..max`` characters.

    Sentences are packed in order while a chunk stays within ``max_chars``. A
    chunk is closed short of ``min_chars`` only when the next sentence would
    push it past ``max_chars``; a short last chunk is merged into the one
    before if the result fits. A single sentence longer than ``max_chars``
    (unpunctuated transcription) is cut at spaces.

    Parameters
    ----------
    text : str
        One paragraph.
    max_chars, min_chars : int
        ``ingest.max_segment_chars`` and ``ingest.min_segment_chars``.

    Returns
    -------
    list of str
        The chunks, whitespace-normalised; ``[text]`` if it is short enough.

    Examples
    --------
    >>> split_paragraph("Short one.", 700, 150)
    ['Short one.']
    """
    text = normalise_text(text)
    if len(text) <= max_chars:
        return [text] if text else []
    sentences: list[str] = []
    for sentence in sentence_splitter()(text).sents:
        sentence_text = normalise_text(sentence.text)
        if sentence_text:
            sentences.extend(_cut_at_spaces(sentence_text, max_chars))
    chunks: list[str] = []
    current = ""
    for sentence in sentences:
        if not current:
            current = sentence
        elif len(current) + 1 + len(sentence) <= max_chars:
            current += " " + sentence
        else:
            chunks.append(current)
            current = sentence
    if current:
        if chunks and len(current) < min_chars and len(chunks[-1]) + 1 + len(current) <= max_chars:
            chunks[-1] += " " + current
        else:
            chunks.append(current)
    return chunks


def _cut_at_spaces(text: str, max_chars: int) -> list[str]:
    pieces = []
    while len(text) > max_chars:
        cut = text.rfind(" ", 0, max_chars + 1)
        if cut <= 0:
            cut = max_chars
        pieces.append(text[:cut].strip())
        text = text[cut:].strip()
    if text:
        pieces.append(text)
    return pieces


def segment_document(document: RawDocument, max_chars: int = 700, min_chars: int = 150) -> list[dict]:
    """The segment rows of one resolved document.

    Parameters
    ----------
    document : RawDocument
        A document whose ``metadata`` has been resolved by the ingest stage:
        ``site``, ``sector``, ``participant_id``, ``source_id``, ``wave``, ``date``.
    max_chars, min_chars : int
        Segment length bounds.

    Returns
    -------
    list of dict
        One row per segment with the keys of :data:`pipeline.tables.SEGMENT_COLUMNS`.
    """
    doc_id = document_id(document.source_file, document.key)
    meta = document.metadata
    seen: dict[str, int] = {}
    rows = []
    for block in document.blocks:
        # Survey answers are whole answers to one question: never split.
        chunks = [normalise_text(block.text)] if block.question else split_paragraph(
            block.text, max_chars, min_chars)
        for chunk in chunks:
            if not chunk:
                continue
            occurrence = seen.get(chunk, 0)
            seen[chunk] = occurrence + 1
            rows.append({
                "segment_id": segment_id(doc_id, chunk, occurrence),
                "document_id": doc_id,
                "method": document.method,
                "site": meta.get("site", ""),
                "sector": meta.get("sector", ""),
                "participant_id": meta.get("participant_id", ""),
                "source_id": meta.get("source_id", ""),
                "wave": meta.get("wave", ""),
                "date": meta.get("date", ""),
                "speaker": block.speaker,
                "speaker_role": block.speaker_role,
                "question": block.question,
                "record": block.record or meta.get("record", ""),
                "position": len(rows),
                "text": chunk,
            })
    return rows


def build_tables(documents: list[RawDocument], max_chars: int = 700,
                 min_chars: int = 150) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Segment every document and return the documents and segments tables.

    Parameters
    ----------
    documents : list of RawDocument
        Resolved documents (see :func:`segment_document`), in the order to write them.
    max_chars, min_chars : int
        Segment length bounds.

    Returns
    -------
    documents : DataFrame
        Columns :data:`pipeline.tables.DOCUMENT_COLUMNS`.
    segments : DataFrame
        Columns :data:`pipeline.tables.SEGMENT_COLUMNS`.
    """
    document_rows, segment_rows = [], []
    for document in documents:
        rows = segment_document(document, max_chars, min_chars)
        segment_rows.extend(rows)
        meta = document.metadata
        document_rows.append({
            "document_id": document_id(document.source_file, document.key),
            "method": document.method,
            "source_file": document.source_file,
            "source_format": document.source_format,
            "site": meta.get("site", ""),
            "sector": meta.get("sector", ""),
            "participant_id": meta.get("participant_id", ""),
            "source_id": meta.get("source_id", ""),
            "wave": meta.get("wave", ""),
            "date": meta.get("date", ""),
            "record": meta.get("record", ""),
            "title": meta.get("title", ""),
            "encoding": document.encoding,
            "finished": bool(meta.get("finished", True)),
            "n_segments": len(rows),
        })
    documents_frame = pd.DataFrame(document_rows, columns=DOCUMENT_COLUMNS)
    segments_frame = pd.DataFrame(segment_rows, columns=SEGMENT_COLUMNS)
    documents_frame["n_segments"] = documents_frame["n_segments"].astype("int64")
    documents_frame["finished"] = documents_frame["finished"].astype(bool)
    segments_frame["position"] = segments_frame["position"].astype("int64")
    for frame in (documents_frame, segments_frame):
        for column in frame.columns:
            if frame[column].dtype == object:
                frame[column] = frame[column].fillna("").astype(str)
    return documents_frame, segments_frame


def with_record(segments: pd.DataFrame) -> pd.DataFrame:
    """``segments`` with a ``record`` for every row, for a table written before the column existed.

    A missing or blank record is read off the table as the ingest stage detects it
    (:func:`pipeline.ingest.detect_record`): ``response`` for surveys, ``transcript``
    for a document with a speaker (or speaker role) on any segment, otherwise ``notes``.
    """
    record = segments["record"].astype(object).fillna("").astype(str) if "record" in segments else pd.Series(
        "", index=segments.index, dtype=object)
    if not (record == "").any():
        return segments.assign(record=record)
    turns = pd.Series(False, index=segments.index)
    for column in ("speaker", "speaker_role"):
        if column in segments:
            turns |= segments[column].fillna("").astype(str) != ""
    spoken = set(segments.loc[turns, "document_id"])
    inferred = segments["document_id"].map(lambda d: "transcript" if d in spoken else "notes")
    inferred = inferred.where(segments["method"] != "survey", "response")
    return segments.assign(record=record.where(record != "", inferred))


def read_segments(root, required=tuple(c for c in SEGMENT_COLUMNS if c not in OPTIONAL_SEGMENT_COLUMNS)
                  ) -> pd.DataFrame:
    """Read ``data/processed/segments.parquet`` for a later stage.

    Parameters
    ----------
    root : Path
        The project folder.
    required : sequence of str
        The columns the caller uses; a table without them is an InputError.

    Returns
    -------
    DataFrame
        The segments, with ``segment_id`` and ``text`` as text.
    """
    path = Path(root) / paths.SEGMENTS
    if not path.is_file():
        raise InputError("the segments table is missing", file=path, hint="run the ingest stage first")
    segments = read_checked(path, required, "segments", hint="re-run the ingest stage")
    segments["segment_id"] = segments["segment_id"].astype(str)
    segments["text"] = segments["text"].fillna("").astype(str)
    return with_record(segments) if {"document_id", "method"} <= set(segments.columns) else segments
