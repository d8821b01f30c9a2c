"""Triangulation: how far each theme is supported across sites, sectors, methods and waves.

Stage ``triangulate`` reads the coded segments and writes tidy tables to
``reports/tables/`` (for people) and the same tables as parquet to
``data/processed/triangulation/`` (for the ``report`` stage, so that text read
back is never the formula-neutralised CSV text). Every text written is
pseudonymised first. Themes are usually raised everywhere; the code-level
tables (``triangulation_codes``, ``site_differences_codes``) are where sites
and sectors differ.

Counting
--------
Evidence is one row per (segment, code) from ``coded_segments.parquet``.
Accepted and changed codes always count; unreviewed suggestions count only
when ``triangulate.include_suggested`` is true, and every table then says how
much of each count comes from them (``suggested_segments``: segments whose
only evidence for that row is an unreviewed suggestion; ``suggested_only_sources``
likewise for sources). Interviewer turns never count. Every cell counts
``segments`` and distinct ``sources`` (a participant, a survey response or an
observation/workshop session): a theme raised thirty times by one person is one
source.

Sites and programme organisations
---------------------------------
A site key is a *programme organisation* (a funder, a learning partner), not a
site, when every source there with a known sector belongs to the programme
sector (``triangulate.programme_sector``, default ``programme``). Programme
organisations get their own rows in the tables but are never counted in the
"N of the M sites" wording. Sites are ordered as in the config's ``sites:``,
then alphabetically.

Evidence strength (``triangulate.evidence``)
--------------------------------------------
``strong``
    at least ``strong.min_methods`` methods AND ``strong.min_sectors`` sectors
    AND ``strong.min_sources`` sources (defaults 2, 2, 3);
``moderate``
    at least ``moderate.min_sources`` sources AND (``moderate.min_methods``
    methods OR ``moderate.min_sectors`` sectors) (defaults 2; 2 or 2);
``limited``
    any other evidence, including a single source;
``none``
    no evidence.

Prevalence wording
------------------
From the number of sites with at least one source: "all five sites", "both
sites", "four of the five sites" (all but one, when there are three or more
sites), "three sites",
"two sites", "one site", "no sites"; numbers up to twenty in words; the noun is
``project.site_noun`` (plural ``report.site_noun_plural`` or an English plural).

Sector divergence (``triangulate.compare_groups``)
--------------------------------------------------
For two groups of sectors (default voluntary vs statutory health and local
authority), the sources in each group mentioning the theme against those that
do not (denominator: every source of that group in ``segments.parquet``) are
compared with Fisher's exact test (two-sided). Verdict: "not raised by either
group"; "raised mainly by <group>" when p < ``divergence_alpha``; "shared
across sectors" when both groups raise it and neither proportion is at least
twice the other; otherwise "raised more often by <group>, but the difference
could be chance".
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline import paths
from pipeline.anonymise import Pseudonymiser
from pipeline.atomic import write_csv, write_parquet
from pipeline.errors import InputError
from pipeline.segment import with_record

log = logging.getLogger(__name__)

LEVELS = ("code", "theme")
DIMENSIONS = ("site", "sector", "method", "wave")
REVIEWED_STATUSES = ("accepted", "changed")
SUGGESTED_STATUS = "suggested"
INTERVIEWER_ROLES = ("interviewer",)
METHOD_LABELS = {"interview": "interview", "survey": "survey", "observation": "observation",
                 "workshop": "workshop"}

MATRIX_COLUMNS_TAIL = ["segments", "sources", "suggested_segments", "suggested_only_sources",
                       "sources_in_group", "percent_of_sources"]

NUMBER_WORDS = ["no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
                "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
                "eighteen", "nineteen", "twenty"]

DEFAULT_EVIDENCE_RULE = {
    "strong": {"min_methods": 2, "min_sectors": 2, "min_sources": 3},
    "moderate": {"min_sources": 2, "min_methods": 2, "min_sectors": 2},
}
DEFAULT_COMPARE_GROUPS = {
    "a": {"label": "voluntary sector partners", "sectors": ["voluntary"]},
    "b": {"label": "statutory partners", "sectors": ["statutory_health", "local_authority"]},
}
STRENGTH_ORDER = {"strong": 3, "moderate": 2, "limited": 1, "none": 0}

# Every table the stage writes: name -> CSV path (the parquet copy is in TRIANGULATION_DIR).
MATRIX_NAMES = [f"matrix_{level}_{dimension}" for level in LEVELS for dimension in DIMENSIONS]


def table_csv(name: str) -> str:
    """``reports/tables/<name>.csv``."""
    return f"{paths.TABLES}/{name}.csv"


def table_parquet(name: str) -> str:
    """``data/processed/triangulation/<name>.parquet`` (read by the report stage)."""
    return f"{paths.TRIANGULATION_DIR}/{name}.parquet"


TABLE_NAMES = list(paths.TRIANGULATION_TABLES)  # listed in paths so that the rules need not import this module


# --------------------------------------------------------------------------- wording


def number_word(n: int) -> str:
    """``3`` → ``"three"``; numbers above twenty stay as digits.

    Examples
    --------
    >>> number_word(0), number_word(5), number_word(21)
    ('no', 'five', '21')
    """
    return NUMBER_WORDS[n] if 0 <= n < len(NUMBER_WORDS) else str(n)


def plural(noun: str, override: str | None = None) -> str:
    """English plural of a site noun (``"partnership"`` → ``"partnerships"``, ``"locality"`` → ``"localities"``)."""
    if override:
        return override
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    if noun.endswith("y") and len(noun) > 1 and noun[-2] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


def upper_first(text: str) -> str:
    """``text`` with its first letter upper-cased and the rest as written.

    Unlike ``str.capitalize`` it keeps acronyms: ``"PCN"`` stays ``"PCN"``,
    ``"NHS and council partners"`` does not become ``"Nhs and council partners"``.
    """
    return text[:1].upper() + text[1:]


def wave_label(wave, capital: bool = True) -> str:
    """``"Wave 2"`` for a numbered wave; a named one as it is written, with a capital if asked.

    Examples
    --------
    >>> wave_label("2"), wave_label("baseline"), wave_label("2", capital=False)
    ('Wave 2', 'Baseline', 'wave 2')
    >>> wave_label("BSL cohort"), wave_label("BSL cohort", capital=False)
    ('BSL cohort', 'BSL cohort')
    """
    text = str(wave)
    if text.isdigit():
        return f"{'Wave' if capital else 'wave'} {text}"
    return upper_first(text) if capital else text


def prevalence_phrase(k: int, n: int, noun: str = "site", noun_plural: str | None = None) -> str:
    """How evaluation reports say in how many of the sites a theme was found.

    Parameters
    ----------
    k : int
        Sites with at least one source raising the theme.
    n : int
        Sites in the evaluation (programme organisations are not sites).
    noun, noun_plural : str
        What a site is called.

    Examples
    --------
    >>> [prevalence_phrase(k, 5) for k in range(6)]
    ['no sites', 'one site', 'two sites', 'three sites', 'four of the five sites', 'all five sites']
    >>> prevalence_phrase(2, 2, "partnership")
    'both partnerships'
    """
    many = plural(noun, noun_plural)
    if k <= 0:
        return f"no {many}"
    if n == 1 and k >= 1:
        return f"the one {noun}"
    if k >= n:
        return f"both {many}" if n == 2 else f"all {number_word(n)} {many}"
    if k == 1:
        return f"one {noun}"
    if k == n - 1:
        return f"{number_word(k)} of the {number_word(n)} {many}"
    return f"{number_word(k)} {many}"


def evidence_strength(n_methods: int, n_sectors: int, n_sources: int, rule: dict | None = None) -> str:
    """Rate the evidence for a theme: ``strong``, ``moderate``, ``limited`` or ``none``.

    Parameters
    ----------
    n_methods, n_sectors, n_sources : int
        Distinct methods, sectors and sources behind the theme.
    rule : dict, optional
        ``triangulate.evidence`` (see the module docstring); defaults apply.

    Examples
    --------
    >>> evidence_strength(2, 2, 3), evidence_strength(1, 2, 2), evidence_strength(1, 1, 5)
    ('strong', 'moderate', 'limited')
    """
    rule = _merged(DEFAULT_EVIDENCE_RULE, rule or {})
    strong, moderate = rule["strong"], rule["moderate"]
    if n_sources <= 0:
        return "none"
    if (n_methods >= strong["min_methods"] and n_sectors >= strong["min_sectors"]
            and n_sources >= strong["min_sources"]):
        return "strong"
    if n_sources >= moderate["min_sources"] and (
            n_methods >= moderate["min_methods"] or n_sectors >= moderate["min_sectors"]):
        return "moderate"
    return "limited"


def _merged(default: dict, given: dict) -> dict:
    out = {key: dict(value) for key, value in default.items()}
    for key, value in given.items():
        out.setdefault(key, {}).update(value or {})
    return out


def fisher_exact(table) -> tuple[float, float]:
    """Two-sided Fisher's exact test of a 2 × 2 table: (sample odds ratio, p-value).

    The definition of ``scipy.stats.fisher_exact``: the p-value sums the
    hypergeometric probabilities of every table with the same margins that is
    no more likely than this one (within a relative 1e-7, as R's
    ``fisher.test``). tests/test_triangulate.py checks it against scipy on
    every table with cells up to 7 and on large ones. Written here because
    importing scipy.stats takes over a second, a third of this stage's run
    after new fieldwork.

    Examples
    --------
    >>> odds, p = fisher_exact([[8, 2], [1, 9]])
    >>> odds, round(p, 4)
    (36.0, 0.0055)
    """
    (a, b), (c, d) = (int(v) for v in table[0]), (int(v) for v in table[1])
    if min(a, b, c, d) < 0:
        raise ValueError(f"a contingency table holds counts, not {table}")
    row_a, row_b, column = a + b, c + d, a + c
    if 0 in (row_a, row_b, column, b + d):
        return math.nan, 1.0
    odds = a * d / (b * c) if b and c else math.inf
    low, high = max(0, column - row_b), min(row_a, column)
    # log P(x + 1) - log P(x) of the hypergeometric distribution, for x = low .. high - 1
    x = np.arange(low, high, dtype=np.float64)
    steps = np.log((row_a - x) * (column - x)) - np.log((x + 1) * (row_b - column + x + 1))
    log_p = np.concatenate(([0.0], np.cumsum(steps)))
    p = np.exp(log_p - log_p.max())
    p_value = p[p <= p[a - low] * (1 + 1e-7)].sum() / p.sum()
    return float(odds), float(min(1.0, p_value))


def sector_divergence(a_mentioning: int, a_total: int, b_mentioning: int, b_total: int,
                      a_label: str = "group A", b_label: str = "group B",
                      alpha: float = 0.05) -> dict:
    """Compare how often two groups of sources raise a theme (Fisher's exact test).

    Parameters
    ----------
    a_mentioning, b_mentioning : int
        Sources in each group that raise the theme.
    a_total, b_total : int
        All sources in each group.
    a_label, b_label : str
        How the verdict names each group.
    alpha : float
        Significance level for "raised mainly by".

    Returns
    -------
    dict
        ``a_percent``, ``b_percent``, ``odds_ratio``, ``p_value`` and ``verdict``.

    Examples
    --------
    >>> sector_divergence(9, 10, 1, 10, "voluntary partners", "statutory partners")["verdict"]
    'raised mainly by voluntary partners'
    """
    a_total, b_total = max(a_total, a_mentioning), max(b_total, b_mentioning)
    out = {"a_percent": _percent(a_mentioning, a_total), "b_percent": _percent(b_mentioning, b_total),
           "odds_ratio": math.nan, "p_value": math.nan}
    if a_mentioning + b_mentioning == 0:
        out["verdict"] = "not raised by either group"
        return out
    if a_total == 0 or b_total == 0:
        out["verdict"] = "cannot compare: one group has no sources"
        return out
    table = [[a_mentioning, a_total - a_mentioning], [b_mentioning, b_total - b_mentioning]]
    odds, p_value = fisher_exact(table)
    out["odds_ratio"], out["p_value"] = float(odds), float(p_value)
    pa, pb = a_mentioning / a_total, b_mentioning / b_total
    higher = a_label if pa > pb else b_label
    if p_value < alpha and pa != pb:
        out["verdict"] = f"raised mainly by {higher}"
    elif a_mentioning and b_mentioning and max(pa, pb) < 2 * min(pa, pb):
        out["verdict"] = "shared across sectors"
    else:
        out["verdict"] = f"raised more often by {higher}, but the difference could be chance"
    return out


def _percent(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else math.nan


# --------------------------------------------------------------------------- evidence


@dataclass
class Evidence:
    """Everything triangulation counts, loaded once.

    Attributes
    ----------
    coded : DataFrame
        One row per (segment, code) that counts as evidence, with ``theme_id``,
        ``reviewed`` (bool) and the segment metadata.
    sources : DataFrame
        One row per distinct source in ``segments.parquet`` (the denominators):
        ``source_id, site, sector, method, wave``.
    themes : dict
        theme_id → label, in codebook order.
    codes : dict
        code_id → label, in codebook order.
    code_theme : dict
        code_id → theme_id.
    sites : list of str
        Site keys that are sites, in report order.
    programme_sites : list of str
        Site keys that are programme organisations.
    config : dict
    """

    coded: pd.DataFrame
    sources: pd.DataFrame
    themes: dict
    codes: dict
    code_theme: dict
    sites: list
    programme_sites: list
    config: dict
    theme_descriptions: dict = field(default_factory=dict)
    source_waves: pd.DataFrame | None = None   # one row per (source_id, wave): wave denominators
    wave_dates: dict = field(default_factory=dict)   # wave -> its earliest fieldwork date (ISO), where known
    _unit_rows: dict = field(default_factory=dict, init=False, repr=False)   # level -> _unit_rows()

    @property
    def include_suggested(self) -> bool:
        return bool(self.config.get("triangulate", {}).get("include_suggested", True))

    def site_label(self, site: str) -> str:
        return self.config.get("sites", {}).get(site, site)

    def sector_label(self, sector: str) -> str:
        return self.config.get("sectors", {}).get(sector, sector) if sector else ""

    def all_site_keys(self) -> list:
        return self.sites + self.programme_sites

    def dimension_values(self, dimension: str) -> list:
        if dimension == "site":
            return self.all_site_keys()
        if dimension == "sector":
            configured = list(self.config.get("sectors", {}))
            seen = set(self.sources["sector"]) | set(self.coded["sector"])
            return [s for s in configured if s in seen] + sorted(s for s in seen - set(configured) if s)
        if dimension == "method":
            seen = set(self.sources["method"]) | set(self.coded["method"])
            return [m for m in METHOD_LABELS if m in seen] + sorted(seen - set(METHOD_LABELS) - {""})
        if dimension == "wave":
            seen = {w for w in set(self.sources["wave"]) | set(self.coded["wave"]) if w}
            return sorted(seen, key=natural_key)
        raise ValueError(dimension)

    def dimension_label(self, dimension: str, value: str) -> str:
        if dimension == "site":
            return self.site_label(value)
        if dimension == "sector":
            return self.sector_label(value)
        if dimension == "wave":
            return wave_label(value)
        return upper_first(str(value))


def natural_key(value: str):
    """Sort key that puts "2" before "10" and ignores case (waves, numbered names)."""
    import re

    return [int(p) if p.isdigit() else p.casefold() for p in re.split(r"(\d+)", str(value))]


def _text_columns(frame: pd.DataFrame, columns) -> pd.DataFrame:
    for column in columns:
        if column not in frame.columns:
            frame[column] = ""
        frame[column] = frame[column].fillna("").astype(str).astype(object)
    return frame


META = ["document_id", "method", "site", "sector", "participant_id", "source_id", "wave", "date",
        "speaker_role", "question", "record", "text"]


def build_evidence(coded: pd.DataFrame, segments: pd.DataFrame, codebook, config: dict) -> Evidence:
    """Filter the coded segments to what counts and gather the denominators.

    Parameters
    ----------
    coded : DataFrame
        ``coded_segments.parquet``.
    segments : DataFrame
        ``segments.parquet`` (for the number of sources in each site, sector,
        method and wave).
    codebook : Codebook
        Gives the themes and codes and their order.
    config : dict
        Validated configuration.

    Returns
    -------
    Evidence
    """
    coded = _text_columns(coded.copy(), ["segment_id", "code_id", "theme_id", "status", *META])
    segments = with_record(_text_columns(segments.copy(), ["segment_id", *META]))
    # A coded table from before the record column takes it from the segments.
    record_of = dict(zip(segments["document_id"], segments["record"]))
    coded["record"] = coded["record"].where(coded["record"] != "", coded["document_id"].map(record_of).fillna(""))
    include_suggested = bool(config.get("triangulate", {}).get("include_suggested", True))
    statuses = REVIEWED_STATUSES + ((SUGGESTED_STATUS,) if include_suggested else ())
    coded = coded[coded["status"].isin(statuses)]
    asked = coded["speaker_role"].isin(INTERVIEWER_ROLES)
    decided = asked & coded["status"].isin(REVIEWED_STATUSES)
    if decided.any():
        # An analyst coded a turn that a later ingest attributes to the interviewer.
        log.warning("Not counting %d analyst-coded row(s) on interviewer turns as evidence (the questions "
                    "are not participants' views): segment(s) %s", int(decided.sum()),
                    ", ".join(sorted(set(coded.loc[decided, "segment_id"]))[:10]))
    coded = coded[~asked]
    code_theme = {code.id: theme.id for theme in codebook.themes for code in theme.codes}
    # The codebook is the authority on which theme a code belongs to.
    live = {c: codebook.resolve_alias(c) or c for c in coded["code_id"].unique()}
    live_ids = coded["code_id"].map(live)
    mapped = live_ids.map({c: code_theme.get(c, "") for c in live.values()})
    coded = coded.assign(code_id=live_ids, theme_id=mapped.where(mapped != "", coded["theme_id"]))
    unknown = sorted(set(coded["code_id"]) - set(code_theme))
    if unknown:
        log.warning("Ignoring %d code(s) not in the codebook: %s", len(unknown), ", ".join(unknown[:10]))
        coded = coded[coded["code_id"].isin(code_theme)]
    coded = coded.assign(reviewed=coded["status"].isin(REVIEWED_STATUSES))
    coded = coded.drop_duplicates(["segment_id", "code_id"]).reset_index(drop=True)

    people = segments[~segments["speaker_role"].isin(INTERVIEWER_ROLES) & (segments["source_id"] != "")]
    sources = people.drop_duplicates("source_id")[["source_id", "site", "sector", "method", "wave"]]
    # A source seen in several waves is one source; the wave denominators need every (source, wave).
    source_waves = people.drop_duplicates(["source_id", "wave"])[["source_id", "wave"]]

    triangulate = config.get("triangulate", {})
    programme_sector = triangulate.get("programme_sector", "programme")
    all_sites = set(sources["site"]) | set(coded["site"])
    all_sites.discard("")
    programme_sites = []
    for site in all_sites:
        sectors = set(sources.loc[sources["site"] == site, "sector"]) | set(coded.loc[coded["site"] == site, "sector"])
        sectors.discard("")
        if sectors and sectors <= {programme_sector}:
            programme_sites.append(site)
    configured = list(config.get("sites", {}))
    order = [s for s in configured if s in all_sites] + sorted(all_sites - set(configured))
    ev = Evidence(
        coded=coded,
        sources=sources.reset_index(drop=True),
        themes={t.id: t.label for t in codebook.themes},
        codes={c.id: c.label for c in codebook.codes},
        code_theme=code_theme,
        sites=[s for s in order if s not in programme_sites],
        programme_sites=[s for s in order if s in programme_sites],
        config=config,
        theme_descriptions={t.id: t.description for t in codebook.themes},
        source_waves=source_waves.reset_index(drop=True),
        wave_dates=segments[segments["date"] != ""].groupby("wave")["date"].min().to_dict(),
    )
    return ev


def load_evidence(config: dict, root: Path) -> Evidence:
    """Read coded segments, segments and the codebook below ``root``.

    Raises
    ------
    InputError
        If a table is missing (naming the stage to run).
    """
    from pipeline.codebook import project_codebook

    root = Path(root)
    coded_path, segments_path = root / paths.CODED_SEGMENTS, root / paths.SEGMENTS
    for path, stage in ((coded_path, "apply_decisions"), (segments_path, "ingest")):
        if not path.is_file():
            raise InputError("table not found", file=path, hint=f"run the {stage} stage first")
    codebook = project_codebook(config, root)
    return build_evidence(pd.read_parquet(coded_path), pd.read_parquet(segments_path), codebook, config)


def _unit_rows(ev: Evidence, level: str) -> pd.DataFrame:
    """Evidence at the code or theme level: one row per (unit, segment), reviewed if any code was.

    Computed once per level (every table uses it); callers must not modify it."""
    if level not in ev._unit_rows:
        key = "code_id" if level == "code" else "theme_id"
        frame = ev.coded.groupby([key, "segment_id"], as_index=False).agg(
            reviewed=("reviewed", "any"),
            **{c: (c, "first") for c in ("source_id", "site", "sector", "method", "wave")},
        )
        ev._unit_rows[level] = frame.rename(columns={key: "unit"})
    return ev._unit_rows[level]


def _parts(rows: pd.DataFrame, column: str) -> dict:
    """``rows`` split by the values of ``column`` (one pass, instead of a comparison per value)."""
    return {value: part for value, part in rows.groupby(column, sort=False)}


def _counts(rows: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """segments, sources and the parts owed to unreviewed suggestions, per group."""
    if rows.empty:
        return pd.DataFrame(columns=by + ["segments", "sources", "suggested_segments", "suggested_only_sources"])
    grouped = rows.assign(unreviewed=~rows["reviewed"]).groupby(by)
    out = grouped.agg(segments=("segment_id", "nunique"), sources=("source_id", "nunique"),
                      suggested_segments=("unreviewed", "sum"))
    out["suggested_segments"] = out["suggested_segments"].astype(int)
    reviewed_sources = rows[rows["reviewed"]].groupby(by)["source_id"].nunique()
    out["suggested_only_sources"] = out["sources"] - reviewed_sources.reindex(out.index).fillna(0).astype(int)
    return out.reset_index()


def count_matrix(ev: Evidence, level: str, dimension: str) -> pd.DataFrame:
    """A complete code/theme × site/sector/method/wave table of counts.

    Parameters
    ----------
    ev : Evidence
    level : {"code", "theme"}
    dimension : {"site", "sector", "method", "wave"}

    Returns
    -------
    DataFrame
        One row per (unit, value), zeros included: ``<level>_id,
        <level>_label[, theme_id], <dimension>, <dimension>_label, segments,
        sources, suggested_segments, suggested_only_sources, sources_in_group,
        percent_of_sources`` (sources raising it as a percentage of all sources
        in that site/sector/method/wave).
    """
    rows = _unit_rows(ev, level)
    counts = _counts(rows, ["unit", dimension])
    units = list(ev.codes if level == "code" else ev.themes)
    values = ev.dimension_values(dimension)
    grid = pd.MultiIndex.from_product([units, values], names=["unit", dimension]).to_frame(index=False)
    out = grid.merge(counts, on=["unit", dimension], how="left")
    for column in ("segments", "sources", "suggested_segments", "suggested_only_sources"):
        out[column] = out[column].fillna(0).astype(int)
    denominators = _denominators(ev, dimension)
    out["sources_in_group"] = out[dimension].map(denominators).fillna(0).astype(int)
    out["sources_in_group"] = np.maximum(out["sources_in_group"], out["sources"])
    out["percent_of_sources"] = [
        _percent(s, t) for s, t in zip(out["sources"], out["sources_in_group"])]
    labels = ev.codes if level == "code" else ev.themes
    id_column = f"{level}_id"
    out.insert(0, id_column, out.pop("unit"))
    out.insert(1, f"{level}_label", out[id_column].map(labels))
    if level == "code":
        out.insert(2, "theme_id", out[id_column].map(ev.code_theme))
    out.insert(out.columns.get_loc(dimension) + 1, f"{dimension}_label",
               out[dimension].map(lambda v: ev.dimension_label(dimension, v)))
    return out


def _denominators(ev: Evidence, dimension: str) -> dict:
    if dimension == "wave":
        return ev.source_waves.groupby("wave")["source_id"].nunique().to_dict()
    return ev.sources.groupby(dimension)["source_id"].nunique().to_dict()


# --------------------------------------------------------------------------- triangulation


def _join_labels(values, label) -> str:
    return "; ".join(label(v) for v in values)


def _unit_ids(ev: Evidence, level: str, unit_id: str, label: str) -> dict:
    """The identifying columns of a theme's or a code's row (a code also names its theme)."""
    if level == "theme":
        return {"theme_id": unit_id, "theme_label": label}
    theme_id = ev.code_theme.get(unit_id, "")
    return {"code_id": unit_id, "code_label": label, "theme_id": theme_id,
            "theme_label": ev.themes.get(theme_id, "")}


def triangulation_table(ev: Evidence, level: str = "theme") -> pd.DataFrame:
    """Per theme or code (scope ``programme``) and per (unit, site) (scope ``site``): what supports it.

    Parameters
    ----------
    ev : Evidence
    level : {"theme", "code"}
        ``theme`` gives ``triangulation.csv``; ``code`` gives
        ``triangulation_codes.csv``, where the differences between sites show.

    Returns
    -------
    DataFrame
        ``scope, theme_id, theme_label, site, site_label, segments, sources,
        suggested_segments, suggested_only_sources, n_methods, methods,
        n_sectors, sectors, waves, evidence_strength, sites_with_theme,
        sites_total, prevalence, sites_raising`` (the labels of the sites
        raising it, ``; ``-separated) and, at programme scope, the sector
        comparison: ``group_a, group_a_sources, group_a_total, group_a_percent,
        group_b, group_b_sources, group_b_total, group_b_percent, odds_ratio,
        fisher_p, sector_verdict``. At code level the table starts ``scope,
        code_id, code_label, theme_id, theme_label`` and ``sites_with_theme``
        is ``sites_with_code``.
    """
    tri = ev.config.get("triangulate", {})
    rule = tri.get("evidence", {})
    groups = _merged(DEFAULT_COMPARE_GROUPS, tri.get("compare_groups", {}) or {})
    alpha = float(tri.get("divergence_alpha", 0.05))
    noun = ev.config.get("project", {}).get("site_noun", "site")
    noun_plural = ev.config.get("report", {}).get("site_noun_plural")
    rows = _unit_rows(ev, level)
    method_order = ev.dimension_values("method")
    sector_order = ev.dimension_values("sector")
    group_totals = {
        g: ev.sources.loc[ev.sources["sector"].isin(groups[g]["sectors"]), "source_id"].nunique()
        for g in ("a", "b")}

    def describe(part: pd.DataFrame) -> dict:
        methods = [m for m in method_order if m in set(part["method"])]
        sectors = [s for s in sector_order if s in set(part["sector"]) and s]
        waves = sorted({w for w in part["wave"] if w}, key=natural_key)
        n_sources = part["source_id"].nunique()
        reviewed_sources = part.loc[part["reviewed"], "source_id"].nunique()
        return {
            "segments": part["segment_id"].nunique(), "sources": n_sources,
            "suggested_segments": int((~part["reviewed"]).sum()),
            "suggested_only_sources": n_sources - reviewed_sources,
            "n_methods": len(methods), "methods": "; ".join(methods),
            "n_sectors": len(sectors), "sectors": _join_labels(sectors, ev.sector_label),
            "waves": "; ".join(waves),
            "evidence_strength": evidence_strength(len(methods), len(sectors), n_sources, rule),
        }

    records = []
    n_sites = len(ev.sites)
    units = ev.themes if level == "theme" else ev.codes
    by_unit = _parts(rows, "unit")
    for unit_id, label in units.items():
        part = by_unit.get(unit_id, rows.iloc[:0])
        by_site = _parts(part, "site")
        sites_with = [s for s in ev.sites if s in set(part["site"])]
        ids = _unit_ids(ev, level, unit_id, label)
        record = {"scope": "programme", **ids, "site": "",
                  "site_label": "All", **describe(part),
                  f"sites_with_{level}": len(sites_with), "sites_total": n_sites,
                  "prevalence": prevalence_phrase(len(sites_with), n_sites, noun, noun_plural),
                  "sites_raising": "; ".join(ev.site_label(s) for s in sites_with)}
        mentioning = {g: part.loc[part["sector"].isin(groups[g]["sectors"]), "source_id"].nunique()
                      for g in ("a", "b")}
        verdict = sector_divergence(mentioning["a"], group_totals["a"], mentioning["b"], group_totals["b"],
                                    groups["a"]["label"], groups["b"]["label"], alpha)
        record.update({
            "group_a": groups["a"]["label"], "group_a_sources": mentioning["a"],
            "group_a_total": max(group_totals["a"], mentioning["a"]), "group_a_percent": verdict["a_percent"],
            "group_b": groups["b"]["label"], "group_b_sources": mentioning["b"],
            "group_b_total": max(group_totals["b"], mentioning["b"]), "group_b_percent": verdict["b_percent"],
            "odds_ratio": verdict["odds_ratio"], "fisher_p": verdict["p_value"],
            "sector_verdict": verdict["verdict"],
        })
        records.append(record)
        for site in ev.all_site_keys():
            site_part = by_site.get(site, part.iloc[:0])
            records.append({"scope": "site", **ids, "site": site,
                            "site_label": ev.site_label(site), **describe(site_part),
                            f"sites_with_{level}": None, "sites_total": None, "prevalence": "",
                            "sites_raising": ""})
    table = pd.DataFrame(records)
    for column in (f"sites_with_{level}", "sites_total", "group_a_sources", "group_a_total",
                   "group_b_sources", "group_b_total"):
        table[column] = table[column].astype("Int64")
    return table


def site_differences(ev: Evidence, threshold_points: float | None = None,
                     min_sources: int | None = None, level: str = "theme") -> pd.DataFrame:
    """How each site compares with the other sites, theme by theme or code by code.

    Themes: a theme is "more prevalent" at a site when the share of the
    site's sources raising it is at least ``threshold_points`` percentage
    points above the share across all other sites together (and "less
    prevalent" when below), and the site has at least ``min_sources`` sources
    raising it (for "more") or at least that many sources in all (for
    "less"). Defaults come from ``triangulate.site_difference_points`` (25)
    and ``triangulate.site_difference_min_sources`` (2).

    Codes: each code is raised by fewer sources, so a fixed number of points
    would either flag noise or nothing. A code is "more prevalent" (or
    "less") at a site when Fisher's exact test on the site's sources against
    the other sites' gives p < ``triangulate.divergence_alpha`` (0.05), with
    the same ``min_sources`` condition. With many codes compared, a few such
    contrasts can arise by chance: they are a screen for the analyst, not a
    confirmatory test.

    Returns
    -------
    DataFrame
        ``site, site_label, theme_id, theme_label, site_sources, site_total,
        site_percent, other_sources, other_total, other_percent,
        difference_points, fisher_p, comparison`` (``more prevalent``,
        ``less prevalent`` or ``similar``); at code level ``code_id,
        code_label`` come before ``theme_id``.
    """
    tri = ev.config.get("triangulate", {})
    threshold = float(threshold_points if threshold_points is not None
                      else tri.get("site_difference_points", 25))
    minimum = int(min_sources if min_sources is not None else tri.get("site_difference_min_sources", 2))
    alpha = float(tri.get("divergence_alpha", 0.05))
    rows = _unit_rows(ev, level)
    totals = ev.sources.groupby("site")["source_id"].nunique().to_dict()
    units = ev.themes if level == "theme" else ev.codes
    records = []
    # unit -> site -> the sources raising the unit there
    sources = {unit: part.groupby("site")["source_id"].agg(set).to_dict()
               for unit, part in _parts(rows, "unit").items()}
    for site in ev.all_site_keys():
        others = [s for s in ev.sites if s != site]
        site_total = totals.get(site, 0)
        other_total = sum(totals.get(s, 0) for s in others)
        for unit_id, label in units.items():
            by_site = sources.get(unit_id, {})
            here = len(by_site.get(site, ()))
            there = len(set().union(*(by_site.get(s, ()) for s in others)))
            site_total_ = max(site_total, here)
            other_total_ = max(other_total, there)
            p_here, p_there = _percent(here, site_total_), _percent(there, other_total_)
            diff = (p_here - p_there) if not (math.isnan(p_here) or math.isnan(p_there)) else math.nan
            p_value = math.nan
            if site_total_ and other_total_:
                p_value = float(fisher_exact([[here, site_total_ - here], [there, other_total_ - there]])[1])
            comparison = "similar"
            if not math.isnan(diff):
                notable_more = diff >= threshold if level == "theme" else (diff > 0 and p_value < alpha)
                notable_less = diff <= -threshold if level == "theme" else (diff < 0 and p_value < alpha)
                if notable_more and here >= minimum:
                    comparison = "more prevalent"
                elif notable_less and site_total_ >= minimum:
                    comparison = "less prevalent"
            ids = _unit_ids(ev, level, unit_id, label)
            records.append({
                "site": site, "site_label": ev.site_label(site), **ids,
                "site_sources": here, "site_total": site_total_, "site_percent": p_here,
                "other_sources": there, "other_total": other_total_, "other_percent": p_there,
                "difference_points": round(diff, 1) if not math.isnan(diff) else math.nan,
                "fisher_p": p_value, "comparison": comparison,
            })
    # Named columns even with no rows (a project with no participant's source yet).
    ids = ["code_id", "code_label", "theme_id", "theme_label"] if level == "code" else ["theme_id", "theme_label"]
    return pd.DataFrame(records, columns=["site", "site_label", *ids, "site_sources", "site_total", "site_percent",
                                          "other_sources", "other_total", "other_percent", "difference_points",
                                          "fisher_p", "comparison"])


WAVE_COLUMNS = ["scope", "site", "site_label", "from_wave", "from_wave_label", "to_wave", "to_wave_label",
                "from_sources", "from_total", "from_percent", "to_sources", "to_total", "to_percent",
                "change_points", "fisher_p", "comparison", "wave_order"]


def wave_order(ev: Evidence) -> tuple[list[str], str]:
    """The waves in the order they are compared, and what that order rests on.

    Numbered waves go by number (``"numbers"``). Named ones ("Baseline",
    "Follow-up", "Pre", "Post") cannot be sorted by name, so they go by the
    earliest fieldwork date in each (``"dates"``) when every wave has one, and
    otherwise by name (``"names"``), which the summary then says.
    """
    waves = ev.dimension_values("wave")
    if all(w.isdigit() for w in waves):
        return waves, "numbers"
    if all(ev.wave_dates.get(w) for w in waves):
        return sorted(waves, key=lambda w: (ev.wave_dates[w], natural_key(w))), "dates"
    return waves, "names"


def wave_comparison(earlier: int, before: int, before_total: int, after: int, after_total: int,
                    alpha: float) -> tuple[float, str]:
    """Fisher's p and the reading of one unit between a wave and the one before it.

    ``earlier`` is how many sources raised the unit in any wave before the
    later one (0: it is new); each total is at least its count. The readings: ``new`` (first raised in the later
    wave), ``no longer raised``, ``more prevalent`` or ``less prevalent``
    (Fisher's exact test on the shares of each wave's sources, p < ``alpha``),
    ``similar``, ``not raised`` (in neither wave) and ``no fieldwork`` (one of
    the two waves has no sources here, so there is nothing to compare).

    Examples
    --------
    >>> wave_comparison(0, 0, 20, 6, 20, 0.05)[1], wave_comparison(4, 4, 20, 0, 20, 0.05)[1]
    ('new', 'no longer raised')
    >>> wave_comparison(2, 2, 20, 12, 20, 0.05)[1], wave_comparison(5, 5, 20, 6, 20, 0.05)[1]
    ('more prevalent', 'similar')
    >>> wave_comparison(0, 0, 20, 0, 0, 0.05)[1]
    'no fieldwork'
    """
    if not before_total or not after_total:
        return math.nan, "no fieldwork"
    p_value = fisher_exact([[before, before_total - before], [after, after_total - after]])[1]
    if not before and not after:
        return p_value, "not raised"
    if after and not earlier:
        return p_value, "new"
    if not after:
        return p_value, "no longer raised"
    if p_value < alpha:
        return p_value, "more prevalent" if after / after_total > before / before_total else "less prevalent"
    return p_value, "similar"


def wave_differences(ev: Evidence, level: str = "theme") -> pd.DataFrame:
    """How often each theme or code was raised in each wave against the wave before it.

    One row per unit and pair of consecutive waves (:func:`wave_order`), programme-wide (scope
    ``programme``) and per site (scope ``site``). The shares are of each
    wave's own sources there (a person interviewed in both waves counts in
    both); ``comparison`` is :func:`wave_comparison`'s reading, at
    ``triangulate.divergence_alpha``. Empty, with its columns, for fewer than
    two waves.

    Returns
    -------
    DataFrame
        ``scope, site, site_label,`` the unit's ids (``theme_id, theme_label``;
        at code level ``code_id, code_label`` first), then ``from_wave,
        from_wave_label, to_wave, to_wave_label, from_sources, from_total,
        from_percent, to_sources, to_total, to_percent, change_points,
        fisher_p, comparison, wave_order`` (what the order of the waves rests on:
        ``numbers``, ``dates`` or ``names``).
    """
    alpha = float(ev.config.get("triangulate", {}).get("divergence_alpha", 0.05))
    ids = ["code_id", "code_label", "theme_id", "theme_label"] if level == "code" else ["theme_id", "theme_label"]
    columns = WAVE_COLUMNS[:3] + ids + WAVE_COLUMNS[3:]
    waves, order = wave_order(ev)
    if len(waves) < 2:
        return pd.DataFrame(columns=columns)
    rows = _unit_rows(ev, level)
    rows = rows[rows["wave"] != ""]
    raising = {"programme": rows.groupby(["unit", "wave"])["source_id"].nunique().to_dict(),
               "site": rows.groupby(["unit", "site", "wave"])["source_id"].nunique().to_dict()}
    site_of = dict(zip(ev.sources["source_id"], ev.sources["site"]))
    in_wave = ev.source_waves.assign(site=ev.source_waves["source_id"].map(site_of))
    totals = {"programme": in_wave.groupby("wave")["source_id"].nunique().to_dict(),
              "site": in_wave.groupby(["site", "wave"])["source_id"].nunique().to_dict()}
    units = ev.themes if level == "theme" else ev.codes
    scopes = [("programme", "", "All")] + [("site", s, ev.site_label(s)) for s in ev.all_site_keys()]
    records = []
    for scope, site, site_label in scopes:
        here = (site,) if site else ()   # the site's part of the keys
        wave_totals = [totals[scope].get((*here, w) if here else w, 0) for w in waves]
        for unit_id, label in units.items():
            counts = [raising[scope].get((unit_id, *here, w), 0) for w in waves]
            for i in range(1, len(waves)):
                before, after = counts[i - 1], counts[i]
                before_total, after_total = max(wave_totals[i - 1], before), max(wave_totals[i], after)
                p_value, comparison = wave_comparison(sum(counts[:i]), before, before_total, after, after_total,
                                                      alpha)
                p_before, p_after = _percent(before, before_total), _percent(after, after_total)
                change = p_after - p_before
                records.append({
                    "scope": scope, "site": site, "site_label": site_label, **_unit_ids(ev, level, unit_id, label),
                    "from_wave": waves[i - 1], "from_wave_label": wave_label(waves[i - 1]),
                    "to_wave": waves[i], "to_wave_label": wave_label(waves[i]),
                    "from_sources": before, "from_total": before_total, "from_percent": p_before,
                    "to_sources": after, "to_total": after_total, "to_percent": p_after,
                    "change_points": round(change, 1) if not math.isnan(change) else math.nan,
                    "fisher_p": p_value, "comparison": comparison, "wave_order": order,
                })
    return pd.DataFrame(records, columns=columns)


# --------------------------------------------------------------------------- framework matrix


def cell_summary(segments: int, sources: int, methods: str, sectors: str, suggested: int = 0) -> str:
    """Short evidence summary for one framework-matrix cell.

    Examples
    --------
    >>> cell_summary(4, 2, "interview; survey", "Voluntary sector")
    '4 segments from 2 sources (interview, survey; Voluntary sector)'
    """
    if not segments:
        return "No evidence"
    detail = ", ".join(m for m in methods.split("; ") if m)
    if sectors:
        detail = f"{detail}; {', '.join(s for s in sectors.split('; ') if s)}" if detail else sectors
    text = (f"{segments} segment{'s' if segments != 1 else ''} from {sources} "
            f"source{'s' if sources != 1 else ''}")
    if detail:
        text += f" ({detail})"
    if suggested:
        text += f"; {suggested} from unreviewed suggestions"
    return text


FRAMEWORK_COLUMNS = ["site", "site_label", "theme_id", "theme_label", "segments", "sources", "evidence_strength",
                     "summary", "segment_ids", "quote", "quote_verbatim", "quote_reviewed", "attribution",
                     "quote_segment_id"]


def framework_matrix(ev: Evidence, triangulation: pd.DataFrame, quotes: pd.DataFrame) -> pd.DataFrame:
    """The Framework Method matrix in tidy form: one row per (site, theme).

    Returns
    -------
    DataFrame
        ``site, site_label, theme_id, theme_label, segments, sources,
        evidence_strength, summary, segment_ids, quote, quote_verbatim,
        quote_reviewed, attribution, quote_segment_id``. ``segment_ids`` lists
        every segment behind the cell (separated by spaces); the quote is the
        cell's best exemplar, ``quote_verbatim`` false when it is from notes and
        ``quote_reviewed`` false when its coding is an unreviewed suggestion.
    """
    rows = _unit_rows(ev, "theme")
    site_rows = triangulation[triangulation["scope"] == "site"]
    best = quotes[(quotes["scope"] == "site") & (quotes["rank"] == 1)] if not quotes.empty else quotes
    best = {(r.site, r.theme_id): r for r in best.itertuples()} if not best.empty else {}
    segment_ids = rows.groupby(["unit", "site"])["segment_id"].agg(sorted).to_dict()
    records = []
    for r in site_rows.itertuples():
        ids = segment_ids.get((r.theme_id, r.site), [])
        quote = best.get((r.site, r.theme_id))
        records.append({
            "site": r.site, "site_label": r.site_label, "theme_id": r.theme_id, "theme_label": r.theme_label,
            "segments": r.segments, "sources": r.sources, "evidence_strength": r.evidence_strength,
            "summary": cell_summary(r.segments, r.sources, r.methods, r.sectors, r.suggested_segments),
            "segment_ids": " ".join(ids),
            "quote": quote.quote if quote is not None else "",
            "quote_verbatim": bool(quote.verbatim) if quote is not None else None,
            "quote_reviewed": bool(quote.reviewed) if quote is not None else None,
            "attribution": quote.attribution if quote is not None else "",
            "quote_segment_id": quote.segment_id if quote is not None else "",
        })
    return pd.DataFrame(records, columns=FRAMEWORK_COLUMNS)


# --------------------------------------------------------------------------- stage


def compute_tables(ev: Evidence, embeddings=None, register=None, pseudonymise=None,
                   organisations=None) -> dict[str, pd.DataFrame]:
    """Every triangulation table, keyed by :data:`TABLE_NAMES` (not yet pseudonymised).

    ``register`` and ``organisations`` map participant IDs to their register role and organisation.
    ``pseudonymise`` (``text → text``) is applied to each quote's full text
    before it is trimmed, so that a cut never leaves part of a name behind.
    """
    from pipeline.quotes import exemplar_quotes

    tables = {f"matrix_{level}_{dimension}": count_matrix(ev, level, dimension)
              for level in LEVELS for dimension in DIMENSIONS}
    tables["triangulation"] = triangulation_table(ev)
    tables["quotes"] = exemplar_quotes(ev, embeddings, register, pseudonymise, organisations)
    tables["framework_matrix"] = framework_matrix(ev, tables["triangulation"], tables["quotes"])
    tables["site_differences"] = site_differences(ev)
    tables["triangulation_codes"] = triangulation_table(ev, "code")
    tables["site_differences_codes"] = site_differences(ev, level="code")
    tables["wave_differences"] = wave_differences(ev)
    tables["wave_differences_codes"] = wave_differences(ev, level="code")
    return tables


def read_project_embeddings(root: Path):
    """``(segment_ids, matrix)`` from ``embeddings.parquet``, or None (quotes then rank by score)."""
    path = Path(root) / paths.EMBEDDINGS
    if not path.is_file():
        log.warning("No embeddings at %s: exemplar quotes are ranked by suggestion score instead", path)
        return None
    from pipeline.embed import read_embeddings

    return read_embeddings(path)


def write_tables(tables: dict[str, pd.DataFrame], root: Path, pseudonymiser: Pseudonymiser) -> None:
    """Pseudonymise every text cell, then write each table as CSV (reports/) and parquet (processed)."""
    for name, frame in tables.items():
        safe = pseudonymiser.apply_frame(frame)
        write_csv(Path(root) / table_csv(name), safe)
        write_parquet(Path(root) / table_parquet(name), safe)


def run_triangulate(config: dict, root: Path) -> None:
    """Stage ``triangulate``: count, rate and quote the evidence for every theme.

    Parameters
    ----------
    config : dict
        Validated configuration.
    root : Path
        Project folder; reads coded segments, segments, embeddings, the
        codebook and the register, and writes :data:`TABLE_NAMES` to
        ``reports/tables/`` and ``data/processed/triangulation/``.
    """
    from pipeline.quotes import read_register_organisations, read_register_roles

    root = Path(root)
    ev = load_evidence(config, root)
    pseudonymiser = Pseudonymiser.from_project(config, root)
    tables = compute_tables(ev, read_project_embeddings(root), read_register_roles(root), pseudonymiser.apply,
                            read_register_organisations(root))
    per_sector = ev.sources[ev.sources["sector"] != ""].groupby("sector")["source_id"].nunique()
    for sector in per_sector[per_sector == 1].index:
        log.warning("Sector %r has one source in the whole programme: its column in the sector tables "
                    "(matrix_*_sector.csv, the workbook's sector sheets) is that one person's views",
                    ev.sector_label(sector))
    write_tables(tables, root, pseudonymiser)
    log.info("Triangulated %d theme(s) across %d site(s) and %d programme organisation(s)%s",
             len(ev.themes), len(ev.sites), len(ev.programme_sites),
             " (unreviewed suggestions included and marked)" if ev.include_suggested else "")
