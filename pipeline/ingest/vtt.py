"""WebVTT transcripts from Microsoft Teams and Zoom.

Parsed here rather than with webvtt-py because older Teams exports write
unpadded timestamps (``0:0:0.0 --> 0:0:5.20``) that strict parsers reject,
and the timings are dropped anyway. What is kept is who said what:

* Teams: ``<v Speaker Name>text</v>`` (older exports omit ``</v>``); one
  utterance may be split over cues ``…/17-0``, ``…/17-1``. A cue with two
  voices (``<v Alice>Hi</v><v Bob>Hello</v>``) is two turns, one per voice.
* Zoom: numbered cues whose text is ``Speaker Name: text``. A cue of an
  unidentified speaker has no name, and its text may itself hold a colon
  ("To be honest: it depends on three people"), so a label counts as a
  speaker only when it is written like a name (every word capitalised, as
  in "Tom Ashdown") or labels at least two cues of the file (a display name
  such as "tom a"); otherwise the cue is text.

Consecutive cues by the same speaker are merged into one turn, which becomes
one block (later split at sentences only if it is long). HTML entities
(``&amp;``, ``&#237;``) are decoded and any other markup is removed.
"""

from __future__ import annotations

import html
import logging
import re
from collections import Counter
from pathlib import Path

from pipeline.errors import InputError
from pipeline.ingest.encoding import read_text_file
from pipeline.ingest.model import Block, RawDocument

log = logging.getLogger(__name__)

_VOICE = re.compile(r"<v(?:\.[^\s>]+)*\s+(?P<name>[^>]+)>")
_TAG = re.compile(r"</?[a-zA-Z][^>]*>|<\d[\d:.]*>")
_ZOOM_SPEAKER = re.compile(r"^(?P<name>[^:\n<>]{1,80}?):\s+(?P<text>\S.*)$", re.S)
_SKIPPED_BLOCKS = ("NOTE", "STYLE", "REGION")


def parse_cues(text: str, display: str) -> list[tuple[str, str]]:
    """Return ``(voice_speaker, payload)`` for each voice of each cue of a WebVTT text, in order.

    ``voice_speaker`` is the name in a ``<v>`` tag ("" if none); ``payload`` is
    the text it voices, with markup removed and entities decoded. A cue with
    several ``<v>`` tags gives one pair per tag: each voice runs to the next
    tag (or the end of the cue). Text before the first tag has no speaker.

    Raises
    ------
    InputError
        If the text does not start with ``WEBVTT``.
    """
    if not text.lstrip("\ufeff").startswith("WEBVTT"):
        raise InputError("this is not a WebVTT file (it does not start with 'WEBVTT')", file=display,
                         hint="export the transcript from Teams or Zoom as .vtt, or save it as .txt")
    cues: list[tuple[str, str]] = []
    previous_cue = None
    for chunk, line_number in _blocks(text):
        lines = [line for line in chunk.split("\n") if line.strip()]
        if not lines or lines[0].startswith("WEBVTT") or lines[0].split(" ")[0] in _SKIPPED_BLOCKS:
            continue
        timing = next((i for i, line in enumerate(lines) if "-->" in line), None)
        # Lines outside any cue (a paragraph a transcriber added after a blank line): a cue has at
        # most one ID line before its timing. They continue the cue before them, and are never dropped.
        stray = lines if timing is None else lines[:max(timing - 1, 0)]
        if stray:
            clean = _plain(" ".join(stray))
            log.warning("%s line %d: text outside any cue, %s: %r", display, line_number,
                        "joined to the cue before it" if cues else "kept with no speaker", clean[:60])
            if cues:
                cues[-1] = (cues[-1][0], f"{cues[-1][1]} {clean}")
            else:
                cues.append(("", clean))
        if timing is None:
            continue
        cue = lines[max(timing - 1, 0):]
        if cue == previous_cue:   # the same ID, timing and text again: an export repeated the cue
            log.warning("%s line %d: a repeated cue (same timing and text) was read once", display, line_number)
            continue
        previous_cue = cue
        payload = "\n".join(lines[timing + 1:])
        voices = list(_VOICE.finditer(payload))
        starts = [0] + [voice.start() for voice in voices]
        ends = starts[1:] + [len(payload)]
        names = [""] + [html.unescape(voice.group("name")).strip() for voice in voices]
        for speaker, start, end in zip(names, starts, ends):
            clean = _plain(payload[start:end])
            if clean:
                cues.append((speaker, clean))
    return cues


def _blocks(text: str):
    r"""The blank-line-separated blocks of a WebVTT text, each with the line it starts on.

    Examples
    --------
    >>> list(_blocks("WEBVTT\n\n1\n00:01 --> 00:02\nHi\n\n\nThere"))
    [('WEBVTT', 1), ('1\n00:01 --> 00:02\nHi', 3), ('\nThere', 7)]
    """
    position, line = 0, 1   # counted as the blocks go, not from the top for each block
    for separator in re.finditer(r"\n[ \t]*\n", text):
        yield text[position:separator.start()], line
        line += text.count("\n", position, separator.end())
        position = separator.end()
    yield text[position:], line


def _plain(markup: str) -> str:
    """Text without tags, with entities decoded and white space collapsed."""
    return " ".join(html.unescape(_TAG.sub("", markup)).split())


def _zoom_speaker(label: str, counts: Counter) -> bool:
    """Whether a Zoom cue's ``label:`` names its speaker (see the module docstring)."""
    return counts[label] >= 2 or all(word[:1].isupper() or word[:1].isdigit() for word in label.split())


def read_vtt(path: Path, source_file: str, method: str = "interview") -> RawDocument:
    """Read a Teams or Zoom WebVTT transcript into speaker turns.

    Parameters
    ----------
    path : Path
        The ``.vtt`` file.
    source_file : str
        Its path relative to ``data/raw`` (forward slashes).
    method : str
        The method its folder gives (usually interview).

    Returns
    -------
    RawDocument
        ``source_format`` is ``vtt-teams`` (voice tags), ``vtt-zoom`` (``Name:``
        labels) or ``vtt`` (no speakers); one block per speaker turn; no metadata
        (it comes from fieldwork.csv).

    Raises
    ------
    InputError
        If the file is not WebVTT, cannot be decoded, or has no cue text.
    """
    display = f"data/raw/{source_file}"
    text, encoding = read_text_file(path, display)
    cues = parse_cues(text, display)
    if not cues:
        raise InputError("the transcript has no cues with text", file=display,
                         hint="check the export; an empty meeting transcript cannot be coded")
    if any(speaker for speaker, _ in cues):
        fmt = "vtt-teams"
    else:
        labelled = [_ZOOM_SPEAKER.match(payload) for _, payload in cues]
        counts = Counter(m.group("name").strip() for m in labelled if m)
        labelled = [m if m and _zoom_speaker(m.group("name").strip(), counts) else None for m in labelled]
        if sum(1 for m in labelled if m) >= max(1, len(cues) // 2):
            fmt = "vtt-zoom"
            cues = [(m.group("name").strip(), m.group("text").strip()) if m else ("", payload)
                    for m, (_, payload) in zip(labelled, cues)]
        else:
            fmt = "vtt"
    blocks: list[Block] = []
    for speaker, payload in cues:
        # Merge a turn split over cues (Teams …/17-0, …/17-1) or continued by the
        # same person; a new speaker starts a new turn.
        if blocks and blocks[-1].speaker == speaker:
            blocks[-1].text += " " + payload
        else:
            blocks.append(Block(text=payload, speaker=speaker))
    return RawDocument(method=method, source_file=source_file, source_format=fmt, blocks=blocks,
                       encoding=encoding)
