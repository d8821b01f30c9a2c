# Shared helpers for the rules: config validation, input discovery, targets.
from pathlib import Path

from snakemake.utils import validate

from pipeline import paths
from pipeline.config import SCHEMA_PATH

validate(config, schema=str(SCHEMA_PATH))

STAGE_SCRIPT = "../scripts/stage.py"


def settings(*sections):
    """The config sections a rule depends on, passed as params so that editing
    them re-runs that rule (and only the rules that use them)."""
    return {section: config[section] for section in sections}


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
        paths.CANDIDATE_WORKBOOK,
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
    """Analysts' saved workbooks: any .xlsx in data/review/, except Office lock files."""
    inbox = Path(paths.REVIEW_INBOX)
    if not inbox.exists():
        return []
    return sorted(str(p) for p in inbox.glob("*.xlsx") if not p.name.startswith(("~$", ".")))
