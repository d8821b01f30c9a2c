"""Tests of pipeline/__main__.py: how a stage is run from Snakemake and the command line."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest

import pipeline.__main__ as main


@pytest.fixture(autouse=True)
def _restore_logging():
    yield
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, logging.FileHandler):
            handler.close()
            root.removeHandler(handler)


def _failing_stage(config, root):
    raise KeyError("comparison")


def test_an_unexpected_error_is_written_to_the_rules_log(tmp_path, monkeypatch):
    # Snakemake says "check log file(s) for error details": the traceback must be there.
    monkeypatch.setattr(main, "stage_function", lambda name: _failing_stage)
    log_file = tmp_path / "logs" / "report.log"
    params = SimpleNamespace(stage="report", items=lambda: {"stage": "report"}.items())
    smk = SimpleNamespace(log=[str(log_file)], params=params, config={})
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main.run_from_snakemake(smk)
    assert exit_info.value.code == 1
    text = log_file.read_text(encoding="utf-8")
    assert "Stage report failed with an unexpected error" in text
    assert "KeyError: 'comparison'" in text and "Traceback" in text
