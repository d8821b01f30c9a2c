"""Inductive discovery: candidate new codes from the segments no code fits.

Rules
-----
Which segments
    Participant segments (``speaker_role`` not ``interviewer``) with text and
    no code an analyst accepted or changed, that either have no suggestion
    above the threshold (no ``suggested`` row in ``suggestions.parquet`` and
    no ``suggested`` row in ``coded_segments.parquet``) or that an analyst
    rejected with no code (the current decision for the segment, by the
    multi-coder rule of :func:`pipeline.review.decisions.current_decisions`,
    is ``reject`` with no code). Segments with fewer than
    ``discover.min_content_words`` content lemmas are left out, so that
    "Yes." and "OK, thanks" never form a candidate.
How many clusters
    Chosen by the data, not fixed: agglomerative clustering of the segments'
    embeddings with average linkage on cosine distance keeps merging groups
    while the average cosine distance between them is below
    ``discover.distance_threshold`` (default 0.75: the segments of two merged
    groups are, on average, at least 0.25 similar). Clusters with fewer than
    ``discover.min_cluster_size`` segments are noise. The largest
    ``discover.max_candidates`` clusters become candidates ``C01``, ``C02`` …
    (largest first; ties by their first segment id), so the numbering follows
    the data and may change when the data change.
Keywords
    Class-based TF-IDF (c-TF-IDF, as in BERTopic) over spaCy lemmas (blank
    English pipeline with the lookup lemmatizer from spacy-lookups-data;
    lower-cased; stop words, punctuation, numbers and one-letter tokens
    removed) of the pseudonymised text, with bracketed spans (pseudonyms such
    as ``[a local venue]``, transcription notes such as ``[laughs]``) removed,
    so that no name can become a keyword. All segments of a cluster form one class, and the noise forms one
    more: ``weight(t, c) = tf(t, c) / |c| * log(1 + A / f(t))``, with
    ``|c|`` the number of lemmas in class ``c``, ``A`` the average number of
    lemmas per class and ``f(t)`` the frequency of ``t`` across all classes.
    Lemmas found in at least two of the cluster's segments rank before those
    found in only one; then by weight, then alphabetically.
Proposed label
    The top three keywords, title-cased, joined by " / ".
Exemplars
    The ``discover.exemplars`` (3-5) segments closest (cosine) to the cluster's
    mean embedding; their texts are pseudonymised like everything under reports/.

Outputs
-------
``reports/tables/candidate_codes.csv``. The review workbook
(``reports/review/coding_review.xlsx``) shows it on its ``Candidate codes``
sheet (:func:`write_candidate_sheet`), with ``promote``, ``label``,
``definition`` and ``theme`` columns for the analyst.

Promoting a candidate
---------------------
On the ``Candidate codes`` sheet of their saved copy of the review workbook in
``data/review/`` (any name; the same copy as their coding decisions), the
analyst sets ``promote`` to ``yes`` and writes
a ``definition`` (required), a ``label`` (default: the proposed label) and a
``theme`` (an existing theme id or label; empty or ``proposed`` puts the code
in a theme ``proposed``). The next run writes ``codebook/proposed.yaml``: the
live codebook plus the promoted codes, whose ids are derived from their labels
and whose examples are the (pseudonymised) exemplars on the row. The live
codebook is never modified. To adopt the proposal, the analyst reviews
``codebook/proposed.yaml`` and copies it over the live codebook by hand (or
points ``codebook.file`` at a renamed copy). ``codebook/proposed.yaml`` is
rewritten on every run that finds a promoted candidate, and is not written
(nor removed) when nothing is promoted; the same label promoted twice is
promoted once, from the file that sorts last.
"""

from __future__ import annotations

import functools
import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import pandas as pd
import yaml

from pipeline import paths
from pipeline.atomic import write_csv, write_text
from pipeline.config import sector_label
from pipeline.errors import ConfigError, InputError, ProblemCollector
from pipeline.review.inbox import review_inbox_files

log = logging.getLogger(__name__)

CANDIDATE_SHEET = "Candidate codes"
PROPOSED_THEME_ID = "proposed"
PROPOSED_THEME_LABEL = "Proposed codes"
MAX_EXEMPLARS = 5
EXEMPLAR_COLUMNS = [f"exemplar_{i}" for i in range(1, MAX_EXEMPLARS + 1)]
CANDIDATE_COLUMNS = [
    "candidate_id", "proposed_label", "keywords", "size", "documents", "sources", "sites",
    "sectors", "methods", "exemplar_segment_ids", *EXEMPLAR_COLUMNS,
]
ANALYST_COLUMNS = ["promote", "label", "definition", "theme"]
YES = {"yes", "y", "true", "1", "x"}
NO = {"no", "n", "false", "0", ""}
LABEL_KEYWORDS = 3
BRACKETED = re.compile(r"\[[^\]]*\]")


@dataclass(frozen=True)
class DiscoverySettings:
    """The ``discover`` config section, with its defaults."""

    distance_threshold: float = 0.75
    min_cluster_size: int = 5
    max_candidates: int = 10
    min_content_words: int = 3
    keywords: int = 8
    exemplars: int = 4

    @classmethod
    def from_config(cls, config: dict) -> "DiscoverySettings":
        section = config.get("discover") or {}
        return cls(**{name: section[name] for name in cls.__dataclass_fields__ if name in section})


# ------------------------------------------------------------------ the segments


def select_uncoded_segments(segments: pd.DataFrame, suggestions: pd.DataFrame,
                            decisions: pd.DataFrame, coded: pd.DataFrame) -> pd.DataFrame:
    """The participant segments that no code fits (see the module's rules).

    Parameters
    ----------
    segments : DataFrame
        ``segments.parquet``.
    suggestions : DataFrame
        ``suggestions.parquet`` (uses ``segment_id`` and ``suggested``).
    decisions : DataFrame
        ``decisions.parquet`` (uses ``segment_id, coder, decision, code_id,
        recorded_at, orphaned``).
    coded : DataFrame
        ``coded_segments.parquet`` (uses ``segment_id`` and ``status``).

    Returns
    -------
    DataFrame
        The selected rows of ``segments``, with a column ``reason``:
        ``"no suggestion"`` or ``"rejected"``.
    """
    from pipeline.review.decisions import current_decisions

    participant = segments[(segments["speaker_role"].fillna("") != "interviewer")
                           & (segments["text"].fillna("").str.strip() != "")]
    reviewed = set(coded.loc[coded["status"].isin(["accepted", "changed"]), "segment_id"])
    suggested = set(suggestions.loc[suggestions["suggested"].astype(bool), "segment_id"])
    suggested |= set(coded.loc[coded["status"] == "suggested", "segment_id"])
    current = current_decisions(decisions) if len(decisions) else decisions
    by_segment = current.groupby("segment_id").agg(
        decision=("decision", "first"),
        codes=("code_id", lambda ids: sum(1 for c in ids if isinstance(c, str) and c)))
    rejected = set(by_segment.index[(by_segment["decision"] == "reject") & (by_segment["codes"] == 0)])

    ids = participant["segment_id"]
    keep = ~ids.isin(reviewed) & (~ids.isin(suggested) | ids.isin(rejected))
    pool = participant[keep].copy()
    pool["reason"] = np.where(pool["segment_id"].isin(rejected), "rejected", "no suggestion")
    return pool.reset_index(drop=True)


@functools.lru_cache(maxsize=1)
def lemmatizer():
    """A blank English spaCy pipeline with the lookup lemmatizer (no model download)."""
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()
    return nlp


def content_lemmas(texts: Iterable[str]) -> list[list[str]]:
    """Lower-cased lemmas of each text without stop words, punctuation, numbers or single letters.

    Examples
    --------
    >>> content_lemmas(["The libraries were closing their computer rooms."])
    [['library', 'close', 'computer', 'room']]
    """
    nlp = lemmatizer()
    stop_words = nlp.Defaults.stop_words
    result = []
    for doc in nlp.pipe((str(t).lower() for t in texts), batch_size=256):
        lemmas = []
        for token in doc:
            if token.is_punct or token.is_space or token.like_num or token.is_stop:
                continue
            lemma = (token.lemma_ or token.text).lower().strip("'’-")
            if len(lemma) < 2 or not lemma.replace("-", "").isalpha() or lemma in stop_words:
                continue
            lemmas.append(lemma)
        result.append(lemmas)
    return result


# ------------------------------------------------------------------ clustering


def cluster_segments(vectors: np.ndarray, distance_threshold: float = 0.75,
                     min_cluster_size: int = 5) -> np.ndarray:
    """Cluster L2-normalised embeddings; the number of clusters follows from the threshold.

    Parameters
    ----------
    vectors : numpy.ndarray
        ``(n, dimension)`` embeddings.
    distance_threshold : float
        Average-linkage cosine distance above which groups are not merged.
    min_cluster_size : int
        Smaller clusters are noise.

    Returns
    -------
    numpy.ndarray
        A label per row: ``0, 1, …`` for clusters, largest first (ties by first
        row), and ``-1`` for noise.
    """
    n = len(vectors)
    if n < max(min_cluster_size, 2):
        return np.full(n, -1, dtype=int)
    from sklearn.cluster import AgglomerativeClustering

    raw = AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average",
                                  distance_threshold=distance_threshold).fit_predict(vectors)
    sizes = Counter(raw.tolist())
    first_row = {label: int(np.flatnonzero(raw == label)[0]) for label in sizes}
    kept = sorted((label for label, size in sizes.items() if size >= min_cluster_size),
                  key=lambda label: (-sizes[label], first_row[label]))
    renumber = {label: new for new, label in enumerate(kept)}
    return np.array([renumber.get(label, -1) for label in raw.tolist()], dtype=int)


def class_tfidf(lemmas: list[list[str]], labels: np.ndarray) -> tuple[list, list[str], np.ndarray, np.ndarray]:
    """c-TF-IDF weights of each lemma in each class (one class per label, noise included).

    Parameters
    ----------
    lemmas : list of list of str
        The lemmas of each segment.
    labels : numpy.ndarray
        The class of each segment (``-1`` is the noise class).

    Returns
    -------
    classes : list
        The class labels, sorted.
    terms : list of str
        The vocabulary, sorted.
    weights : numpy.ndarray
        ``(len(classes), len(terms))`` c-TF-IDF weights.
    segment_counts : numpy.ndarray
        ``(len(classes), len(terms))``: in how many of the class's segments each term occurs.
    """
    from scipy import sparse
    from sklearn.feature_extraction.text import CountVectorizer

    classes = sorted(set(labels.tolist()))
    if not any(lemmas):
        return classes, [], np.zeros((len(classes), 0)), np.zeros((len(classes), 0))
    vectorizer = CountVectorizer(analyzer=_as_given, lowercase=False)
    counts = vectorizer.fit_transform(lemmas)
    terms = vectorizer.get_feature_names_out().tolist()
    membership = sparse.csr_matrix(np.stack([(labels == c) for c in classes]).astype(np.float64))
    per_class = (membership @ counts).toarray()
    segment_counts = (membership @ (counts > 0).astype(np.float64)).toarray()
    totals = per_class.sum(axis=1, keepdims=True)
    tf = np.divide(per_class, totals, out=np.zeros_like(per_class), where=totals > 0)
    average_words = per_class.sum() / len(classes)
    frequency = per_class.sum(axis=0)
    idf = np.log(1 + average_words / frequency)
    return classes, terms, tf * idf, segment_counts


def _as_given(tokens):
    return tokens


def top_keywords(terms: list[str], weights: np.ndarray, segment_counts: np.ndarray, n: int) -> list[str]:
    """The ``n`` best keywords of one class: terms in two or more segments first, then by weight."""
    ranked = sorted((i for i in range(len(terms)) if weights[i] > 0),
                    key=lambda i: (segment_counts[i] < 2, -weights[i], terms[i]))
    return [terms[i] for i in ranked[:n]]


def proposed_label(keywords: list[str]) -> str:
    """A label from the top keywords, e.g. ``"Internet / Online / Smartphone"``."""
    return " / ".join(word.title() for word in keywords[:LABEL_KEYWORDS]) or "Unlabelled"


def exemplar_rows(vectors: np.ndarray, segment_ids: list[str], n: int) -> list[int]:
    """Indices of the ``n`` rows closest (cosine) to the normalised mean; ties by segment id."""
    centre = vectors.mean(axis=0)
    centre = centre / (np.linalg.norm(centre) or 1.0)
    similarity = vectors @ centre
    order = sorted(range(len(vectors)), key=lambda i: (-round(float(similarity[i]), 6), segment_ids[i]))
    return order[:n]


def _counts_text(values: pd.Series, describe: Callable[[str], str]) -> str:
    counts = Counter(describe(str(v)) if str(v) else "(none)" for v in values.fillna(""))
    return "; ".join(f"{name} ({n})" for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def discover_candidates(pool: pd.DataFrame, vectors: np.ndarray, settings: DiscoverySettings,
                        pseudonymise: Callable[[str], str] = str,
                        site_label: Callable[[str], str] = str,
                        sector_name: Callable[[str], str] = str) -> pd.DataFrame:
    """Cluster the uncoded segments and describe each cluster as a candidate code.

    Parameters
    ----------
    pool : DataFrame
        Segments from :func:`select_uncoded_segments` (uses ``segment_id``,
        ``document_id``, ``source_id``, ``site``, ``sector``, ``method``, ``text``).
    vectors : numpy.ndarray
        Their L2-normalised embeddings, row for row.
    settings : DiscoverySettings
    pseudonymise : callable
        Applied to every text before keywords and exemplars are taken from it
        (``Pseudonymiser.apply``).
    site_label, sector_name : callable
        Display names of site and sector keys.

    Returns
    -------
    DataFrame
        Columns :data:`CANDIDATE_COLUMNS`, one row per candidate, largest first.
    """
    if len(pool) < settings.min_cluster_size:   # no cluster can form: spare loading spaCy
        log.info("%d uncoded segment(s): fewer than a cluster's minimum of %d, so no candidates",
                 len(pool), settings.min_cluster_size)
        return pd.DataFrame(columns=CANDIDATE_COLUMNS)
    pool = pool.reset_index(drop=True)
    # Keywords, like exemplars, end up under reports/: work on pseudonymised text
    # only, without the bracketed pseudonyms themselves (nor notes like [laughs]).
    pool["text"] = [pseudonymise(str(t)) for t in pool["text"]]
    lemmas = content_lemmas(BRACKETED.sub(" ", t) for t in pool["text"])
    enough = np.array([len(words) >= settings.min_content_words for words in lemmas], dtype=bool)
    if (~enough).any():
        log.info("%d uncoded segment(s) with fewer than %d content words left out of clustering",
                 int((~enough).sum()), settings.min_content_words)
    pool = pool[enough].reset_index(drop=True)
    vectors = vectors[enough]
    lemmas = [words for words, keep in zip(lemmas, enough) if keep]

    labels = cluster_segments(vectors, settings.distance_threshold, settings.min_cluster_size)
    n_clusters = int(labels.max()) + 1 if len(labels) else 0
    log.info("%d uncoded segment(s) form %d cluster(s) of at least %d; %d segment(s) are noise",
             len(pool), n_clusters, settings.min_cluster_size, int((labels == -1).sum()))
    if n_clusters > settings.max_candidates:
        log.info("Listing the %d largest clusters (discover.max_candidates)", settings.max_candidates)

    classes, terms, weights, segment_counts = class_tfidf(lemmas, labels)
    rows = []
    for cluster in range(min(n_clusters, settings.max_candidates)):
        members = np.flatnonzero(labels == cluster)
        cluster_rows = pool.iloc[members]
        k = classes.index(cluster)
        keywords = top_keywords(terms, weights[k], segment_counts[k], settings.keywords)
        picked = exemplar_rows(vectors[members], cluster_rows["segment_id"].astype(str).tolist(),
                               min(settings.exemplars, MAX_EXEMPLARS))
        exemplars = cluster_rows.iloc[picked]
        row = {
            "candidate_id": f"C{cluster + 1:02d}",
            "proposed_label": proposed_label(keywords),
            "keywords": ", ".join(keywords),
            "size": len(members),
            "documents": cluster_rows["document_id"].nunique(),
            "sources": cluster_rows["source_id"].replace("", np.nan).nunique(),
            "sites": _counts_text(cluster_rows["site"], site_label),
            "sectors": _counts_text(cluster_rows["sector"], sector_name),
            "methods": _counts_text(cluster_rows["method"], str),
            "exemplar_segment_ids": "; ".join(exemplars["segment_id"].astype(str)),
        }
        texts = exemplars["text"].tolist()
        for column, text in zip(EXEMPLAR_COLUMNS, texts + [""] * MAX_EXEMPLARS):
            row[column] = text
        rows.append(row)
    return pd.DataFrame(rows, columns=CANDIDATE_COLUMNS)


# ------------------------------------------------------------------ the review workbook's sheet

CANDIDATE_THEMES_SHEET = "Themes"   # hidden: the list the theme dropdown draws from
CANDIDATE_THEMES_HEADER = "theme_id"
CANDIDATE_INSTRUCTIONS = (
    "The Candidate codes sheet lists groups of segments that no code in the codebook fits "
    "(reports/tables/candidate_codes.csv).",
    "1. In your copy of this workbook in data/review/ (the same copy as your review decisions), set "
    "promote to yes for each candidate worth keeping and write a definition (required). Write a "
    "label, or the proposed label is used. Pick a theme, or leave it empty to put the code in a "
    "theme 'proposed'.",
    "2. Run the pipeline again. codebook/proposed.yaml is then the live codebook plus the promoted "
    "codes; the live codebook itself is never changed.",
    "3. Read codebook/proposed.yaml, and adopt it by copying it over the live codebook (or by "
    "pointing codebook.file in config.yaml at a renamed copy).",
    "Candidates are renumbered when the data change: what is promoted is the row as saved in your "
    "copy. Exemplar texts are pseudonymised.",
)
SHEET_COLUMNS = ["candidate_id", "proposed_label", *ANALYST_COLUMNS, "size", "documents", "sources",
                 "sites", "sectors", "methods", "keywords", *EXEMPLAR_COLUMNS, "exemplar_segment_ids"]
SHEET_WIDTHS = {"candidate_id": 12, "proposed_label": 28, "promote": 10, "label": 28,
                "definition": 48, "theme": 18, "keywords": 40, "sites": 28, "sectors": 28,
                "methods": 18, "exemplar_segment_ids": 30, **{c: 60 for c in EXEMPLAR_COLUMNS}}


def read_candidate_table(path: str | Path) -> pd.DataFrame:
    """``reports/tables/candidate_codes.csv`` as the discover stage wrote it.

    Text that the CSV writer prefixed with an apostrophe (so that a spreadsheet
    never reads it as a formula) gets its original text back; an absent file
    gives an empty table with :data:`CANDIDATE_COLUMNS`.
    """
    from pipeline.spreadsheet import FORMULA_PREFIXES

    path = Path(path)
    if not path.is_file():
        return pd.DataFrame(columns=CANDIDATE_COLUMNS)
    table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    for column in table.columns:
        table[column] = [v[1:] if v.startswith("'") and v[1:2] and v[1] in "".join(FORMULA_PREFIXES) else v
                         for v in table[column]]
    for column in ("size", "documents", "sources"):
        if column in table:
            table[column] = pd.to_numeric(table[column], errors="coerce").astype("Int64")
    return table


def write_candidate_sheet(workbook, candidates: pd.DataFrame, theme_choices: list[str],
                          protect: bool = True) -> None:
    """Add the ``Candidate codes`` sheet, with columns for the analyst, to an openpyxl workbook.

    ``promote``, ``label``, ``definition`` and ``theme`` are the only unlocked
    cells; ``promote`` has a yes/no dropdown and ``theme`` a dropdown of
    ``theme_choices`` (the codebook's theme ids and ``proposed``) drawn from the
    hidden ``Themes`` sheet, which this function adds too.

    Parameters
    ----------
    workbook : openpyxl.Workbook
        The review workbook (see :func:`pipeline.review.workbook.write_review_workbook`).
    candidates : DataFrame
        Output of :func:`discover_candidates` (or :func:`read_candidate_table`).
    theme_choices : list of str
        Values offered in the ``theme`` dropdown.
    protect : bool
        Protect the sheet (no password) so that only the analyst's columns can be edited.
    """
    from openpyxl.styles import Alignment, Font, PatternFill, Protection
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation
    from openpyxl.worksheet.protection import SheetProtection

    from pipeline.spreadsheet import set_cell

    sheet = workbook.create_sheet(CANDIDATE_SHEET)
    header_fill = PatternFill("solid", fgColor="DDE4EE")
    analyst_fill = PatternFill("solid", fgColor="FFF2CC")
    wrapped = Alignment(wrap_text=True, vertical="top")
    unlocked = Protection(locked=False)
    for column, name in enumerate(SHEET_COLUMNS, start=1):
        cell = set_cell(sheet.cell(row=1, column=column), name)
        cell.font = Font(bold=True)
        cell.fill = analyst_fill if name in ANALYST_COLUMNS else header_fill
        sheet.column_dimensions[get_column_letter(column)].width = SHEET_WIDTHS.get(name, 11)
    last_row = max(len(candidates) + 1, 200)
    for row, candidate in enumerate(candidates.to_dict("records"), start=2):
        for column, name in enumerate(SHEET_COLUMNS, start=1):
            cell = set_cell(sheet.cell(row=row, column=column), candidate.get(name, ""))
            cell.alignment = wrapped
    for name in ANALYST_COLUMNS:  # blank rows below the candidates stay editable too
        column = SHEET_COLUMNS.index(name) + 1
        for row in range(2, last_row + 1):
            cell = sheet.cell(row=row, column=column)
            cell.fill, cell.protection, cell.alignment = analyst_fill, unlocked, wrapped

    themes = workbook.create_sheet(CANDIDATE_THEMES_SHEET)
    set_cell(themes.cell(row=1, column=1), CANDIDATE_THEMES_HEADER)
    for index, value in enumerate(theme_choices, start=2):
        set_cell(themes.cell(row=index, column=1), value)
    themes.sheet_state = "hidden"
    promote = DataValidation(type="list", formula1='"yes,no"', allow_blank=True,
                             errorTitle="promote", error="Choose yes or no.")
    theme = DataValidation(type="list", allow_blank=True, showErrorMessage=False,
                           formula1=f"{CANDIDATE_THEMES_SHEET}!$A$2:$A${max(len(theme_choices), 1) + 1}")
    for validation, name in ((promote, "promote"), (theme, "theme")):
        letter = get_column_letter(SHEET_COLUMNS.index(name) + 1)
        validation.add(f"{letter}2:{letter}{last_row}")
        sheet.add_data_validation(validation)
    sheet.freeze_panes = "C2"
    if protect:
        # In SheetProtection, False means "this action is NOT blocked".
        sheet.protection = SheetProtection(
            sheet=True, sort=False, autoFilter=False, formatColumns=False, formatRows=False,
            selectLockedCells=False, selectUnlockedCells=False,
        )


# ------------------------------------------------------------------ promotion


@dataclass
class PromotedCode:
    """A candidate an analyst promoted, as written on their saved sheet."""

    source_file: str
    row: int
    candidate_id: str
    label: str
    definition: str
    theme: str  # a live theme id, or PROPOSED_THEME_ID
    examples: list[str] = field(default_factory=list)


def candidate_sheet_files(files: Iterable[str | Path]) -> list[Path]:
    """The saved review workbooks (``data/review/*.xlsx``) that have a ``Candidate codes`` sheet.

    Copies saved before the sheet existed, and workbooks that cannot be opened
    (the review import reports those), are skipped.
    """
    from openpyxl import load_workbook

    found = []
    for path in map(Path, files):
        try:
            workbook = load_workbook(path, read_only=True)
            names = workbook.sheetnames
            workbook.close()
        except Exception as error:  # reported, with its cell, by the review import
            log.warning("%s cannot be opened to look for promoted candidates: %s", path, error)
            continue
        if CANDIDATE_SHEET in names:
            found.append(path)
    return found


def read_promoted(files: list[Path], codebook) -> list[PromotedCode]:
    """Read the promoted candidates from saved candidate workbooks.

    Parameters
    ----------
    files : list of Path
        Saved review workbooks with a ``Candidate codes`` sheet, in the order to apply them.
    codebook : Codebook
        The live codebook: a ``theme`` cell must name one of its themes (by id
        or label, any case), ``proposed``, or be empty.

    Returns
    -------
    list of PromotedCode
        One per distinct label (case-insensitive); a label promoted again in a
        later file or row replaces the earlier one.

    Raises
    ------
    InputError
        Listing every problem at once: a missing column, a ``promote`` value
        other than yes/no, a promoted row without a definition, an unknown theme.
    """
    from pipeline.ingest.tabular import read_grid

    themes = {t.id.lower(): t.id for t in codebook.themes}
    themes.update({t.label.lower(): t.id for t in codebook.themes})
    themes.setdefault(PROPOSED_THEME_ID, PROPOSED_THEME_ID)
    problems = ProblemCollector()
    promoted: dict[str, PromotedCode] = {}
    for path in files:
        try:
            grid = read_grid(path, sheet=CANDIDATE_SHEET)
        except InputError as error:
            problems.extend(error)
            continue
        if not grid.rows:
            continue
        header = [cell.strip().lower() for cell in grid.rows[0]]
        missing = [c for c in ("candidate_id", "proposed_label", *ANALYST_COLUMNS) if c not in header]
        if missing:
            problems.add(path, f"the {CANDIDATE_SHEET!r} sheet lacks the column(s) {', '.join(missing)}",
                         row=1, hint="save a copy of reports/review/coding_review.xlsx and fill in its "
                         f"{CANDIDATE_SHEET!r} sheet")
            continue
        for number, cells in enumerate(grid.rows[1:], start=2):
            value = dict(zip(header, (c.strip() for c in cells)))
            promote = value["promote"].lower()
            if promote in NO:
                continue
            if promote not in YES:
                problems.add(path, f"promote must be yes or no, not {value['promote']!r}", row=number,
                             column="promote", hint="choose yes or no from the dropdown")
                continue
            if not value["definition"]:
                problems.add(path, f"candidate {value['candidate_id'] or '?'} is promoted without a "
                             "definition", row=number, column="definition",
                             hint="write one to three sentences saying what the code covers")
                continue
            theme = themes.get(value["theme"].lower() or PROPOSED_THEME_ID)
            if theme is None:
                problems.add(path, f"unknown theme {value['theme']!r}", row=number, column="theme",
                             hint="use a theme id from the dropdown, or leave it empty for 'proposed': "
                                  + ", ".join(sorted({t.id for t in codebook.themes} | {PROPOSED_THEME_ID})))
                continue
            label = " ".join((value["label"] or value["proposed_label"]).split())
            code = PromotedCode(str(path), number, value["candidate_id"], label, value["definition"],
                                theme, [value[c] for c in EXEMPLAR_COLUMNS if value.get(c)])
            key = " ".join(label.lower().split())
            if key in promoted:
                earlier = promoted[key]
                log.warning("%r is promoted in %s row %d and again in %s row %d; the later one is used",
                            label, earlier.source_file, earlier.row, path, number)
            promoted[key] = code
    problems.raise_if_any("promoted candidate codes in data/review/ cannot be used",
                          hint="fix the cells listed and run again")
    return list(promoted.values())


def proposed_codebook(codebook, promoted: list[PromotedCode], source: str | Path = paths.PROPOSED_CODEBOOK):
    """The live codebook plus the promoted codes, as a new :class:`~pipeline.codebook.Codebook`.

    Each promoted code gets an id derived from its label (made unique with
    ``_2``, ``_3`` … against every theme id, code id and alias), its
    definition, and the exemplars as examples. It goes into the chosen theme,
    or into a theme ``proposed`` ("Proposed codes") added at the end.
    """
    from pipeline.codebook import codebook_as_data, codebook_from_data, derive_id

    data = codebook_as_data(codebook)
    taken = set(codebook.theme_ids) | set(codebook.code_ids)
    taken |= {alias for code in codebook.codes for alias in code.aliases}
    themes = {theme["id"]: theme for theme in data["themes"]}
    live_labels = {c.label.lower(): c.id for c in codebook.codes}
    for code in promoted:
        if code.label.lower() in live_labels:
            log.warning("Promoted code %r has the same label as the live code %r; consider a "
                        "clearer label, or adding the segments to that code instead",
                        code.label, live_labels[code.label.lower()])
        if code.theme not in themes:
            theme = {"id": code.theme, "label": PROPOSED_THEME_LABEL,
                     "description": "Codes promoted from candidate codes found in the data; "
                                    "not yet part of the live codebook.", "codes": []}
            data["themes"].append(theme)
            themes[code.theme] = theme
            taken.add(code.theme)
        base = derive_id(code.label)
        identifier, n = base, 2
        while identifier in taken:
            identifier, n = f"{base}_{n}", n + 1
        taken.add(identifier)
        themes[code.theme]["codes"].append({
            "id": identifier, "label": code.label, "definition": code.definition,
            "include": [], "exclude": [], "examples": code.examples, "aliases": [],
        })
    data["version"] = f"{data.get('version') or ''} + proposed codes".strip(" +") or "proposed"
    return codebook_from_data(data, source)


PROPOSED_HEADER = """\
# PROPOSED codebook, written by the discover stage: the live codebook ({live})
# plus the candidate codes promoted in data/review/*.xlsx ({promoted}).
# It is rewritten on every run that finds a promoted candidate; do not edit it.
# To adopt it, review it and copy it over the live codebook by hand (or point
# codebook.file in config.yaml at a renamed copy).
"""


def write_proposed_codebook(codebook, live: str, promoted: list[PromotedCode], target: str | Path) -> None:
    """Write ``codebook`` as YAML with a header saying it is a proposal and how to adopt it."""
    from pipeline.codebook import codebook_as_data

    names = ", ".join(code.label for code in promoted)
    text = PROPOSED_HEADER.format(live=live, promoted=names) + yaml.safe_dump(
        codebook_as_data(codebook), sort_keys=False, allow_unicode=True, width=100,
        default_flow_style=False)
    write_text(target, text)


# ------------------------------------------------------------------ stage


def _read_table(path: Path, what: str, stage: str) -> pd.DataFrame:
    if not path.is_file():
        raise InputError(f"{what} not found", file=path, hint=f"run the {stage} stage first")
    return pd.read_parquet(path)


# Before the Candidate codes sheet joined the review workbook, candidates had a
# workbook of their own and promotions were read from data/review/candidates/.
LEGACY_CANDIDATE_WORKBOOK = "reports/review/candidate_codes.xlsx"
LEGACY_CANDIDATE_INBOX = "data/review/candidates"


def _retire_candidate_workbook(root: Path) -> None:
    """Remove the old separate candidate workbook and say where promotions are read now."""
    old = Path(root) / LEGACY_CANDIDATE_WORKBOOK
    if old.is_file():
        old.unlink()
        log.info("Removed %s: candidate codes are now on the %r sheet of %s", LEGACY_CANDIDATE_WORKBOOK,
                 CANDIDATE_SHEET, paths.REVIEW_WORKBOOK)
    inbox = Path(root) / LEGACY_CANDIDATE_INBOX
    if inbox.is_dir() and any(inbox.glob("*.xlsx")):
        log.warning("%s/ is no longer read: promote candidates on the %r sheet of your saved review "
                    "workbook in %s/ instead", LEGACY_CANDIDATE_INBOX, CANDIDATE_SHEET, paths.REVIEW_INBOX)


def run_discover(config: dict, root: Path) -> None:
    """Stage: candidate codes from uncoded segments; the proposed codebook from promoted ones.

    Parameters
    ----------
    config : dict
        Validated configuration (uses ``discover``, ``codebook.file``,
        ``sites``, ``sectors`` and ``privacy`` for pseudonymisation).
    root : Path
        The project folder. Reads the segments, embeddings, suggestions,
        decisions and coded segments, the codebook and
        ``Candidate codes`` sheet of every ``data/review/*.xlsx``; writes
        ``reports/tables/candidate_codes.csv`` (shown to the analyst on the
        review workbook's ``Candidate codes`` sheet) and, when a candidate is
        promoted, ``codebook/proposed.yaml``.
    """
    from pipeline.anonymise import Pseudonymiser
    from pipeline.codebook import load_codebook
    from pipeline.embed import read_embeddings
    from pipeline.review.decisions import read_decisions

    root = Path(root)
    settings = DiscoverySettings.from_config(config)
    live_file = config["codebook"]["file"]
    if (root / live_file).resolve() == (root / paths.PROPOSED_CODEBOOK).resolve():
        raise ConfigError(f"codebook.file is {live_file}, which the discover stage overwrites with "
                          "its proposals", file="config.yaml",
                          hint="copy the proposed codebook to another name and point codebook.file at it")
    codebook = load_codebook(root / live_file)

    segments = _read_table(root / paths.SEGMENTS, "segment table", "ingest")
    suggestions = _read_table(root / paths.SUGGESTIONS, "suggestions table", "suggest")
    coded = _read_table(root / paths.CODED_SEGMENTS, "coded segments table", "apply_decisions")
    decisions = read_decisions(root / paths.DECISIONS)
    pool = select_uncoded_segments(segments, suggestions, decisions, coded)

    segment_ids, matrix = read_embeddings(root / paths.EMBEDDINGS)
    row_of = {segment_id: i for i, segment_id in enumerate(segment_ids)}
    embedded = pool["segment_id"].isin(row_of)
    if (~embedded).any():
        log.warning("%d uncoded segment(s) have no embedding and are left out; re-run the embed stage",
                    int((~embedded).sum()))
        pool = pool[embedded].reset_index(drop=True)
    vectors = matrix[[row_of[s] for s in pool["segment_id"]]] if len(pool) else matrix[:0]
    log.info("%d participant segment(s) have no code above the threshold, %d of them rejected by an "
             "analyst", len(pool), int((pool["reason"] == "rejected").sum()))

    pseudonymiser = Pseudonymiser.from_project(config, root)
    sites = config.get("sites") or {}
    candidates = discover_candidates(pool, vectors, settings, pseudonymiser.apply,
                                     lambda site: pseudonymiser.apply(sites.get(site, site)),
                                     lambda sector: sector_label(config, sector))
    write_csv(root / paths.CANDIDATE_CODES_CSV, candidates)
    _retire_candidate_workbook(root)
    log.info("%d candidate code(s) written to %s (and the review workbook's %r sheet)", len(candidates),
             paths.CANDIDATE_CODES_CSV, CANDIDATE_SHEET)

    promoted = read_promoted(candidate_sheet_files(review_inbox_files(root)), codebook)
    target = root / paths.PROPOSED_CODEBOOK
    if not promoted:
        if target.exists():
            log.info("No candidate is promoted; %s is left as it is", paths.PROPOSED_CODEBOOK)
        return
    proposal = proposed_codebook(codebook, promoted)
    write_proposed_codebook(proposal, live_file, promoted, target)
    log.info("%d promoted code(s) written to %s with the live codebook; %s is unchanged. Adopt the "
             "proposal by copying it over the live codebook.", len(promoted),
             paths.PROPOSED_CODEBOOK, live_file)
