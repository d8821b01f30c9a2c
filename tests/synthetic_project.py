"""A small synthetic evaluation for the triangulate and report tests.

Three sites (north, south, east) and one programme organisation (funder);
four sectors; interviews, a survey and a workshop; two waves. Segment texts
mention register names so that pseudonymisation can be checked, and one quote
starts like a spreadsheet formula.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from pipeline import paths
from pipeline.config import validate_config

NAMES = ["Priya Chaudhry", "Owen Pritchard", "Sarah Lindqvist", "Jamal Haddad",
         "Fiona McAllister", "Gwen Tudor-Rees", "Harriet Blackwood", "Liam Costigan"]

REGISTER = [
    # participant_id, site, sector, organisation, role, name
    ("P001", "north", "voluntary", "North Action", "Partnership manager", "Priya Chaudhry"),
    ("P002", "north", "statutory_health", "North PCN", "Social prescribing lead", "Owen Pritchard"),
    ("P003", "north", "local_authority", "North Council", "Head of communities", "Sarah Lindqvist"),
    ("P004", "south", "voluntary", "South Food Network", "Network coordinator", "Jamal Haddad"),
    ("P005", "south", "statutory_health", "South NHS Trust", "Director of integration", "Fiona McAllister"),
    ("P006", "east", "voluntary", "East Carers", "Carers support manager (to 2025)", "Gwen Tudor-Rees"),
    ("P007", "funder", "programme", "The Foundation", "Programme officer", "Harriet Blackwood"),
    ("P008", "east", "local_authority", "East Council", "Community development worker", "Liam Costigan"),
]

CODEBOOK = {
    "name": "Test framework",
    "version": "1",
    "themes": [
        {"id": "resources", "label": "Resources and capacity", "description": "Money and time.",
         "codes": [{"id": "res_funding", "label": "Funding", "definition": "Money available."},
                   {"id": "res_staff", "label": "Staff capacity", "definition": "Staff time."}]},
        {"id": "relationships", "label": "Relationships | trust", "description": "Working together.",
         "codes": [{"id": "rel_trust", "label": "Trust", "definition": "Trust between partners."},
                   {"id": "rel_people", "label": "Key individuals", "definition": "Champions."}]},
        {"id": "legacy", "label": "Legacy", "description": "What lasts.",
         "codes": [{"id": "leg_sustain", "label": "Sustainability", "definition": "After the grant."}]},
    ],
}

CONFIG = {
    "project": {"name": "Test Programme evaluation", "site_noun": "partnership"},
    "sectors": {"voluntary": "Voluntary sector", "statutory_health": "Statutory sector (NHS)",
                "local_authority": "Local authority", "programme": "Programme stakeholder"},
    "sites": {"north": "Northam", "south": "Southby", "east": "Eastwick", "funder": "The Foundation"},
    "privacy": {"identifying_terms": {"Marram Road Community Centre": "[a local venue]"}},
}

LONG = (" We have been working on this for a long time and the partners agree that it matters "
        "a great deal to the people who use our services every week.")

# (segment key, document, method, site, sector, participant, source, wave, role, text, [(code, status)])
SEGMENTS = [
    ("n1", "d_p001_w1", "interview", "north", "voluntary", "P001", "P001", "1", "participant",
     "Funding is year to year and Sarah at the council knows it." + LONG, [("res_funding", "accepted")]),
    ("n2", "d_p001_w1", "interview", "north", "voluntary", "P001", "P001", "1", "participant",
     "Funding again: we bid every January instead of running groups." + LONG, [("res_funding", "accepted")]),
    ("n3", "d_p001_w1", "interview", "north", "voluntary", "P001", "P001", "1", "interviewer",
     "Tell me about funding, Priya?", [("res_funding", "accepted")]),
    ("n4", "d_p002_w1", "interview", "north", "statutory_health", "P002", "P002", "1", "participant",
     "Trust has grown; Priya Chaudhry rings me before decisions." + LONG, [("rel_trust", "accepted")]),
    ("n5", "d_p003_w2", "interview", "north", "local_authority", "P003", "P003", "2", "participant",
     "SARAH LINDQVIST here: the money is tight and the staff are stretched." + LONG,
     [("res_funding", "changed"), ("res_staff", "accepted")]),
    ("n6", "d_survey_r1", "survey", "north", "voluntary", "", "R1", "1", "participant",
     '=HYPERLINK("x") is what someone typed, then they said funding is the main worry.' + LONG,
     [("res_funding", "accepted")]),
    ("s1", "d_p004_w1", "interview", "south", "voluntary", "P004", "P004", "1", "participant",
     "Funding is short-term for every voluntary partner here at Marram Road Community Centre." + LONG,
     [("res_funding", "accepted")]),
    ("s2", "d_p005_w1", "interview", "south", "statutory_health", "P005", "P005", "1", "participant",
     "We trust Jamal's judgement | he knows the patch." + LONG, [("rel_trust", "suggested")]),
    ("s3", "d_survey_r2", "survey", "south", "statutory_health", "", "R2", "2", "participant",
     "Relationships between organisations have improved a lot this year." + LONG, [("rel_trust", "accepted")]),
    ("e1", "d_p006_w2", "interview", "east", "voluntary", "P006", "P006", "2", "participant",
     "Gwen’s worry is what happens when the grant ends." + LONG, [("leg_sustain", "accepted")]),
    ("e2", "d_ws_e1", "workshop", "east", "", "", "WS1", "2", "participant",
     "Workshop notes: partners said funding cliffs loom when the grant ends." + LONG,
     [("leg_sustain", "accepted"), ("res_funding", "suggested")]),
    ("e3", "d_p008_w2", "interview", "east", "local_authority", "P008", "P008", "2", "participant",
     "The council cannot pick this up when the grant ends, I am afraid." + LONG, [("leg_sustain", "accepted")]),
    ("f1", "d_p007_w1", "interview", "funder", "programme", "P007", "P007", "1", "participant",
     "Harriet here: we let partnerships move money between budget lines." + LONG, [("res_funding", "accepted")]),
]

NEW_INTERVIEW = [
    ("s9", "d_p009_w2", "interview", "south", "local_authority", "P009", "P009", "2", "participant",
     "Our commissioning team is stretched thin and staff time is the real constraint." + LONG,
     [("res_staff", "accepted")]),
]


def segment_id(key: str) -> str:
    return "seg_" + hashlib.sha1(key.encode()).hexdigest()[:10]


def make_project(root: Path, *, extra_interview: bool = False, include_suggested: bool = True,
                 with_agreement: bool = True) -> tuple[Path, dict]:
    """Write a synthetic project below ``root``; return ``(root, validated config)``."""
    root = Path(root)
    register = list(REGISTER)
    rows = list(SEGMENTS)
    if extra_interview:
        register.append(("P009", "south", "local_authority", "South Council", "Commissioner", "Olga Petrova"))
        rows += NEW_INTERVIEW
    (root / "data/raw").mkdir(parents=True, exist_ok=True)
    pd.DataFrame(register, columns=["participant_id", "site", "sector", "organisation", "role", "name"]).to_csv(
        root / paths.PARTICIPANTS, index=False)
    (root / "codebook").mkdir(exist_ok=True)
    (root / "codebook/codebook.yaml").write_text(yaml.safe_dump(CODEBOOK, sort_keys=False), encoding="utf-8")
    config = {**CONFIG, "triangulate": {"include_suggested": include_suggested}}
    (root / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")

    segments, coded = [], []
    code_theme = {c["id"]: t["id"] for t in CODEBOOK["themes"] for c in t["codes"]}
    for position, (key, doc, method, site, sector, pid, source, wave, role, text, codes) in enumerate(rows):
        record = {"segment_id": segment_id(key), "document_id": doc, "method": method, "site": site,
                  "sector": sector, "participant_id": pid, "source_id": source, "wave": wave,
                  "date": "", "speaker": "", "speaker_role": role, "question": "",
                  "position": position, "text": text}
        segments.append(record)
        for code, status in codes:
            coded.append({**{k: v for k, v in record.items() if k not in ("speaker", "position")},
                          "code_id": code, "theme_id": code_theme[code], "status": status,
                          "score": 0.5, "coder": "analyst" if status != "suggested" else ""})
    processed = root / paths.PROCESSED
    processed.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(segments).to_parquet(root / paths.SEGMENTS, index=False)
    documents = pd.DataFrame(segments).drop_duplicates("document_id")
    documents = documents[["document_id", "method", "site", "sector", "participant_id", "source_id", "wave"]]
    documents.to_parquet(root / paths.DOCUMENTS, index=False)
    pd.DataFrame(coded).to_parquet(root / paths.CODED_SEGMENTS, index=False)

    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(len(segments), 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    table = pa.table({"segment_id": [s["segment_id"] for s in segments],
                      "embedding": pa.array([list(map(float, v)) for v in vectors], type=pa.list_(pa.float32()))})
    pq.write_table(table, root / paths.EMBEDDINGS)

    (root / paths.TABLES).mkdir(parents=True, exist_ok=True)
    methods = pd.DataFrame(segments).drop_duplicates("document_id").groupby(
        ["site", "method", "wave"]).size().reset_index(name="count")
    methods.to_csv(root / paths.METHODS_CSV, index=False)
    if with_agreement:
        pd.DataFrame([{"measure": "cohen_kappa", "code_id": "res_funding", "coder_a": "A", "coder_b": "B",
                       "value": 0.8, "n": 10}]).to_csv(root / paths.AGREEMENT_CSV, index=False)
    return root, validate_config(config)
