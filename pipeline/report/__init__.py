"""Stage ``report``: the evaluation workbook, Markdown summaries and figures.

Reads the triangulation tables (``data/processed/triangulation/*.parquet``,
already pseudonymised), ``data/processed/documents.parquet`` and, when present,
``reports/tables/agreement.csv``, and writes:

* ``reports/tables/methods.csv`` and ``methods_wide.csv``, the fieldwork counts
  (:mod:`pipeline.methods`), pseudonymised like the rest (a site can be an
  identifying term);

* ``reports/evaluation_tables.xlsx`` (:mod:`pipeline.report.workbook`);
* ``reports/summary.md`` and ``reports/sites/<site>.md`` (:mod:`pipeline.report.markdown`),
  which also state code saturation (``reports/tables/saturation_summary.csv``), show the
  saturation and theme-network figures and the codes most often found together
  (``reports/tables/cooccurrence.csv``) when those exist;
* ``reports/figures/heatmap_theme_site.png`` and ``heatmap_theme_sector.png``
  (:mod:`pipeline.report.figures`);
* ``data/processed/anonymisation_log.csv``: real names and terms → pseudonyms.
  This is personal data and is never written under ``reports/``.

Everything written under ``reports/`` passes through the pseudonymiser again
here, as a second line of defence.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from pipeline import paths
from pipeline.anonymise import Pseudonymiser
from pipeline.atomic import write_csv
from pipeline.errors import InputError
from pipeline.methods import methods_table
from pipeline.report.figures import source_heatmap
from pipeline.report.markdown import ReportData, write_markdown
from pipeline.report.workbook import Sheet, write_workbook
from pipeline.tables import read_optional_csv
from pipeline.triangulate import TABLE_NAMES, table_csv, table_parquet, upper_first

log = logging.getLogger(__name__)

SATURATION_CAPTION = "Code saturation: distinct codes seen after each additional interview"
THEME_NETWORK_CAPTION = "Themes that occur in the same documents"

MATRIX_DESCRIPTIONS = {
    "site": "site (programme organisations listed after the sites)",
    "sector": "stakeholder sector (sources without a sector, such as most observation and workshop "
              "sessions, are not in this table, so its rows need not add up to the programme's totals)",
    "method": "fieldwork method",
    "wave": "fieldwork wave",
}


def read_tables(root: Path) -> dict[str, pd.DataFrame]:
    """The triangulation tables written by the triangulate stage.

    Raises
    ------
    InputError
        If any is missing (naming the stage to run).
    """
    tables = {}
    for name in TABLE_NAMES:
        path = Path(root) / table_parquet(name)
        if not path.is_file():
            raise InputError("triangulation table not found", file=path, hint="run the triangulate stage first")
        tables[name] = pd.read_parquet(path)
    return tables


def _numeric(frame: pd.DataFrame, columns) -> pd.DataFrame:
    frame = frame.copy()
    for column in columns:
        if column in frame:
            frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame


def suggestion_note(config: dict, unreviewed: int) -> str:
    """What the tables say about unreviewed code suggestions.

    Examples
    --------
    >>> suggestion_note({}, 0)
    'Every count rests on coding an analyst has reviewed (accepted or changed); no unreviewed suggestion is counted.'
    """
    if not config.get("triangulate", {}).get("include_suggested", True):
        return ("Only reviewed codes (accepted or changed) are counted; unreviewed suggestions are "
                "excluded (triangulate.include_suggested: false).")
    if not unreviewed:
        return ("Every count rests on coding an analyst has reviewed (accepted or changed); "
                "no unreviewed suggestion is counted.")
    return ("Counts include code suggestions that no analyst has reviewed yet "
            "(triangulate.include_suggested: true); the suggested_segments and "
            "suggested_only_sources columns show how much of each count comes from them.")


def methods_display(methods: pd.DataFrame, config: dict) -> pd.DataFrame:
    """``methods.csv`` as people read it: site display labels (config ``sites:``) and plain headers.

    Examples
    --------
    >>> shown = methods_display(pd.DataFrame({"site": ["q", ""], "method": ["interview", "survey"],
    ...                                       "wave": ["1", "1"], "count": ["4", "2"]}), {"sites": {"q": "Quillmere"}})
    >>> shown.columns.tolist(), shown["Site"].tolist()
    (['Site', 'Method', 'Wave', 'Documents'], ['Quillmere', 'not given'])
    """
    noun = config.get("project", {}).get("site_noun", "site")
    sites = config.get("sites", {})
    frame = _numeric(methods, ["count"])
    frame = frame.assign(site=frame["site"].map(lambda key: sites.get(key, key) or "not given"),
                         method=frame["method"].map(lambda m: upper_first(str(m))))
    return frame.rename(columns={"site": upper_first(noun), "method": "Method", "wave": "Wave",
                                 "count": "Documents"})


def table_sheets(tables: dict, methods: pd.DataFrame, agreement: pd.DataFrame, note: str,
                 config: dict | None = None) -> list[Sheet]:
    """The workbook's table sheets, in order, each paired with its CSV."""
    config = config or {}
    noun = config.get("project", {}).get("site_noun", "site")
    sheets = []
    if not methods.empty:
        sheets.append(Sheet("Methods", methods_display(methods, config),
                            f"Fieldwork documents by {noun}, method and wave (the CSV has the {noun} keys).",
                            paths.METHODS_CSV))
    for level in ("theme", "code"):
        for dimension, description in MATRIX_DESCRIPTIONS.items():
            name = f"matrix_{level}_{dimension}"
            sheets.append(Sheet(
                f"{upper_first(level)} by {dimension}", tables[name],
                f"Each {level} by {description}: coded segments and distinct sources (a person, survey "
                f"response or session counts once), the share of that {dimension}'s sources, and how many "
                "come from unreviewed suggestions.", table_csv(name), note))
    sheets.append(Sheet("Triangulation", tables["triangulation"],
                        "Per theme (scope programme) and per theme and site: the methods, sectors and waves "
                        "behind it, the evidence strength, where it was raised and, programme-wide, the "
                        "comparison between sector groups (Fisher's exact test).", paths.TRIANGULATION_CSV,
                        note, wrap=["sector_verdict"]))
    sheets.append(Sheet("Site differences", tables["site_differences"],
                        "For each site and theme, the share of the site's sources raising it against the share "
                        "across the other sites.", table_csv("site_differences"), note))
    sheets.append(Sheet("Triangulation (codes)", tables["triangulation_codes"],
                        "The Triangulation table code by code: where each code was raised (sites_raising), "
                        "its evidence strength and, programme-wide, the sector comparison. Themes are raised "
                        "almost everywhere; the codes show where sites and sectors differ.",
                        table_csv("triangulation_codes"), note, wrap=["sector_verdict", "sites_raising"]))
    sheets.append(Sheet("Site differences (codes)", tables["site_differences_codes"],
                        "For each site and code, the share of the site's sources raising it against the share "
                        "across the other sites; a code is more or less prevalent when Fisher's exact test gives "
                        "p below triangulate.divergence_alpha (a screen: some differences arise by chance).",
                        table_csv("site_differences_codes"), note))
    if not tables["wave_differences"].empty:
        for level, name in (("theme", "wave_differences"), ("code", "wave_differences_codes")):
            sheets.append(Sheet(f"Wave changes{' (codes)' if level == 'code' else ''}", tables[name],
                                f"For each {level}, programme-wide and per site, the share of each wave's sources "
                                "raising it against the wave before; more or less prevalent when Fisher's exact "
                                "test gives p below triangulate.divergence_alpha, new when first raised in the "
                                "later wave, no fieldwork when a wave has no sources there.", table_csv(name)))
    sheets.append(Sheet("Quotes", tables["quotes"],
                        "Exemplar quotes per theme and per site and theme, most representative first, "
                        "pseudonymised and attributed by sector, role, method and wave; verbatim is false for "
                        "a passage of notes (the evaluator's account, not the participant's words).",
                        paths.QUOTES_CSV,
                        note, wrap=["quote"]))
    if not agreement.empty:
        sheets.append(Sheet("Agreement", _numeric(agreement, ["value", "n"]),
                            "How far the analysts agree with each other (on segments two or more coded) "
                            "and with the code suggestions; README, 'Several coders', explains each "
                            "measure. An empty value is undefined (e.g. kappa when every segment got the "
                            "same label), not zero.", paths.AGREEMENT_CSV))
    return sheets


def run_report(config: dict, root: Path) -> None:
    """Stage ``report``: write the workbook, summaries, figures and privacy checks.

    Parameters
    ----------
    config : dict
        Validated configuration.
    root : Path
        Project folder.
    """
    root = Path(root)
    pseudonymiser = Pseudonymiser.from_project(config, root)
    clean = pseudonymiser.apply
    tables = read_tables(root)
    methods, methods_wide = (pseudonymiser.apply_frame(table) for table in methods_table(
        pd.read_parquet(root / paths.DOCUMENTS), list(config.get("sites", {}))))
    write_csv(root / paths.METHODS_CSV, methods)
    write_csv(root / paths.METHODS_WIDE_CSV, methods_wide)
    agreement = read_optional_csv(root / paths.AGREEMENT_CSV)
    noun = config.get("project", {}).get("site_noun", "site")

    site_png = source_heatmap(tables["matrix_theme_site"], "site", root / paths.HEATMAP_THEME_SITE,
                              f"Distinct sources raising each theme, by {noun}", clean)
    sector_png = source_heatmap(tables["matrix_theme_sector"], "sector", root / paths.HEATMAP_THEME_SECTOR,
                                "Distinct sources raising each theme, by sector", clean)
    figures = {"theme_site": "figures/" + site_png.name, "theme_sector": "figures/" + sector_png.name}
    workbook_figures = [(f"Distinct sources raising each theme, by {noun}", site_png),
                        ("Distinct sources raising each theme, by sector", sector_png)]
    # Drawn by the saturation and cooccurrence stages; shown when they have run.
    for key, path, caption in (("saturation", paths.SATURATION_FIGURE, SATURATION_CAPTION),
                               ("theme_network", paths.THEME_NETWORK_FIGURE, THEME_NETWORK_CAPTION)):
        if (root / path).is_file():
            figures[key] = Path(path).relative_to(paths.REPORTS).as_posix()
            workbook_figures.append((caption, root / path))

    data = ReportData(tables, methods, config, figures,
                      saturation=read_optional_csv(root / paths.SATURATION_SUMMARY_CSV),
                      cooccurrence=read_optional_csv(root / paths.COOCCURRENCE_CSV))
    write_markdown(data, root, clean)
    note = suggestion_note(config, data.unreviewed)
    write_workbook(
        root / paths.EVALUATION_WORKBOOK,
        table_sheets(tables, methods, agreement, note, config),
        tables["framework_matrix"],
        workbook_figures,
        clean,
        config.get("project", {}).get("name", "Programme evaluation"),
        [note, "People are never named: anyone mentioned appears as a role in square brackets."],
    )
    pseudonymiser.write_log(root)
    log.info("Wrote the evaluation workbook, the programme summary and %d site page(s)", len(data.site_order))
