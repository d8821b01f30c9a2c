"""Command line: ``python -m pipeline <stage> [--project PATH]``.

Snakemake rules call the same stage functions through ``scripts/stage.py``
(:func:`run_from_snakemake`), so a stage behaves identically either way.
Every stage function has the signature ``run(config: dict, root: Path) -> None``
(a few add keyword options, e.g. ``shard`` and ``n`` of ``embed_shard``, which
the command line takes as ``--shard`` and ``--n``) and reads and writes the
paths in :mod:`pipeline.paths` below ``root``. ``python -m pipeline <stage>
--help`` describes a stage (its docstring's first paragraph) and its options.
"""

from __future__ import annotations

import argparse
import ast
import functools
import importlib
import importlib.util
import logging
import re
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
    # not a rule: run by hand after a participant withdraws (README, "When a participant withdraws")
    "forget": "pipeline.forget:run_forget",
}


def stage_function(name: str):
    module_name, function_name = STAGES[name].split(":")
    return getattr(importlib.import_module(module_name), function_name)


@functools.cache
def _stage_definition(name: str) -> ast.FunctionDef:
    """The stage function's definition, read from its source without importing its module
    (so that ``--help`` does not import torch)."""
    module_name, function_name = STAGES[name].split(":")
    source = Path(importlib.util.find_spec(module_name).origin).read_text(encoding="utf-8")
    return next(node for node in ast.parse(source).body
                if isinstance(node, ast.FunctionDef) and node.name == function_name)


def stage_help(name: str) -> tuple[str, dict[str, str]]:
    """A stage's one-line description and its options (name -> help), from its function.

    The description is the docstring's first paragraph (without ``Stage:``);
    the options are the parameters after ``config`` and ``root``, described by
    the first line of their entry under the docstring's ``Parameters``.

    Examples
    --------
    >>> summary, options = stage_help("embed_shard")
    >>> summary, options["n"]
    ('embed the segments of one shard.', 'The number of shards; defaults to embedding.shards.')
    """
    definition = _stage_definition(name)
    lines = [_plain(line.strip()) for line in (ast.get_docstring(definition) or "").splitlines()]
    first_paragraph = " ".join(lines[:lines.index("")] if "" in lines else lines)
    summary = re.sub(r"^Stage( \w+)?:\s*", "", first_paragraph)
    options = {}
    for argument in definition.args.args[2:]:
        heading = next((i for i, line in enumerate(lines) if line.split(" :")[0] == argument.arg), None)
        options[argument.arg] = lines[heading + 1] if heading is not None and heading + 1 < len(lines) else ""
    return summary, options


def _switches(name: str) -> set[str]:
    """The stage's options that default to True or False: switches on the command line."""
    arguments = _stage_definition(name).args
    defaults = dict(zip([a.arg for a in arguments.args][-len(arguments.defaults):], arguments.defaults)
                    if arguments.defaults else ())
    return {arg for arg, default in defaults.items()
            if isinstance(default, ast.Constant) and isinstance(default.value, bool)}


def _plain(text: str) -> str:
    """Docstring markup made terminal text: ``x`` and :func:`x` become x; "(see :func:`x`)" goes."""
    text = re.sub(r"\s*\(see :\w+:`[^`]*`\)", "", text)
    return re.sub(r":\w+:`([^`]*)`|``([^`]*)``", lambda m: m.group(1) or m.group(2), text)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipeline", description=_plain(__doc__.splitlines()[0]),
                                     epilog="`python -m pipeline config-reference` prints the config "
                                            "reference; `python -m pipeline STAGE --help` describes a stage.")
    stages = parser.add_subparsers(dest="stage", metavar="stage", required=True,
                                   title="stages")
    for name in sorted(STAGES):
        summary, options = stage_help(name)
        stage = stages.add_parser(name, help=summary, description=summary[:1].upper() + summary[1:])
        stage.add_argument("--project", default=".", help="project folder (default: current folder)")
        stage.add_argument("--log", default=None, help="also write the log to this file")
        for option, text in options.items():
            if option in _switches(name):   # e.g. forget's --dry-run
                stage.add_argument(f"--{option.replace('_', '-')}", dest=option, action="store_const",
                                   const=True, default=None, help=text or None)
            else:
                stage.add_argument(f"--{option}", default=None, help=text or None)
    return parser


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
    args = vars(_parser().parse_args(argv))
    stage, project, log_file = args.pop("stage"), args.pop("project"), args.pop("log")
    # A stage's own options (e.g. embed_shard's --shard and --n) as given; the rest keep their defaults.
    options = {key: value for key, value in args.items() if value is not None}
    configure_logging(log_file)
    root = Path(project)
    try:
        config = load_config(root)
    except PipelineError as error:
        log.error("%s", error)
        return 1
    return run_stage(stage, config, root, **options)


if __name__ == "__main__":
    sys.exit(main())
