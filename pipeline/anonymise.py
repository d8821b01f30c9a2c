"""Pseudonymisation of every text written under ``reports/``.

People named in ``participants.csv`` and the terms listed under
``privacy.identifying_terms`` are replaced by consistent pseudonyms in square
brackets. Nothing written under ``reports/`` may contain a participant's name;
the one table that links real names to pseudonyms,
``data/processed/anonymisation_log.csv``, is personal data and stays in
``data/processed/``.

Rules
-----
Names
    For every register row with a ``name``, the full name, the name without
    middle names, the first name alone, the surname alone (everything after
    the first name, and the last word on its own) and "surname, first name",
    each with or without a title ("Dr", "Mr", "Mrs", "Ms", "Miss", "Prof",
    "Cllr" ...) are matched as whole words, case-insensitively (so ``SARAH
    LINDQVIST`` is found). A name written "Lindqvist, Sarah" is read as "Sarah
    Lindqvist"; a bracketed part ("Sarah Lindqvist (Brindle Council)") and a
    leading title are not part of the name (see :func:`person_name`).
Spelling
    Words may be joined by any run of white space, or by a hyphen or en dash
    with or without white space after it, whatever the register writes
    between them: "Gwen Tudor-Rees" is also found as "Tudor Rees",
    "Tudor–Rees" and "Tudor- Rees" (a line wrapped at the hyphen), and
    "Mary-Jane" and "Mary Jane" are one name. The two apostrophes are the
    same letter ("O'Neill" = "O’Neill").
Whole words
    A match may not have a letter or digit directly before or after it
    ("Sarahs", "Priyanka" are left alone), but a hyphen or apostrophe does
    not join a name to the next word: "the Priya-led bid", "Sarah'll",
    "pro-Priya" are replaced, and possessives keep their ending (``Sarah's``
    and ``Sarah’s`` become ``[Local authority stakeholder 1]'s``). The
    longest match wins, so "Sarah Lindqvist" is replaced as one person, not
    as a first name followed by a surname, and a register name with a hyphen
    ("Tudor-Rees", "Kerry-Ann") is replaced whole.
A name that is also an everyday word
    ("Marsh", "Will", "Grace", see :data:`COMMON_WORD_NAMES`, and the
    everyday English words of :mod:`pipeline.common_words`: "Power", "Honest")
    is matched only when capitalised (``Marsh`` or ``MARSH``), so "the salt
    marsh" and "convening power" are left alone.
The project's own labels
    A one-word name inside a site, sector, theme or code label, or the
    project's name, as written there, is left alone: with a participant
    surnamed Power, the theme "Power and culture" keeps its label, while
    "Power said" elsewhere is replaced. A full name, a name after a title and
    an identifying term are replaced inside labels too.
Pseudonyms
    A person becomes their sector's attribution label and a number, e.g.
    ``[Voluntary sector partner 3]``. People are numbered within their label in
    ``participant_id`` order, so the number never depends on the name and
    adding participants with new, higher IDs never renumbers anyone. A person
    without a known sector becomes ``[Participant N]``.
Ambiguous names
    A first name or surname shared by two or more people in the register
    (two "Sarah"s) cannot be attributed safely, and becomes ``[a named person]``.
Identifying terms
    Each term in ``privacy.identifying_terms`` becomes its configured
    pseudonym, matched in the same way (whole words, case-insensitive, longest
    first). A configured term takes precedence over a name of the same length.
Contact details
    E-mail addresses, UK telephone numbers (10 or 11 digits from 01, 02, 03,
    05, 07, 08 or 09, or from +44 or 0044) and UK postcodes (in capitals, or
    in any case with the space) become ``[email address]``, ``[phone number]``
    and ``[postcode]`` in every text, whoever they belong to (see
    :func:`mask_contact_details`).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import pandas as pd

from pipeline import paths
from pipeline.atomic import write_csv, write_text
from pipeline.common_words import EVERYDAY_WORDS
from pipeline.lexicon import english_words, inflected_forms

log = logging.getLogger(__name__)

AMBIGUOUS_PSEUDONYM = "[a named person]"
UNKNOWN_SECTOR_LABEL = "Participant"
TITLES = ("Dr", "Mr", "Mrs", "Ms", "Miss", "Mx", "Prof", "Professor", "Cllr", "Councillor",
          "Sir", "Dame", "Rev", "Revd")

# Default quote attributions for the default sector keys; other sectors are
# derived from their label by :func:`attribution_label`.
DEFAULT_ATTRIBUTIONS = {
    "voluntary": "Voluntary sector partner",
    "statutory_health": "Statutory sector stakeholder (NHS)",
    "local_authority": "Local authority stakeholder",
    "programme": "Programme stakeholder",
}

# First names and surnames that are also everyday lower-case words: matched
# only when capitalised, so that pseudonymisation does not rewrite ordinary prose.
COMMON_WORD_NAMES = frozenset("""
    april august autumn baker bell bill black bloom brook brooks brown bush butler carter cash
    chance clay cook cross dale dawn day dean drew early faith fields fisher ford forest fox
    frank gay glen grace grant gray green grey hall hardy hill holly hope hunter iris ivy
    jack jade joy june king lane lee little long love low major march mark marsh mason may
    miles mill mills moss newman nick north page park parks pat penny pearl pierce poor pope
    price read reed rich river robin rose ruby rush sage savage shepherd short small smart
    spring stark steel stone storm summer swift taylor north tucker victor wade walker ward
    waters wells west white will wood woods young
    amber angel art bob carol chase chip cliff crystal daisy don earl eve fern gene guy harmony
    hazel heather honey jasmine lance lily max melody misty olive poppy ray rob rod rusty sandy
    sky sonny star sterling sunny violet willow wren
""".split())

# Words that look like names when capitalised mid-sentence but are not
# (used by :func:`possible_identifiers`).
COMMON_CAPITALISED_WORDS = frozenset("""
    i i'm i've i'd i'll ok okay yes no yeah hmm mm mhm erm um umm uh ah oh covid nhs gp gps ai uk
    england english scotland
    wales welsh britain british europe european christmas easter ramadan diwali eid
    monday tuesday wednesday thursday friday saturday sunday
    mondays tuesdays wednesdays thursdays fridays saturdays sundays
    january february march april may june july august september october november december
    whatsapp zoom teams microsoft google facebook twitter instagram excel word powerpoint
    council borough district trust network foundation partnership programme board hub
    interviewer respondent participant facilitator observer moderator speaker
    mr mrs ms miss dr prof professor cllr councillor sir dame rev revd mx
    the a an and but or so then this that these those there here it its we our you your they
    their he she his her him what when where why how which who if as at by for from in into
    of on to with well right really just also actually because after before since until
    while during yes no not
""".split())

_WORD = r"[^\W\d_]"  # a letter, in any script
_NAME_TOKEN = re.compile(r"[^\W\d_][^\W\d_'’\-]*(?:['’\-][^\W\d_]+)*")
# Titles are matched only as written ("Dr", "DR"), never lower-case ("we miss Sarah").
# Runs of letters and digits: how a text is indexed against the register (see Pseudonymiser._compile).
_ALNUM_RUN = re.compile(r"[^\W_]+")
_TITLE_PATTERN = r"(?-i:(?:" + "|".join(TITLES + tuple(t.upper() for t in TITLES)) + r")\.?\s+)?"
# Hyphen-minus, hyphen, non-breaking hyphen and en dash: a hyphenated name is
# written with any of them, and with a space instead ("Tudor Rees").
_DASHES = "-\u2010\u2011\u2013"
# Between two words of a name or term: white space, or a dash with or without
# white space after it ("Tudor-Rees", "Tudor–Rees", "Tudor-\nRees" wrapped at
# the hyphen, which ingest joins as "Tudor- Rees").
_WORD_JOIN = rf"(?:\s+|[{_DASHES}]\s*)"


_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# A UK number: +44, 0044 or "44 (0)" (with an optional "(0)"), or a 0 (an area code may be in
# brackets), then 9 or 10 digits starting as UK numbers do (1, 2, 3, 5, 7, 8, 9: not 0 or 4, as
# reference numbers do), single spaces, hyphens or dots between them, and no digit straight after.
_PHONE = re.compile(r"(?<![\w+])(?:(?:\+44|0044|44(?= ?\(0\)))[ .\-]?(?:\(0\)[ ]?)?|\(0\)[ ]?|\((?=0\d{2,4}\))0|0)"
                    r"[1235789](?:[ \-.]?\)?[ \-.]?\d){8,9}(?!\d)")
# Outward code (letters used first and second in UK postcodes only), space, inward code; in capitals,
# or in any mix of cases with the space (typed in a survey answer: "wr4 7qt", "Wr4 7QT").
_POSTCODE = re.compile(r"(?<!\w)(?:[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]? ?\d[ABD-HJLNP-UW-Z]{2}"
                       # not "b2 1st floor", "m6 3rd": ordinals are written so too
                       r"|(?i:[a-pr-uwyz][a-hk-y]?\d[a-z\d]? (?!1st|2nd|3rd|\dth)\d[abd-hjlnp-uw-z]{2}))(?!\w)")
_DIGIT = re.compile(r"\d")


def mask_contact_details(text: str) -> str:
    """Replace e-mail addresses, UK telephone numbers and UK postcodes.

    Examples
    --------
    >>> mask_contact_details("Email jo.b@example.org.uk or ring 01632 960123 / +44 (0)7700 900123, MG4 7QT.")
    'Email [email address] or ring [phone number] / [phone number], [postcode].'
    >>> mask_contact_details("In 2025-03-01 we saw 0 to 12 000 people; 01 2025; B12 fell to 0.5.")
    'In 2025-03-01 we saw 0 to 12 000 people; 01 2025; B12 fell to 0.5.'
    >>> mask_contact_details("PO 0004512345, ref 0423 456 789, Q1 2ND; ring 0044 7700 900123 or SW1A 1AA.")
    'PO 0004512345, ref 0423 456 789, Q1 2ND; ring [phone number] or [postcode].'
    >>> mask_contact_details("07700 900123 (24 hours), (0161) 496 0000 or 44 (0)1632 960777 - 9-5.")
    '[phone number] (24 hours), [phone number] or [phone number] - 9-5.'
    >>> mask_contact_details("Text 07700.900.123 or +44.7700.900.456. Post to wr4 7qt; v2 3.0 in 01.02.2025.")
    'Text [phone number] or [phone number]. Post to [postcode]; v2 3.0 in 01.02.2025.'
    >>> mask_contact_details("Room b2 1st floor, then m6 3rd on the left; Wr4 7QT or Mg4 7qt.")
    'Room b2 1st floor, then m6 3rd on the left; [postcode] or [postcode].'
    """
    if "@" in text:
        text = _EMAIL.sub("[email address]", text)
    if _DIGIT.search(text):
        text = _POSTCODE.sub("[postcode]", _PHONE.sub("[phone number]", text))
    return text


@dataclass(frozen=True)
class Person:
    """One named person from the register, as the pseudonymiser sees them."""

    participant_id: str
    name: str
    sector: str = ""
    site: str = ""
    role: str = ""
    label: str = ""   # pseudonym label for people outside the register ("Interviewer")
    organisation: str = ""


def attribution_label(sector: str, sectors: dict, overrides: dict | None = None) -> str:
    """How a quote or pseudonym names a sector's stakeholders.

    Parameters
    ----------
    sector : str
        Sector key, e.g. ``"voluntary"``.
    sectors : dict
        ``config["sectors"]``: key → display label.
    overrides : dict, optional
        ``config["report"]["attribution"]``: key → attribution label.

    Returns
    -------
    str
        ``overrides[sector]`` if given; else the default for the four standard
        sector keys (when their label is the default one); else the label
        followed by "stakeholder" (inserted before a bracketed qualifier, and
        not added when the label already ends with "stakeholder" or "partner");
        "Participant" when the sector is unknown.

    Examples
    --------
    >>> attribution_label("voluntary", {"voluntary": "Voluntary sector"})
    'Voluntary sector partner'
    >>> attribution_label("police", {"police": "Police (county force)"})
    'Police stakeholder (county force)'
    """
    overrides = overrides or {}
    if sector in overrides:
        return overrides[sector]
    if not sector:
        return UNKNOWN_SECTOR_LABEL
    if sector in DEFAULT_ATTRIBUTIONS and sectors.get(sector) in (None, _DEFAULT_SECTOR_LABELS[sector]):
        return DEFAULT_ATTRIBUTIONS[sector]
    label = sectors.get(sector, sector.replace("_", " ").capitalize())
    match = re.match(r"^(.*?)(\s*\(.*\))?$", label)
    head, tail = match.group(1).strip(), match.group(2) or ""
    if re.search(r"\b(stakeholder|partner)s?$", head, re.IGNORECASE):
        return label
    return f"{head} stakeholder{tail}"


_DEFAULT_SECTOR_LABELS = {
    "voluntary": "Voluntary sector",
    "statutory_health": "Statutory sector (NHS)",
    "local_authority": "Local authority",
    "programme": "Programme stakeholder",
}


def _variant_pattern(key: str, case_sensitive: bool) -> str:
    """Regex for one name or term (a :func:`_key`): either apostrophe, words joined by :data:`_WORD_JOIN`."""
    parts = []
    for word in key.split():
        if case_sensitive:
            parts.append(f"(?-i:{re.escape(word[:1].upper())}{re.escape(word[1:])}|{re.escape(word.upper())})")
        else:
            parts.append("['’]".join(re.escape(piece) for piece in word.split("'")))
    return _WORD_JOIN.join(parts)


# Letters that Unicode does not decompose into a base letter and an accent.
_UNACCENTED = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "ß": "ss",
                             "æ": "ae", "Æ": "Ae", "œ": "oe", "Œ": "Oe", "ı": "i"})


def without_accents(text: str) -> str:
    """``text`` with its letters' accents dropped, as typists and automatic captions often write names.

    Examples
    --------
    >>> without_accents("Siân Pryce-Tudor"), without_accents("Zoë Ní Bhriain"), without_accents("Łukasz Wójcik")
    ('Sian Pryce-Tudor', 'Zoe Ni Bhriain', 'Lukasz Wojcik')
    """
    decomposed = unicodedata.normalize("NFKD", text.translate(_UNACCENTED))
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def person_name(name: str) -> str:
    """The person's name in a register entry or speaker label, first name first.

    A bracketed part (an organisation or role) is dropped, "Last, First" is
    turned round, and leading titles are dropped (a title is matched anyway,
    before any variant of the name).

    Examples
    --------
    >>> person_name("Okafor, Grace"), person_name("Grace Okafor (Brindle Council)"), person_name("Dr Okafor")
    ('Grace Okafor', 'Grace Okafor', 'Okafor')
    """
    name = re.sub(r"\([^)]*\)|\[[^\]]*\]", " ", name)
    if name.count(",") == 1:
        last, first = name.split(",")
        name = f"{first} {last}"
    words = name.replace(",", " ").split()
    titles = {title.lower() for title in TITLES}
    while len(words) > 1 and words[0].rstrip(".").lower() in titles:
        words = words[1:]
    return " ".join(words)


def _name_variants(name: str) -> list[tuple[str, str]]:
    """(variant, kind) pairs for one register name or speaker label (see :func:`person_name`)."""
    words = person_name(name).split()
    if not words:
        return []
    variants = [(" ".join(words), "full name")]
    if len(words) >= 2:
        first, last = words[0], words[-1]
        if len(words) > 2:
            variants.append((f"{first} {last}", "full name"))
            variants.append((" ".join(words[1:]), "surname"))
        variants.append((f"{last}, {first}", "full name"))   # "Okafor, Grace", as directories write it
        variants.append((first, "first name"))
        variants.append((last, "surname"))
    # A single letter (an initial) is never matched on its own.
    return [(v, k) for v, k in variants if len(v.replace(".", "")) >= 2]


@dataclass
class Pseudonymiser:
    """Replace register names and identifying terms with consistent pseudonyms.

    Build one with :meth:`from_project` (or :meth:`from_people` in tests) and
    call :meth:`apply` on every text written under ``reports/``.

    Examples
    --------
    >>> p = Pseudonymiser.from_people(
    ...     [Person("P001", "Sarah Lindqvist", "local_authority")],
    ...     sectors={"local_authority": "Local authority"},
    ...     identifying_terms={"Kettlewick Street Surgery": "[a GP practice]"})
    >>> p.apply("SARAH LINDQVIST said Sarah’s team meets at Kettlewick Street Surgery.")
    '[Local authority stakeholder 1] said [Local authority stakeholder 1]’s team meets at [a GP practice].'
    """

    replacements: dict[str, str] = field(default_factory=dict)   # variant (as _key spells it) -> pseudonym
    case_sensitive: set[str] = field(default_factory=set)         # variants matched only capitalised
    log_rows: list[dict] = field(default_factory=list)
    person_pseudonyms: dict[str, str] = field(default_factory=dict)  # participant_id -> pseudonym
    # One-word name variants, and the project labels holding one of them (see "The project's own labels").
    shieldable: set[str] = field(default_factory=set)
    protected: list[str] = field(default_factory=list)
    _active: bool = field(default=False, init=False, repr=False)   # any name or term to replace
    _rank: dict[str, int] = field(default_factory=dict, init=False, repr=False)
    _by_first_token: dict[str, list[str]] = field(default_factory=dict, init=False, repr=False)
    _patterns: dict[tuple, re.Pattern] = field(default_factory=dict, init=False, repr=False)
    _labels: re.Pattern | None = field(default=None, init=False, repr=False)   # the protected labels

    # ------------------------------------------------------------------ building

    @classmethod
    def from_people(
        cls,
        people: Iterable[Person],
        sectors: dict | None = None,
        identifying_terms: dict | None = None,
        attribution: dict | None = None,
        labels: Iterable[str] = (),
    ) -> "Pseudonymiser":
        """Build from people and terms directly.

        Parameters
        ----------
        people : iterable of Person
            Register entries; those without a name are ignored.
        sectors : dict, optional
            ``config["sectors"]`` (key → label), for the pseudonym labels.
        identifying_terms : dict, optional
            ``config["privacy"]["identifying_terms"]`` (term → pseudonym).
        attribution : dict, optional
            ``config["report"]["attribution"]`` (sector key → label).
        labels : iterable of str, optional
            The project's own labels (:func:`project_labels`), in which a
            one-word name is left alone.

        Returns
        -------
        Pseudonymiser
        """
        sectors = sectors or {}
        people = sorted((p for p in people if p.name.strip()), key=lambda p: _id_sort_key(p.participant_id))
        self = cls()
        numbers: Counter = Counter()
        for person in people:
            label = person.label or attribution_label(person.sector, sectors, attribution)
            numbers[label] += 1
            self.person_pseudonyms[person.participant_id] = f"[{label} {numbers[label]}]"

        owners: dict[str, set[str]] = defaultdict(set)
        kinds: dict[str, str] = {}
        spelled: dict[str, str] = {}
        for person in people:
            for variant, kind in _name_variants(person.name.strip()):
                # "Siân" is also typed, and captioned, as "Sian"
                for spelling in dict.fromkeys((variant, without_accents(variant))):
                    key = _key(spelling)
                    if not key:   # dashes only
                        continue
                    owners[key].add(person.participant_id)
                    kinds.setdefault(key, kind)
                    spelled.setdefault(key, spelling)
        for key, ids in sorted(owners.items()):
            if len(ids) == 1:
                (pid,) = ids
                pseudonym = self.person_pseudonyms[pid]
                note = ""
            else:
                pseudonym = AMBIGUOUS_PSEUDONYM
                note = "shared by " + ", ".join(sorted(ids, key=_id_sort_key))
            self.replacements[key] = pseudonym
            if " " not in key:
                self.shieldable.add(key)
                if key in COMMON_WORD_NAMES or key in EVERYDAY_WORDS:
                    self.case_sensitive.add(key)
            self.log_rows.append({
                "real": spelled[key], "pseudonym": pseudonym, "kind": kinds[key],
                "participant_id": ", ".join(sorted(ids, key=_id_sort_key)), "note": note,
            })
        for term, pseudonym in (identifying_terms or {}).items():
            term = " ".join(str(term).split())
            key = _key(term)
            if not key:
                continue
            self.replacements[key] = str(pseudonym)
            self.case_sensitive.discard(key)
            self.shieldable.discard(key)
            self.log_rows.append({"real": term, "pseudonym": str(pseudonym),
                                  "kind": "identifying term", "participant_id": "", "note": ""})
        self.protected = sorted({label for label in labels
                                 if self.shieldable & set(_ALNUM_RUN.findall(_key(label)))},
                                key=lambda label: (-len(label), label))
        self._compile()
        return self

    @classmethod
    def from_project(cls, config: dict, root: Path) -> "Pseudonymiser":
        """Build from ``data/raw/participants.csv`` (if present), the speakers
        of transcripts and session logs who are not in it (interviewers,
        observers, anyone else named as a speaker), and the config.

        Parameters
        ----------
        config : dict
            Validated configuration (uses ``sectors``,
            ``privacy.identifying_terms`` and ``report.attribution`` if set).
        root : Path
            Project folder.

        Returns
        -------
        Pseudonymiser
        """
        people = read_register_people(Path(root) / paths.PARTICIPANTS)
        people += transcript_speakers(Path(root) / paths.SEGMENTS, people)
        return cls.from_people(
            people,
            sectors=config.get("sectors", {}),
            identifying_terms=config.get("privacy", {}).get("identifying_terms", {}),
            attribution=config.get("report", {}).get("attribution", {}),
            labels=project_labels(config, root),
        )

    def _compile(self) -> None:
        self._by_first_token = {}
        self._patterns = {}
        self._active = bool(self.replacements)
        # Longest first, so a full name wins over its first name.
        ordered = sorted(self.replacements, key=lambda k: (-len(k), k))
        self._rank = {key: rank for rank, key in enumerate(ordered)}
        # A one-pattern alternation of every variant costs time per variant at
        # every position of every text, and the register grows with the project
        # (thousands of names: hours for 100k segments). A variant can only match
        # where its first alphanumeric run occurs as a whole run in the text, so
        # each text is matched against the variants whose first run it contains
        # (same alternatives in the same order, so the same result).
        for key in ordered:
            runs = _ALNUM_RUN.findall(key.casefold())
            self._by_first_token.setdefault(runs[0] if runs else "", []).append(key)
        self._labels = re.compile("|".join(map(re.escape, self.protected))) if self.protected else None

    def _pattern_for(self, keys: tuple[str, ...]) -> re.Pattern:
        pattern = self._patterns.get(keys)
        if pattern is None:
            body = "|".join(f"(?:{_variant_pattern(key, key in self.case_sensitive)})" for key in keys)
            pattern = re.compile(
                rf"(?<!\w)({_TITLE_PATTERN}(?:{body}))(?!\w)",
                re.IGNORECASE,
            )
            if len(self._patterns) < 10000:   # bounded: texts mention few names
                self._patterns[keys] = pattern
        return pattern

    def _text_pattern(self, text: str) -> re.Pattern | None:
        """The pattern of the variants that can occur in ``text`` (None: none can)."""
        if not self._active:
            return None
        index = self._by_first_token
        candidates = set(index.get("", ()))
        for run in set(_ALNUM_RUN.findall(text.casefold())):
            candidates.update(index.get(run, ()))
        if not candidates:
            return None
        return self._pattern_for(tuple(sorted(candidates, key=self._rank.__getitem__)))

    # ------------------------------------------------------------------ use

    def apply(self, text) -> str:
        """Return ``text`` with every name and identifying term replaced, and contact details masked.

        Non-string values (numbers, missing values) are returned unchanged.
        """
        if not isinstance(text, str) or not text:
            return text
        # "Siân" pasted from a Mac or a PDF may be "Sia" + a combining circumflex + "n": compose it first
        text = mask_contact_details(unicodedata.normalize("NFC", text))
        if not self._active:
            return text
        pattern = self._text_pattern(text)
        if pattern is None:
            return text
        labels = [m.span() for m in self._labels.finditer(text)] if self._labels is not None else []
        if not labels:
            return pattern.sub(self._replace, text)

        def replace(match: re.Match) -> str:
            start, end = match.span(1)
            # A one-word name inside a project label; with a title ("Dr Power") the key has a space.
            if _key(match.group(1)) in self.shieldable and any(a <= start and end <= b for a, b in labels):
                return match.group(1)
            return self._replace(match)

        return pattern.sub(replace, text)

    def _replace(self, match: re.Match) -> str:
        found = match.group(1)
        core = re.sub(rf"^{_TITLE_PATTERN}", "", found, flags=re.IGNORECASE) or found
        key = _key(core)
        pseudonym = self.replacements.get(key)
        if pseudonym is None:  # the title itself was part of the term
            pseudonym = self.replacements.get(_key(found), found)
        return pseudonym

    def apply_frame(self, frame: pd.DataFrame, columns: Iterable[str] | None = None) -> pd.DataFrame:
        """Copy of ``frame`` with :meth:`apply` run on every text cell (or the named columns)."""
        out = frame.copy()
        for column in (columns if columns is not None else out.columns):
            if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
                out[column] = out[column].map(self.apply)
        return out

    def known_words(self) -> set[str]:
        """Every word of every name and term, as :func:`_key` spells it (see :func:`possible_identifiers`)."""
        words = set()
        for key in self.replacements:
            words.update(key.replace("’", "'").split())
        return words

    def log_frame(self) -> pd.DataFrame:
        """The real → pseudonym table (personal data: write only with :meth:`write_log`).

        Returns
        -------
        DataFrame
            Columns ``real, pseudonym, kind, participant_id, note``.
        """
        return pd.DataFrame(self.log_rows, columns=["real", "pseudonym", "kind", "participant_id", "note"])

    def write_log(self, root: Path) -> Path:
        """Write :meth:`log_frame` to ``data/processed/anonymisation_log.csv`` (never under reports/).

        Warns when a participant the last report replaced (by ID, recorded in
        :data:`pipeline.paths.PSEUDONYMISED_PARTICIPANTS`, which is not a rule output and so
        survives Snakemake's clean-up) is no longer named anywhere: a withdrawn participant
        whose register row was deleted is no longer replaced where others mention them.
        """
        root = Path(root)
        # register participants (not the speakers and unnumbered rows of transcript_speakers/read_register_people)
        now = {pid for pid in self.person_pseudonyms if not pid.startswith(("speaker ", "row "))}
        record = root / paths.PSEUDONYMISED_PARTICIPANTS
        before = set(record.read_text(encoding="utf-8").splitlines()) if record.is_file() else set()
        gone = before - now
        if gone:
            log.warning("%s named in the last run (%s) no longer named in %s or a transcript: where others "
                        "mention them, their names are no longer replaced. If they withdrew, put their "
                        "row back with withdrawn: yes (README, 'When a participant withdraws').",
                        "A participant" if len(gone) == 1 else f"{len(gone)} participants",
                        ", ".join(sorted(gone, key=_id_sort_key)), paths.PARTICIPANTS)
        if now != before:
            write_text(record, "".join(f"{pid}\n" for pid in sorted(now, key=_id_sort_key)))
        target = root / paths.ANONYMISATION_LOG
        write_csv(target, self.log_frame())
        return target


def project_labels(config: dict, root: Path) -> list[str]:
    """The project's own names for things, which are not people: the project's name, the site
    keys and labels, the sector labels, and the codebook's name and theme and code labels."""
    labels = [config.get("project", {}).get("name", "")]
    labels += list(config.get("sites", {})) + list(config.get("sites", {}).values())
    labels += list(config.get("sectors", {}).values())
    try:
        from pipeline.codebook import project_codebook

        codebook = project_codebook(config, root)
        labels += [codebook.name] + [t.label for t in codebook.themes] + [c.label for c in codebook.codes]
    except Exception as error:  # the codebook has its own stage to report problems
        log.warning("Codebook labels not known to the pseudonymiser: %s", error)
    return [label for label in labels if label]


def _key(text: str) -> str:
    """How a name or term is looked up: composed accents, lower case, one apostrophe, dashes as spaces
    ("o'neill", "tudor rees")."""
    text = unicodedata.normalize("NFC", text)
    return " ".join(re.sub(f"[{_DASHES}]", " ", text.replace("’", "'")).split()).lower()


def _id_sort_key(participant_id: str):
    """Natural order for IDs such as P2 < P10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", str(participant_id))]


def read_register_people(path: Path, named_only: bool = True) -> list[Person]:
    """People from participants.csv; an absent file (or, with ``named_only``, name column) gives no one.

    The ingest stage validates the register; here it is read leniently (any
    header case, any order) because pseudonymisation must never be skipped
    over a problem that ingest reports anyway.
    """
    path = Path(path)
    if not path.exists():
        return []
    from pipeline.ingest.tabular import read_grid

    grid = read_grid(path)
    if not grid.rows:
        return []
    header = [h.strip().lower() for h in grid.rows[0]]
    if named_only and "name" not in header:
        return []
    people = []
    for number, row in enumerate(grid.rows[1:], start=2):
        record = dict(zip(header, (c.strip() for c in row)))
        if named_only and not record.get("name"):
            continue
        people.append(Person(
            participant_id=record.get("participant_id") or f"row {number}",
            name=record.get("name", ""),
            sector=record.get("sector", ""),
            site=record.get("site", ""),
            role=record.get("role", ""),
            organisation=record.get("organisation", ""),
        ))
    return people


def _english_word(token: str) -> bool:
    """Whether a capitalised token is in the English word lists: "Thankfully" and "Partnerships" are,
    and so are some first names ("Sarah's"), but not "Gwyneth" or "Ffion". A hyphenated token
    counts by its last part ("Co-facilitated", "Programme-wide")."""
    return re.split(r"[-‐‑]", re.sub(r"['’]s$", "", token))[-1].lower() in english_words()


def _everyday_phrase(key: str) -> bool:
    """Whether every word of a speaker label (a :func:`_key`) is an everyday English word or an
    inflection of one ("volunteers", "to be honest"), and none is a name that is also a word ("rose")."""
    forms = inflected_forms()
    return all(word not in COMMON_WORD_NAMES and (word in EVERYDAY_WORDS or word in forms)
               for word in key.split())


def transcript_speakers(segments_path: Path, register: list[Person]) -> list[Person]:
    """Named speakers in the segment table who are not in the register.

    Transcripts name interviewers and observers as speakers; their names are
    personal data too. Interviewers become "[Interviewer N]", other speakers
    "[Named person N]", numbered in order of first appearance. A label made of
    everyday English words and their inflections ("Volunteers", "To be
    honest") is a note's heading that ingest read as a label, not a name. Labels are
    compared by :func:`person_name`, so "Okafor, Grace" and "Grace Okafor
    (Brindle Council)" are the register's Grace Okafor, and the bracketed
    organisation is not taken for part of anyone's name.
    """
    segments_path = Path(segments_path)
    if not segments_path.exists():
        return []
    # One row per speaker and role, in order of first appearance.
    frame = pd.read_parquet(segments_path, columns=["speaker", "speaker_role"]).drop_duplicates()
    known = {_key(person_name(person.name)) for person in register}
    people: list[Person] = []
    seen: set[str] = set()
    for speaker, role in frame.itertuples(index=False):
        name = person_name(str(speaker or ""))
        key = _key(name)
        if not name or key in known or key in seen or not _NAME_TOKEN.match(name):
            continue
        if all(word in COMMON_CAPITALISED_WORDS or re.search(r"\d", word) for word in key.split()):
            continue  # a role label such as "Interviewer", "Participant 2" or "P1", not a name
        if _everyday_phrase(key):
            continue  # a note's heading read as a label ("Volunteers:", "To be honest:"), not a name
        seen.add(key)
        label = "Interviewer" if role == "interviewer" else "Named person"
        people.append(Person(participant_id=f"speaker {len(people) + 1:04d}", name=name, label=label))
    return people


# ---------------------------------------------------------------------- unknown names

POSSIBLE_IDENTIFIER_COLUMNS = ["token", "count", "example_segment_id", "context", "review_note"]
REVIEW_NOTE = (
    "Possibly a name or identifying term that is in neither participants.csv nor "
    "privacy.identifying_terms. The token itself is shown so you can judge it: keep this file "
    "inside the evaluation team. Add real identifiers to privacy.identifying_terms and re-run."
)
LEFT_OVER_NOTE = (
    "A word of a name in participants.csv or of a term in privacy.identifying_terms that the "
    "pseudonymiser left in this text (a form or spelling it does not match), so the reports may "
    "show it. Add the form written here to privacy.identifying_terms (or correct participants.csv) "
    "and re-run."
)
_SENTENCE_START = re.compile(r"(^|[.!?:;…]\s*|[\"“‘(\[]\s*|\n\s*|\*\*\s*)$")
_TITLE_TOKEN = re.compile(r"\b(" + "|".join(TITLES) + r")\.?\s+([A-Z][^\W\d_]+(?:['’\-][A-Z][^\W\d_]+)*)")


def possible_identifiers(
    texts,
    pseudonymiser: Pseudonymiser | None = None,
    known_words: Iterable[str] = (),
    context_chars: int = 50,
) -> pd.DataFrame:
    """Capitalised words that look like names but are in no list.

    With a pseudonymiser, the texts are scanned as the reports show them,
    after :meth:`Pseudonymiser.apply`: the names and terms it replaces are
    gone, and a word it leaves is judged like any other, even when it is part
    of a register name or term ("Mrs Tudor" when the register has
    "Gwen Tudor-Rees"); such a word gets :data:`LEFT_OVER_NOTE`.

    A token is reported when it is capitalised (``Bob``, ``McAllister``), is
    not a common capitalised word, a word of a site, sector or codebook label
    (``known_words``) or of a pseudonym, and never appears in lower case
    anywhere in the texts (so "Hub" is skipped if "hub" occurs). At the start
    of a sentence, where every word is capitalised, only a word that is not in
    spaCy's English word lists is reported ("Gwyneth from the library", not
    "Thankfully"). A word after a title ("Dr Okonjo", "Mrs Pike") is always
    reported unless already known.

    Parameters
    ----------
    texts : DataFrame or iterable of (segment_id, text)
        A frame with ``segment_id`` and ``text`` columns, or pairs.
    pseudonymiser : Pseudonymiser, optional
        The texts are pseudonymised before they are scanned, so the names
        and terms it replaces are not reported and the context shown is
        pseudonymised.
    known_words : iterable of str
        Further words that are not names (site and sector labels, codebook words).
    context_chars : int
        Characters of context either side of the first occurrence.

    Returns
    -------
    DataFrame
        Columns ``token, count, example_segment_id, context, review_note``,
        most frequent first. The file written from it belongs under
        ``reports/review/`` for the analyst only.
    """
    if isinstance(texts, pd.DataFrame):
        pairs = list(zip(texts["segment_id"].astype(str), texts["text"].fillna("").astype(str)))
    else:
        pairs = [(str(s), str(t or "")) for s, t in texts]
    skip = _words(known_words) | COMMON_CAPITALISED_WORDS
    left_over: set[str] = set()   # words of register names and terms, if the pseudonymiser left them
    if pseudonymiser is None:   # composed accents, as Pseudonymiser.apply reads texts
        pairs = [(segment_id, unicodedata.normalize("NFC", text)) for segment_id, text in pairs]
    else:
        pairs = [(segment_id, pseudonymiser.apply(text)) for segment_id, text in pairs]
        skip |= _words(set(pseudonymiser.replacements.values()))   # "[Voluntary sector partner 1]"
        left_over = pseudonymiser.known_words()
        left_over |= {w for k in left_over for w in re.split(r"['’]", k)}
    lower_seen: set[str] = set()
    for _, text in pairs:
        lower_seen.update(w for w in re.findall(r"\b[a-z][a-z'’\-]+\b", text))

    counts: Counter = Counter()
    first: dict[str, tuple[str, str, int]] = {}
    known: dict[str, bool] = {}   # token -> skipped (tokens repeat a lot)

    def is_known(token: str) -> bool:
        if token not in known:
            known[token] = token.lower().replace("’", "'") in skip
        return known[token]

    reportable: dict[str, bool] = {}   # word -> whether it could be reported when not after a title

    def could_report(word: str) -> bool:
        if word not in reportable:
            token = _token(word)
            lowered = token.lower().replace("’", "'")
            # Not acronyms (NHS, ICB) or shouting, nor words the texts also use in lower case.
            reportable[word] = (token[:1].isupper() and len(token) >= 2 and not token.isupper()
                                and lowered not in lower_seen and not is_known(token))
        return reportable[word]

    for segment_id, text in pairs:
        # Most texts hold no word that could be reported; find that out cheaply first.
        if not _TITLE_TOKEN.search(text) and not any(map(could_report, _NAME_TOKEN.findall(text))):
            continue
        titled = {m.start(2) for m in _TITLE_TOKEN.finditer(text)}
        for match in _NAME_TOKEN.finditer(text):
            token = _token(match.group(0))
            if match.start() in titled:   # "Mrs Okafor": reported unless already known
                if not token[:1].isupper() or len(token) < 2 or is_known(token):
                    continue
            elif not could_report(match.group(0)) or (
                    _starts_sentence(text, match.start()) and _english_word(token)):
                continue
            counts[token] += 1
            first.setdefault(token, (segment_id, text, match.start()))

    rows = []
    for token, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        segment_id, text, start = first[token]
        context = _context(text, start, len(token), context_chars)
        note = LEFT_OVER_NOTE if token.lower().replace("’", "'") in left_over else REVIEW_NOTE
        rows.append({"token": token, "count": count, "example_segment_id": segment_id,
                     "context": context, "review_note": note})
    return pd.DataFrame(rows, columns=POSSIBLE_IDENTIFIER_COLUMNS)


def _words(texts: Iterable[str]) -> set[str]:
    """The lower-cased words of some labels ("St Mary's Hospice" → "st", "mary's", "hospice")."""
    return {w.lower() for text in texts for w in re.findall(r"[^\W\d_]+(?:['’][^\W\d_]+)?", str(text))}


def _token(word: str) -> str:
    """A word as :func:`possible_identifiers` reports it: without a trailing apostrophe or 's."""
    word = word.rstrip("'’")
    return word[:-2] if word.endswith(("'s", "’s")) else word


def _starts_sentence(text: str, start: int) -> bool:
    """Whether ``text[start:]`` begins a sentence (:data:`_SENTENCE_START` on what comes before).

    Only the last characters before ``start`` decide it, so a short window is
    searched; the whole prefix only when the window is (nearly) all whitespace.
    """
    window = text[max(0, start - 64):start]
    if start > 64 and len(window.strip()) < 2:
        window = text[:start]
    return bool(_SENTENCE_START.search(window))


def _context(text: str, start: int, length: int, width: int) -> str:
    """The text around one token (already pseudonymised), the token shown in « »."""
    end = start + length
    begin, stop = max(0, start - width), min(len(text), end + width)
    prefix = "…" if begin > 0 else ""
    suffix = "…" if stop < len(text) else ""
    snippet = text[begin:start] + "«" + text[start:end] + "»" + text[end:stop]
    return " ".join(f"{prefix}{snippet}{suffix}".split())
