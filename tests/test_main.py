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


def _help_of(argv, capsys) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main.main(argv)
    assert exit_info.value.code == 0
    return capsys.readouterr().out


def test_a_stage_help_describes_that_stage_and_its_options(capsys):
    text = " ".join(_help_of(["embed_shard", "--help"], capsys).split())
    assert "usage: python -m pipeline embed_shard" in text
    assert "Embed the segments of one shard." in text
    assert "--shard SHARD Which shard, 0 .. n-1" in text and "--n N The number of shards" in text
    assert "--project PROJECT" in text and "--log LOG" in text


@pytest.mark.parametrize("stage", sorted(main.STAGES))
def test_every_stage_has_a_description_without_docstring_markup(stage, capsys):
    summary, _options = main.stage_help(stage)
    assert summary and not any(mark in summary for mark in ("``", ":func:", "Stage"))
    description = _help_of([stage, "-h"], capsys).split("\n\n")[1]
    assert " ".join(description.split()) == summary[:1].upper() + summary[1:]


def test_the_overall_help_lists_each_stage_with_its_description(capsys):
    text = " ".join(_help_of(["--help"], capsys).split())
    assert "ingest read every file in data/raw/" in text
    assert "triangulate count, rate and quote the evidence for every theme." in text


def test_stage_options_from_the_command_line_reach_the_stage(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(main, "stage_function", lambda name: lambda config, root, **options:
                        calls.append((name, root, options)))
    assert main.main(["embed_shard", "--project", str(tmp_path), "--shard", "1", "--n", "2"]) == 0
    assert main.main(["ingest", "--project", str(tmp_path)]) == 0
    assert calls == [("embed_shard", tmp_path, {"shard": "1", "n": "2"}), ("ingest", tmp_path, {})]
