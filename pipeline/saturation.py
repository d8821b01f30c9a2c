"""Code saturation: how many new codes each additional interview brings.

Rules
-----
Interviews
    Documents whose ``method`` is ``interview``. An interview with no counted
    code is left out (and logged) unless an analyst has decided every segment
    of it that could carry a code (every non-interviewer turn): an interview
    nobody has reviewed is not evidence that nothing new was said in it, but
    one whose segments were all reviewed and rejected is, and counts with no
    new code.
Order
    By ``date`` (ISO; an interview without a date comes after every dated
    one), then by ``wave`` (numbered waves in number order, ``2`` before
    ``10``, so that undated interviews keep the order of the fieldwork), then
    by ``document_id``, so the order never depends on file order.
Codes counted
    The codes in ``coded_segments.parquet`` with status ``accepted`` or
    ``changed``, and also ``suggested`` (unreviewed suggestions above the
    threshold) when ``discover.include_suggested`` is true. Interviewer turns
    never count, as in triangulation (a decision recorded on a turn that a
    later ingest attributes to the interviewer is kept, but is not evidence).
Scopes
    ``overall`` (every interview) and each site on its own (site keys, in the
    order of ``config["sites"]`` and then alphabetically).
Saturation
    A scope is saturated when it has more than ``discover.saturation_window``
    (k) interviews and none of its last k interviews brought a new code. With
    k or fewer interviews it is too early to say, and the scope is not
    saturated.

Outputs: ``reports/tables/saturation.csv`` (the curve, one row per scope and
interview), ``reports/tables/saturation_summary.csv`` (one row per scope with
a sentence for the report, see :func:`saturation_statement`) and
``reports/figures/saturation.png``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from pipeline import paths
from pipeline.anonymise import Pseudonymiser
from pipeline.atomic import atomic_path, write_csv
from pipeline.triangulate import INTERVIEWER_ROLES, natural_key

log = logging.getLogger(__name__)

OVERALL = "overall"
REVIEWED_STATUSES = ("accepted", "changed")
SUGGESTED_STATUS = "suggested"

SITE_LINE_STYLES = ["-", (0, (5, 2)), (0, (1, 1.5)), (0, (6, 2, 1, 2))]
SATURATION_COLUMNS = ["scope", "interview_index", "document_id", "date", "new_codes",
                      "cumulative_codes", "new_code_ids"]
SUMMARY_COLUMNS = ["scope", "interviews", "codes", "saturated", "last_new_code_at", "window",
                   "statement"]


def counted_codes(coded: pd.DataFrame, include_suggested: bool = True) -> pd.DataFrame:
    """The rows of ``coded_segments`` that count as a code being present.

    Parameters
    ----------
    coded : DataFrame
        ``coded_segments.parquet``: one row per segment and code, with ``status``.
    include_suggested : bool
        Also count unreviewed suggestions above the threshold.

    Returns
    -------
    DataFrame
        The counted rows, with an empty ``code_id`` and interviewer turns dropped.
    """
    statuses = REVIEWED_STATUSES + ((SUGGESTED_STATUS,) if include_suggested else ())
    kept = coded[coded["status"].isin(statuses)]
    kept = kept[kept["code_id"].fillna("").astype(str) != ""]
    if "speaker_role" in kept:
        kept = kept[~kept["speaker_role"].isin(INTERVIEWER_ROLES)]
    return kept.reset_index(drop=True)


def ordered_scopes(sites: list[str], configured: dict | None = None) -> list[str]:
    """Site keys in report order: those in ``config["sites"]`` first, then alphabetically."""
    configured = configured or {}
    present = set(sites)
    first = [site for site in configured if site in present]
    return first + sorted(present - set(first))


def interview_order(documents: pd.DataFrame) -> pd.DataFrame:
    """Interview documents sorted by date (undated last), then wave, then ``document_id``."""
    interviews = documents[documents["method"] == "interview"].copy()
    interviews["date"] = interviews["date"].fillna("").astype(str)
    interviews["_when"] = pd.to_datetime(interviews["date"], errors="coerce", format="mixed")
    waves = (interviews["wave"] if "wave" in interviews else pd.Series("", index=interviews.index))
    waves = waves.fillna("").astype(str)
    rank = {wave: i for i, wave in enumerate(sorted(set(waves), key=natural_key))}
    interviews["_wave"] = waves.map(rank)
    interviews = interviews.sort_values(["_when", "_wave", "document_id"], na_position="last", kind="stable")
    return interviews.drop(columns=["_when", "_wave"]).reset_index(drop=True)


def fully_reviewed(segments: pd.DataFrame, decisions: pd.DataFrame) -> set[str]:
    """The documents in which an analyst has decided every segment that could carry a code.

    Parameters
    ----------
    segments : DataFrame
        ``segments.parquet`` (uses ``segment_id``, ``document_id``, ``speaker_role``).
    decisions : DataFrame
        ``decisions.parquet`` (uses ``segment_id``, ``orphaned``).

    Examples
    --------
    >>> segments = pd.DataFrame({"segment_id": ["s1", "s2", "s3", "s4"], "document_id": ["a", "a", "b", "b"],
    ...                          "speaker_role": ["interviewer", "participant", "participant", "participant"]})
    >>> sorted(fully_reviewed(segments, pd.DataFrame({"segment_id": ["s2", "s3"], "orphaned": [False, False]})))
    ['a']
    """
    codable = segments[~segments["speaker_role"].isin(INTERVIEWER_ROLES)]
    decided = set(decisions.loc[~decisions["orphaned"].astype(bool), "segment_id"].astype(str))
    reviewed = codable["segment_id"].astype(str).isin(decided).groupby(codable["document_id"]).all()
    return set(reviewed[reviewed].index.astype(str))


def saturation_table(documents: pd.DataFrame, coded: pd.DataFrame, include_suggested: bool = True,
                     sites: dict | None = None, reviewed: set[str] | frozenset = frozenset()) -> pd.DataFrame:
    """New and cumulative codes per additional interview, overall and per site.

    Parameters
    ----------
    documents : DataFrame
        ``documents.parquet`` (uses ``document_id``, ``method``, ``site``, ``date``).
    coded : DataFrame
        ``coded_segments.parquet`` (uses ``document_id``, ``code_id``, ``status``).
    include_suggested : bool
        Count unreviewed suggestions above the threshold as codes.
    sites : dict, optional
        ``config["sites"]``, for the order of the site scopes.
    reviewed : set of str, optional
        Documents an analyst has reviewed throughout (:func:`fully_reviewed`):
        kept with no new code when none of their codes counts.

    Returns
    -------
    DataFrame
        Columns :data:`SATURATION_COLUMNS`; ``interview_index`` counts from 1
        within each scope and ``new_code_ids`` lists the new codes, ``; ``-separated.

    Examples
    --------
    >>> table = saturation_table(documents, coded)           # doctest: +SKIP
    >>> table[table.scope == "overall"].new_codes.tolist()    # doctest: +SKIP
    [4, 2, 1, 0, 0, 0]
    """
    codes = counted_codes(coded, include_suggested)
    codes_by_document = codes.groupby("document_id")["code_id"].agg(lambda ids: set(map(str, ids))).to_dict()
    interviews = interview_order(documents)
    counted = interviews["document_id"].isin(codes_by_document) | interviews["document_id"].isin(reviewed)
    if not counted.all():
        log.info("%d interview(s) have no counted code and are not fully reviewed, so they are left out "
                 "of saturation: %s", int((~counted).sum()), ", ".join(interviews.loc[~counted, "document_id"]
                                                                      .astype(str)))
    interviews = interviews[counted]
    interviews["site"] = interviews["site"].fillna("").astype(str)

    rows = []
    scopes = [(OVERALL, interviews)]
    for site in ordered_scopes([s for s in interviews["site"].unique() if s], sites):
        scopes.append((site, interviews[interviews["site"] == site]))
    for scope, scoped in scopes:
        seen: set[str] = set()
        for index, document in enumerate(scoped.itertuples(index=False), start=1):
            new = sorted(codes_by_document.get(document.document_id, set()) - seen)
            seen.update(new)
            rows.append({"scope": scope, "interview_index": index,
                         "document_id": document.document_id, "date": document.date,
                         "new_codes": len(new), "cumulative_codes": len(seen),
                         "new_code_ids": "; ".join(new)})
    return pd.DataFrame(rows, columns=SATURATION_COLUMNS)


def saturation_summary(table: pd.DataFrame, window: int = 3) -> pd.DataFrame:
    """Whether each scope reached saturation: no new code in its last ``window`` interviews.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`saturation_table`.
    window : int
        k, the number of most recent interviews that must bring no new code.

    Returns
    -------
    DataFrame
        Columns :data:`SUMMARY_COLUMNS`, one row per scope in the table's order.
        ``last_new_code_at`` is the ``interview_index`` of the last interview
        that brought a new code (0 when none did).
    """
    rows = []
    for scope, curve in table.groupby("scope", sort=False):
        new_codes = curve["new_codes"].tolist()
        interviews = len(new_codes)
        codes = int(curve["cumulative_codes"].iloc[-1]) if interviews else 0
        with_new = [i for i, n in zip(curve["interview_index"], new_codes) if n > 0]
        last_new = int(with_new[-1]) if with_new else 0
        saturated = interviews > window and codes > 0 and sum(new_codes[-window:]) == 0
        rows.append({"scope": scope, "interviews": interviews, "codes": codes,
                     "saturated": bool(saturated), "last_new_code_at": last_new, "window": window,
                     "statement": _statement(interviews, codes, saturated, last_new,
                                             sum(new_codes[-window:]), window)})
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def _statement(interviews: int, codes: int, saturated: bool, last_new: int, recent_new: int,
               window: int) -> str:
    plural = "" if interviews == 1 else "s"
    if interviews == 0 or codes == 0:
        return "No coded interviews yet, so saturation cannot be judged."
    if saturated:
        return (f"No new codes emerged in the last {window} of {interviews} interviews: "
                "saturation reached.")
    if interviews <= window:
        return (f"Only {interviews} coded interview{plural} so far ({codes} code{'' if codes == 1 else 's'}): too few to "
                f"judge saturation, which needs more than {window}.")
    return (f"{recent_new} new code{'' if recent_new == 1 else 's'} emerged in the last {window} "
            f"of {interviews} interviews (most recently in interview {last_new}): "
            "saturation not reached.")


def saturation_statement(summary_df: pd.DataFrame, scope: str = OVERALL) -> str:
    """One sentence on saturation for a report: overall or for one site.

    Parameters
    ----------
    summary_df : DataFrame
        ``reports/tables/saturation_summary.csv`` as read by pandas, or the
        output of :func:`saturation_summary`.
    scope : str
        ``"overall"`` or a site key.

    Returns
    -------
    str
        The scope's statement, e.g. "No new codes emerged in the last 3 of 9
        interviews: saturation reached."; a scope without coded interviews
        gets a sentence saying saturation cannot be judged.

    Examples
    --------
    >>> summary = pd.read_csv("reports/tables/saturation_summary.csv")  # doctest: +SKIP
    >>> saturation_statement(summary, "quillmere")                      # doctest: +SKIP
    'Only 2 coded interviews so far (11 codes): too few to judge saturation, which needs more than 3.'
    """
    rows = summary_df[summary_df["scope"].astype(str) == str(scope)]
    if rows.empty:
        return "No coded interviews yet, so saturation cannot be judged."
    return str(rows["statement"].iloc[0])


def plot_saturation(table: pd.DataFrame, summary: pd.DataFrame, target: str | Path,
                    site_labels: dict | None = None) -> None:
    """Draw the cumulative-codes curve of every scope, overall in bold black, and save a PNG.

    Parameters
    ----------
    table, summary : DataFrame
        Outputs of :func:`saturation_table` and :func:`saturation_summary`.
    target : str or Path
        The PNG to write (atomically).
    site_labels : dict, optional
        ``config["sites"]``: site key → display label for the legend.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    site_labels = site_labels or {}
    saturated = dict(zip(summary["scope"], summary["saturated"]))
    figure, axes = plt.subplots(figsize=(8, 5), dpi=150)
    if table.empty:
        axes.text(0.5, 0.5, "No coded interviews yet", ha="center", va="center",
                  transform=axes.transAxes, fontsize=12)
        axes.set_axis_off()
    else:
        colours = plt.get_cmap("tab10")
        site_number = 0
        for scope, curve in table.groupby("scope", sort=False):
            label = "Overall" if scope == OVERALL else site_labels.get(scope, scope)
            if saturated.get(scope):
                label += " (saturated)"
            if scope == OVERALL:
                style = {"color": "black", "linewidth": 2.6, "zorder": 3}
            else:
                # dash patterns keep sites with the same curve apart: the later one no longer hides the first
                style = {"color": colours(site_number % 10), "linewidth": 1.4, "alpha": 0.9,
                         "linestyle": SITE_LINE_STYLES[site_number % len(SITE_LINE_STYLES)]}
                site_number += 1
            axes.step(curve["interview_index"], curve["cumulative_codes"], where="post",
                      label=label, **style)
            axes.plot(curve["interview_index"], curve["cumulative_codes"], "o",
                      markersize=3, color=style["color"])
        axes.set_xlabel("Interviews (in date order)")
        axes.set_ylabel("Distinct codes seen")
        axes.set_title("Code saturation: cumulative codes per additional interview")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_ylim(bottom=0)
        axes.grid(alpha=0.3)
        axes.legend(loc="lower right", fontsize=8, frameon=True)
    figure.tight_layout()
    with atomic_path(target) as tmp:
        figure.savefig(tmp, format="png")
    plt.close(figure)


def run_saturation(config: dict, root: Path) -> None:
    """Stage: saturation curves, summary and figure from the coded interviews.

    Parameters
    ----------
    config : dict
        Validated configuration (uses ``discover.include_suggested``,
        ``discover.saturation_window`` and ``sites``).
    root : Path
        The project folder. Reads ``documents.parquet``, ``segments.parquet``,
        ``decisions.parquet`` and ``coded_segments.parquet``; writes ``reports/tables/saturation.csv``,
        ``reports/tables/saturation_summary.csv`` and ``reports/figures/saturation.png``.
    """
    root = Path(root)
    settings = config.get("discover", {})
    documents = pd.read_parquet(root / paths.DOCUMENTS)
    coded = pd.read_parquet(root / paths.CODED_SEGMENTS)
    decisions = root / paths.DECISIONS   # absent before the first review import
    reviewed = fully_reviewed(
        pd.read_parquet(root / paths.SEGMENTS, columns=["segment_id", "document_id", "speaker_role"]),
        pd.read_parquet(decisions, columns=["segment_id", "orphaned"]) if decisions.is_file()
        else pd.DataFrame({"segment_id": [], "orphaned": []}))
    table = saturation_table(documents, coded, settings.get("include_suggested", True),
                             config.get("sites", {}), reviewed)
    summary = saturation_summary(table, settings.get("saturation_window", 3))
    # Everything under reports/ is pseudonymised: a site that is an identifying term too.
    clean = Pseudonymiser.from_project(config, root)
    write_csv(root / paths.SATURATION_CSV, clean.apply_frame(table))
    write_csv(root / paths.SATURATION_SUMMARY_CSV, clean.apply_frame(summary))
    sites = config.get("sites") or {}
    labels = {scope: clean.apply(sites.get(scope, scope)) for scope in set(table.get("scope", []))}
    plot_saturation(table, summary, root / paths.SATURATION_FIGURE, labels)
    overall = saturation_statement(summary, OVERALL)
    log.info("Saturation over %d scope(s); overall: %s", len(summary), overall)
