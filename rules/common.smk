# Shared helpers for the rules: config validation, input discovery, targets.
import hashlib
import json
from pathlib import Path

from snakemake.utils import validate

from pipeline import paths
from pipeline.config import SCHEMA_PATH

validate(config, schema=str(SCHEMA_PATH))

STAGE_SCRIPT = "../scripts/stage.py"


def settings(*sections):
    """The config sections a rule depends on, passed as params so that editing
    them re-runs that rule (and only the rules that use them).

    `pseudonyms` stands for everything the pseudonymiser is built from
    (privacy, the sector labels and report.attribution): every rule that writes
    under reports/ pseudonymises, so it names it. It is passed as a digest, not
    as it is: `snakemake --report` copies every rule's params into report.html,
    and privacy.identifying_terms lists real names and places. The digest
    still re-runs the rules when it changes."""
    return {
        section: _digest(_pseudonym_settings()) if section == "pseudonyms" else config[section]
        for section in sections
    }


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


def register_file():
    """participants.csv, when the project has one (names feed pseudonymisation)."""
    return [paths.PARTICIPANTS] if Path(paths.PARTICIPANTS).exists() else []


def review_files():
    """Analysts' saved review workbooks: any .xlsx in data/review/."""
    return _saved_workbooks(paths.REVIEW_INBOX)


def _saved_workbooks(folder):
    """The .xlsx files in a folder, without Office lock files (~$x.xlsx) and hidden files."""
    inbox = Path(folder)
    if not inbox.exists():
        return []
    return sorted(str(p) for p in inbox.glob("*.xlsx") if not p.name.startswith(("~$", ".")))
