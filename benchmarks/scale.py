"""The whole workflow at 1k, 10k and 100k segments, against the encoding floor.

Usage::

    .venv/bin/python benchmarks/scale.py --sizes 1000 10000     # print the results
    .venv/bin/python benchmarks/scale.py --sizes 100000 --keep /tmp/scale100k
    .venv/bin/python benchmarks/scale.py --again 100000 --keep /tmp/scale100k
    .venv/bin/python benchmarks/scale.py --write                # table -> BENCHMARKS.md

For each size it generates a synthetic project in the data contract in a temp
folder: ``participants.csv``, interviews as ``.md`` with front matter
(``**Interviewer:**`` / ``**Respondent:**`` turns), a generic CSV survey export
with a ``surveys:`` entry in ``config.yaml``, observation notes as ``.md``, and
the example codebook. About 75% of the segments come from interviews, 15% from
the survey and 10% from observations. Segment text is built from a pool of a few
hundred evaluation-like sentences (templates with varied places, services,
numbers and durations), two to four sentences per segment, 150-500 characters,
so that no two segments are the same text and the embedding cache cannot make
encoding look cheaper than it is.

Then, each as ``snakemake --cores 2 --directory PROJECT`` (all targets):

* **cold**: the first run;
* **+1 interview**: one new interview file is added, and the workflow run again;
* **no change**: run again with nothing changed.

For each run it records the wall time and the peak memory of the Snakemake
process tree: a thread polls ``psutil`` every 0.1 s and sums the resident set
size (RSS) of the snakemake process and all its descendants (the stage
scripts), so the figure is the peak of the *sum* over processes running at the
same time (shared pages are counted once per process, so it errs high).

The **floor** is the time ``SentenceTransformer.encode`` takes on exactly the
cold run's segment texts (batch 64, normalised, in this process, after the
runs), i.e. the cost of the embeddings alone, without reading, segmenting,
caching, suggesting or reporting. ``cold / floor`` is the target ratio. The
workflow encodes each distinct text once, and the synthetic interviews repeat
their interviewer questions, so a second floor encodes the distinct texts only:
the stricter ratio.

``--again`` re-measures the +1-interview and no-change runs on a kept project
with the current code (after a change to the later stages), keeping its cold
run and floor; the entry then records ``reruns_date``.

``--backend torch_bf16`` measures the opt-in bfloat16 backend instead: the
projects' config names it, the results go to
``benchmarks/scale_results_torch_bf16.json``, the float32 floors are taken
from the default run of the same size when there is one (the texts are the
same), and the distinct texts get a third floor, encoded under bfloat16 autocast.

Results are added to ``benchmarks/scale_results.json`` (one entry per size, so
the 100k run can be done separately); ``--write`` rebuilds the ``## Scale``
section of BENCHMARKS.md from that file.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmarks_md import machine, replace_section

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

RESULTS = DEFAULT_RESULTS = REPO / "benchmarks" / "scale_results.json"
SECTION = "## Scale"

SITES = ["ashby", "brook", "carrow", "dunmere", "elmfield", "fordham", "greyhaven", "holt"]
SITE_NAMES = ["Ashby", "Brookside", "Carrow Vale", "Dunmere", "Elmfield", "Fordham", "Greyhaven", "Holt"]
SECTORS = ["voluntary", "statutory_health", "local_authority"]

SERVICES = ["the referral hub", "the social prescribing service", "the food bank", "the carers' centre",
            "the befriending scheme", "the benefits advice service", "the youth club",
            "the mental health drop-in", "the hospital discharge team", "the housing team",
            "the community transport scheme", "the men's shed", "the digital inclusion project",
            "the warm spaces network", "the library outreach team"]
ORGS = ["the council", "the NHS trust", "the primary care network", "the housing association",
        "the voluntary sector forum", "the funder", "the learning partner", "the county council",
        "the integrated care board", "the local hospice"]
DURATIONS = ["six months", "a year", "eighteen months", "two years", "three months", "nine weeks",
             "most of last year", "the first winter"]
NUMBERS = ["three", "four", "five", "a dozen", "twenty", "forty", "a hundred", "two hundred"]

# Templates: {s} a service, {o} an organisation, {d} a duration, {n} a number, {p} a place.
TEMPLATES = [
    "Funding for {s} runs out in {d} and nobody knows what happens after that.",
    "We spent {d} writing bids instead of delivering anything for residents.",
    "The grant from {o} only covers {d}, which makes it hard to plan properly.",
    "Short-term money means we lose good staff just as they get to know the families.",
    "Our coordinator left after {d} and the post was vacant for months.",
    "There are only {n} of us covering the whole of {p}, so things slip.",
    "Recruitment has been really hard; we advertised twice and nobody suitable applied.",
    "The volunteers at {s} are brilliant but most of them are over seventy now.",
    "We rely on {n} volunteers who give up their weekends to keep {s} open.",
    "Volunteer numbers dropped after the pandemic and have not really recovered.",
    "The board has {n} members and it takes forever to agree anything.",
    "Nobody was quite sure who could sign off the decision, so it went round in circles.",
    "The terms of reference were rewritten after {d} of confusion about who decides what.",
    "Meetings are chaired by {o}, and their items always come first on the agenda.",
    "We hear about changes at {o} second-hand, usually after they have happened.",
    "The monthly newsletter helped, but people still do not know who to ring at {o}.",
    "Once we had a shared contacts list, referrals between us got much quicker.",
    "It took {d} to get a data-sharing agreement signed with {o}.",
    "Information governance was the biggest barrier; every team had its own rules.",
    "The case management system at {s} cannot talk to the one at {o}.",
    "Trust has built up slowly because the same people keep turning up to meetings.",
    "After the row over the contract, it took {d} before people trusted each other again.",
    "People are honest with each other now, which was not the case at the start.",
    "A lot of it depends on one or two people who really push things along.",
    "When the partnership manager was off sick, everything stopped for {d}.",
    "Our manager knows everyone in {p}, and that is what makes the partnership work.",
    "Two of the advice charities fell out over who should run {s}.",
    "There was a real falling-out at the board about how the money was split.",
    "The voluntary sector feels like a contractor rather than an equal partner.",
    "The statutory partners set the agenda and we are asked to comment at the end.",
    "Small groups find the procurement rules at {o} almost impossible to follow.",
    "Due diligence for a grant of a few thousand pounds took {d}.",
    "The language used at meetings is full of acronyms that residents do not understand.",
    "The residents' panel now votes on how {n} thousand pounds is spent each year.",
    "People with lived experience are paid for their time, which changed who comes along.",
    "Community researchers interviewed {n} residents about what they wanted from {s}.",
    "The funder has been flexible about moving money between budget lines.",
    "The funder let us change the plan when it became clear the first idea would not work.",
    "Reporting to {o} takes a day a month, which is a lot for a small charity.",
    "We fill in three different monitoring forms that ask for the same numbers.",
    "The coaching from the learning partner helped us think about what we were for.",
    "The peer network was the most useful thing; we stole ideas from other places.",
    "Residents who used {s} told us they felt less isolated.",
    "Several people said they would not have left the house without {s}.",
    "Older people in the villages can now get to appointments because of {s}.",
    "Referrals to {s} went up by {n} in {d}, mostly from GP surgeries.",
    "People get help quicker because the link workers know who to call.",
    "The discharge pathway changed, so people go home with support already arranged.",
    "{o} has started commissioning jointly with the voluntary sector.",
    "There is now a pooled budget for prevention work, which is a first for {p}.",
    "We have good stories, but we struggle to show outcomes in numbers.",
    "The evaluation helped us see what we could honestly claim.",
    "Nobody has decided who will pay for coordination when the grant ends.",
    "We are writing a legacy plan so the contacts and learning do not disappear.",
    "Some of the work will carry on because {o} has written it into its plans.",
    "Other areas have copied our referral protocol, which is nice to see.",
    "What we learned about working together is being shared across the county.",
    "The partnership is now part of how {o} plans services, not an add-on.",
    "Residents without a smartphone cannot book appointments online.",
    "Digital exclusion came up again and again in the conversations with residents.",
    "The cost of living has pushed more families towards {s} this winter.",
    "Housing problems sit behind a lot of the cases that reach {s}.",
    "Staff at {o} change so often that we keep starting relationships from scratch.",
    "We meet every {d2} and the attendance has been steady.",
    "It felt like a talking shop at first, but now decisions actually get made.",
    "Honestly, I think it is too early to say what difference it has made.",
]
DURATIONS_SHORT = ["month", "fortnight", "six weeks", "quarter"]

QUESTIONS = [
    "Can you tell me about your role and how you got involved in the partnership?",
    "How has the partnership changed over the last year?",
    "What has helped the partners work together?",
    "What has got in the way?",
    "How are decisions made, and who makes them?",
    "What difference has it made for residents?",
    "How do you see the funding and what happens when the grant ends?",
    "Is there anything you would do differently?",
    "How do the different sectors get on with each other?",
    "What has the funder been like to work with?",
    "How do you know whether it is working?",
    "Is there anything else you would like to add?",
]
SURVEY_QUESTIONS = ["What has changed in how your partnership works?",
                    "What will happen when the funding ends?",
                    "What difference has the partnership made for residents?"]


def sentence_pool(rng: random.Random, size: int = 400) -> list[str]:
    """A few hundred distinct sentences: every template with several fillings."""
    pool: set[str] = set()
    while len(pool) < size:
        template = rng.choice(TEMPLATES)
        pool.add(template.format(s=rng.choice(SERVICES), o=rng.choice(ORGS), d=rng.choice(DURATIONS),
                                 n=rng.choice(NUMBERS), p=rng.choice(SITE_NAMES),
                                 d2=rng.choice(DURATIONS_SHORT)))
    return sorted(pool)


class TextMaker:
    """Segments of 150-500 characters from 2-4 pool sentences, never the same text twice."""

    OPENERS = ["", "", "", "I think ", "Honestly, ", "To be fair, ", "From where I sit, ", "Well, ",
               "In {p}, ", "For us, ", "Looking back, ", "If I'm honest, "]

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.pool = sentence_pool(rng)
        self.seen: set[str] = set()

    def segment(self) -> str:
        rng = self.rng
        while True:
            parts = rng.sample(self.pool, rng.randint(2, 4))
            opener = rng.choice(self.OPENERS).format(p=rng.choice(SITE_NAMES))
            if opener:
                parts[0] = opener + parts[0][0].lower() + parts[0][1:]
            text = " ".join(parts)
            if 150 <= len(text) <= 500 and text not in self.seen:
                self.seen.add(text)
                return text


def interview_text(maker: TextMaker, rng: random.Random, pid: str, wave: str, date: str,
                   turns: int) -> str:
    lines = ["---", f"participant: {pid}", f'wave: "{wave}"', f"date: {date}", "---", ""]
    for question in rng.sample(QUESTIONS, turns):
        lines += [f"**Interviewer:** {question}", "", f"**Respondent:** {maker.segment()}", ""]
    return "\n".join(lines)


TURNS = 8   # interviewer questions per interview: 8 questions + 8 answers = 16 segments


def make_project(root: Path, n_segments: int, seed: int = 7, backend: str = "onnx") -> dict:
    """Write a synthetic project of about ``n_segments`` segments; returns what was written."""
    import yaml

    rng = random.Random(seed)
    maker = TextMaker(rng)
    raw = root / "data" / "raw"
    for folder in ("interviews", "surveys", "observations"):
        (raw / folder).mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO / "codebook", root / "codebook")

    n_interviews = max(2, round(n_segments * 0.75 / (2 * TURNS)))
    n_responses = max(3, round(n_segments * 0.15 / len(SURVEY_QUESTIONS)))
    paragraphs = 8
    n_observations = max(1, round(n_segments * 0.10 / paragraphs))

    # One extra participant with no interview yet: the "+1 interview" run adds theirs,
    # so the register itself does not change between runs.
    register = ["participant_id,site,sector,organisation,role,name"]
    for i in range(n_interviews + 1):
        site, sector = SITES[i % len(SITES)], SECTORS[i % len(SECTORS)]
        register.append(f"P{i:05d},{site},{sector},Org {i % 97},Role,Person{i} Surname{i}")
    (raw / "participants.csv").write_text("\n".join(register) + "\n", encoding="utf-8")
    for i in range(n_interviews):
        wave = str(1 + i % 2)
        date = f"202{4 + int(wave)}-0{1 + i % 9}-1{i % 9}"
        (raw / "interviews" / f"{SITES[i % len(SITES)]}_p{i:05d}_w{wave}.md").write_text(
            interview_text(maker, rng, f"P{i:05d}", wave, date, TURNS), encoding="utf-8")

    import csv

    with open(raw / "surveys" / "partner_survey.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Response ID", "Site", "Sector", *SURVEY_QUESTIONS])
        for r in range(n_responses):
            writer.writerow([f"R{r:06d}", rng.choice(SITES), rng.choice(SECTORS),
                             *(maker.segment() for _ in SURVEY_QUESTIONS)])

    for k in range(n_observations):
        site, wave = SITES[k % len(SITES)], str(1 + k % 2)
        body = "\n\n".join(maker.segment() for _ in range(paragraphs))
        (raw / "observations" / f"{site}_board_{k:05d}.md").write_text(
            f"---\nsite: {site}\nwave: \"{wave}\"\ndate: 202{4 + int(wave)}-03-0{1 + k % 9}\n"
            f"session: \"Partnership board {k}\"\n---\n\n{body}\n", encoding="utf-8")

    config = {
        "project": {"name": "Synthetic scale evaluation", "site_noun": "partnership"},
        "sites": dict(zip(SITES, SITE_NAMES)),
        "surveys": [{"name": "partner_survey", "file": "partner_survey.csv", "format": "generic",
                     "id_column": "Response ID", "site_column": "Site", "sector_column": "Sector",
                     "wave": "1", "date": "2025-06-01", "text_columns": SURVEY_QUESTIONS}],
    }
    if backend != "onnx":   # the default project's config names no backend
        config["embedding"] = {"backend": backend}
    (root / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return {"interviews": n_interviews, "survey_responses": n_responses,
            "observations": n_observations, "documents": n_interviews + 1 + n_observations,
            "extra": (f"P{n_interviews:05d}", TURNS, rng.getstate())}


def add_interview(root: Path, written: dict, seed: int = 99) -> None:
    pid, turns, _state = written["extra"]
    rng = random.Random(seed)
    maker = TextMaker(rng)
    (root / "data" / "raw" / "interviews" / f"holt_{pid.lower()}_w2.md").write_text(
        interview_text(maker, rng, pid, "2", "2026-05-05", turns), encoding="utf-8")


# ------------------------------------------------------------------ running


class PeakMemory:
    """Poll the RSS of a process and all its descendants; keep the peak of the sum."""

    def __init__(self, pid: int, interval: float = 0.1):
        import psutil

        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak_total = 0
        self.peak_single = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                processes = [self.process, *self.process.children(recursive=True)]
            except psutil.Error:
                break
            total = 0
            for proc in processes:
                try:
                    rss = proc.memory_info().rss
                except psutil.Error:
                    continue
                total += rss
                self.peak_single = max(self.peak_single, rss)
            self.peak_total = max(self.peak_total, total)
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def run_workflow(project: Path, log_name: str) -> dict:
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
               "--directory", str(project), "--cores", "2"]
    log_path = project.parent / f"{log_name}.log"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with open(log_path, "w") as log_file:
        process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, env=env)
        memory = PeakMemory(process.pid)
        returncode = process.wait()
        memory.stop()
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    text = log_path.read_text(errors="replace")
    if returncode != 0:
        raise SystemExit(f"snakemake failed ({returncode}); see {log_path}\n{text[-4000:]}")
    jobs = re.search(r"^total\s+(\d+)", text, re.MULTILINE)
    return {"seconds": round(seconds, 1), "cpu_seconds": round(cpu, 1), "peak_rss_mb": round(memory.peak_total / 2**20),
            "peak_single_rss_mb": round(memory.peak_single / 2**20),
            "jobs": int(jobs.group(1)) if jobs else 0, "rule_seconds": rule_seconds(text),
            "log": str(log_path)}


def rule_seconds(text: str) -> dict:
    """Seconds per rule from Snakemake's log (start and 'Finished' timestamps, 1 s resolution)."""
    stamp = re.compile(r"^\[(\w{3} \w{3}\s+\d+ \d\d:\d\d:\d\d \d{4})\]", re.MULTILINE)
    events = []
    for match in stamp.finditer(text):
        when = dt.datetime.strptime(re.sub(r"\s+", " ", match.group(1)), "%a %b %d %H:%M:%S %Y")
        block = text[match.end():match.end() + 400]
        rule = re.match(r"\s*(?:local)?rule (\w+):", block)
        done = re.match(r"\s*Finished jobid: \d+ \(Rule: (\w+)\)", block)
        if rule:
            events.append(("start", rule.group(1), when))
        elif done:
            events.append(("end", done.group(1), when))
    started, seconds = {}, {}
    for kind, rule, when in events:
        if kind == "start":
            started.setdefault(rule, when)
        elif rule in started:
            seconds[rule] = seconds.get(rule, 0) + (when - started.pop(rule)).total_seconds()
    return seconds


def encode_floor(texts: list[str], bf16: bool = False) -> tuple[float, float]:
    """Wall and CPU seconds of SentenceTransformer.encode on ``texts`` alone (model already loaded),
    in float32 (the issue's floor) or under bfloat16 autocast (the ``torch_bf16`` backend's arithmetic)."""
    import torch

    from pipeline.embed import load_model

    model = load_model({"embedding": {"backend": "torch"}}, REPO).model   # the floor: sentence-transformers
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        model.encode(texts[:64], batch_size=64)                # warm-up
        started, cpu_started = time.perf_counter(), time.process_time()
        model.encode(texts, batch_size=64, convert_to_numpy=True, normalize_embeddings=True,
                     show_progress_bar=False)
    return time.perf_counter() - started, time.process_time() - cpu_started


def distinct_floor(result: dict, texts: list[str]) -> None:
    """Add the floor over the distinct texts only (the workflow encodes each text once) to ``result``;
    when the workflow embedded in bfloat16, also the same floor in bfloat16."""
    distinct = list(dict.fromkeys(texts))
    floor = result.get("floor_distinct_seconds") or encode_floor(distinct)[0]
    result["distinct_texts"] = len(distinct)
    result["floor_distinct_seconds"] = round(floor, 1)
    result["cold_over_floor_distinct"] = round(result["cold"]["seconds"] / floor, 2)
    print(f"[{result['size']}] floor over {len(distinct)} distinct texts: {floor:.1f} s; "
          f"cold/floor {result['cold_over_floor_distinct']}", flush=True)
    if result.get("backend") == "torch_bf16":
        floor, _cpu = encode_floor(distinct, bf16=True)
        result["floor_distinct_bf16_seconds"] = round(floor, 1)
        result["cold_over_floor_distinct_bf16"] = round(result["cold"]["seconds"] / floor, 2)
        print(f"[{result['size']}] bfloat16 floor over the distinct texts: {floor:.1f} s; "
              f"cold/floor {result['cold_over_floor_distinct_bf16']}", flush=True)


def bench(n_segments: int, keep: Path | None, backend: str = "onnx") -> dict:
    import pandas as pd

    from pipeline import paths

    base = keep if keep else Path(tempfile.mkdtemp(prefix=f"scale{n_segments}-"))
    project = base / "project"
    if project.exists():
        shutil.rmtree(project)
    project.mkdir(parents=True)
    written = make_project(project, n_segments, backend=backend)
    print(f"[{n_segments}] project written to {project}: {written['interviews']} interviews, "
          f"{written['survey_responses']} survey responses, {written['observations']} observation notes",
          flush=True)
    result = {"size": n_segments, "date": dt.date.today().isoformat(), "machine": machine(),
              "backend": backend, "documents": written["documents"]}
    result["cold"] = run_workflow(project, "cold")
    texts = pd.read_parquet(project / paths.SEGMENTS, columns=["text"])["text"].astype(str).tolist()
    result["segments"] = len(texts)
    result["mean_chars"] = round(sum(map(len, texts)) / max(len(texts), 1))
    print(f"[{n_segments}] cold: {result['cold']['seconds']} s, {len(texts)} segments", flush=True)
    add_interview(project, written)
    result["one_more"] = run_workflow(project, "one_more")
    print(f"[{n_segments}] +1 interview: {result['one_more']['seconds']} s", flush=True)
    result["no_change"] = run_workflow(project, "no_change")
    print(f"[{n_segments}] no change: {result['no_change']['seconds']} s", flush=True)
    result["dry_run_jobs"] = dry_run_jobs(project)
    load_before = os.getloadavg()[1]
    default = load_results(DEFAULT_RESULTS).get(str(n_segments)) if backend != "onnx" else None
    if default and default["segments"] == len(texts) and "floor_distinct_seconds" in default:
        # The same texts (same generator and seed) as the default run, whose float32 floors are kept.
        floor, floor_cpu = default["floor_seconds"], default["floor_cpu_seconds"]
        result["floor_distinct_seconds"] = default["floor_distinct_seconds"]
        result["floors_from"] = f"the default run of {default['date']}"
    else:
        floor, floor_cpu = encode_floor(texts)
    result["floor_seconds"], result["floor_cpu_seconds"] = round(floor, 1), round(floor_cpu, 1)
    result["cold_over_floor"] = round(result["cold"]["seconds"] / floor, 2)
    result["cold_over_floor_cpu"] = round(result["cold"]["cpu_seconds"] / floor_cpu, 2)
    result["load_average_5min"] = round(load_before, 1)
    distinct_floor(result, texts)
    print(f"[{n_segments}] floor: {result['floor_seconds']} s ({result['floor_cpu_seconds']} CPU s); "
          f"cold/floor {result['cold_over_floor']} (CPU {result['cold_over_floor_cpu']})", flush=True)
    if not keep:
        shutil.rmtree(base, ignore_errors=True)
    return result


def added_interview(project: Path) -> Path:
    """The file add_interview wrote: the highest participant number (IDs are zero-padded)."""
    return max((project / "data" / "raw" / "interviews").glob("holt_p*_w2.md"))


def again(n_segments: int, base: Path) -> dict:
    """Re-measure the +1-interview and no-change runs on a project kept by ``--keep``.

    The interview added by the first benchmark is taken out and the workflow
    brought up to date without it (not timed); then a new interview with new
    text takes its place and the two runs are timed with the current code. The
    cold run and the floor are kept.
    """
    project = base / "project"
    results = load_results()
    if str(n_segments) not in results or not project.is_dir():
        raise SystemExit(f"no kept project for {n_segments} segments in {base} "
                         "(run --sizes with --keep first)")
    added = added_interview(project)
    added.unlink()
    run_workflow(project, "without_again")
    # A new interview for the same participant: new text, which the embedding
    # cache has never seen (putting the old file back would cost no encoding).
    seed = int(time.time())
    add_interview(project, {"extra": (added.stem.split("_")[1].upper(), TURNS, None)}, seed=seed)
    result = results[str(n_segments)]
    result["reruns_seed"] = seed
    result["one_more"] = run_workflow(project, "one_more_again")
    print(f"[{n_segments}] +1 interview again: {result['one_more']['seconds']} s", flush=True)
    result["no_change"] = run_workflow(project, "no_change_again")
    print(f"[{n_segments}] no change again: {result['no_change']['seconds']} s", flush=True)
    result["reruns_date"] = dt.date.today().isoformat()
    return result


def cold_texts(project: Path) -> list[str]:
    """The segment texts of the cold run: every segment but those of the interview added since."""
    import pandas as pd

    from pipeline import paths

    added = added_interview(project)
    documents = pd.read_parquet(project / paths.DOCUMENTS, columns=["document_id", "source_file"])
    later = set(documents.loc[documents["source_file"] == f"interviews/{added.name}", "document_id"])
    segments = pd.read_parquet(project / paths.SEGMENTS, columns=["document_id", "text"])
    return segments.loc[~segments["document_id"].isin(later), "text"].astype(str).tolist()


def dry_run_jobs(project: Path) -> dict:
    """Jobs and DAG-build time of a dry run of every rule (``--forceall -n``)."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
                          "--directory", str(project), "--cores", "2", "-n", "--forceall"],
                         capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - started
    jobs = re.search(r"^total\s+(\d+)", out.stdout + out.stderr, re.MULTILINE)
    return {"jobs": int(jobs.group(1)) if jobs else 0, "seconds": round(seconds, 1)}


# ------------------------------------------------------------------ report


def load_results(path: Path | None = None) -> dict:
    """The results file's entries by size (``RESULTS``, that of the backend measured, unless ``path``)."""
    path = path or RESULTS
    return json.loads(path.read_text()) if path.exists() else {}


def save_result(size: int, result: dict) -> None:
    """Store one size's entry in the results file, keeping the other sizes'."""
    results = load_results()
    results[str(size)] = result
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")


def table(results: dict) -> str:
    rows = ["| segments (documents) | run | wall time | CPU time | peak RSS, tree (largest process) | jobs | "
            "encode floor, wall (CPU) | cold / floor, wall (CPU) | target |",
            "|---|---|---|---|---|---|---|---|---|"]
    for key in sorted(results, key=int):
        r = results[key]
        label = f"{r['segments']:,} ({r['documents']:,})"
        for name, run, target in (
                ("cold", r["cold"], "≤ 1.3 × floor"),
                ("+1 interview", r["one_more"], f"≤ {0.1 * r['cold']['seconds']:.0f} s (10% of cold)"),
                ("no change", r["no_change"], "≤ 5 s")):
            floor = f"{r['floor_seconds']} s ({r.get('floor_cpu_seconds', '?')} s)" if name == "cold" else ""
            ratio = f"{r['cold_over_floor']} ({r.get('cold_over_floor_cpu', '?')})" if name == "cold" else ""
            if name == "cold" and "floor_distinct_seconds" in r:
                ratio += (f"; distinct texts: {r['cold_over_floor_distinct']} "
                          f"({r['floor_distinct_seconds']} s)")
            if name == "cold" and "floor_distinct_bf16_seconds" in r:
                ratio += (f"; distinct texts in bf16: {r['cold_over_floor_distinct_bf16']} "
                          f"({r['floor_distinct_bf16_seconds']} s)")
            rows.append(f"| {label if name == 'cold' else ''} | {name} | {run['seconds']} s | "
                        f"{run.get('cpu_seconds', '?')} s | "
                        f"{run['peak_rss_mb']:,} MB ({run['peak_single_rss_mb']:,} MB) | {run['jobs']} | "
                        f"{floor} | {ratio} | {target} |")
    return "\n".join(rows)


def breakdown(results: dict, run: str = "cold") -> str:
    """Seconds per rule of one run ("cold" or "one_more") at each size."""
    rules = sorted({rule for r in results.values() for rule in r[run]["rule_seconds"]})
    sizes = sorted(results, key=int)
    rows = ["| rule | " + " | ".join(f"{results[k]['segments']:,}" for k in sizes) + " |",
            "|---|" + "---|" * len(sizes)]
    for rule in rules:
        seconds = [results[k][run]["rule_seconds"].get(rule) for k in sizes]
        # "–": the rule did not exist when that size was measured
        rows.append(f"| {rule} | " + " | ".join("–" if s is None else f"{s:.0f}" for s in seconds) + " |")
    return "\n".join(rows)


def write_section(results: dict, notes: str) -> None:
    by_run: dict[tuple[str, str], list[str]] = {}   # (machine, date) -> the sizes measured there and then
    for r in results.values():
        by_run.setdefault((r["machine"], r["date"]), []).append(f"{r['segments']:,}")
    where = "; ".join(f"machine: {m}; run {d}" + (f" ({', '.join(sizes)} segments)" if len(by_run) > 1 else "")
                      for (m, d), sizes in sorted(by_run.items()))
    body = (f"{SECTION}\n\nCommands: `.venv/bin/python benchmarks/scale.py --sizes 1000 10000 100000 "
            "--keep DIR`, then `--write` (`--again SIZES --keep DIR` re-measures the +1-interview and "
            "no-change runs on kept projects). "
            f"{where[0].upper()}{where[1:]}. "
            "The conditions of each row are described below the tables.\n\n"
            + table(results) + "\n\nSeconds per rule (from Snakemake's log timestamps, whole seconds; jobs "
            "overlap on 2 cores, so they do not sum to the wall time). The cold run:\n\n" + breakdown(results)
            + "\n\nThe +1-interview run:\n\n" + breakdown(results, "one_more")
            + "\n\n" + notes.strip() + "\n")
    replace_section(SECTION, body)


def main(argv: list[str] | None = None) -> int:
    global RESULTS
    from pipeline.model_files import BACKENDS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[],
                        help="target segment counts to run (e.g. 1000 10000 100000)")
    parser.add_argument("--keep", type=Path, default=None, help="build the project here and keep it")
    parser.add_argument("--again", type=int, nargs="*", default=[],
                        help="sizes whose kept project (--keep) re-measures the +1 and no-change runs")
    parser.add_argument("--write", action="store_true", help="rebuild the ## Scale section of BENCHMARKS.md")
    parser.add_argument("--notes", type=Path, default=None,
                        help="a Markdown file appended to the section (findings, fixes)")
    parser.add_argument("--backend", default="onnx", choices=BACKENDS,
                        help="embedding.backend of the generated projects; results of another backend than "
                             "the default (onnx) are kept in scale_results_<backend>.json")
    args = parser.parse_args(argv)
    if args.backend != "onnx":
        RESULTS = RESULTS.with_name(f"scale_results_{args.backend}.json")
        if args.write:
            raise SystemExit("--write reports the default backend only; leave out --backend")
    for size in args.sizes:
        save_result(size, bench(size, args.keep / str(size) if args.keep else None, args.backend))
    for size in args.again:
        if not args.keep:
            raise SystemExit("--again needs --keep, the folder the projects were kept in")
        result = again(size, args.keep / str(size))
        save_result(size, result)   # before the floor, which takes long at 100k
        if "floor_distinct_seconds" not in result:
            distinct_floor(result, cold_texts(args.keep / str(size) / "project"))
            save_result(size, result)
    if args.write:
        notes = args.notes.read_text(encoding="utf-8") if args.notes else ""
        write_section(load_results(), notes)
    results = load_results()
    if results:
        print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
