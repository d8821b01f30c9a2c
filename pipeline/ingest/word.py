"""Word (.docx) fieldwork files: notes, interview write-ups and Teams transcripts.

python-docx's ``Document.paragraphs`` sees only top-level body paragraphs, so
text in tables, text boxes and tracked insertions would be lost. This module
walks the body XML in document order instead:

* paragraphs, and every table row as one line with its cells joined by `` | ``
  (nested tables flattened into their cell);
* content controls (``w:sdt``) and custom XML wherever they wrap text: around
  paragraphs, runs, table rows or single cells;
* text boxes (``w:txbxContent``), read once: Word stores a VML copy of each
  modern text box under ``mc:Fallback``, which is skipped;
* tracked changes as the document now reads: insertions (``w:ins``,
  ``w:moveTo``) are kept, deletions (``w:del``, ``w:moveFrom``) left out;
* footnotes and endnotes, appended at the end as blocks marked
  ``[footnote N]`` / ``[endnote N]``.

Headings (Heading n, Title, Subtitle styles) are structure, not segments.
Comments, headers and footers are not fieldwork text; when a file has any of
these, or a heading written like a sentence (an answer typed in a heading
style), a warning counts them. Every file passes :func:`pipeline.ingest.safety.check_office_file`
before python-docx opens it.

A Teams transcript saved as .docx (``Speaker Name   0:03`` paragraphs, each
followed by what was said) becomes speaker turns, like a .vtt transcript; see
:func:`_teams_speaker_lines` for how one is told apart from other documents.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from pipeline.errors import InputError
from pipeline.ingest.model import Block, RawDocument
from pipeline.ingest.safety import SafetyLimits, check_office_file
from pipeline.ingest.speakers import BREAK, OUTSIDE, split_speaker_label, turn_blocks
from pipeline.ingest.text import SPEAKER_METHODS

log = logging.getLogger("pipeline.ingest")

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"

_TEXT = W + "t"
_TABS = {W + "tab", W + "ptab"}
_BREAKS = {W + "br", W + "cr"}
_PARAGRAPH = W + "p"
_ROW = W + "tr"
_CELL = W + "tc"
_TEXTBOX = W + "txbxContent"
# Deleted text, VML duplicates of text boxes, and properties never hold current text.
_SKIP = {W + "del", W + "moveFrom", MC + "Fallback", W + "pPr", W + "rPr", W + "sectPr",
         W + "tblPr", W + "trPr", W + "tcPr", W + "sdtPr"}

# "Priya Chaudhry   0:03", "Chaudhry, Priya   1:02:03" or "Speaker 1  00:00:03": a
# Teams speaker line. Teams puts two or more spaces (or a tab) between the name and
# the time, which is M:SS or H:MM:SS; prose ending in a time ("see you at 2:30") has
# one space. The name starts with a letter, holds no colon, and holds digits only as
# a closing number ("Speaker 1"), so that lines such as "Start time:   10:30" or
# "10 March 2026, 14:03" are not taken for speakers. Matched against the paragraph
# text before runs of spaces are squashed.
_TEAMS_SPEAKER = re.compile(r"^(?P<name>[^\W\d_][^\d:\n]{0,79}?(?: \d{1,3})?)(?:[^\S\n]{2,}|\t)"
                            r"(?P<time>\d{1,2}:[0-5]\d(?::[0-5]\d)?)$")
# Teams puts the meeting title, date, length and "X started transcription" before
# the first speaker line; a document with more than this before it is not a transcript.
_TEAMS_MAX_PREAMBLE = 6
_TEAMS_SYSTEM = re.compile(r"^.{1,80} (started|stopped) transcription$")
_HEADING_STYLES = ("heading", "title", "subtitle")
HEADING, TABLE_ROW = BREAK, OUTSIDE   # kinds of paragraph besides plain ones (""): both end a turn
_TYPED_RULE = re.compile(r"^([-_*=~])\1{2,}$")   # "__________": a line typed across the page


def read_docx(path: Path, source_file: str, method: str, limits: SafetyLimits | None = None) -> RawDocument:
    """Read a .docx fieldwork file into blocks, in document order.

    Parameters
    ----------
    path : Path
        The file.
    source_file : str
        Its path relative to ``data/raw`` (forward slashes).
    method : str
        interview, observation or workshop (from its folder).
    limits : SafetyLimits, optional
        Size and zip limits for the safety check.

    Returns
    -------
    RawDocument
        ``source_format`` is ``docx`` or ``docx-teams`` (a Teams transcript).
        ``metadata`` is empty apart from ``skipped``, a note on content not read
        (comments, headers, footers) for the ingest log.

    Raises
    ------
    InputError
        If the file fails the safety check, cannot be opened, or holds no text.
    """
    display = f"data/raw/{source_file}"
    check_office_file(path, "docx", limits)
    import docx  # python-docx; imported here so that reading text files never pays for it

    try:
        document = docx.Document(str(path))
    except Exception as exc:  # python-docx raises many types on a damaged package
        raise InputError(f"cannot be opened as a Word document ({type(exc).__name__}: {exc})",
                         file=display, hint="open it in Word and save it again as .docx") from None
    heading_ids = _heading_style_ids(document)
    paragraphs: list[tuple[str, str]] = []  # (text, kind)
    _walk(document.element.body, heading_ids, paragraphs)
    notes = _notes(document)
    # A heading is structure, but an answer typed in a heading style would vanish unseen: one written
    # like a sentence is counted in the warning (section titles such as "Governance" are not).
    sentences = sum(1 for text, kind in paragraphs if kind == HEADING and _sentence_like(text))
    skipped = ", ".join(part for part in (_skipped_parts(document),
                                          _count(sentences, "sentence in a heading style",
                                                 "sentences in a heading style")) if part)
    if skipped:
        log.warning("%s: not read: %s", display, skipped)

    lines = [text for text, kind in paragraphs if kind != HEADING]
    teams = _teams_speaker_lines(lines)
    if teams is not None:
        blocks, preamble = _teams_turns([_squash(text) for text in lines], teams)
        fmt = "docx-teams"
        if preamble:
            log.info("%s: left out %d line(s) of meeting details (title, date, length, transcription notices)",
                     display, preamble)
    else:
        blocks = turn_blocks([(_squash(text), kind) for text, kind in paragraphs],
                             with_speakers=method in SPEAKER_METHODS)
        fmt = "docx"
    blocks.extend(Block(text=note) for note in notes)
    if not blocks:
        raise InputError("the document holds no text", file=display,
                         hint="check it is the right file, or remove it from data/raw/")
    metadata = {"skipped": skipped} if skipped else {}
    return RawDocument(method=method, source_file=source_file, source_format=fmt, blocks=blocks,
                       metadata=metadata)


def _heading_style_ids(document) -> set[str]:
    ids = set()
    for style in document.styles:
        name = (getattr(style, "name", "") or "").lower()
        if name.startswith(_HEADING_STYLES):
            ids.add(style.style_id)
    return ids


def _walk(element, heading_ids: set[str], out: list[tuple[str, str]]) -> None:
    """Append ``(text, kind)`` for every paragraph under ``element``, in order: kind
    :data:`HEADING`, :data:`TABLE_ROW` or ``""`` (a paragraph).

    A paragraph's text keeps its inner spacing (Teams speaker lines are told by
    it) and is squashed with :func:`_squash` before it becomes a block; a table
    row is squashed here.
    """
    for child in element:
        tag = child.tag
        if tag == _PARAGRAPH:
            text = _paragraph_text(child).strip()
            if text:
                heading = _style_id(child) in heading_ids or _TYPED_RULE.match(text)
                if not heading and _all_bold(child) and not split_speaker_label(text):
                    out.append(("", HEADING))   # a heading typed in bold: kept, outside any turn
                out.append((text, HEADING if heading else ""))
            elif _has_border(child):
                out.append(("", HEADING))   # a horizontal line drawn as a paragraph border: a break
            for textbox in _outermost(child, _TEXTBOX):
                _walk(textbox, heading_ids, out)
        elif tag in _SKIP or not isinstance(tag, str):
            continue  # deletions, VML fallbacks, properties; comments and PIs have non-str tags
        elif tag == _ROW:
            # A table row reads as one line ("Lead | Priya | March"): its cells alone
            # are often single words, which make meaningless segments.
            cells = []
            for cell in _outermost(child, _CELL):
                inner: list[tuple[str, str]] = []
                _walk(cell, heading_ids, inner)
                cells.append(_squash(" ".join(text for text, _ in inner)))
            row_text = " | ".join(cell for cell in cells if cell)
            if row_text:
                out.append((row_text, TABLE_ROW))
        else:
            # Tables, rows, cells, content controls, block-level insertions, custom XML.
            _walk(child, heading_ids, out)


def _squash(text: str) -> str:
    """``text`` with each run of whitespace (tabs, line breaks) made one space."""
    return " ".join(text.split())


def _paragraph_text(element) -> str:
    parts: list[str] = []
    _collect_text(element, parts)
    return "".join(parts)


def _collect_text(element, parts: list[str]) -> None:
    for child in element:
        tag = child.tag
        if tag == _TEXT:
            parts.append(child.text or "")
        elif tag in _TABS:
            parts.append("\t")
        elif tag in _BREAKS:
            parts.append("\n")
        elif tag == W + "noBreakHyphen":
            parts.append("-")
        elif tag in _SKIP or tag == _TEXTBOX or tag == _PARAGRAPH or not isinstance(tag, str):
            continue  # text boxes are read as their own paragraphs, after this one
        else:
            _collect_text(child, parts)


def _outermost(element, tag: str) -> list:
    """The ``tag`` elements under ``element`` that are not inside another one.

    Wrappers such as content controls (``w:sdt``) and custom XML are looked
    through, so a table row's cells are found even when wrapped; the cells of a
    nested table are inside a cell, so they are left to their own row.
    """
    found = []
    for child in element:
        if not isinstance(child.tag, str) or child.tag in _SKIP:
            continue
        if child.tag == tag:
            found.append(child)
        else:
            found.extend(_outermost(child, tag))
    return found


def _has_border(paragraph) -> bool:
    ppr = paragraph.find(W + "pPr")
    return ppr is not None and ppr.find(W + "pBdr") is not None


def _all_bold(paragraph) -> bool:
    """Whether every run of ``paragraph`` that holds text is set in bold (directly, not by a style)."""
    runs = [run for run in paragraph.iter(W + "r")
            if any((t.text or "").strip() for t in run.iter(_TEXT))]

    def bold(run) -> bool:
        switch = run.find(f"{W}rPr/{W}b")
        return switch is not None and switch.get(W + "val", "true") not in ("0", "false", "off")

    return bool(runs) and all(bold(run) for run in runs)


def _style_id(paragraph) -> str:
    ppr = paragraph.find(W + "pPr")
    if ppr is None:
        return ""
    style = ppr.find(W + "pStyle")
    return style.get(W + "val", "") if style is not None else ""


def _package_parts(document):
    return list(document.part.package.iter_parts())


def _part_element(part):
    element = getattr(part, "element", None)
    if element is not None:
        return element
    from docx.oxml.parser import parse_xml  # the same hardened parser python-docx uses

    return parse_xml(part.blob)


def _notes(document) -> list[str]:
    """Footnote and endnote texts, marked, in note order."""
    out = []
    for part in _package_parts(document):
        name = str(part.partname)
        kind = {"/word/footnotes.xml": "footnote", "/word/endnotes.xml": "endnote"}.get(name)
        if kind is None:
            continue
        for note in _part_element(part):
            if note.tag != W + kind or note.get(W + "type") in ("separator", "continuationSeparator",
                                                                 "continuationNotice"):
                continue
            paragraphs: list[tuple[str, str]] = []
            _walk(note, set(), paragraphs)
            text = _squash(" ".join(t for t, _ in paragraphs))
            if text:
                out.append(f"[{kind} {note.get(W + 'id', '')}] {text}")
    return out


def _skipped_parts(document) -> str:
    """A note on what the reader leaves out: comments, headers and footers that hold text."""
    counts = {"comment": 0, "header": 0, "footer": 0}
    for part in _package_parts(document):
        name = str(part.partname)
        if name == "/word/comments.xml":
            counts["comment"] += sum(1 for c in _part_element(part) if c.tag == W + "comment")
        elif re.fullmatch(r"/word/(header|footer)\d*\.xml", name):
            text = _paragraph_text(_part_element(part)).strip()
            kind = "header" if "header" in name else "footer"
            if text or any(t.text for t in _part_element(part).iter(_TEXT)):
                counts[kind] += 1
    return ", ".join(_count(n, kind) for kind, n in counts.items() if n)


def _sentence_like(text: str) -> bool:
    """Whether a heading reads like something said rather than a section title.

    Examples
    --------
    >>> _sentence_like("Governance"), _sentence_like("Interview notes (Brackenmouth, wave 1)")
    (False, False)
    >>> _sentence_like("We never got the money we were promised."), _sentence_like("Why did it stall?")
    (True, True)
    """
    text = text.strip()
    return text.endswith((".", "?", "!")) or len(text.split()) >= 12


def _count(n: int, noun: str, plural: str = "") -> str:
    """``"2 headers"``, ``"1 footer"``, ``""`` for none."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}" if n else ""


def _teams_speaker_lines(lines: list[str]) -> dict[int, str] | None:
    """Teams speaker lines and their speakers, or None if this is not a Teams transcript.

    A speaker line matches ``_TEAMS_SPEAKER`` (name, two or more spaces, time) and
    is always followed by what was said. So when several lines in a row look like
    speaker lines, the last is one, the line before it is text (the previous
    speaker's, such as "Call me at  2:30"), and so on back; a look-alike at the end
    of the document is text too. Nothing is dropped this way.

    A turn may run over several paragraphs, so the share of speaker lines says
    nothing; instead the document counts as a transcript when it has at least two
    speaker lines, someone speaks more than once, and no more than a few lines of
    meeting details (``_TEAMS_MAX_PREAMBLE``) come before the first one. Notes
    with a line such as ``Arrival   10:15`` stay ordinary paragraphs, and pages of
    notes before timed lines are never left out as a preamble.

    Parameters
    ----------
    lines : list[str]
        The document's non-heading paragraphs, with their inner spacing kept.

    Returns
    -------
    dict[int, str] or None
        The index in ``lines`` of each speaker line, to the speaker's name.
    """
    speakers = {}
    followed_by_text = False
    for index in range(len(lines) - 1, -1, -1):  # from the end: is the next line text?
        match = _TEAMS_SPEAKER.match(lines[index])
        if match and followed_by_text and len(match.group("name").split()) <= 6:
            speakers[index] = _squash(match.group("name"))
            followed_by_text = False
        else:
            followed_by_text = True
    if (len(speakers) >= 2 and len(set(speakers.values())) < len(speakers)
            and min(speakers) <= _TEAMS_MAX_PREAMBLE):
        return speakers
    return None


def _teams_turns(texts: list[str], speaker_lines: dict[int, str]) -> tuple[list[Block], int]:
    blocks: list[Block] = []
    speaker = None
    preamble = 0
    for index, text in enumerate(texts):
        if index in speaker_lines:
            speaker = speaker_lines[index]
            continue
        if speaker is None or _TEAMS_SYSTEM.match(text):
            preamble += 1  # meeting title, date, length, "X started transcription"
            continue
        if blocks and blocks[-1].speaker == speaker and index - 1 not in speaker_lines:
            # A second paragraph in the same turn stays its own block (paragraph-sized segments).
            blocks.append(Block(text=text, speaker=speaker))
        elif blocks and blocks[-1].speaker == speaker:
            blocks[-1].text += " " + text  # same speaker again straight after: one turn
        else:
            blocks.append(Block(text=text, speaker=speaker))
    return blocks, preamble
