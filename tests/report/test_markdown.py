"""The Markdown summaries are valid Markdown and never name a participant."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from markdown_it import MarkdownIt

from pipeline import paths
from pipeline.config import validate_config
from pipeline.cooccurrence import run_cooccurrence
from pipeline.report import read_tables, run_report, suggestion_note
from pipeline.report.markdown import ReportData, md_inline, md_table, render_summary
from pipeline.saturation import run_saturation
from pipeline.triangulate import number_word, run_triangulate
from synthetic_project import NAMES, make_project


@pytest.fixture(scope="module")
def reported(tmp_path_factory) -> Path:
    root, config = make_project(tmp_path_factory.mktemp("synthetic") / "project")
    documents = pd.read_parquet(root / paths.DOCUMENTS)
    documents.assign(date=["2025-01-%02d" % (i + 1) for i in range(len(documents))]).to_parquet(
        root / paths.DOCUMENTS, index=False)
    run_saturation(config, root)
    run_cooccurrence(config, root)
    run_triangulate(config, root)
    run_report(config, root)
    return root


def check_markdown(text: str) -> list[str]:
    """Problems with a Markdown document: heading levels, tables, stray pipes."""
    problems = []
    parser = MarkdownIt("commonmark").enable("table")
    tokens = parser.parse(text)
    levels = [int(t.tag[1]) for t in tokens if t.type == "heading_open"]
    if not levels or levels[0] != 1:
        problems.append("the document must start with one level-1 heading")
    if levels.count(1) != 1:
        problems.append(f"{levels.count(1)} level-1 headings")
    for before, after in zip(levels, levels[1:]):
        if after > before + 1:
            problems.append(f"heading level jumps from {before} to {after}")
    # every pipe-table-looking block must parse as a table with the right number of cells
    lines = text.splitlines()
    table_lines = [i for i, line in enumerate(lines) if line.startswith("|")]
    tables = [t for t in tokens if t.type == "table_open"]
    blocks = sum(1 for i in table_lines if i == 0 or not lines[i - 1].startswith("|"))
    if blocks != len(tables):
        problems.append(f"{blocks} pipe blocks but {len(tables)} parsed tables")
    for i in table_lines:
        cells = len(re.split(r"(?<!\\)\|", lines[i].strip())) - 2
        header_start = i
        while header_start > 0 and lines[header_start - 1].startswith("|"):
            header_start -= 1
        expected = len(re.split(r"(?<!\\)\|", lines[header_start].strip())) - 2
        if cells != expected:
            problems.append(f"line {i + 1}: {cells} cells, header has {expected}")
    for number, line in enumerate(lines, start=1):
        if re.search(r"\{\{|\{%|\}\}|%\}", line):
            problems.append(f"line {number}: template syntax left in the text")
        if re.search(r"(?<![\w-])(nan|None|NaN|<NA>)(?![\w-])", line):
            problems.append(f"line {number}: a missing value is printed")
        if re.fullmatch(r"\s*[-*]\s*", line):
            problems.append(f"line {number}: empty list item")
        if line.startswith("- ") and i_before_is_text(lines, number - 1):
            problems.append(f"line {number}: a list must follow a blank line")
        if line.startswith("#") and number > 1 and lines[number - 2].strip():
            problems.append(f"line {number}: a heading must follow a blank line")
    for i, token in enumerate(tokens):
        if token.type == "thead_open":
            separator = lines[token.map[0] + 1] if token.map else ""
            if not re.match(r"^\|( ?:?-{3,}:? ?\|)+$", separator):
                problems.append(f"table at line {token.map[0] + 1} has no header separator row")
    return problems


def i_before_is_text(lines: list[str], index: int) -> bool:
    """Whether the line before ``lines[index]`` is paragraph text (not blank, not a list item)."""
    return index > 0 and bool(lines[index - 1].strip()) and not lines[index - 1].startswith("- ")


def test_validator_catches_problems():
    assert check_markdown("# A\n\n### C\n")
    assert check_markdown("# A\n\nRaised in {{ where }}.\n")
    assert check_markdown("# A\n\nRaised by nan sources.\n")
    assert check_markdown("# A\n\nCodes:\n- one\n")
    assert check_markdown("# A\n\n- \n")
    assert check_markdown("# A\n\nText.\n## B\n")
    assert check_markdown("## A\n")
    assert check_markdown("# A\n\n| a | b |\n| --- | --- |\n| 1 | 2 | 3 |\n")
    assert not check_markdown("# A\n\n## B\n\n| a | b |\n| :--- | ---: |\n| x\\|y | 2 |\n")


def test_md_helpers_escape_pipes_and_emphasis():
    assert md_inline("a|b *c*\nd") == "a\\|b \\*c\\* d"
    table = md_table([["x|y", 1.5]], ["A", "B"], ["l", "r"])
    assert table.splitlines()[1] == "| :--- | ---: |"
    assert "x\\|y" in table
    # labels from a codebook or config cannot make links or lists
    tokens = MarkdownIt().parse("- " + md_inline("- [capacity](http://x) 2. Southby]"))
    assert [t.type for t in tokens].count("bullet_list_open") == 1
    assert not any(child.type == "link_open" for token in tokens for child in (token.children or []))
    assert md_inline("2) funding") == "2\\) funding"


def test_summary_and_site_pages_are_valid_markdown(reported):
    files = [reported / paths.SUMMARY_MD, *sorted((reported / paths.SITES_DIR).glob("*.md"))]
    assert {f.stem for f in files[1:]} == {"north", "south", "east", "funder"}
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert check_markdown(text) == [], path.name


def test_summary_content(reported):
    text = (reported / paths.SUMMARY_MD).read_text(encoding="utf-8")
    assert "all three partnerships" in text and "two of the three partnerships" in text
    assert "Relationships \\| trust" in text                      # escaped pipe from a codebook label
    assert "](figures/heatmap_theme_site.png)" in text
    assert "](sites/north.md)" in text
    assert "— Voluntary sector partner, interview, wave 1" in text   # no role (report.quote_roles)
    site = (reported / paths.SITES_DIR / "east.md").read_text(encoding="utf-8")
    assert "](../figures/heatmap_theme_site.png)" in site
    assert "Legacy: 3 of 3 sources here" in site
    funder = (reported / paths.SITES_DIR / "funder.md").read_text(encoding="utf-8")
    assert "programme's own organisations" in funder
    assert "## How The Foundation compares with the partnerships" in funder
    listed = text.split("\n## Partnerships\n", 1)[1]
    assert listed.index("](sites/east.md)") < listed.index("The programme's own organisations:") < listed.index(
        "](sites/funder.md)")


def test_site_page_counts_the_sources_at_the_site(reported):
    segments = pd.read_parquet(reported / paths.SEGMENTS)
    people = segments[(segments["speaker_role"] != "interviewer") & (segments["source_id"] != "")]
    per_site = people.groupby("site")["source_id"].nunique()
    assert per_site["north"] > 1
    for site, n in per_site.items():
        page = (reported / paths.SITES_DIR / f"{site}.md").read_text(encoding="utf-8")
        assert re.search(r"It draws on (\w+) sources?\.", page).group(1) == number_word(n), site


def test_code_level_findings(reported):
    text = (reported / paths.SUMMARY_MD).read_text(encoding="utf-8")
    # per theme, its codes with where they were raised, sources, evidence and the sector reading
    resources = text.split("### Resources and capacity", 1)[1].split("\n### ", 1)[0]
    assert "| Code | Where it was raised | Sources | Evidence | Sectors (" in resources
    # the funder's source is among the six, so the programme's own organisations are named with the sites
    assert "| Funding | all three partnerships and the programme's own organisations | 6 | strong | " in resources
    assert "| Staff capacity | one of the three partnerships: Northam | 1 | limited |" in resources
    differ = text.split("## Where partnerships differ", 1)[1].split("\n## ", 1)[0]
    assert ("Trust (Relationships \\| trust): raised in two of the three partnerships: Northam and Southby "
            "(three sources).") in differ
    assert "Sustainability (Legacy): raised in one of the three partnerships: Eastwick" in differ
    assert "Codes raised in all three partnerships, with none standing out (sources in brackets): Funding (6)." in differ
    east = (reported / paths.SITES_DIR / "east.md").read_text(encoding="utf-8")
    contrasts = east.split("## How Eastwick differs", 1)[1].split("\n## ", 1)[0]
    assert "Codes raised by a notably larger share of sources here than in the other partnerships:" in contrasts
    assert "- Sustainability (Legacy): 3 of 3 sources here (100%) against 0% of the other partnerships' sources (0 of 7; p = 0.008)" in contrasts
    assert "Codes raised here: Sustainability (three sources, strong)." in east
    assert (reported / paths.TRIANGULATION_CODES_CSV).is_file() and (reported / paths.SITE_DIFFERENCES_CODES_CSV).is_file()


def test_the_programme_organisations_are_named_beside_the_sites_they_add_sources_to(reported):
    tables = read_tables(reported)
    config = yaml.safe_load((reported / "config.yaml").read_text(encoding="utf-8"))
    data = ReportData(tables, pd.DataFrame(), config, {})
    codes = data.code_tri[data.code_tri["scope"] == "programme"].set_index("code_id", drop=False)
    trust = next(codes.loc[["rel_trust"]].itertuples())
    assert data.code_where(trust) == "two of the three partnerships: Northam and Southby"
    matrix = tables["matrix_code_site"]
    matrix.loc[(matrix["code_id"] == "rel_trust") & (matrix["site"] == "funder"), "sources"] = 1
    assert data.code_where(trust) == ("two of the three partnerships: Northam and Southby, "
                                      "and the programme's own organisations")


FIGURES = {"theme_site": "figures/theme_site.png", "theme_sector": "figures/theme_sector.png"}


def test_the_summary_says_whether_unreviewed_suggestions_are_counted(reported):
    tables = read_tables(reported)
    config = yaml.safe_load((reported / "config.yaml").read_text(encoding="utf-8"))
    summary = render_summary(ReportData(tables, pd.DataFrame(), config, FIGURES))
    assert "Some counts include code suggestions that an analyst has not yet reviewed" in summary
    assert "| Of which unreviewed |" in summary
    for name in tables:
        if name.startswith("matrix_"):
            tables[name]["suggested_segments"] = 0
    summary = render_summary(ReportData(tables, pd.DataFrame(), config, FIGURES))
    assert "Some counts include" not in summary and "Of which unreviewed" not in summary
    assert "Every count rests on coding an analyst has reviewed." in summary
    assert suggestion_note(config, 0).startswith("Every count rests on coding an analyst has reviewed")
    assert suggestion_note(config, 3).startswith("Counts include code suggestions that no analyst has reviewed")


def test_a_code_raised_everywhere_but_notably_less_in_one_site_is_not_even(reported):
    tables = read_tables(reported)
    config = yaml.safe_load((reported / "config.yaml").read_text(encoding="utf-8"))
    even = ReportData(tables, pd.DataFrame(), config, {}).site_code_contrasts()
    assert even["everywhere"] == ["Funding (6)"] and even["uneven"] == []
    diff = tables["site_differences_codes"]
    funding_east = (diff["code_id"] == "res_funding") & (diff["site"] == "east")
    assert funding_east.sum() == 1
    diff.loc[funding_east, ["comparison", "site_sources", "site_total", "site_percent", "other_percent"]] = [
        "less prevalent", 1, 3, 33.3, 85.7]
    contrasts = ReportData(tables, pd.DataFrame(), config, {}).site_code_contrasts()
    assert contrasts["everywhere"] == []
    assert contrasts["uneven"] == [
        "Funding (Resources and capacity): raised notably less often in Eastwick (1 of its 3 sources, 33%, "
        "against 86% in the other partnerships)."]


def test_a_programme_organisation_is_compared_with_the_partnerships_not_the_other_ones(reported):
    funder = (reported / paths.SITES_DIR / "funder.md").read_text(encoding="utf-8")
    section = funder.split("## How The Foundation compares with the partnerships", 1)[1].split("\n## ", 1)[0]
    assert "other partnerships" not in section and "the partnerships" in section
    assert "not tests of the organisation as a whole" in section
    assert "differs from the share elsewhere by at least 25 percentage points" in section
    north = (reported / paths.SITES_DIR / "north.md").read_text(encoding="utf-8")
    assert "not tests of the partnership as a whole" in north


def test_a_configured_site_without_fieldwork_is_named(reported):
    tables = read_tables(reported)
    config = yaml.safe_load((reported / "config.yaml").read_text(encoding="utf-8"))
    methods = pd.DataFrame({"site": ["north"], "method": ["interview"], "wave": ["1"], "count": [3]})
    assert ReportData(tables, methods, config, {}).fieldwork_sentence() == "The evidence comes from three interviews."
    more = pd.DataFrame({"site": "north", "method": ["interview", "workshop"], "wave": "1", "count": [40, 6]})
    assert ReportData(tables, more, config, {}).fieldwork_sentence() == \
        "The evidence comes from 40 interviews and 6 workshops."   # not "40 interviews and six workshops"
    config["sites"] = {**config["sites"], "west": "Westmere"}
    sentence = ReportData(tables, methods, config, {}).fieldwork_sentence()
    assert sentence.endswith("No fieldwork has been read yet from Westmere, listed among the partnerships in "
                             "config.yaml, so it is not counted here.")


def test_theme_wording_when_few_themes_have_evidence(reported):
    tables = read_tables(reported)
    config = yaml.safe_load((reported / "config.yaml").read_text(encoding="utf-8"))
    tri = tables["triangulation"]
    programme = tri["scope"] == "programme"
    legacy = programme & (tri["theme_id"] == "legacy")
    # only the programme's own organisation raised Legacy
    tri.loc[legacy, ["sources", "sites_with_theme", "prevalence"]] = [1, 0, "no partnerships"]
    data = ReportData(tables, pd.DataFrame(), config, {})
    assert "| Legacy | only the programme's own organisations | 1 |" in data.theme_table()
    row = next(data.programme[data.programme["theme_id"] == "legacy"].itertuples())
    assert "in only the programme's own organisations" in data.theme_paragraph(row)
    tri.loc[programme & ~legacy, "sources"] = 0
    assert ReportData(tables, pd.DataFrame(), config, {}).themes_everywhere_sentence().startswith(
        "The one theme with any evidence was not raised in every partnership.")
    tri.loc[programme, "sources"] = 0
    assert ReportData(tables, pd.DataFrame(), config, {}).themes_everywhere_sentence() == (
        "No theme has any evidence yet.")


def test_two_themes_read_both_or_neither(reported):
    tables = read_tables(reported)
    config = yaml.safe_load((reported / "config.yaml").read_text(encoding="utf-8"))
    tri = tables["triangulation"]
    programme = tri["scope"] == "programme"
    tri.loc[programme & (tri["theme_id"] == "legacy"), "sources"] = 0
    tri.loc[programme, "sites_with_theme"] = 3
    assert ReportData(tables, pd.DataFrame(), config, {}).themes_everywhere_sentence().startswith(
        "Both themes with any evidence were raised in every partnership.")
    tri.loc[programme, "sites_with_theme"] = 1
    assert ReportData(tables, pd.DataFrame(), config, {}).themes_everywhere_sentence().startswith(
        "Neither of the two themes with any evidence was raised in every partnership.")


def test_a_one_site_evaluation_is_not_compared_with_other_sites(tmp_path):
    """With one partnership (and the programme's own organisation) there are no other
    partnerships: no 'Where partnerships differ', no 'differs from the other partnerships'."""
    root, _ = make_project(tmp_path / "project")
    for table in (paths.SEGMENTS, paths.DOCUMENTS, paths.CODED_SEGMENTS):
        frame = pd.read_parquet(root / table)
        frame[frame["site"].isin(["north", "funder"])].assign(date="").to_parquet(root / table, index=False)
    config = yaml.safe_load((root / "config.yaml").read_text(encoding="utf-8"))
    config["sites"] = {"north": "Northam", "funder": "The Foundation"}
    config = validate_config(config)
    for stage in (run_saturation, run_triangulate, run_report):
        stage(config, root)
    summary = (root / paths.SUMMARY_MD).read_text(encoding="utf-8")
    site = (root / paths.SITES_DIR / "north.md").read_text(encoding="utf-8")
    funder = (root / paths.SITES_DIR / "funder.md").read_text(encoding="utf-8")
    assert "evidence from one partnership and the programme's own organisations" in summary
    assert "Where partnerships differ" not in summary and "one or two partnerships" not in summary
    assert "Taken one partnership at a time" not in summary
    assert "Northam, the partnership in the Test Programme evaluation" in site
    assert "other partnerships" not in site and "Across the programme" not in site
    assert "## How The Foundation compares with the partnership\n" in funder


def test_a_site_that_is_an_identifying_term_keeps_its_page_whole(tmp_path):
    root, _ = make_project(tmp_path / "project")
    documents = pd.read_parquet(root / paths.DOCUMENTS)
    documents.assign(date="2025-01-01").to_parquet(root / paths.DOCUMENTS, index=False)
    config = yaml.safe_load((root / "config.yaml").read_text(encoding="utf-8"))
    config["privacy"]["identifying_terms"].update({"Eastwick": "[a coastal town]", "east": "[a coastal town]"})
    config = validate_config(config)
    for stage in (run_saturation, run_triangulate, run_report):
        stage(config, root)
    for path in (paths.METHODS_CSV, paths.METHODS_WIDE_CSV, paths.SATURATION_SUMMARY_CSV):
        text = (root / path).read_text(encoding="utf-8-sig")
        assert "east" not in text.lower() and "[a coastal town]" in text, path
    page = (root / paths.SITES_DIR / "a_coastal_town.md").read_text(encoding="utf-8")
    fieldwork = page.split("## Fieldwork", 1)[1].split("\n## ", 1)[0]
    assert "| Wave 2 | 2 | 1 | 3 |" in fieldwork   # two interviews and a workshop
    assert "cannot be judged" not in fieldwork


def test_sector_table_writes_small_p_values_as_the_text_does(reported):
    tables = read_tables(reported)
    config = yaml.safe_load((reported / "config.yaml").read_text(encoding="utf-8"))
    tri = tables["triangulation"]
    tri.loc[(tri["scope"] == "programme") & (tri["theme_id"] == "legacy"), "fisher_p"] = 0.0002
    table = ReportData(tables, pd.DataFrame(), config, {}).divergence_table()
    legacy = next(line for line in table.splitlines() if line.startswith("| Legacy "))
    assert "| < 0.001 |" in legacy and "0.000" not in legacy   # "<" before a space opens no HTML


def test_site_fieldwork_table_orders_waves_numerically_and_names_named_waves(reported):
    config = yaml.safe_load((reported / "config.yaml").read_text(encoding="utf-8"))
    methods = pd.DataFrame({"site": "north", "method": "interview", "wave": ["10", "2", "baseline", "BSL cohort"],
                            "count": [1, 2, 3, 4]})
    table = ReportData(read_tables(reported), methods, config, {}).methods_table("north")
    assert [line.split(" | ")[0] for line in table.splitlines()[2:]] == \
        ["| Wave 2", "| Wave 10", "| Baseline", "| BSL cohort"]


def test_saturation_and_cooccurrence_in_the_summaries(reported):
    text = (reported / paths.SUMMARY_MD).read_text(encoding="utf-8")
    assert ("\n\n**Code saturation.** 1 new code emerged in the last 3 of 8 interviews (most recently in "
            "interview 6): saturation not reached.") in text
    assert "saturation was reached in none of the three partnerships" in text
    assert "](figures/saturation.png)" in text and "](figures/theme_network.png)" in text
    codes_together = text.split("## Codes that occur together", 1)[1].split("\n## ", 1)[0]
    assert "| Code | Found with | Documents with both |" in codes_together
    assert "Sustainability" in codes_together and "Funding" in codes_together  # e2: one workshop, both codes
    site = (reported / paths.SITES_DIR / "east.md").read_text(encoding="utf-8")
    assert "**Code saturation.** Only 2 coded interviews" in site
    assert "](../figures/saturation.png)" in site
    from openpyxl import load_workbook

    assert len(load_workbook(reported / paths.EVALUATION_WORKBOOK)["Figures"]._images) == 4


def test_figures_written(reported):
    for path in (paths.HEATMAP_THEME_SITE, paths.HEATMAP_THEME_SECTOR):
        assert (reported / path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _all_report_text(root: Path) -> dict[str, str]:
    from openpyxl import load_workbook

    texts = {}
    for path in (root / paths.REPORTS).rglob("*"):
        if path.suffix in (".md", ".csv"):
            texts[str(path)] = path.read_text(encoding="utf-8-sig")
        elif path.suffix == ".xlsx":
            workbook = load_workbook(path)
            texts[str(path)] = "\n".join(str(c.value) for ws in workbook for row in ws.iter_rows()
                                         for c in row if c.value is not None)
    return texts


def test_no_register_name_anywhere_under_reports(reported):
    texts = _all_report_text(reported)
    assert any(p.endswith("evaluation_tables.xlsx") for p in texts)
    words = {w for name in NAMES for w in re.split(r"[\s-]+", name)}
    for path, text in texts.items():
        for word in words:
            assert not re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text, re.IGNORECASE), (path, word)
    # identifying terms are replaced too
    assert all("Marram Road" not in text for text in texts.values())


def test_anonymisation_log_only_in_processed(reported):
    assert (reported / paths.ANONYMISATION_LOG).is_file()
    assert not list((reported / paths.REPORTS).rglob("*anonymisation*"))
    log = pd.read_csv(reported / paths.ANONYMISATION_LOG, encoding="utf-8-sig")
    assert "Priya Chaudhry" in set(log["real"])


@pytest.mark.slow
def test_example_reports_name_no_participant(example_run):
    """On the shipped example, nothing the triangulate and report stages write names anyone in the register."""
    from pipeline.anonymise import COMMON_WORD_NAMES, read_register_people

    people = read_register_people(example_run / paths.PARTICIPANTS)
    assert people
    ours = [paths.SUMMARY_MD, paths.SITES_DIR, paths.EVALUATION_WORKBOOK, paths.POSSIBLE_IDENTIFIERS,
            *paths.TRIANGULATION_CSVS.values()]
    texts = {p: t for p, t in _all_report_text(example_run).items()
             if any(p.startswith(str(example_run / o)) for o in ours)}
    assert any(p.endswith("summary.md") for p in texts) and len(texts) >= 20
    for person in people:
        for word in person.name.split():
            flags = 0 if word.lower() in COMMON_WORD_NAMES else re.IGNORECASE
            pattern = re.compile(rf"(?<![\w-]){re.escape(word)}(?![\w-])", flags)
            for path, text in texts.items():
                assert not pattern.search(text), (path, word)


@pytest.mark.parametrize("alpha, expected", [
    (0.05, "with five codes compared, one such difference can still arise by chance,"),
    (0.5, "with five codes compared, about three such differences can be expected by chance alone,"),
])
def test_site_page_says_how_many_code_differences_chance_alone_can_give(tmp_path, alpha, expected):
    """The caveat follows the number of codes and triangulate.divergence_alpha, not a fixed "one or two"."""
    root, _ = make_project(tmp_path / "project")
    config = yaml.safe_load((root / "config.yaml").read_text(encoding="utf-8"))
    config["triangulate"]["divergence_alpha"] = alpha
    config = validate_config(config)
    for stage in (run_triangulate, run_report):
        stage(config, root)
    page = (root / paths.SITES_DIR / "north.md").read_text(encoding="utf-8")
    assert expected in " ".join(page.split())


def test_a_project_with_no_participant_source_yet_still_reports(tmp_path):
    """Only interviewer turns so far (no source to count): the tables keep their columns
    and the summaries are written, instead of the report stage failing on a table
    without a 'comparison' column."""
    root, config = make_project(tmp_path / "project")
    for table in (paths.SEGMENTS, paths.CODED_SEGMENTS):
        frame = pd.read_parquet(root / table)
        frame.assign(speaker_role="interviewer").to_parquet(root / table, index=False)
    for stage in (run_triangulate, run_report):
        stage(config, root)
    tables = read_tables(root)
    assert tables["site_differences_codes"].empty and "comparison" in tables["site_differences_codes"]
    assert tables["framework_matrix"].empty and "segment_ids" in tables["framework_matrix"]
    summary = (root / paths.SUMMARY_MD).read_text(encoding="utf-8")
    assert "No evidence has yet been coded for: Legacy, Relationships" in summary


def test_code_level_sector_differences_carry_the_chance_caveat(reported):
    """Codes 'raised mainly by' a sector group come from a test repeated over every code,
    so the summary says how many such differences chance alone can give, as for sites."""
    from pipeline.report.markdown import render_summary

    tables = read_tables(reported)
    config = yaml.safe_load((reported / "config.yaml").read_text(encoding="utf-8"))
    codes = tables["triangulation_codes"]
    funding = (codes["scope"] == "programme") & (codes["code_id"] == "res_funding")
    codes.loc[funding, ["sector_verdict", "fisher_p"]] = ["raised mainly by voluntary sector partners", 0.01]
    compared = int(codes.loc[codes["scope"] == "programme", "fisher_p"].notna().sum())
    figures = {"theme_site": "figures/a.png", "theme_sector": "figures/b.png"}
    summary = " ".join(render_summary(ReportData(tables, pd.DataFrame(), config, figures)).split())
    assert "- Funding (Resources and capacity): raised mainly by voluntary sector partners" in summary
    assert (f"With {number_word(compared)} codes compared, one such difference can still arise by chance, so "
            "read them as leads") in summary


def test_changes_between_waves_in_the_summary_and_site_pages(reported):
    text = (reported / paths.SUMMARY_MD).read_text(encoding="utf-8")
    section = text.split("## Changes between waves\n", 1)[1].split("\n## ", 1)[0].strip()
    assert section.startswith("Wave 1 brought five interviews and one survey response; wave 2 brought three "
                              "interviews, one survey response and one workshop. The waves drew on the methods in different "
                              "proportions")
    assert "| Legacy | 0 of 6 (0%) | 3 of 5 (60%) | +60 | 0.061 | first raised in wave 2 |" in section
    assert "Codes first raised in wave 2:\n\n- Sustainability (Legacy): 3 of 5 wave 2 sources" in section
    assert "Codes raised in wave 1 but not in wave 2" not in section   # none by two or more sources
    assert "**Changes between waves** compare the share of each wave's sources" in text
    # Eastwick's fieldwork is all from wave 2, The Foundation's all from wave 1
    east = (reported / paths.SITES_DIR / "east.md").read_text(encoding="utf-8")
    assert "There is no wave 1 fieldwork from here to compare wave 2 with." in east
    funder = (reported / paths.SITES_DIR / "funder.md").read_text(encoding="utf-8")
    assert "No wave 2 fieldwork has been read yet from here." in funder
    north = (reported / paths.SITES_DIR / "north.md").read_text(encoding="utf-8")
    assert "These lists compare the 3 wave 1 sources here with the 1 of wave 2" in north


def test_notable_changes_between_waves_are_listed_with_the_chance_caveat(reported):
    tables = read_tables(reported)
    config = yaml.safe_load((reported / "config.yaml").read_text(encoding="utf-8"))
    codes = tables["wave_differences_codes"]
    funding = (codes["scope"] == "programme") & (codes["code_id"] == "res_funding")
    codes.loc[funding, ["from_sources", "from_total", "from_percent", "to_sources", "to_total", "to_percent",
                        "fisher_p", "comparison"]] = [12, 20, 60.0, 2, 20, 10.0, 0.002, "less prevalent"]
    lines = ReportData(tables, pd.DataFrame(), config, {}).wave_code_lines()
    assert lines["less"] == ["Funding (Resources and capacity): 12 of 20 wave 1 sources (60%) against "
                             "2 of 20 (10%), p = 0.002"]
    assert lines["more"] == [] and lines["chance"].startswith("With four codes compared")


def test_one_wave_has_no_comparison_between_waves(tmp_path):
    root, _ = make_project(tmp_path / "project")
    for table in (paths.SEGMENTS, paths.DOCUMENTS, paths.CODED_SEGMENTS):
        frame = pd.read_parquet(root / table)
        frame.assign(wave="1").to_parquet(root / table, index=False)
    config = validate_config(yaml.safe_load((root / "config.yaml").read_text(encoding="utf-8")))
    for stage in (run_triangulate, run_report):
        stage(config, root)
    assert pd.read_csv(root / paths.TABLES / "wave_differences.csv").empty
    texts = [p.read_text(encoding="utf-8") for p in [root / paths.SUMMARY_MD, *(root / paths.SITES_DIR).glob("*.md")]]
    assert not any("Changes between waves" in t for t in texts)


def test_fieldwork_without_a_site_is_shown_as_not_given(reported):
    """A survey response whose site question was left blank is in the fieldwork, in no site."""
    tables = read_tables(reported)
    config = yaml.safe_load((reported / "config.yaml").read_text(encoding="utf-8"))
    methods = pd.DataFrame({"site": ["north", ""], "method": ["survey", "survey"], "wave": ["1", "1"],
                            "count": [3, 2]})
    table = ReportData(tables, methods, config, {}).methods_table()
    assert "| Northam | 3 | 3 |" in table and "| Not given | 2 | 2 |" in table and "| Total | 5 | 5 |" in table


def test_named_waves_say_what_their_order_rests_on(reported):
    tables = read_tables(reported)
    config = yaml.safe_load((reported / "config.yaml").read_text(encoding="utf-8"))
    methods = pd.read_csv(reported / paths.METHODS_CSV, dtype=str)
    tables["wave_differences"]["wave_order"] = "dates"
    intro = ReportData(tables, methods, config, {}).wave_intro()
    assert "so they are compared in the order of their first fieldwork: Wave 1 then Wave 2." in intro
    tables["wave_differences"]["wave_order"] = "names"
    intro = ReportData(tables, methods, config, {}).wave_intro()
    assert "compared in alphabetical order: Wave 1 then Wave 2. If that is not the order" in intro
