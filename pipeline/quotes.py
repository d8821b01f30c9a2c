"""Exemplar quotes: the most representative coded segments for each theme.

Choosing
--------
Candidates are the segments coded to a theme (interviewer turns never count).
In an interview whose participant is identified (a turn has ``speaker_role``
``participant``), only the participant's turns and turns without a speaker are
quoted: a turn by anyone else there (``other``: a second evaluator, a
note-taker, a colleague in a joint interview) still counts as evidence, but a
quote would be attributed to the participant's sector and role, so it is
never quoted. Elsewhere (workshops, observations, interviews whose speakers
could not be told apart) every counted turn can be quoted.
They are ranked by, in order:

1. reviewed (accepted or changed) before unreviewed suggestions;
2. verbatim before notes: a transcript turn or a survey answer (the
   participant's own words) before a passage of the evaluator's notes on the
   same theme, which reports what was said rather than recording it (see
   Verbatim and notes below);
3. a reasonable length: at least ``report.quote_min_chars`` characters after
   trimming (shorter ones are used only when nothing else is left);
4. representativeness: the cosine similarity of the segment's embedding to the
   theme's centroid (the normalised mean of the embeddings of every segment
   coded to the theme); for a site's quotes, to the centroid of the theme's
   segments from that site, so that new fieldwork elsewhere never changes a
   site's quotes; without embeddings, the suggestion score;
5. the segment id, so that ties are broken the same way every run.

Quotes are then picked greedily for diversity: at most
``report.quotes_per_source`` (default 1) from one source, and, for the
programme-wide quotes, a site not yet quoted (for a site's quotes, a sector)
is preferred while there is one among the best of tiers 1 to 3: a site is
never given a short or unreviewed quote while a fuller or reviewed one is left.
A segment already quoted for another theme in the same document (the
programme summary, or one site's page) is used again only when the theme has
no other candidate.

A segment in which the speaker says who they are is never quoted (it still
counts as evidence): one that names their register role (of two words or
more) or organisation, or introduces someone's job ("I'm the partnership
manager", "Interviewee is a communities officer at ...", "employed by"; see
:func:`introduces_speaker`). With the site and sector beside it, such a quote
points to one person, whatever ``report.quote_roles`` says.

Trimming
--------
The text is pseudonymised first (by the ``triangulate`` stage's
pseudonymiser), so that a cut can never split a name or an identifying term
and leave part of it in the quote. Runs of whitespace become one space. A
text longer than ``report.quote_max_chars`` then keeps its whole sentences up
to that length, verbatim (a closing quote mark or bracket after the full stop
stays; the full stop of a title such as "Dr." or "Cllr.", or of an initial,
ends no sentence), and ends with `` […]``; a first sentence that alone is too long is cut
at a word boundary, before any bracket left open (so a pseudonym such as
``[Voluntary sector partner 1]`` is never cut in two).

Verbatim and notes
------------------
Each document's ``record`` (from the ingest stage) says what its text is: a
``transcript`` (a .vtt, a Teams .docx transcript, or a file with speaker
turns), a survey ``response``, or ``notes`` (the evaluator's account, often in
the third person: "She said the board rarely met"), unless the front matter or
fieldwork.csv says otherwise with ``record: transcript`` or ``record: notes``.
A segment has its document's record, except the evaluator's text outside the
turns of a typed-up transcript, which is ``notes``
(:func:`pipeline.ingest.mark_evaluator_text`).
A quote's ``verbatim`` is true for a transcript or a response. The reports
show a verbatim quote as speech (in quote marks) and a quote from notes as an
extract from notes (no quote marks, labelled "From the notes"), and the
attribution says "notes" (below), so that notes are never presented as what
a participant said.

Attribution
-----------
As evaluation reports write it, without names: the sector's attribution label
(:func:`pipeline.anonymise.attribution_label`, e.g. "Voluntary sector
partner", "Statutory sector stakeholder (NHS)"), then, for a register
participant and when ``report.quote_roles`` is true (it is false by
default), their role from the
register in lower case without bracketed notes ("community development
worker"), then the method and wave: "Voluntary sector partner, community
development worker, interview, wave 2". A quote from notes names them:
"Voluntary sector partner, interview notes, wave 2", "Statutory sector
stakeholder (NHS), workshop notes, wave 1". Without a sector, the method
alone says who: "Interview notes", "Workshop notes" and "Observation notes"
for notes (the interviewer's, facilitator's or observer's record),
"Interviewee", "Workshop participant", "Observation participant" for a
transcript, "Survey respondent" for a survey answer, followed only by the
wave (never "Interviewee, interview"). The role is the one field that
can narrow down who spoke in a small site, which is why it is left out
unless ``report.quote_roles`` is true.

A quote's ``attribution_sources`` is the number of sources its attribution
fits: those of its sector, method and wave, at its site for a site's quote.
One source means that anyone who knows the site can tell who it was; such
quotes are warned about, and those fitting fewer than
``report.quote_min_group`` sources (1 by default: none) are attributed
without sector or role, as quotes without a sector are ("Interviewee, wave 2").
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline import paths
from pipeline.anonymise import attribution_label, read_register_people
from pipeline.triangulate import wave_label

log = logging.getLogger(__name__)

QUOTE_COLUMNS = ["scope", "theme_id", "theme_label", "site", "site_label", "rank", "segment_id",
                 "quote", "verbatim", "attribution", "attribution_sources", "representativeness", "reviewed",
                 "method", "sector", "wave", "record"]
ELISION = " […]"
# The end of a sentence: . ! ? or …, any closing quote marks or brackets, then a space.
_SENTENCE_END = re.compile(r"[.!?…][\"”’')\]]*(?= )")
# A full stop after one of these words, or after a single letter (an initial), ends no sentence:
# "Dr. Okafor came" is never cut to "Dr. […]".
_ABBREVIATIONS = {"dr", "mr", "mrs", "ms", "mx", "prof", "cllr", "rev", "revd", "st", "sr", "jr", "no",
                  "vs", "approx", "cf", "e.g", "i.e", "esp", "dept"}
_WORD_BEFORE = re.compile(r"([\w.]+)$")
DEFAULTS = {"quotes_per_theme": 3, "quotes_per_site_theme": 2, "quote_min_chars": 60,
            "quote_max_chars": 400, "quotes_per_source": 1, "quote_roles": False, "quote_min_group": 1}
# Who a verbatim quote without a sector is from (a quote from notes is "<Method> notes").
NO_SECTOR_LABELS = {"survey": "Survey respondent", "workshop": "Workshop participant",
                    "observation": "Observation participant", "interview": "Interviewee"}
# A record that is the participants' own words; anything else (notes) is not quoted as speech.
VERBATIM_RECORDS = ("transcript", "response")
NOTES_PREFIX = "From the notes (not verbatim):"


def _ends_sentence(text: str, match: re.Match) -> bool:
    if text[match.start()] != ".":
        return True
    word = _WORD_BEFORE.search(text, 0, match.start())
    word = word.group(1).lower() if word else ""
    return not (len(word) == 1 and word.isalpha()) and word not in _ABBREVIATIONS


def is_verbatim(record: str) -> bool:
    """Whether a document's ``record`` holds participants' own words (a transcript or a survey answer)."""
    return record in VERBATIM_RECORDS


def quote_text(quote: str, verbatim: bool) -> str:
    """A quote as a report cell shows it: in quote marks when verbatim, else marked as notes.

    Examples
    --------
    >>> quote_text("We met monthly.", True)
    '“We met monthly.”'
    >>> quote_text("Said the board rarely met.", False)
    'From the notes (not verbatim): Said the board rarely met.'
    """
    return f"“{quote}”" if verbatim else f"{NOTES_PREFIX} {quote}"


def report_settings(config: dict) -> dict:
    """The ``report:`` quote settings with defaults filled in."""
    return {**DEFAULTS, **{k: v for k, v in config.get("report", {}).items() if k in DEFAULTS}}


def trim_quote(text: str, max_chars: int = 400) -> str:
    """Shorten ``text`` to at most ``max_chars`` at a sentence boundary, marking the cut.

    Examples
    --------
    >>> trim_quote("One. Two two. Three three three.", 17)
    'One. Two two. […]'
    >>> trim_quote('He said "it works." Then we agreed (with the board.) And more.', 58)
    'He said "it works." Then we agreed (with the board.) […]'
    >>> trim_quote("We asked Cllr. Ames and Dr. Okafor. They agreed at once.", 50)
    'We asked Cllr. Ames and Dr. Okafor. […]'
    >>> trim_quote("short enough", 400)
    'short enough'
    """
    text = " ".join(str(text).split())
    if len(text) <= max_chars:
        return text
    budget = max_chars - len(ELISION)
    ends = [m.end() for m in _SENTENCE_END.finditer(text) if m.end() <= budget and _ends_sentence(text, m)]
    if ends:
        kept = text[:ends[-1]]
    else:
        kept = text[:budget].rsplit(" ", 1)[0]
        bracket = kept.rfind("[")
        if bracket > 0 and bracket > kept.rfind("]"):
            kept = kept[:bracket]   # never inside a pseudonym or other [...]
        kept = kept.rstrip(",;:–- ")
    return kept + ELISION


def read_register_roles(root: Path) -> dict:
    """participant_id → role from ``participants.csv`` (empty when there is none)."""
    return {p.participant_id: p.role for p in read_register_people(Path(root) / paths.PARTICIPANTS, named_only=False)
            if p.role}


def read_register_organisations(root: Path) -> dict:
    """participant_id → organisation from ``participants.csv`` (empty when there is none)."""
    return {p.participant_id: p.organisation
            for p in read_register_people(Path(root) / paths.PARTICIPANTS, named_only=False) if p.organisation}


# A job, as people introduce themselves or notes introduce them.
_JOBS = ("manager|worker|officer|co-?ordinator|lead|leader|director|chair|chairman|chairwoman|chairperson|trustee|"
         "nurse|GP|doctor|practitioner|commissioner|councillor|head|chief|adviser|advisor|consultant|administrator|"
         "analyst|navigator|pharmacist|founder|CEO|secretary|treasurer|clerk|volunteer|receptionist|therapist|"
         "counsellor|caseworker|organiser|organizer|facilitator|mentor|specialist|assistant")
_INTRODUCTION = re.compile(
    r"\b(?:I(?:'m|’m| am)|(?:she|he|they|interviewee|respondent)(?:'s|’s| is| are))\s+"
    r"(?:the|a|an|one of the|our|their)\s+(?:[\w’'-]+\s+){0,4}?(?:" + _JOBS + r")s?\b"
    r"|\b(?:employed by|seconded (?:to|from|by)|I work (?:for|at|as)|my (?:job )?title is|in my role as)\b",
    re.IGNORECASE)


def introduces_speaker(text: str, role: str = "", organisation: str = "") -> bool:
    """Whether ``text`` says who its speaker is: their register ``role`` (two words or more; a one-word
    role such as "GP" is too common to tell), their ``organisation``, or someone's job as an introduction.

    Examples
    --------
    >>> introduces_speaker("Of course. I'm the partnership manager, so I chair it.")
    True
    >>> introduces_speaker("Interviewee is the council's head of prevention.")
    True
    >>> introduces_speaker("We need more link workers.", role="Social prescribing link worker")
    False
    >>> introduces_speaker("The social prescribing link worker rang me.", role="Social prescribing link worker")
    True
    >>> introduces_speaker("Lanternfield Learning's coaching helped.", organisation="Lanternfield Learning")
    True
    >>> introduces_speaker("I'm a bit worried, and the GP is too.", role="GP")
    False
    """
    if _INTRODUCTION.search(text):
        return True
    role = re.sub(r"\s*\([^)]*\)", "", role or "").strip()
    named = [role] if len(role.split()) > 1 else []
    named += [organisation.strip()] if organisation and organisation.strip() else []
    return any(re.search(r"(?<!\w)" + re.escape(name) + r"(?!\w)", text, re.IGNORECASE) for name in named)


def role_phrase(role: str) -> str:
    """A register role as it reads after a sector label: lower case, acronyms kept.

    A role in sentence case loses its first capital; one in title case
    ("Chief Executive") loses every capitalised word's; a note in brackets goes.

    Examples
    --------
    >>> role_phrase("Partnership manager (to December 2025)"), role_phrase("Chief Executive")
    ('partnership manager', 'chief executive')
    >>> role_phrase("Head of NHS Partnerships"), role_phrase("GP partner")
    ('head of NHS partnerships', 'GP partner')
    """
    role = re.sub(r"\s*\([^)]*\)", "", str(role or "")).strip()
    words = role.split(" ")

    def lowered(word: str) -> str:
        return word[0].lower() + word[1:] if len(word) > 1 and word[0].isupper() and word[1:].islower() else word

    title_case = sum(w[:1].isupper() for w in words if len(w) > 3) > 1
    return " ".join(lowered(w) for w in words) if title_case else (lowered(words[0]) + role[len(words[0]):])


def quote_attribution(method: str, sector: str, wave: str, participant_id: str = "",
                      config: dict | None = None, roles: dict | None = None, record: str = "transcript") -> str:
    """How a quote is attributed, e.g. ``"Voluntary sector partner, interview, wave 2"``.

    Parameters
    ----------
    method, sector, wave, participant_id : str
        The segment's metadata.
    record : str
        The document's record; ``notes`` makes the method "interview notes"
        (or, without a sector, the attribution "Interview notes").
    config : dict, optional
        Uses ``sectors``, ``report.attribution`` and ``report.quote_roles``.
    roles : dict, optional
        participant_id → role from the register.

    Examples
    --------
    >>> roles = {"P1": "Community development worker"}
    >>> quote_attribution("interview", "voluntary", "2", "P1", roles=roles)
    'Voluntary sector partner, interview, wave 2'
    >>> quote_attribution("interview", "voluntary", "2", "P1", {"report": {"quote_roles": True}}, roles)
    'Voluntary sector partner, community development worker, interview, wave 2'
    >>> quote_attribution("interview", "voluntary", "2", record="notes")
    'Voluntary sector partner, interview notes, wave 2'
    >>> quote_attribution("interview", "", "1"), quote_attribution("workshop", "", "1", record="notes")
    ('Interviewee, wave 1', 'Workshop notes, wave 1')
    >>> quote_attribution("survey", "", "1")
    'Survey respondent, wave 1'
    """
    config = config or {}
    settings = report_settings(config)
    notes = not is_verbatim(record)
    if sector:
        who = attribution_label(sector, config.get("sectors", {}), config.get("report", {}).get("attribution"))
    elif notes:
        who = f"{method.capitalize()} notes"
    else:
        who = NO_SECTOR_LABELS.get(method, "Participant")
    parts = [who]
    role = role_phrase((roles or {}).get(participant_id, "")) if participant_id else ""
    if role and settings["quote_roles"]:
        parts.append(role)
    if sector:
        parts.append(f"{method} notes" if notes else {"survey": "survey response"}.get(method, method))
    if wave:
        parts.append(wave_label(wave, capital=False))
    return ", ".join(p for p in parts if p)


def representativeness(candidates: pd.DataFrame, embeddings, by=("theme_id",)) -> pd.Series:
    """Cosine of each candidate's embedding to its group's centroid (NaN without an embedding).

    Parameters
    ----------
    candidates : DataFrame
        ``theme_id, segment_id`` rows (every segment coded to each theme), plus
        the columns named in ``by``.
    embeddings : tuple of (list of str, ndarray) or None
        From :func:`pipeline.embed.read_embeddings` (rows L2-normalised).
    by : sequence of str
        The grouping whose centroid is used: the theme for programme-wide
        quotes, the theme and site for a site's quotes (so that new fieldwork
        elsewhere never changes which quotes a site's page shows).

    Returns
    -------
    Series
        Aligned with ``candidates``.
    """
    out = pd.Series(np.nan, index=candidates.index, dtype=float)
    if embeddings is None:
        return out
    ids, matrix = embeddings
    if np.asarray(matrix).size == 0:
        return out
    position = {segment_id: i for i, segment_id in enumerate(ids)}
    rows = candidates["segment_id"].map(position)
    for _, part in candidates.groupby(list(by)):
        found = rows.loc[part.index].dropna().astype(int)
        if found.empty:
            continue
        vectors = np.asarray(matrix[found.to_numpy()], dtype=float)   # only the rows used, in float64
        centroid = vectors.mean(axis=0)
        norm = np.linalg.norm(centroid)
        if norm == 0:
            continue
        out.loc[found.index] = vectors @ (centroid / norm)
    return out


def _quotable(coded: pd.DataFrame) -> pd.DataFrame:
    """Leave out ``other`` speakers' turns in interviews whose participant is identified."""
    role = coded["speaker_role"].fillna("")
    identified = coded.loc[(coded["method"] == "interview") & (role == "participant"), "document_id"]
    return coded[~((role == "other") & coded["document_id"].isin(set(identified)))]


def _candidates(ev, embeddings, settings: dict, roles: dict, organisations: dict) -> pd.DataFrame:
    coded = _quotable(ev.coded)
    if not coded.empty:
        texts = coded.drop_duplicates("segment_id")
        introducing = {segment_id for segment_id, text, participant in zip(
            texts["segment_id"], texts["text"], texts["participant_id"].fillna(""))
            if introduces_speaker(text, roles.get(participant, ""), organisations.get(participant, ""))}
        if introducing:
            log.info("%d coded segment(s) are not quoted: the speaker says who they are (their job, role or "
                     "organisation)", len(introducing))
            coded = coded[~coded["segment_id"].isin(introducing)]
    if coded.empty:
        return pd.DataFrame(columns=["theme_id", "segment_id"])
    score = pd.to_numeric(coded["score"], errors="coerce") if "score" in coded else pd.Series(np.nan, index=coded.index)
    frame = coded.assign(score=score).groupby(["theme_id", "segment_id"], as_index=False).agg(
        reviewed=("reviewed", "any"), score=("score", "max"),
        **{c: (c, "first") for c in ("text", "source_id", "site", "sector", "method", "wave", "participant_id",
                                      "record")},
    )
    frame["verbatim"] = frame["record"].map(is_verbatim)
    # For ranking only: the quotes chosen are pseudonymised before they are trimmed (see add()).
    frame["long_enough"] = frame["text"].map(
        lambda t: len(trim_quote(t, settings["quote_max_chars"])) >= settings["quote_min_chars"])
    frame["representativeness"] = representativeness(frame, embeddings, ("theme_id",))
    frame["site_representativeness"] = representativeness(frame, embeddings, ("theme_id", "site"))
    # Without an embedding the suggestion score ranks, below every embedded segment.
    fallback = frame["score"].fillna(0) - 10
    frame["rank_key"] = frame["representativeness"].where(frame["representativeness"].notna(), fallback)
    frame["site_rank_key"] = frame["site_representativeness"].where(
        frame["site_representativeness"].notna(), fallback)
    return frame


def _attribution_groups(ev) -> Counter:
    """Sources per (site, sector, method, wave), and per ("", sector, method, wave) across the programme."""
    waves = ev.source_waves if ev.source_waves is not None else ev.sources[["source_id", "wave"]]
    frame = waves.merge(ev.sources.drop(columns="wave"), on="source_id")
    groups: Counter = Counter()
    for site, sector, method, wave in zip(frame["site"], frame["sector"], frame["method"], frame["wave"]):
        groups[(site, sector, method, str(wave))] += 1
        groups[("", sector, method, str(wave))] += 1
    return groups


def _rounded(value) -> float | None:
    return None if value is None or math.isnan(value) else round(float(value), 4)


# The ranking's tiers (see "Choosing"): a quote is never passed over for one of a lower tier.
TIERS = ("reviewed", "verbatim", "long_enough")


def pick_diverse(ranked: pd.DataFrame, n: int, per_source: int = 1, spread: str | None = None,
                 avoid: set | None = None) -> pd.DataFrame:
    """The first ``n`` rows of a ranked frame, at most ``per_source`` per source.

    When ``spread`` names a column (e.g. ``"site"``), a row with a value not yet
    picked is preferred to better-ranked ones of its tier (:data:`TIERS`, the
    columns of them ``ranked`` has), never to those of a higher tier: a short or
    unreviewed quote is not shown for the sake of another site while a fuller or
    reviewed one is left. Rows whose ``segment_id`` is in ``avoid`` (quoted
    already for another theme) are taken last.
    """
    avoid = avoid or set()
    columns = [c for c in TIERS if c in ranked]
    tiers = list(ranked[columns].itertuples(index=False, name=None))
    sources = ranked["source_id"].tolist()
    segments = ranked["segment_id"].tolist() if avoid else [None] * len(ranked)
    spreads = ranked[spread].tolist() if spread else [None] * len(ranked)
    picked: list[int] = []
    used_sources: Counter = Counter()
    used_spread: set = set()
    for fresh_only in (True, False):
        while len(picked) < n:
            open_rows = [i for i in range(len(ranked)) if i not in picked
                         and used_sources[sources[i]] < per_source
                         and not (fresh_only and segments[i] in avoid)]
            if not open_rows:
                break
            best = [i for i in open_rows if tiers[i] == tiers[open_rows[0]]]
            if spread:
                best = [i for i in best if spreads[i] not in used_spread] or best
            picked.append(best[0])
            used_sources[sources[best[0]]] += 1
            used_spread.add(spreads[best[0]])
    return ranked.iloc[picked]


def exemplar_quotes(ev, embeddings=None, roles: dict | None = None, pseudonymise=None,
                    organisations: dict | None = None) -> pd.DataFrame:
    """Exemplar quotes per theme (scope ``programme``) and per (site, theme) (scope ``site``).

    Parameters
    ----------
    ev : pipeline.triangulate.Evidence
    embeddings : tuple or None
        ``(segment_ids, matrix)``; without it quotes are ranked by score.
    roles : dict, optional
        participant_id → register role, for attributions and to leave out segments that name it.
    pseudonymise : callable, optional
        ``text → text`` (:meth:`pipeline.anonymise.Pseudonymiser.apply`), run on
        each segment's full text before it is trimmed. Without it quotes are
        trimmed as they are, and a cut may fall inside a name.
    organisations : dict, optional
        participant_id → register organisation: a segment that names the speaker's is not quoted.

    Returns
    -------
    DataFrame
        :data:`QUOTE_COLUMNS`; attributions and labels are not yet
        pseudonymised (the caller does that for everything it writes).
    """
    settings = report_settings(ev.config)
    roles = roles or {}
    ranked = _candidates(ev, embeddings, settings, roles, organisations or {})
    pseudonymise = pseudonymise or (lambda text: text)
    records = []

    def ordered(frame: pd.DataFrame, key: str) -> pd.DataFrame:
        return frame.sort_values(["reviewed", "verbatim", "long_enough", key, "segment_id"],
                                 ascending=[False, False, False, False, True])

    quoted: dict[str, set] = {}  # document ("" for the programme summary, else the site) -> segment ids
    groups = _attribution_groups(ev)

    def add(scope: str, theme_id: str, site: str, chosen: pd.DataFrame) -> None:
        cosine = "representativeness" if scope == "programme" else "site_representativeness"
        quoted.setdefault(site, set()).update(chosen["segment_id"])
        for rank, row in enumerate(chosen.itertuples(), start=1):
            fits = groups.get((site, row.sector, row.method, str(row.wave)), 0) if row.sector else None
            # Too few to hide among: attributed as a quote without a sector (and without a role).
            general = fits is not None and fits < settings["quote_min_group"]
            records.append({
                "scope": scope, "theme_id": theme_id, "theme_label": ev.themes.get(theme_id, theme_id),
                "site": site, "site_label": ev.site_label(site) if site else "All", "rank": rank,
                "segment_id": row.segment_id,
                # Pseudonymised before trimming, so that no cut falls inside a name or term.
                "quote": trim_quote(pseudonymise(row.text), settings["quote_max_chars"]),
                "verbatim": bool(row.verbatim),
                "attribution": quote_attribution(row.method, "" if general else row.sector, row.wave,
                                                 "" if general else row.participant_id, ev.config, roles,
                                                 row.record),
                "attribution_sources": fits,
                "representativeness": _rounded(getattr(row, cosine)),
                "reviewed": bool(row.reviewed), "method": row.method, "sector": row.sector, "wave": row.wave,
                "record": row.record,
            })

    for theme_id in ev.themes:
        theme_rows = ranked[ranked["theme_id"] == theme_id]
        if theme_rows.empty:
            continue
        add("programme", theme_id, "", pick_diverse(ordered(theme_rows, "rank_key"), settings["quotes_per_theme"],
                                                    settings["quotes_per_source"], spread="site",
                                                    avoid=quoted.get("")))
        for site in ev.all_site_keys():
            site_rows = ordered(theme_rows[theme_rows["site"] == site], "site_rank_key")
            if not site_rows.empty:
                add("site", theme_id, site, pick_diverse(site_rows, settings["quotes_per_site_theme"],
                                                         settings["quotes_per_source"], spread="sector",
                                                         avoid=quoted.get(site)))
    quotes = pd.DataFrame(records, columns=QUOTE_COLUMNS).astype({"attribution_sources": "Int64"})
    alone = quotes[(quotes["attribution_sources"] == 1) & (settings["quote_min_group"] <= 1)]
    if len(alone):
        log.warning("%d quote(s) are attributed to a group of one source (the only one of its sector, method and "
                    "wave%s): anyone who knows the site can tell who said it. They have attribution_sources 1 in "
                    "reports/tables/quotes.csv; report.quote_min_group: 2 attributes them without their sector",
                    len(alone), ", at its site, for a site's quote" if (alone["scope"] == "site").any() else "")
    return quotes
