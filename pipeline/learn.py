"""Fitting the code model: from the codebook's own text and from analysts' decisions.

The suggestion model (:class:`pipeline.suggest.CodeModel`) is fitted here.
Without any decisions it learns from the codebook alone: each code's label,
definition, include cues and examples are its labelled training texts. As
analysts review suggestions, their decisions in
``data/processed/decisions.parquet`` add to that:

* A segment *accepted* or *changed* to a code (and not orphaned) is an example
  of that code. Once a code has ``suggest.min_examples_to_learn`` examples,
  they become a second set of prototypes: a segment that is closer to one of
  them than segments of *different* codes usually are to each other scores
  higher for the code (:func:`pipeline.suggest.reviewed_similarity`). The
  codebook text keeps counting in full. Reviewed segments are deliberately
  not added to the codebook prototypes or to the classifier: on the labelled
  benchmarks a handful of segments per code, which resemble one another
  little more than segments of different codes do, made suggestions worse
  that way (see BENCHMARKS.md), while the gated similarity leaves them
  unchanged and still moves text phrased like an analyst's example to its code.
  The same segments are training texts of the lexical classifier (character
  n-grams; :func:`pipeline.suggest.lexical_probability`), where they help: a
  project's own words for a code are often in them and not in the codebook.
* A segment *rejected* with no code is text to which no code applies. It is a
  training point of both classifiers' "none of the codes" class and joins the
  null distribution that sets each code's automatic threshold, so text like
  the segments analysts rejected scores lower and needs a higher score to count.

The fitted model is cached in ``data/processed/cache/learned/`` as ``.npz``
(numbers and strings only, never pickle), keyed by a hash of everything it is
fitted from: the codebook text and its embeddings, the reviewed segments'
texts, embeddings and codes, and the settings. It holds the reviewed segments'
embeddings and, for the lexical classifier, the 3- to 5-character pieces of
the words in them, not the texts themselves (``python -m pipeline forget``
keeps only the model the last run used, which never learned from segments that
are gone). An unchanged codebook and unchanged decisions load it from the cache;
any change refits it, which takes a second or two on a CPU.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.atomic import atomic_path
from pipeline.tables import read_checked
from pipeline.suggest import (BACKGROUND_TEXTS, FALLBACK_THRESHOLD, HIGH_CONFIDENCE_QUANTILE, CodeModel,
                              LEXICAL_NGRAMS, CodeTexts, classifier_probability, combined_score)

log = logging.getLogger(__name__)

DECISION_COLUMNS_USED = ["segment_id", "decision", "code_id", "orphaned"]
# Inverse regularisation strength of the logistic regressions. Their inputs are
# unit vectors (embeddings, and TF-IDF rows), so one value suits any codebook.
CLASSIFIER_C = 10.0
# Folds for cross-fitting the classifier when scoring the null texts.
NULL_FOLDS = 5
# How many fitted models the cache keeps (older ones are removed).
CACHE_KEEP = 5
SEED = 0


@dataclass
class TrainingExamples:
    """Reviewed segments usable for learning.

    Attributes
    ----------
    segment_ids : list of str
        One per example; a segment coded with two codes appears twice.
    code_ids : list of str
        The (live) code of each example.
    texts : list of str
        The segment's text of each example.
    vectors : numpy.ndarray
        ``(len(segment_ids), dim)`` embeddings.
    no_code_segment_ids, no_code_texts : list of str
        Segments rejected with no code (and coded by nobody), and their texts.
    no_code_vectors : numpy.ndarray
    """

    segment_ids: list[str]
    code_ids: list[str]
    texts: list[str]
    vectors: np.ndarray
    no_code_segment_ids: list[str]
    no_code_texts: list[str]
    no_code_vectors: np.ndarray

    def counts(self) -> dict[str, int]:
        """Examples per code."""
        return pd.Series(self.code_ids, dtype=object).value_counts().to_dict() if self.code_ids else {}


def read_decisions(path: str | Path) -> pd.DataFrame:
    """Read the columns of ``decisions.parquet`` that learning uses.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    pandas.DataFrame
        ``segment_id, decision, code_id, orphaned``; empty if the file is
        missing (no decisions yet).

    Raises
    ------
    InputError
        If the file exists but lacks those columns.
    """
    path = Path(path)
    if not path.is_file():
        return pd.DataFrame({c: pd.Series(dtype=object) for c in DECISION_COLUMNS_USED})
    frame = read_checked(path, DECISION_COLUMNS_USED, "decisions",
                         hint="delete it and re-run the review import stage")
    frame = frame[DECISION_COLUMNS_USED].copy()
    for column in ("segment_id", "decision", "code_id"):
        frame[column] = frame[column].fillna("").astype(str).str.strip()
    frame["decision"] = frame["decision"].str.lower()
    frame["orphaned"] = frame["orphaned"].fillna(False).astype(bool)
    return frame


def training_examples(decisions: pd.DataFrame, codebook, segment_ids: list[str], segment_texts: list[str],
                      segment_vectors: np.ndarray) -> TrainingExamples:
    """Turn decisions into labelled examples, using the current segments' texts and embeddings.

    Orphaned decisions, decisions on segments without an embedding and codes
    that are no longer in the codebook (aliases resolve to their live code) are
    left out. Each (segment, code) pair counts once, however many coders chose it.

    Parameters
    ----------
    decisions : pandas.DataFrame
        As returned by :func:`read_decisions`.
    codebook : pipeline.codebook.Codebook
    segment_ids, segment_texts : list of str
        The segments whose embeddings are ``segment_vectors``, and their texts.
    segment_vectors : numpy.ndarray

    Returns
    -------
    TrainingExamples
    """
    row_of = {segment_id: i for i, segment_id in enumerate(segment_ids)}
    dim = segment_vectors.shape[1] if segment_vectors.ndim == 2 else 0
    live = decisions[~decisions["orphaned"]] if len(decisions) else decisions
    coded: dict[tuple[str, str], None] = {}
    rejected: dict[str, None] = {}
    for segment_id, decision, code_id in zip(live["segment_id"], live["decision"], live["code_id"]):
        if segment_id not in row_of:
            continue
        if decision in ("accept", "change") and code_id:
            live_id = codebook.resolve_alias(code_id)
            if live_id is not None:
                coded[(segment_id, live_id)] = None
        elif decision == "reject" and not code_id:
            rejected[segment_id] = None
    coded_segments = {segment_id for segment_id, _code in coded}
    no_code = [s for s in rejected if s not in coded_segments]
    pairs = list(coded)
    return TrainingExamples(
        segment_ids=[s for s, _c in pairs],
        code_ids=[c for _s, c in pairs],
        texts=[segment_texts[row_of[s]] for s, _c in pairs],
        vectors=(segment_vectors[[row_of[s] for s, _c in pairs]] if pairs
                 else np.zeros((0, dim), dtype=np.float32)),
        no_code_segment_ids=no_code,
        no_code_texts=[segment_texts[row_of[s]] for s in no_code],
        no_code_vectors=(segment_vectors[[row_of[s] for s in no_code]] if no_code
                         else np.zeros((0, dim), dtype=np.float32)),
    )


# -------------------------------------------------------------------- fitting


def _fit_classifier(x, y: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression (``x`` dense or sparse); classes absent from ``y`` get a very low intercept."""
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    coef = np.zeros((n_classes, x.shape[1]))
    intercept = np.full(n_classes, -30.0)
    classes = np.unique(y)
    if len(classes) < 2:
        intercept[classes] = 0.0
        return coef, intercept
    # One thread: with torch loaded, BLAS and OpenMP threads contend and a fit
    # that takes 0.1 s on one thread takes seconds on two.
    with threadpool_limits(1):
        fitted = LogisticRegression(C=CLASSIFIER_C, max_iter=2000, random_state=SEED).fit(x, y)
    coef[fitted.classes_] = fitted.coef_ if len(classes) > 2 else np.vstack([-fitted.coef_, fitted.coef_]) / 2
    intercept[fitted.classes_] = (fitted.intercept_ if len(classes) > 2
                                  else np.concatenate([-fitted.intercept_, fitted.intercept_]) / 2)
    return coef, intercept


def lexical_vectoriser(vocabulary: list[str] | None = None):
    """The lexical classifier's TF-IDF vectoriser, unfitted or fixed to a ``vocabulary``.

    :func:`pipeline.suggest._lexical_scores` applies its transform without
    scikit-learn; tests/test_learn.py checks that the two agree.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(analyzer="char_wb", ngram_range=LEXICAL_NGRAMS, sublinear_tf=True, dtype=np.float32,
                           vocabulary=None if vocabulary is None else {t: i for i, t in enumerate(vocabulary)})


def _fit_lexical(texts: list[str], y: np.ndarray, n_classes: int) -> dict:
    """The lexical classifier's fields of :class:`~pipeline.suggest.CodeModel`, fitted on ``texts``."""
    vectoriser = lexical_vectoriser()
    features = vectoriser.fit_transform(texts)
    coef, intercept = _fit_classifier(features, y, n_classes)
    return {"lexical_vocabulary": vectoriser.get_feature_names_out().tolist(),
            "lexical_idf": vectoriser.idf_.astype(np.float64),
            "lexical_coef": coef.astype(np.float32), "lexical_intercept": intercept}


def _fold_of(n: int) -> np.ndarray:
    """The cross-fitting fold of each of ``n`` points."""
    return np.random.default_rng(SEED).permutation(n) % NULL_FOLDS


def _cross_fitted_lexical(model: CodeModel, texts: list[str], y: np.ndarray) -> np.ndarray:
    """The lexical probability of every training text from a classifier fitted without its fold."""
    from pipeline.suggest import lexical_probability

    out = np.zeros((len(texts), model.n_codes))
    fold = _fold_of(len(texts))
    for k in range(NULL_FOLDS):
        held_out = np.flatnonzero(fold == k)
        if not len(held_out):
            continue
        kept = np.flatnonzero(fold != k)
        fitted = _fit_lexical([texts[i] for i in kept], y[kept], model.n_codes + 1)
        out[held_out] = lexical_probability([texts[i] for i in held_out], CodeModel(**{**model.__dict__, **fitted}))
    return out


# Quantile of the similarities between segments of different codes that a
# segment must exceed for a reviewed segment's code to gain anything.
REVIEWED_GATE_QUANTILE = 0.99


def set_thresholds(model: CodeModel, x: np.ndarray, y: np.ndarray, n_background: int,
                   extra: np.ndarray, extra_owner: np.ndarray, quantile: float,
                   lexical: np.ndarray | None = None) -> None:
    """Set each code's automatic thresholds from text that is not about it.

    Parameters
    ----------
    model : CodeModel
        The fitted model; its ``threshold`` and ``high_threshold`` are set.
    x, y : numpy.ndarray
        The classifier's training points and classes (``n_codes`` is "none");
        the last ``n_background`` points are the background sentences.
    extra, extra_owner : numpy.ndarray
        Reviewed segments and their codes (not trained on by the classifier).
    quantile : float
    lexical : numpy.ndarray, optional
        The lexical probabilities of the points of ``x``, then of ``extra``,
        cross-fitted (see :func:`_cross_fitted_lexical`); None without a
        lexical classifier.

    Notes
    -----
    The classifier's training points are scored with the classifier
    cross-fitted (``NULL_FOLDS`` folds), so that no point is scored by a
    classifier trained on it; the same goes for the lexical classifier. ``threshold`` is the higher of two floors: the
    ``quantile`` of the code's scores on in-domain text about something else
    (other codes' texts and reviewed segments, and segments analysts coded with
    no code), and the same quantile of its scores on the background sentences.
    ``high_threshold`` uses the 0.99 quantile of the in-domain text (and at
    least ``threshold``).
    """
    n_codes = model.n_codes
    probability = np.full((len(x), n_codes), 1.0 / n_codes)
    if model.classifier_weight and model.coef.size:
        fold = _fold_of(len(x))
        for k in range(NULL_FOLDS):
            held_out = fold == k
            if not held_out.any():
                continue
            coef, intercept = _fit_classifier(x[~held_out], y[~held_out], n_codes + 1)
            fold_model = CodeModel(**{**model.__dict__, "coef": coef, "intercept": intercept})
            probability[held_out] = classifier_probability(x[held_out], fold_model)
    if lexical is None:
        lexical = np.full((len(x) + len(extra), n_codes), 1.0 / n_codes)
    scores = combined_score(x, model, probability, lexical[:len(x)])
    is_background = np.zeros(len(x), dtype=bool)
    if n_background:
        is_background[-n_background:] = True
    extra_scores = (combined_score(extra, model, classifier_probability(extra, model), lexical[len(x):])
                    if len(extra) else np.zeros((0, n_codes)))
    for code in range(n_codes):
        in_domain = np.concatenate([scores[(y != code) & ~is_background, code],
                                    extra_scores[extra_owner != code, code]])
        background = scores[is_background, code]
        floor = float(np.quantile(background, quantile)) if len(background) else -np.inf
        if len(in_domain):
            model.threshold[code] = max(float(np.quantile(in_domain, quantile)), floor)
            model.high_threshold[code] = max(
                float(np.quantile(in_domain, max(quantile, HIGH_CONFIDENCE_QUANTILE))), floor)
        elif len(background):
            # A single-code codebook: only the background tells what is off topic.
            model.threshold[code] = model.high_threshold[code] = float(background.max())


def reviewed_gate(examples: TrainingExamples, prototypes: np.ndarray, owner: np.ndarray,
                  index_of: dict[str, int]) -> float:
    """The similarity that reviewed segments reach to text about *different* codes.

    The :data:`REVIEWED_GATE_QUANTILE` of the similarities between each reviewed
    segment and every reviewed segment or codebook text of another code.
    """
    codes = np.array([index_of[c] for c in examples.code_ids])
    vectors = examples.vectors.astype(np.float32)
    references = np.vstack([vectors, prototypes])
    reference_codes = np.concatenate([codes, owner])
    sims = vectors @ references.T
    different = codes[:, None] != reference_codes[None, :]
    if not different.any():
        return 1.0
    return float(np.quantile(sims[different], REVIEWED_GATE_QUANTILE))


def fit_code_model(texts: CodeTexts, text_vectors: np.ndarray, exclude_vectors: np.ndarray,
                   background_vectors: np.ndarray | None, examples: TrainingExamples | None,
                   settings: dict) -> CodeModel:
    """Fit the suggestion model from the codebook text and, where there are enough, reviewed segments.

    Parameters
    ----------
    texts : pipeline.suggest.CodeTexts
        The codebook's prototype and exclude texts.
    text_vectors, exclude_vectors : numpy.ndarray
        Their embeddings.
    background_vectors : numpy.ndarray or None
        Embeddings of everyday text about none of the codes
        (:data:`pipeline.suggest.BACKGROUND_TEXTS`): the classifier's "none"
        class and a floor under the automatic thresholds.
    examples : TrainingExamples or None
        Reviewed segments (None or empty: the codebook alone).
    settings : dict
        The ``suggest`` settings (see :func:`pipeline.suggest.suggest_settings`).

    Returns
    -------
    pipeline.suggest.CodeModel
    """
    n_codes = len(texts.code_ids)
    none = n_codes  # the classifier's "none of the codes" class
    index_of = {code_id: i for i, code_id in enumerate(texts.code_ids)}
    prototypes = np.asarray(text_vectors, dtype=np.float32)
    owner = np.asarray(texts.owner, dtype=np.int64)
    dim = prototypes.shape[1]

    learned_codes: list[str] = []
    reviewed = np.zeros((0, dim), dtype=np.float32)
    reviewed_owner = np.zeros(0, dtype=np.int64)
    reviewed_texts: list[str] = []
    gate = 1.0
    if examples is not None and examples.code_ids:
        counts = examples.counts()
        minimum = int(settings["min_examples_to_learn"])
        learned_codes = [c for c in texts.code_ids if counts.get(c, 0) >= minimum]
        use = np.isin(np.array(examples.code_ids, dtype=object), learned_codes)
        if use.any():
            reviewed = examples.vectors[use].astype(np.float32)
            reviewed_owner = np.array([index_of[c] for c in np.array(examples.code_ids, dtype=object)[use]],
                                      dtype=np.int64)
            reviewed_texts = [t for t, used in zip(examples.texts, use) if used]
            gate = reviewed_gate(examples, prototypes, owner, index_of)
    no_code = (examples.no_code_vectors.astype(np.float32).reshape(-1, dim) if examples is not None
               else np.zeros((0, dim), dtype=np.float32))
    background = (np.asarray(background_vectors, dtype=np.float32).reshape(-1, dim)
                  if background_vectors is not None else np.zeros((0, dim), dtype=np.float32))
    if len(background) not in (0, len(BACKGROUND_TEXTS)):
        raise ValueError(f"{len(background)} background vectors for {len(BACKGROUND_TEXTS)} background texts")
    x = np.vstack([prototypes, no_code, background])
    y = np.concatenate([owner, np.full(len(no_code) + len(background), none)]).astype(np.int64)
    # The lexical classifier's training texts: those of x, then the reviewed segments.
    lexical_texts = (texts.texts + (examples.no_code_texts if examples is not None else [])
                     + list(BACKGROUND_TEXTS)[:len(background)] + reviewed_texts)
    lexical_y = np.concatenate([y, reviewed_owner])
    lexical_weight = float(settings["lexical_weight"])
    lexical = _fit_lexical(lexical_texts, lexical_y, n_codes + 1) if lexical_weight else {}

    coef, intercept = _fit_classifier(x.astype(np.float64), y, n_codes + 1)
    model = CodeModel(
        code_ids=list(texts.code_ids), labels=list(texts.labels),
        prototypes=prototypes, prototype_owner=owner,
        excludes=np.asarray(exclude_vectors, dtype=np.float32).reshape(-1, dim),
        exclude_owner=np.asarray(texts.exclude_owner, dtype=np.int64),
        coef=coef, intercept=intercept,
        threshold=np.full(n_codes, FALLBACK_THRESHOLD), high_threshold=np.full(n_codes, np.inf),
        exclude_weight=float(settings["exclude_weight"]),
        classifier_weight=float(settings["classifier_weight"]),
        class_counts=np.bincount(y, minlength=n_codes + 1).astype(np.float64),
        learned_codes=learned_codes, reviewed=reviewed, reviewed_owner=reviewed_owner,
        reviewed_gate=gate, reviewed_weight=float(settings["reviewed_weight"]),
        lexical_weight=lexical_weight, **lexical,
    )
    set_thresholds(model, x.astype(np.float64), y, len(background), reviewed, reviewed_owner,
                   float(settings["auto_threshold_quantile"]),
                   _cross_fitted_lexical(model, lexical_texts, lexical_y) if lexical else None)
    return model


# ---------------------------------------------------------------------- cache


def model_cache_key(texts: CodeTexts, text_vectors: np.ndarray, exclude_vectors: np.ndarray,
                    background_vectors: np.ndarray | None, examples: TrainingExamples | None,
                    settings: dict, model_key: str = "") -> str:
    """Hash of everything :func:`fit_code_model` depends on."""
    digest = hashlib.sha256()
    used = {k: settings[k] for k in ("exclude_weight", "classifier_weight", "min_examples_to_learn",
                                     "auto_threshold_quantile", "reviewed_weight", "lexical_weight")}
    digest.update(json.dumps({"model": model_key, "codes": texts.code_ids, "labels": texts.labels,
                              "texts": texts.texts, "owner": texts.owner.tolist(),
                              "excludes": texts.exclude_texts,
                              "exclude_owner": texts.exclude_owner.tolist(), "settings": used,
                              "version": 5}, sort_keys=True).encode())
    for array in (text_vectors, exclude_vectors,
                  background_vectors if background_vectors is not None else np.zeros(0)):
        digest.update(np.ascontiguousarray(array, dtype=np.float32).tobytes())
    if examples is not None:
        digest.update(json.dumps([examples.segment_ids, examples.code_ids, examples.texts,
                                  examples.no_code_segment_ids, examples.no_code_texts]).encode())
        for array in (examples.vectors, examples.no_code_vectors):
            digest.update(np.ascontiguousarray(array, dtype=np.float32).tobytes())
    return digest.hexdigest()[:24]


def save_code_model(path: Path, model: CodeModel) -> None:
    """Write ``model`` as ``.npz`` (no pickled objects), atomically."""
    arrays = {name: getattr(model, name) for name in (
        "prototypes", "prototype_owner", "excludes", "exclude_owner", "coef", "intercept",
        "threshold", "high_threshold", "reviewed", "reviewed_owner", "class_counts",
        "lexical_idf", "lexical_coef", "lexical_intercept")}
    arrays["code_ids"] = np.array(model.code_ids, dtype=str)
    arrays["labels"] = np.array(model.labels, dtype=str)
    arrays["learned_codes"] = np.array(model.learned_codes, dtype=str)
    arrays["lexical_vocabulary"] = np.array(model.lexical_vocabulary, dtype=str)
    arrays["weights"] = np.array([model.exclude_weight, model.classifier_weight,
                                  model.reviewed_weight, model.reviewed_gate, model.lexical_weight])
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)


def load_code_model(path: Path) -> CodeModel:
    """Read a model written by :func:`save_code_model`."""
    with np.load(path, allow_pickle=False) as data:
        return CodeModel(
            code_ids=data["code_ids"].tolist(), labels=data["labels"].tolist(),
            prototypes=data["prototypes"], prototype_owner=data["prototype_owner"],
            excludes=data["excludes"], exclude_owner=data["exclude_owner"],
            coef=data["coef"], intercept=data["intercept"],
            threshold=data["threshold"], high_threshold=data["high_threshold"],
            exclude_weight=float(data["weights"][0]), classifier_weight=float(data["weights"][1]),
            class_counts=data["class_counts"], learned_codes=data["learned_codes"].tolist(),
            reviewed=data["reviewed"], reviewed_owner=data["reviewed_owner"],
            reviewed_weight=float(data["weights"][2]), reviewed_gate=float(data["weights"][3]),
            lexical_vocabulary=data["lexical_vocabulary"].tolist(), lexical_idf=data["lexical_idf"],
            lexical_coef=data["lexical_coef"], lexical_intercept=data["lexical_intercept"],
            lexical_weight=float(data["weights"][4]),
        )


def cached_code_model(texts: CodeTexts, text_vectors: np.ndarray, exclude_vectors: np.ndarray,
                      background_vectors: np.ndarray | None, examples: TrainingExamples | None,
                      settings: dict, cache_dir: Path | None, model_key: str = "") -> CodeModel:
    """:func:`fit_code_model`, or its cached result when nothing it depends on has changed.

    Parameters
    ----------
    cache_dir : Path or None
        Usually ``root / paths.MODEL_CACHE``; None fits without caching.
    model_key : str
        The embedding model's key (see :class:`pipeline.embed.LoadedModel`).
    Other parameters are those of :func:`fit_code_model`.
    """
    if cache_dir is None:
        return fit_code_model(texts, text_vectors, exclude_vectors, background_vectors, examples, settings)
    key = model_cache_key(texts, text_vectors, exclude_vectors, background_vectors, examples,
                          settings, model_key)
    path = Path(cache_dir) / f"{key}.npz"
    if path.is_file():
        try:
            model = load_code_model(path)
            log.info("Suggestion model loaded from the cache (%s)", path.name)
            # Now the most recently used: the one `python -m pipeline forget` keeps.
            with contextlib.suppress(OSError):
                os.utime(path)
            return model
        except Exception as error:  # a cache is disposable
            log.warning("Ignoring unreadable model cache %s (%s); refitting", path, error)
    started = time.perf_counter()
    model = fit_code_model(texts, text_vectors, exclude_vectors, background_vectors, examples, settings)
    save_code_model(path, model)
    n_examples = len(examples.code_ids) if examples is not None else 0
    log.info("Suggestion model fitted in %.1f s from %d codebook text(s) and %d reviewed example(s); "
             "learning from decisions for %d code(s)", time.perf_counter() - started,
             len(texts.texts), n_examples, len(model.learned_codes))
    for old in sorted(Path(cache_dir).glob("*.npz"), key=lambda p: p.stat().st_mtime)[:-CACHE_KEEP]:
        old.unlink(missing_ok=True)
    return model
