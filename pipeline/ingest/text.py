"""Markdown and plain-text fieldwork notes, with optional YAML front matter.

A file may start with front matter between ``---`` lines::

    ---
    participant: P001
    wave: 1
    date: 2025-03-04
    ---

Front matter is read with every value as a string (``participant: 00123``
stays ``"00123"``, not the octal number 83). The body is split into blocks at
blank lines; each list item is its own block; markdown headings and rules are
structure, not text, and are left out. In interviews and workshops a paragraph
that starts with a speaker label (``**Interviewer:**``, ``Q:``, ``Name:``)
starts a turn, and following unlabelled paragraphs continue it, up to the next
label, heading or rule, or a paragraph led by a note heading (``Summary:``):
text outside any turn is the evaluator's.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import yaml

from pipeline.errors import InputError
from pipeline.ingest.encoding import read_text_file
from pipeline.ingest.model import METADATA_KEYS, Block, RawDocument
from pipeline.ingest.speakers import BREAK, is_note_heading, split_speaker_label, turn_blocks

log = logging.getLogger("pipeline.ingest")

SPEAKER_METHODS = ("interview", "workshop")

_HEADING = re.compile(r"^\s{0,3}#{1,6}(\s|$)")
_RULE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+(?P<text>.*)$")
_SETEXT_UNDERLINE = re.compile(r"^\s{0,3}=+\s*$")
_TABLE_ROW = re.compile(r"^\s*\|")                       # a Markdown pipe table's row
_TABLE_RULE = re.compile(r"^\s*\|?[\s:|-]*-[\s:|-]*$")    # its |---|:--| line
_BOLD_LINE = re.compile(r"^(\*\*|__)[^*_].*\1$")             # a paragraph all in bold: a heading typed so


# libyaml's loader when PyYAML has it (its wheels do): ten times faster, which
# counts when every run re-reads thousands of interviews.
BASE_LOADER = getattr(yaml, "CBaseLoader", yaml.BaseLoader)


def parse_front_matter(text: str, file: str) -> tuple[dict[str, str], str, int]:
    """Split YAML front matter from the body.

    Parameters
    ----------
    text : str
        The whole file, with ``\\n`` line endings.
    file : str
        How to name the file in errors.

    Returns
    -------
    metadata : dict of str to str
        The front matter keys (lower-cased) and their values as strings; empty
        when the file has no front matter.
    body : str
        The text after the front matter.
    body_line : int
        The 1-based line number of the body's first line.

    Raises
    ------
    InputError
        Naming the file and line when the front matter is not closed, is not
        valid YAML, or is not a mapping of keys to plain values.

    Examples
    --------
    >>> parse_front_matter("---\\nparticipant: 00123\\n---\\nHello", "x.md")
    ({'participant': '00123'}, 'Hello', 4)
    """
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return {}, text, 1
    end = next((i for i in range(1, len(lines)) if lines[i].strip() in ("---", "...")), None)
    if end is None:
        raise InputError("the front matter that starts on line 1 is never closed", file=file, row=1,
                         hint="end it with a line holding only ---")
    source = "\n".join(lines[1:end])
    try:
        # BaseLoader keeps every scalar a string: IDs keep leading zeros, waves
        # stay "1", and dates are checked by our own rule, not YAML's.
        data = yaml.load(source, Loader=BASE_LOADER)  # noqa: S506 (BaseLoader builds only str/list/dict)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"the front matter is not valid YAML on line {line}: {problem}", file=file,
                         row=line, hint="write one 'key: value' per line, e.g. 'wave: 1'") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError("the front matter must be 'key: value' lines", file=file, row=2,
                         hint="write one 'key: value' per line, e.g. 'wave: 1'")
    metadata: dict[str, str] = {}
    for key, value in data.items():
        name = str(key).strip().lower()
        line = _key_line(lines[1:end], str(key)) + 1
        if isinstance(value, (dict, list)):
            raise InputError(f"the front matter key {key!r} must have a single value", file=file,
                             row=line, hint="write it as 'key: value'")
        if name not in METADATA_KEYS:
            log.warning("%s, line %d: ignoring unknown front matter key %r (known: %s)", file, line, key,
                        ", ".join(METADATA_KEYS))
            continue
        metadata[name] = str(value).strip()
    return metadata, "\n".join(lines[end + 1:]), end + 2


def _key_line(lines: list[str], key: str) -> int:
    for index, line in enumerate(lines, start=1):
        if line.lstrip().startswith(key):
            return index
    return 1


def text_blocks(body: str, with_speakers: bool) -> list[Block]:
    """Split a markdown or plain-text body into blocks.

    Parameters
    ----------
    body : str
        The text after any front matter.
    with_speakers : bool
        Recognise speaker labels (interviews and workshops).

    Returns
    -------
    list of Block

    Examples
    --------
    >>> [b.text for b in text_blocks("# Notes\\n\\nFirst line\\nwraps.\\n\\n- item one\\n- item two", False)]
    ['First line wraps.', 'item one', 'item two']
    >>> [(b.speaker, b.text) for b in text_blocks("A: Yes.\\n\\nAnd more.\\n\\n## Next\\n\\nShe paused.", True)]
    [('A', 'Yes.'), ('A', 'And more.'), ('', 'She paused.')]
    >>> [(b.speaker, b.text) for b in text_blocks("A: Yes.\\n| Org | Seats |\\n|---|---|\\n| Council | 2 |\\nShe paused.", True)]
    [('A', 'Yes.'), ('', 'Org | Seats'), ('', 'Council | 2'), ('', 'She paused.')]
    >>> [(b.speaker, b.text) for b in text_blocks("A: Yes.\\n\\n**Key points**\\n\\nShe paused.", True)]
    [('A', 'Yes.'), ('', '**Key points**'), ('', 'She paused.')]
    """
    paragraphs: list[tuple[str, str]] = []   # (text, kind): see pipeline.ingest.speakers.turn_blocks
    current: list[str] = []
    end_turn = ("", BREAK)   # a heading or rule: it ends a turn

    def flush() -> None:
        if current:
            paragraph = " ".join(part.strip() for part in current).strip()
            if _BOLD_LINE.match(paragraph) and not split_speaker_label(paragraph):
                paragraphs.append(end_turn)   # a heading typed in bold, outside any turn
            paragraphs.append((paragraph, ""))
            current.clear()

    lines = body.split("\n")
    for line in lines:
        if not line.strip():
            flush()
            continue
        if current and (_SETEXT_UNDERLINE.match(line) or (_RULE.match(line) and "-" in line)):
            # "Title\n=====" or "Title\n-----": the title stays as a short block, outside any turn.
            title = " ".join(part.strip() for part in current).strip()
            current.clear()
            paragraphs.extend([end_turn, (title, ""), end_turn])
            continue
        if _HEADING.match(line) or _RULE.match(line) or _SETEXT_UNDERLINE.match(line):
            flush()
            paragraphs.append(end_turn)
            continue
        if _TABLE_ROW.match(line):
            # a table is the evaluator's structure: each row a block outside any turn
            flush()
            if not _TABLE_RULE.match(line):
                row = " | ".join(c.strip() for c in line.strip().strip("|").split("|") if c.strip())
                paragraphs.extend([end_turn, (row, ""), end_turn])
            continue
        item = _LIST_ITEM.match(line)
        if item:
            flush()
            current.append(item.group("text"))
            continue
        stripped = line.strip()
        if stripped.startswith(">"):
            stripped = stripped.lstrip(">").strip()
        if with_speakers and current and (split_speaker_label(stripped) or is_note_heading(stripped)):
            flush()  # a new speaker label (or note heading) always starts a new block, even without a blank line
        current.append(stripped)
    flush()

    return turn_blocks(paragraphs, with_speakers)


def read_text_document(path: Path, source_file: str, method: str) -> RawDocument:
    """Read one ``.md`` or ``.txt`` fieldwork file.

    Parameters
    ----------
    path : Path
        The file.
    source_file : str
        Its path relative to ``data/raw`` (forward slashes), used in IDs and messages.
    method : str
        interview, observation or workshop (from its folder).

    Returns
    -------
    RawDocument
        With ``metadata`` from the front matter and ``encoding`` as detected.

    Raises
    ------
    InputError
        If the file cannot be decoded, its front matter is malformed, or it holds no text.
    """
    display = f"data/raw/{source_file}"
    text, encoding = read_text_file(path, display)
    metadata, body, _ = parse_front_matter(text, display)
    blocks = text_blocks(body, with_speakers=method in SPEAKER_METHODS)
    if not blocks:
        raise InputError("the file holds no text (only front matter or headings)", file=display,
                         hint="add the notes, or remove the file from data/raw/")
    fmt = "md" if path.suffix.lower() in (".md", ".markdown") else "txt"
    return RawDocument(method=method, source_file=source_file, source_format=fmt, blocks=blocks,
                       metadata=metadata, encoding=encoding)
