"""Participants' privacy across everything the full workflow writes under reports/.

tests/report/test_markdown.py checks the triangulate and report outputs; this
checks every file under reports/ (the review workbook, the
codebook exports, suggestions and conflicts included, xlsx read as their XML),
for every register name in any case and every configured identifying term.
"""

from __future__ import annotations

import html
import re
import zipfile
from pathlib import Path

import pytest
import yaml

from pipeline import paths


def report_texts(project: Path) -> dict[str, str]:
    texts = {}
    for path in sorted((project / paths.REPORTS).rglob("*")):
        if not path.is_file() or path.suffix == ".png" or path.name.startswith("."):
            continue
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as archive:
                text = " ".join(archive.read(n).decode("utf-8") for n in archive.namelist() if n.endswith(".xml"))
            texts[str(path.relative_to(project))] = html.unescape(text)
        else:
            texts[str(path.relative_to(project))] = path.read_text(encoding="utf-8")
    return texts


@pytest.mark.slow
def test_no_register_name_or_identifying_term_anywhere_under_reports(example_run):
    from pipeline.anonymise import COMMON_WORD_NAMES, read_register_people

    people = read_register_people(example_run / paths.PARTICIPANTS)
    terms = yaml.safe_load((example_run / "config.yaml").read_text(encoding="utf-8"))["privacy"]["identifying_terms"]
    assert people and terms
    texts = report_texts(example_run)
    for expected in (paths.REVIEW_WORKBOOK, paths.EVALUATION_WORKBOOK, paths.SUMMARY_MD,
                     paths.SUGGESTIONS_CSV, paths.POSSIBLE_IDENTIFIERS):
        assert expected in texts, expected
    words = {person.name for person in people} | {w for person in people for w in person.name.split()}
    hits = []
    for word in sorted(words):
        flags = 0 if word.lower() in COMMON_WORD_NAMES else re.IGNORECASE
        pattern = re.compile(rf"(?<![\w-]){re.escape(word)}(?![\w-])", flags)
        hits += [(path, word) for path, text in texts.items() if pattern.search(text)]
    for term in terms:
        pattern = re.compile(rf"(?<!\w){re.escape(term)}(?!\w)", re.IGNORECASE)
        hits += [(path, term) for path, text in texts.items() if pattern.search(text)]
    assert not hits


@pytest.mark.slow
def test_anonymisation_log_only_under_processed(example_run):
    logs = [p.relative_to(example_run).as_posix() for p in example_run.rglob("*anonymisation*")
            if ".snakemake" not in p.parts]
    assert logs == [paths.ANONYMISATION_LOG]
