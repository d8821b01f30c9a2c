"""Command line: ``python -m pipeline <stage> [--project PATH]``.

Snakemake rules call the same stage functions through ``scripts/stage.py``
(:func:`run_from_snakemake`), so a stage behaves identically either way.
Every stage function has the signature ``run(config: dict, root: Path) -> None``
and reads and writes the paths in :mod:`pipeline.paths` below ``root``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from pathlib import Path

from pipeline.config import load_config
from pipeline.errors import PipelineError

log = logging.getLogger("pipeline")

# stage name -> "module:function"; imported lazily so that light stages do not
# pay for importing torch.
STAGES = {
    "ingest": "pipeline.ingest:run_ingest",
    "codebook_export": "pipeline.codebook:run_codebook_export",
    "finetune": "pipeline.finetune:run_finetune",
    "embed": "pipeline.embed:run_embed",
    "embed_shard": "pipeline.embed:run_embed_shard",
    "embed_merge": "pipeline.embed:run_embed_merge",
    "suggest": "pipeline.suggest:run_suggest",
    "review_import": "pipeline.review.decisions:run_review_import",
    "review_workbook": "pipeline.review.workbook:run_review_workbook",
    "apply_decisions": "pipeline.review.coded:run_apply_decisions",
    "discover": "pipeline.discover:run_discover",
    "saturation": "pipeline.saturation:run_saturation",
    "cooccurrence": "pipeline.cooccurrence:run_cooccurrence",
    "triangulate": "pipeline.triangulate:run_triangulate",
    "report": "pipeline.report:run_report",
    "identifier_scan": "pipeline.identifier_scan:run_identifier_scan",
}


def stage_function(name: str):
    module_name, function_name = STAGES[name].split(":")
    return getattr(importlib.import_module(module_name), function_name)


def configure_logging(log_file: str | Path | None = None) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, mode="w", encoding="utf-8"))
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s",
                        handlers=handlers, force=True)


def run_stage(name: str, config: dict, root: Path, **options) -> int:
    """Run one stage; a PipelineError is reported without a traceback and returns 1.

    Any other exception is a bug: it is logged with its traceback, so that it
    reaches the rule's log file (which Snakemake points to) and not only the
    terminal, and returns 1.

    ``options`` are passed on to the stage function as keywords (e.g. the
    ``shard`` and ``n`` of ``embed_shard``)."""
    try:
        stage_function(name)(config, root, **options)
    except PipelineError as error:
        log.error("%s", error)
        return 1
    except Exception:
        log.exception("Stage %s failed with an unexpected error; this is a bug in the pipeline, "
                      "not in your files: please report it with this log", name)
        return 1
    return 0


def run_from_snakemake(smk) -> None:
    """Adapter for ``script:`` rules: log to the rule's log file, exit non-zero on error."""
    configure_logging(smk.log[0] if smk.log else None)
    # Params other than the stage name and the config digest (`settings`) are
    # stage options, e.g. `shard` and `n` of the embed_shard rule.
    options = {key: value for key, value in smk.params.items() if key not in ("stage", "settings")}
    sys.exit(run_stage(smk.params.stage, smk.config, Path.cwd(), **options))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["config-reference"]:
        from pipeline.config import reference_markdown

        print(reference_markdown(), end="")
        return 0
    parser = argparse.ArgumentParser(prog="python -m pipeline", description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=sorted(STAGES),
                        help="stage to run (or `config-reference` to print the config reference)")
    parser.add_argument("--project", default=".", help="project folder (default: current folder)")
    parser.add_argument("--log", default=None, help="also write the log to this file")
    args = parser.parse_args(argv)
    configure_logging(args.log)
    root = Path(args.project)
    try:
        config = load_config(root)
    except PipelineError as error:
        log.error("%s", error)
        return 1
    return run_stage(args.stage, config, root)


if __name__ == "__main__":
    sys.exit(main())
