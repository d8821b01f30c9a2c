"""Speaker labels in notes and transcripts, and who each speaker is.

A speaker label starts a paragraph: ``**Interviewer:** text``, ``Interviewer:
text``, ``Q: text``, ``Priya Chaudhry: text``, or stands on a line of its own
(``Interviewer:``) with what was said in the paragraphs that follow. Either
way the label holds until the next label. :func:`split_speaker_label` finds
one; :func:`assign_speaker_roles` decides whether each speaker is the
interviewee (``participant``), the evaluator asking (``interviewer``) or
someone else (``other``). The suggestion stage skips interviewer segments, so
the rules here lean towards ``other`` when unsure rather than hiding a
participant's words.

Who is who
----------
1. A label says it: ``Interviewer``, ``Facilitator``, ``Evaluator``,
   ``Researcher``, ``Q`` are the interviewer; ``Respondent``, ``Participant``,
   ``Interviewee``, ``A`` are the participant; so is the interviewee's name
   from the register (``Chaudhry, Priya``, ``Priya``, ``Priya C.`` and ``Dr
   Chaudhry`` match Priya Chaudhry).
2. In an interview whose participant is identified by rule 1 and where no
   speaker is labelled as the interviewer, one other speaker is the
   interviewer: with two speakers, the other one; with more (a second
   evaluator, a note-taker, a colleague of the interviewee), the one who asks
   the most questions (turns with a ``?``; a tie goes to who spoke first),
   provided they ask at least one.
3. Anyone else is ``other``: their turns are coded and counted, but in an
   interview with an identified participant they are never quoted, because a
   quote there is attributed to the participant (:mod:`pipeline.quotes`).
   Workshops and observations are not interviews: rule 2 never applies, and
   several named speakers are all ``other``.

Which labels are speakers
-------------------------
A plain label is one to four capitalised words (optionally followed by a
bracketed organisation or role) and a colon; a bold one (``**...:**``) may be
any short text. A label is a speaker when it is a role label (``Interviewer``,
``Facilitator``, ``Participant 2``, ``Q``, ``A``, ``P1``, ``R2``) or a name
(``Priya``, ``Priya Chaudhry``, ``Dr Okafor``). It is not a speaker, and the
paragraph stays text, when any of its words (outside brackets) is a common note
heading word (:data:`HEADING_WORDS`: ``Overall``, ``Background``, ``Funding``,
``Summary``, ``Key``, ``Next`` ...): ``Overall: it went well`` and ``Key
Challenges: staffing`` are notes, not turns. A label ending in a number is a
speaker only if the rest is a role word (``Participant 2:`` is, ``Step 2:`` is
not). A one-word label that is an inflected English word (``Volunteers``,
``Referrals``, ``Meetings``: spaCy's lemma lookup) is a heading too, unless it
is a role (``Participants``) or a name that is also a word (``Rose``,
``Miles``); a surname such as ``Banks`` used alone as a label is therefore
read as a heading. Other one-word headings missing from the list
(``Transport:``) are still read as speakers.
"""

from __future__ import annotations

import re

from pipeline.anonymise import COMMON_WORD_NAMES, without_accents
from pipeline.ingest.model import Block, RawDocument
from pipeline.lexicon import inflected_forms

INTERVIEWER_LABELS = {"interviewer", "facilitator", "evaluator", "researcher", "q", "question"}
PARTICIPANT_LABELS = {"respondent", "participant", "interviewee", "a", "answer"}
# Role words that may carry a number ("Participant 2", "Speaker 1").
_NUMBERED_ROLES = INTERVIEWER_LABELS | PARTICIPANT_LABELS | {"speaker", "observer", "moderator"}

# **Label:** text  |  **Label**: text  |  **Label:** alone
_BOLD_LABEL = re.compile(r"^\*\*(?P<label>[^*:\n]{1,60}?)\s*(?::\*\*|\*\*\s*:)\s*(?P<text>.*)$", re.S)
# Label: text  |  Label: alone — a label is one to four words starting with a
# capital letter (or a bare Q/A), then optionally a number and a bracketed note.
_PLAIN_LABEL = re.compile(
    r"^(?P<label>(?:[A-Z][\w'’.\-]*)(?:[ \t]+[A-Z][\w'’.\-]*){0,3}(?:[ \t]+\d{1,3})?"
    r"(?:[ \t]*\([^)\n]{1,40}\))?)"
    r"[ \t]*:(?:\s+(?P<text>\S.*?))?\s*$",
    re.S,
)

# Words of note headings ("Overall:", "Key Challenges:", "Next steps:"): a label
# holding one of them (outside brackets) is not a speaker. None is a common name.
HEADING_WORDS = frozenset("""
    note notes nb ps summary overall background context introduction conclusion conclusions
    funding finance budget costs staffing governance leadership sustainability legacy
    impact outcome outcomes output outputs findings finding result results evidence
    theme themes issue issues challenge challenges barrier barriers enabler enablers
    success successes strength strengths weakness weaknesses risk risks concern concerns
    recommendation recommendations reflection reflections observation observations
    lesson lessons learning learnings feedback comment comments quote quotes example examples
    action actions decision decisions agenda attendees present apologies date time venue
    location site purpose aim aims objective objectives method methods approach progress
    status update updates key main general other misc additional further next steps
    follow-up todo to-do point points priority priorities plan plans questions
""".split())
_HEADING_PHRASES = {"follow up", "to do"}


def _label_words(label: str) -> list[str]:
    """The label's words outside brackets, lower-cased, without trailing dots."""
    return [w.strip(".").lower() for w in re.sub(r"\([^)]*\)", " ", label).split()]


def _is_heading(words: list[str]) -> bool:
    return " ".join(words) in _HEADING_PHRASES or any(w in HEADING_WORDS for w in words)


def split_speaker_label(paragraph: str) -> tuple[str, str] | None:
    """Return ``(speaker, text)`` if the paragraph starts with a speaker label, else None.

    ``text`` is "" when the label stands alone: the turn is in the paragraphs
    that follow. See the module docstring for which labels count.

    Examples
    --------
    >>> split_speaker_label("**Interviewer:** How did it start?")
    ('Interviewer', 'How did it start?')
    >>> split_speaker_label("Q: And then?")
    ('Q', 'And then?')
    >>> split_speaker_label("Participant 2:")
    ('Participant 2', '')
    >>> split_speaker_label("The plan was simple: meet weekly.") is None
    True
    >>> split_speaker_label("Background: the hub opened in 2023.") is None
    True
    >>> split_speaker_label("Volunteers: she said four drivers do it all.") is None
    True
    """
    match = _BOLD_LABEL.match(paragraph) or _PLAIN_LABEL.match(paragraph)
    if not match:
        return None
    label = match.group("label").strip()
    words = _label_words(label)
    if not words or _is_heading(words):
        return None
    if words[-1].isdigit() and " ".join(words[:-1]) not in _NUMBERED_ROLES:
        return None  # "Step 2:", "Table 1:"
    if len(words) == 1 and _inflected_word(words[0]):
        return None  # "Volunteers:", "Referrals:": a plural or other inflected word heads a note
    return label, (match.group("text") or "").strip()


# A note heading as typed, capitalised or not, perhaps in emphasis: "Key themes:", "*Note:*", "_Summary:_".
_NOTE_LABEL = re.compile(r"^[*_]{0,2}(?P<label>[A-Z][\w'’\-]*(?:[ \t]+[\w'’\-]+){0,3})"
                         r"[ \t]*(?:[*_]{0,2}:|:[*_]{0,2})")


def is_note_heading(paragraph: str) -> bool:
    """Whether a paragraph starts with a label that is a note heading, not a speaker.

    Such a paragraph is the evaluator's ("Summary: the group agreed ..."), so it
    ends the turn before it rather than continuing it: a label that
    :func:`split_speaker_label` turns down, or up to four words holding a note
    heading word, whatever their capitals or emphasis ("Interviewer note:",
    "Key themes:", "*Note:*").

    Examples
    --------
    >>> is_note_heading("Summary: the group agreed."), is_note_heading("Priya: Yes.")
    (True, False)
    >>> is_note_heading("Interviewer note: she paused."), is_note_heading("_Summary:_ agreed.")
    (True, True)
    >>> is_note_heading("We agreed: meet weekly."), is_note_heading("Priya said: yes.")
    (False, False)
    """
    if split_speaker_label(paragraph) is not None:
        return False
    if _BOLD_LABEL.match(paragraph) or _PLAIN_LABEL.match(paragraph):
        return True
    match = _NOTE_LABEL.match(paragraph)
    return bool(match) and _is_heading(_label_words(match.group("label")))


# Kinds of paragraph, besides plain ones (""), that end a speaker's turn (see turn_blocks).
BREAK = "break"       # a heading, rule or the like: structure, not text
OUTSIDE = "outside"   # the evaluator's text that is no speaker's (a Word table row): no label is read in it


def turn_blocks(paragraphs, with_speakers: bool) -> list[Block]:
    """Blocks of ``(text, kind)`` paragraphs, each in the turn of the speaker whose label came last.

    A turn runs from its speaker label (:func:`split_speaker_label`) to the next label, a
    :data:`BREAK` or :data:`OUTSIDE` paragraph, or a paragraph led by a note heading
    (:func:`is_note_heading`); text outside every turn has no speaker. Without ``with_speakers``
    no label is read and no block has a speaker.

    Examples
    --------
    >>> [(b.speaker, b.text) for b in turn_blocks([("A: Yes.", ""), ("And more.", ""), ("Next", BREAK),
    ...                                            ("She paused.", ""), ("B: No.", ""), ("Summary: agreed.", "")],
    ...                                           True)]
    [('A', 'Yes.'), ('A', 'And more.'), ('', 'She paused.'), ('B', 'No.'), ('', 'Summary: agreed.')]
    """
    blocks, speaker = [], ""
    for text, kind in paragraphs:
        if kind:
            speaker = ""
            if kind == BREAK:
                continue
        if not text:
            continue
        if with_speakers and not kind:
            labelled = split_speaker_label(text)
            if labelled:
                speaker, text = labelled
                if not text:
                    continue
            elif is_note_heading(text):
                speaker = ""
        blocks.append(Block(text=text, speaker=speaker))
    return blocks


def _inflected_word(word: str) -> bool:
    """An inflected English word ("volunteers", "meetings") that is neither a role label
    ("participants") nor a name that is also a word ("rose", "miles")."""
    lemma = inflected_forms().get(word)
    return lemma is not None and lemma not in _NUMBERED_ROLES and word not in COMMON_WORD_NAMES


def _name_key(name: str) -> str:
    """Lower-case name without brackets, titles, punctuation or accents ("Sian" for "Siân", as
    captions and typists write it); 'Last, First' reordered."""
    name = re.sub(r"\([^)]*\)|\[[^\]]*\]", " ", without_accents(name))
    if name.count(",") == 1:
        last, first = name.split(",")
        name = f"{first} {last}"
    name = re.sub(r"[^\w\s'-]", " ", name.lower())
    words = [w for w in name.split() if w not in {"dr", "mr", "mrs", "ms", "miss", "prof", "cllr"}]
    return " ".join(words)


def name_forms(name: str) -> set[str]:
    """The ways a speaker label may write a register name: in full, the first name or the
    surname alone (a meeting's display name, "Dr Okafor"), or with an initial ("Priya C.").

    Examples
    --------
    >>> sorted(name_forms("Priya Chaudhry"))
    ['chaudhry', 'p chaudhry', 'priya', 'priya c', 'priya chaudhry']
    """
    key = _name_key(name)
    words = key.split()
    if len(words) < 2:
        return {key} if key else set()
    first, last = words[0], words[-1]
    return {key, first, last, f"{first} {last[0]}", f"{first[0]} {last}"}


def label_role(speaker: str, participant_name: str = "") -> str:
    """Role implied by the speaker label alone ("" when the label does not say).

    Examples
    --------
    >>> label_role("Interviewer"), label_role("A"), label_role("Chaudhry, Priya", "Priya Chaudhry")
    ('interviewer', 'participant', 'participant')
    >>> label_role("Priya", "Priya Chaudhry"), label_role("Priya C.", "Priya Chaudhry"), label_role("Prakash")
    ('participant', 'participant', '')
    >>> label_role("Sian", "Siân Pryce"), label_role("SIÂN PRYCE", "Sian Pryce")
    ('participant', 'participant')
    """
    key = re.sub(r" \d+$", "", _name_key(speaker))   # "Interviewer 2" is an interviewer
    if key in INTERVIEWER_LABELS:
        return "interviewer"
    if key in PARTICIPANT_LABELS:
        return "participant"
    if participant_name and key and key in name_forms(participant_name):
        return "participant"
    return ""


def assign_speaker_roles(document: RawDocument, participant_name: str = "") -> dict[str, str]:
    """Fill ``speaker_role`` on every block of ``document`` that has a speaker and no role yet.

    Rules, in order: an interviewer label (Interviewer, Facilitator, Evaluator,
    Q) gives ``interviewer``; a participant label (Respondent, Participant, A)
    or the participant's register name (case-insensitive; in full, the first
    name or surname alone, or with an initial: :func:`name_forms`) gives
    ``participant``; in an interview with exactly one participant so found and
    no labelled interviewer, the other speaker (of two) or the other speaker
    who asks the most questions (of three or more; ties go to who spoke first)
    is the ``interviewer``; anyone else is ``other``. Blocks without a speaker
    keep ``""``.

    Parameters
    ----------
    document : RawDocument
        Changed in place.
    participant_name : str, optional
        The interviewee's name from participants.csv.

    Returns
    -------
    dict
        Each speaker's role, in order of first turn (empty without speakers).
    """
    speakers = []
    for block in document.blocks:
        if block.speaker and block.speaker not in speakers:
            speakers.append(block.speaker)
    roles = {speaker: label_role(speaker, participant_name) for speaker in speakers}
    known = [s for s in speakers if roles[s] == "participant"]
    if document.method == "interview" and len(known) == 1 and "interviewer" not in roles.values():
        unlabelled = [s for s in speakers if not roles[s]]
        questions = {s: sum("?" in b.text for b in document.blocks if b.speaker == s) for s in unlabelled}
        if len(speakers) == 2 and unlabelled:
            roles[unlabelled[0]] = "interviewer"
        elif unlabelled and max(questions.values()) > 0:
            # max() keeps the first of equals: the earliest speaker wins a tie.
            roles[max(unlabelled, key=questions.get)] = "interviewer"
    roles = {speaker: role or "other" for speaker, role in roles.items()}
    for block in document.blocks:
        if block.speaker and not block.speaker_role:
            block.speaker_role = roles[block.speaker]
    return roles
