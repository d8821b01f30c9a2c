"""How long the ingest stage takes on a synthetic 300-document project.

Usage::

    .venv/bin/python benchmarks/ingest_speed.py [--documents 300] [--keep DIR]

Generates a project in a temp folder following the data contract: a register,
interviews as .md (front matter), .docx and Teams .vtt (metadata in
fieldwork.csv), and observation notes as .md; about a third of the interview
answers are long enough to be split at sentences. Then times ``run_ingest``
(wall clock, including spaCy's first load) and prints one result line.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

# Run from a checkout without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

WORDS = ("partnership referral hub council trust voluntary funding community residents data sharing "
         "meeting board volunteers trust relationships commissioning pilot evaluation outcomes wellbeing "
         "housing food network surgery staff capacity leadership governance pooled budget year").split()


def sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 22))]
    return " ".join(words).capitalize() + "."


def paragraph(rng: random.Random, long: bool = False) -> str:
    return " ".join(sentence(rng) for _ in range(rng.randint(12, 20) if long else rng.randint(2, 5)))


def make_project(root: Path, n_documents: int, seed: int = 1) -> None:
    import docx

    rng = random.Random(seed)
    raw = root / "data" / "raw"
    for folder in ("interviews", "observations"):
        (raw / folder).mkdir(parents=True, exist_ok=True)
    sites = [f"site{i}" for i in range(8)]
    sectors = ["voluntary", "statutory_health", "local_authority"]
    n_interviews = n_documents * 3 // 4
    register = ["participant_id,site,sector,organisation,role,name"]
    fieldwork = ["file,participant,site,sector,wave,date"]
    for i in range(n_interviews):
        pid = f"P{i:04d}"
        register.append(f"{pid},{sites[i % 8]},{sectors[i % 3]},Org {i},Role,Person {i}")
        wave = str(1 + i % 2)
        kind = ("md", "docx", "vtt")[i % 3]
        turns = [(("Interviewer" if t % 2 == 0 else f"Person {i}"),
                  sentence(rng) if t % 2 == 0 else paragraph(rng, long=rng.random() < 0.3))
                 for t in range(16)]
        name = f"interviews/{pid}_w{wave}.{kind}"
        if kind == "md":
            body = "\n\n".join(f"**{speaker}:** {text}" for speaker, text in turns)
            (raw / name).write_text(f"---\nparticipant: {pid}\nwave: {wave}\ndate: 2025-03-04\n---\n\n{body}\n",
                                    encoding="utf-8")
            continue
        fieldwork.append(f"{name},{pid},,,{wave},2025-03-04")
        if kind == "docx":
            document = docx.Document()
            document.add_heading("Interview notes", level=1)
            for speaker, text in turns:
                document.add_paragraph(f"{speaker}: {text}")
            document.save(raw / name)
        else:
            cues = ["WEBVTT", ""]
            for t, (speaker, text) in enumerate(turns):
                for part, piece in enumerate(text.split(". ")):
                    cues += [f"abc/{t}-{part}", f"00:{t:02d}:00.000 --> 00:{t:02d}:05.000",
                             f"<v {speaker}>{piece}</v>", ""]
            (raw / name).write_text("\n".join(cues), encoding="utf-8")
    for j in range(n_documents - n_interviews):
        body = "\n\n".join(paragraph(rng, long=rng.random() < 0.2) for _ in range(8))
        (raw / "observations" / f"session_{j:03d}.md").write_text(
            f"---\nsession: Board {j}\nsite: {sites[j % 8]}\nwave: {1 + j % 2}\ndate: 2025-05-01\n---\n\n"
            f"# Notes\n\n{body}\n", encoding="utf-8")
    (raw / "participants.csv").write_text("\n".join(register) + "\n", encoding="utf-8")
    (raw / "fieldwork.csv").write_text("\n".join(fieldwork) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=300)
    parser.add_argument("--keep", default=None, help="build the project here and keep it")
    args = parser.parse_args()

    from pipeline.config import validate_config
    from pipeline.ingest import run_ingest
    import pandas as pd

    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="ingest-bench-"))
    try:
        make_project(root, args.documents)
        config = validate_config({})
        start = time.perf_counter()
        run_ingest(config, root)
        seconds = time.perf_counter() - start
        documents = pd.read_parquet(root / "data/processed/documents.parquet")
        segments = pd.read_parquet(root / "data/processed/segments.parquet")
        print(f"ingest_speed: {len(documents)} documents, {len(segments)} segments in {seconds:.2f} s "
              f"({len(documents) / seconds:.0f} documents/s)")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
