"""Stage ``identifier_scan``: words in the fieldwork that look like names but are in no list.

Writes ``reports/review/possible_identifiers.csv`` (see
:func:`pipeline.anonymise.possible_identifiers`) from every segment that is
not an interviewer's turn, pseudonymised as the reports show it (so a word
of a register name that the pseudonymiser leaves is listed too), for a
person to check before reports go out. It
needs only the segments, the register, the codebook and the config, so
Snakemake runs it beside the suggestion stages instead of at the end of the
report, where it would add to the time every re-run takes.
"""

from __future__ import annotations

import logging
from pathlib import Path

from pipeline import paths
from pipeline.anonymise import Pseudonymiser, possible_identifiers, project_labels, read_register_people
from pipeline.atomic import write_csv
from pipeline.segment import read_segments
from pipeline.tables import read_optional_csv

log = logging.getLogger(__name__)


def project_known_words(config: dict, root: Path) -> list[str]:
    """Words that are not personal names: project, site, sector and codebook labels, organisations, roles."""
    words = project_labels(config, root)
    for person in read_register_people(Path(root) / paths.PARTICIPANTS, named_only=False):
        words += [person.site, person.role]
    organisations = read_optional_csv(Path(root) / paths.PARTICIPANTS)
    if "organisation" in organisations:
        words += list(organisations["organisation"])
    return [w for w in words if w]


def run_identifier_scan(config: dict, root: Path) -> None:
    """Stage: write ``reports/review/possible_identifiers.csv`` from every non-interviewer segment.

    Parameters
    ----------
    config : dict
        Validated configuration.
    root : Path
        Project folder.
    """
    root = Path(root)
    segments = read_segments(root, ["segment_id", "text", "speaker_role"])
    segments = segments[segments["speaker_role"].fillna("") != "interviewer"]
    found = possible_identifiers(segments[["segment_id", "text"]], Pseudonymiser.from_project(config, root),
                                 known_words=project_known_words(config, root))
    write_csv(root / paths.POSSIBLE_IDENTIFIERS, found)
    if len(found):
        log.warning("%d capitalised word(s) look like names but are in no list: see %s",
                    len(found), paths.POSSIBLE_IDENTIFIERS)
    else:
        log.info("No capitalised word looks like a name that is in no list")
