# Shared helpers for the rules: config validation, input discovery, targets.
import hashlib
import json
import threading
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from pipeline import __version__ as PIPELINE_VERSION, paths
from pipeline.config import SCHEMA_PATH, codebook_not_found, read_config_file, validate_config
from pipeline.errors import ConfigError
from pipeline.finetune import VERSION as FINETUNE_VERSION
from pipeline.review.inbox import review_inbox, review_workbook_edited_in_place


def _config_source():
    """The config file(s) this run read, for error messages (config.yaml unless --configfile)."""
    files = [str(Path(f).resolve()) for f in workflow.configfiles] or [str(Path("config.yaml").resolve())]
    extra = " with the --config values" if getattr(workflow.config_settings, "config", None) else ""
    return " and ".join(files) + extra


def _validate_config():
    """Validate with Snakemake (which fills in the defaults). Its message on an invalid
    config dumps the whole schema, thousands of lines; the package's names the file,
    each key at fault and what to do, as `python -m pipeline` does, so that one is raised.
    Snakemake's reader lets a key written twice overwrite the first; the package's refuses it."""
    try:
        for configfile in workflow.configfiles:
            read_config_file(configfile)
    except ConfigError as error:
        return error.with_traceback(None)
    try:
        validate(config, schema=str(SCHEMA_PATH))
        return None
    except WorkflowError:
        try:
            validate_config(config, _config_source())
        except ConfigError as error:
            return error.with_traceback(None)
        raise


_invalid = _validate_config()
if _invalid is not None:
    raise _invalid from None

# Before any job runs (Snakemake deletes a job's outputs before it starts): an analyst
# who typed decisions into reports/review/coding_review.xlsx itself would lose them.
_edited = review_workbook_edited_in_place(".")
if _edited is not None:
    raise _edited from None

STAGE_SCRIPT = "../scripts/stage.py"


def settings(*sections):
    """The config sections a rule depends on, passed as params so that editing
    them re-runs that rule (and only the rules that use them).

    `pseudonyms` stands for everything the pseudonymiser is built from
    (privacy, the sector labels and report.attribution): every rule that writes
    under reports/ pseudonymises, so it names it. It is passed as a digest, not
    as it is: `snakemake --report` copies every rule's params into report.html,
    and privacy.identifying_terms lists real names and places. The digest
    still re-runs the rules when it changes. `codebook` is the codebook's
    setting and a digest of the file's content (see content_digest).

    Every rule's settings also hold the pipeline's version, so that upgrading the
    pipeline re-makes every output with the new code (its caches make that cheap:
    embeddings and fine-tuned models are reused unless their own keys changed)
    instead of leaving tables and reports made by the old one."""
    values = {"pipeline_version": PIPELINE_VERSION}
    values |= {
        section: _digest(_pseudonym_settings()) if section == "pseudonyms"
        # the codebook's content too, so that one copied in with an older date is still read again
        else {**config["codebook"], "content": CODEBOOK_CONTENT} if section == "codebook"
        else config[section]
        for section in sections
    }
    if "embedding" in sections:
        values["embedding_model"] = _embedding_model_key()
    return values


def _embedding_model_key():
    """The cache key of the configured embedding model: a hash of its weights and
    configuration files (pipeline.model_files.model_key). It is part of every rule's
    `embedding` settings, so that replacing the files of embedding.model_path in
    place (the same path, another model) re-runs the stages that embed with it
    instead of leaving results made with the old model. "" when the folder is not a
    usable model: the stage that loads it then says what is wrong."""
    from pipeline.model_files import model_key

    try:
        return model_key(config, Path("."))
    except ConfigError:
        return ""


def _pseudonym_settings():
    return {"privacy": config["privacy"], "sectors": config["sectors"],
            "attribution": config["report"].get("attribution", {})}


def _digest(value):
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode("utf-8")).hexdigest()


def raw_files():
    """Every fieldwork file under data/raw/, so adding or removing one re-runs ingest.
    Office lock files (~$x.docx) and hidden files are not fieldwork."""
    root = Path(paths.RAW)
    if not root.exists():
        return []
    return sorted(
        str(p)
        for p in root.rglob("*")
        if p.is_file() and not any(part.startswith((".", "~$")) for part in p.relative_to(root).parts)
    )


def content_digest(files):
    """A digest of the files' names and contents, passed in a rule's settings so that a file whose content
    changed re-runs its rule even when its modification time is older than the outputs (a copy
    from a zip, `cp -p`, rsync or a synced folder keeps the sender's time, and Snakemake re-runs
    only for newer inputs). A file touched but unchanged keeps the digest. About 0.2 s for the
    28 MB of the 100k-segment benchmark project."""
    digest = hashlib.sha256()
    for name in files:
        digest.update(name.encode("utf-8") + b"\0" + hashlib.sha256(Path(name).read_bytes()).digest())
    return digest.hexdigest()


FINE_TUNE = bool(config["suggest"].get("fine_tune", True))


def encoder():
    """encoder.json (which fine-tuned model to embed with), when suggest.fine_tune is on."""
    return [paths.ENCODER] if FINE_TUNE else []


def final_outputs():
    return [
        paths.SEGMENTS,
        paths.DOCUMENTS,
        paths.METHODS_CSV,
        paths.CODEBOOK_QDC,
        paths.SUGGESTIONS,
        paths.REVIEW_WORKBOOK,
        paths.CODED_SEGMENTS,
        paths.TRIANGULATION_CSV,
        paths.EVALUATION_WORKBOOK,
        paths.SUMMARY_MD,
        paths.SITES_DIR,
        paths.POSSIBLE_IDENTIFIERS,
        paths.CANDIDATE_CODES_CSV,
        paths.SATURATION_SUMMARY_CSV,
        paths.SATURATION_FIGURE,
        paths.COOCCURRENCE_CSV,
        paths.THEME_NETWORK_FIGURE,
    ]


def codebook_file():
    return config["codebook"]["file"]


# A missing codebook would otherwise be Snakemake's "missing input files" for every rule that reads it.
if not Path(codebook_file()).is_file():
    raise codebook_not_found(Path(codebook_file())) from None
# read once, for every rule whose settings name the codebook
CODEBOOK_CONTENT = content_digest([codebook_file()])


def register_file():
    """participants.csv, when the project has one (names feed pseudonymisation)."""
    return [paths.PARTICIPANTS] if Path(paths.PARTICIPANTS).exists() else []


def forgotten_record():
    """The record of segments forgotten after a participant withdrew, when there is one
    (python -m pipeline forget): a new record re-runs the import, which then reports
    the rows of returned workbooks that still hold those segments."""
    return [paths.FORGOTTEN_SEGMENTS] if Path(paths.FORGOTTEN_SEGMENTS).exists() else []


def review_files():
    """Analysts' saved review workbooks in data/review/ (any .xlsx, in subfolders too and
    whatever the case of the extension), and the spreadsheets saved there in another
    format (.xlsm, .xls, .ods, .csv ...), which the import reports instead of ignoring:
    the same files pipeline.review.inbox.review_inbox gives the import."""
    workbooks, unusable = review_inbox(".")
    return sorted(str(p) for p in workbooks + unusable)


def _cancel_scheduler_timers():
    """Snakemake (9.x) starts a one-second threading.Timer after each scheduling
    round (its job rate limiter's re-check), and Python waits for the last of them
    before it exits: up to a second added to every run that executes jobs. When
    the workflow has finished nothing is left to schedule, so they are cancelled."""
    for thread in threading.enumerate():
        if isinstance(thread, threading.Timer) and getattr(thread.function, "__module__", "").startswith(
            "snakemake.scheduling"
        ):
            thread.cancel()


onsuccess:
    _cancel_scheduler_timers()


onerror:
    _cancel_scheduler_timers()
