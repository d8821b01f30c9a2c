"""New fieldwork changes the summaries that depend on it, and only those.

One new interview at one site (with its coded segments) is added to a
synthetic project between two runs of the triangulate and report stages. The
site's page must change; every other site's evidence sections (fieldwork,
themes, quotes) must stay byte-for-byte the same. Only each page's comparison
with the other sites may move, because the other sites' denominators changed.
The Snakemake version of this check (one new file re-runs only what depends on
it) belongs to the integration tests.
"""

from __future__ import annotations

import re
from pathlib import Path

from pipeline import paths
from pipeline.report import run_report
from pipeline.triangulate import run_triangulate
from synthetic_project import make_project


def run(root: Path, **options) -> dict[str, str]:
    root, config = make_project(root, **options)
    run_triangulate(config, root)
    run_report(config, root)
    pages = {p.stem: p.read_text(encoding="utf-8") for p in (root / paths.SITES_DIR).glob("*.md")}
    pages["summary"] = (root / paths.SUMMARY_MD).read_text(encoding="utf-8")
    return pages


def sections(page: str) -> dict[str, str]:
    """The page split at its level-2 headings."""
    parts = re.split(r"^## (.+)$", page, flags=re.M)
    return {"(top)": parts[0], **{parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}}


def test_new_interview_changes_only_its_site(tmp_path):
    root = tmp_path / "project"
    before = run(root)
    after = run(root, extra_interview=True)

    assert after["south"] != before["south"]
    assert "commissioning team is stretched" in after["south"]
    assert "commissioning team is stretched" not in before["south"]
    assert sections(after["south"])["Themes"] != sections(before["south"])["Themes"]
    assert after["summary"] != before["summary"]

    for site in ("north", "east", "funder"):
        old, new = sections(before[site]), sections(after[site])
        assert set(old) == set(new), site
        for heading in old:
            if heading.startswith("How "):
                continue  # compares with the other sites, whose evidence changed
            assert new[heading] == old[heading], (site, heading)


def test_rerun_without_new_fieldwork_changes_nothing(tmp_path):
    root = tmp_path / "project"
    assert run(root) == run(root)
