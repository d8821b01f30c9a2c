"""Speaker labels in notes and transcripts, and who each speaker is.

A speaker label starts a paragraph: ``**Interviewer:** text``, ``Interviewer:
text``, ``Q: text``, ``Priya Chaudhry: text``. :func:`split_speaker_label`
finds one; :func:`assign_speaker_roles` decides whether each speaker is the
interviewee (``participant``), the evaluator asking (``interviewer``) or
someone else (``other``). The suggestion stage skips interviewer segments, so
the rules here lean towards ``other`` when unsure rather than hiding a
participant's words.
"""

from __future__ import annotations

import re

from pipeline.ingest.model import RawDocument

INTERVIEWER_LABELS = {"interviewer", "facilitator", "evaluator", "researcher", "q", "question"}
PARTICIPANT_LABELS = {"respondent", "participant", "interviewee", "a", "answer"}

# **Label:** text  |  **Label**: text
_BOLD_LABEL = re.compile(r"^\*\*(?P<label>[^*:\n]{1,60}?)\s*(?::\*\*|\*\*\s*:)\s*(?P<text>.*)$", re.S)
# Label: text — a label is one to four words starting with a capital letter (or a
# bare Q/A), so that prose such as "Overall: it went well" is rarely mistaken.
_PLAIN_LABEL = re.compile(
    r"^(?P<label>(?:[A-Z][\w'’.\-]*)(?:[ \t]+[A-Z][\w'’.\-]*){0,3}(?:[ \t]*\([^)\n]{1,40}\))?)"
    r"[ \t]*:[ \t]+(?P<text>\S.*)$",
    re.S,
)
# Words that start a sentence followed by a colon but are not speakers.
_NOT_SPEAKERS = {
    "note", "notes", "summary", "context", "action", "actions", "date", "time", "site", "location",
    "attendees", "present", "theme", "themes", "update", "example", "key", "outcome", "outcomes",
    "next steps", "follow-up", "follow up", "todo", "to do", "observation", "reflection", "nb", "ps",
}


def split_speaker_label(paragraph: str) -> tuple[str, str] | None:
    """Return ``(speaker, text)`` if the paragraph starts with a speaker label, else None.

    Examples
    --------
    >>> split_speaker_label("**Interviewer:** How did it start?")
    ('Interviewer', 'How did it start?')
    >>> split_speaker_label("Q: And then?")
    ('Q', 'And then?')
    >>> split_speaker_label("The plan was simple: meet weekly.") is None
    True
    """
    match = _BOLD_LABEL.match(paragraph) or _PLAIN_LABEL.match(paragraph)
    if not match:
        return None
    label = match.group("label").strip()
    if label.lower() in _NOT_SPEAKERS:
        return None
    return label, match.group("text").strip()


def _name_key(name: str) -> str:
    """Lower-case name without brackets, titles or punctuation; 'Last, First' reordered."""
    name = re.sub(r"\([^)]*\)|\[[^\]]*\]", " ", name)
    if name.count(",") == 1:
        last, first = name.split(",")
        name = f"{first} {last}"
    name = re.sub(r"[^\w\s'-]", " ", name.lower())
    words = [w for w in name.split() if w not in {"dr", "mr", "mrs", "ms", "miss", "prof", "cllr"}]
    return " ".join(words)


def label_role(speaker: str, participant_name: str = "") -> str:
    """Role implied by the speaker label alone ("" when the label does not say).

    Examples
    --------
    >>> label_role("Interviewer"), label_role("A"), label_role("Chaudhry, Priya", "Priya Chaudhry")
    ('interviewer', 'participant', 'participant')
    """
    key = _name_key(speaker)
    if key in INTERVIEWER_LABELS:
        return "interviewer"
    if key in PARTICIPANT_LABELS:
        return "participant"
    if participant_name and key and key == _name_key(participant_name):
        return "participant"
    return ""


def assign_speaker_roles(document: RawDocument, participant_name: str = "") -> None:
    """Fill ``speaker_role`` on every block of ``document`` that has a speaker and no role yet.

    Rules, in order: an interviewer label (Interviewer, Facilitator, Evaluator,
    Q) gives ``interviewer``; a participant label (Respondent, Participant, A)
    or the participant's register name (case-insensitive) gives
    ``participant``; in an interview with exactly two speakers of whom one is
    the participant, the other is the ``interviewer``; anyone else is
    ``other``. Blocks without a speaker keep ``""``.

    Parameters
    ----------
    document : RawDocument
        Changed in place.
    participant_name : str, optional
        The interviewee's name from participants.csv.
    """
    speakers = []
    for block in document.blocks:
        if block.speaker and block.speaker not in speakers:
            speakers.append(block.speaker)
    roles = {speaker: label_role(speaker, participant_name) for speaker in speakers}
    if document.method == "interview" and len(speakers) == 2:
        known = [s for s in speakers if roles[s] == "participant"]
        if len(known) == 1:
            other = next(s for s in speakers if s != known[0])
            if not roles[other]:
                roles[other] = "interviewer"
    for block in document.blocks:
        if block.speaker and not block.speaker_role:
            block.speaker_role = roles[block.speaker] or "other"
