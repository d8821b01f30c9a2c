"""Code suggestions: the codebook codes most likely to apply to each segment.

Segments and code texts are embedded with the same encoder: by default the
embedding model fine-tuned on the codebook and the analysts' coded segments
(:mod:`pipeline.finetune`, ``suggest.fine_tune``), else the packaged model.

How a segment is scored against a code
--------------------------------------
Every piece of a code's text is embedded on its own: the label, the
definition, "label: definition", each include cue and each example. These are
the code's *prototypes*. Three signals are combined:

``relevance``
    A soft maximum of the segment's cosine similarity to the code's prototypes
    (``T * log(mean(exp(sim / T)))`` with ``T = 0.1``): close to the best
    match, but a code whose every prototype fits scores above one with a
    single lucky match. Each exclude cue is embedded too (without its
    "(use other_code)" pointer); when a segment is closer to one of them than
    to any of the code's own prototypes, the difference, times
    ``suggest.exclude_weight``, is taken off.
``classifier``
    A multinomial logistic regression over the codes, trained on the
    prototypes of every code, so that what tells
    neighbouring codes apart counts, not only what a code's text resembles.
    It has one more class, "none of the codes", trained on a fixed set of
    everyday sentences (:data:`BACKGROUND_TEXTS`) and on segments analysts
    rejected with no code, so that it does not push off-topic text towards
    whichever code is least unlike it.

``lexical``
    A second logistic regression over the same classes, on the segment's
    character n-grams (3 to 5 characters within words, TF-IDF weighted)
    instead of its embedding, trained on the codebook texts, the background
    sentences and, once a code has ``suggest.min_examples_to_learn`` of them,
    the segments analysts coded with it. It catches a project's own words for
    a code (a programme's name for its fund, a local term for a service) and
    their inflections, which an embedding trained on general English may
    place far from the codebook's wording.
``reviewed``
    Once a code has ``suggest.min_examples_to_learn`` segments that analysts
    accepted or changed to it (see :mod:`pipeline.learn`), a segment phrased
    much like one of them scores higher for it: by how far its similarity to
    the closest one exceeds what segments of *different* codes reach (see
    :func:`reviewed_similarity`). The codebook text keeps counting in full.

``score = relevance + classifier_weight * (p(code) - 1 / n_codes)
+ lexical_weight * (p_lexical(code) - 1 / n_codes) + reviewed_weight * reviewed``.
It is in cosine units: off-topic text scores low for every code, because the
two classifier parts are at most their weights and the reviewed part is zero
unless the text is close to an analyst's example.

Threshold and confidence
------------------------
``suggest.threshold: auto`` (the default) sets one threshold per code from a
null distribution of text that is not about the code: the prototypes and
reviewed segments of every *other* code and the segments an analyst marked as
having no code (in-domain text about something else). The threshold is the ``auto_threshold_quantile``
(0.9) of the code's scores on that text, or the same quantile of its scores
on the background sentences if that is higher (in a codebook whose codes are
far apart, text about other codes alone would let small talk through). The
two classifier parts of these scores are cross-fitted, so that they never
score text they were trained on. A suggestion is ``suggested`` when its score reaches the
threshold and "none of the codes" is not the classifier's most likely class
once each class's probability is divided by its share of the training texts
(:func:`none_is_likeliest`, so that a codebook's size does not decide it),
unless the segment is phrased much like one analysts coded. That second
condition matters with a fine-tuned encoder: the codebook texts are then its
training data, pulled towards their own codes and away from the others, so the
in-domain null sits low and thresholds from it alone let off-topic text
through (BENCHMARKS.md).
Confidence is ``high`` when the score also reaches the 0.99 quantile of the
code's in-domain null scores (above nearly all text about other codes),
``medium`` when it only passes the threshold, and ``low`` when it does not. A
number for ``suggest.threshold`` replaces the per-code thresholds and the
"none" condition for ``suggested``.

Nothing here is tuned to one codebook: there are no per-code settings or
keyword lists, and benchmarks/suggest_quality.py reports the method on a
second codebook from another domain with the same settings.
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline import paths
from pipeline.atomic import write_csv, write_parquet
from pipeline.errors import ConfigError, InputError
from pipeline.tables import SUGGESTION_COLUMNS

log = logging.getLogger(__name__)

DEFAULTS = {
    "top_k": 3,
    "threshold": "auto",
    "auto_threshold_quantile": 0.9,
    "exclude_weight": 0.5,
    "classifier_weight": 0.5,
    "min_examples_to_learn": 3,
    "reviewed_weight": 0.5,
    "lexical_weight": 1.0,
    "fine_tune": True,
    "fine_tune_passes": 3,
}
# Temperature of the soft maximum over a code's prototypes (cosine units).
PROTOTYPE_TEMPERATURE = 0.1
# Quantile of the null distribution above which a suggestion is "high" confidence.
HIGH_CONFIDENCE_QUANTILE = 0.99
# The lexical classifier's features: TF-IDF of 3- to 5-character n-grams
# within words (sublinear term frequency).
LEXICAL_NGRAMS = (3, 5)
# Used for "auto" when the codebook has a single code, so there is no null text.
FALLBACK_THRESHOLD = 0.35
CONFIDENCE_BANDS = ("high", "medium", "low")
# How many lexical classifiers' caches of scored texts are kept (older ones are removed).
LEXICAL_CACHE_KEEP = 3

# Everyday sentences about nothing a programme evaluation codes: the training
# text of the classifier's "none of the codes" class and a floor under each
# code's "auto" threshold (see the module docstring).
BACKGROUND_TEXTS = (
    "The office was repainted over the summer.",
    "It rained all morning and cleared up after lunch.",
    "The kettle in the kitchen has stopped working again.",
    "We ordered sandwiches and a pot of tea.",
    "My sister has just bought a new puppy.",
    "The football was on the television last night.",
    "They painted the front door dark green.",
    "Can you pass me that pen, please?",
    "The printer on the second floor is out of toner.",
    "It was the hottest day of the year so far.",
    "I had toast and marmalade for breakfast.",
    "The lift is out of order, so use the stairs.",
    "We're going on holiday to the coast in August.",
    "The shop on the corner sells fresh bread.",
    "Sorry, my phone battery is about to die.",
    "The clocks go back next weekend.",
    "The recording has started, so we can begin.",
    "Could you say that again? The line is breaking up.",
    "The window in this room doesn't open.",
    "I've just got back from the dentist.",
    "The bins are collected on a Thursday.",
    "Let me just close the door, it's noisy out there.",
    "He supports a different team from his brother.",
    "The garden needs weeding after all that rain.",
    "We watched a film about penguins.",
    "The heating comes on at six in the morning.",
    "The bakery has started opening on Sundays.",
    "The cat sleeps on the windowsill all afternoon.",
    "We need more milk for the fridge.",
    "The wallpaper in the hall is peeling.",
    "That song was on the radio all summer.",
    "Okay, thanks, that's everything on my list.",
    "The building was built in the nineteen sixties.",
    "Mm, yes. Right. Okay.",
    "I think the clock on the wall is slow.",
    "There was a long queue at the post office.",
    "The river was high after the storm.",
    "My laptop needed an update before the call.",
    "We planted tomatoes in the greenhouse.",
    "Is it all right if I get a glass of water?",
)

# "(use other_code)" / "(see other_code)" at the end of an exclude cue points to
# the neighbouring code; it is not part of what the cue describes.
POINTER = re.compile(r"\s*\((?:use|see|code as|try)\b[^)]*\)\s*$", re.IGNORECASE)


def suggest_settings(config: dict) -> dict:
    """The ``suggest`` section of ``config`` with defaults filled in, checked."""
    settings = dict(DEFAULTS)
    settings.update({k: v for k, v in (config.get("suggest") or {}).items() if v is not None})
    threshold = settings["threshold"]
    if not (threshold == "auto" or (isinstance(threshold, (int, float)) and not isinstance(threshold, bool))):
        raise ConfigError(f"suggest.threshold must be 'auto' or a number, not {threshold!r}",
                          file="config.yaml", hint="use threshold: auto, or e.g. threshold: 0.4")
    return settings


# ------------------------------------------------------------------ code text


@dataclass
class CodeTexts:
    """The texts that describe each code, flattened for embedding.

    Attributes
    ----------
    code_ids, labels : list of str
        One entry per code, in codebook order.
    texts : list of str
        Positive prototype texts (label, definition, "label: definition",
        include cues, examples).
    owner : numpy.ndarray
        Index into ``code_ids`` of each text.
    exclude_texts : list of str
        Exclude cues without their "(use ...)" pointer.
    exclude_owner : numpy.ndarray
        Index into ``code_ids`` of each exclude cue.
    """

    code_ids: list[str]
    labels: list[str]
    texts: list[str]
    owner: np.ndarray
    exclude_texts: list[str]
    exclude_owner: np.ndarray


def code_texts(codebook) -> CodeTexts:
    """Collect every code's prototype and exclude texts from a :class:`~pipeline.codebook.Codebook`."""
    texts, owner, excludes, exclude_owner = [], [], [], []
    for index, code in enumerate(codebook.codes):
        pieces = [code.label, code.definition, f"{code.label}: {code.definition}",
                  *code.include, *code.examples]
        for piece in dict.fromkeys(p.strip() for p in pieces if p and p.strip()):
            texts.append(piece)
            owner.append(index)
        for cue in code.exclude:
            cleaned = POINTER.sub("", cue).strip()
            if cleaned:
                excludes.append(cleaned)
                exclude_owner.append(index)
    return CodeTexts(
        code_ids=list(codebook.code_ids), labels=[c.label for c in codebook.codes],
        texts=texts, owner=np.array(owner, dtype=np.int64),
        exclude_texts=excludes, exclude_owner=np.array(exclude_owner, dtype=np.int64),
    )


def model_texts(texts: CodeTexts) -> list[str]:
    """Every text the code model embeds: prototypes, exclude cues, then the background sentences."""
    return texts.texts + texts.exclude_texts + list(BACKGROUND_TEXTS)


# ---------------------------------------------------------------- the model


@dataclass
class CodeModel:
    """Everything needed to score segments against the codes.

    Built by :func:`pipeline.learn.fit_code_model`; every array is plain
    numbers so the model can be cached as ``.npz``.

    Attributes
    ----------
    code_ids, labels : list of str
    prototypes : numpy.ndarray
        ``(n_prototypes, dim)`` unit vectors (codebook texts and reviewed segments).
    prototype_owner : numpy.ndarray
        Code index of each prototype.
    excludes : numpy.ndarray
        ``(n_excludes, dim)`` unit vectors of the exclude cues.
    exclude_owner : numpy.ndarray
        Code index of each exclude cue.
    coef, intercept : numpy.ndarray
        The classifier, ``(n_codes + 1, dim)`` and ``(n_codes + 1,)``: one row
        per code and a last row for "none of the codes" (trained on the
        background sentences and on segments rejected with no code). Empty
        arrays disable the classifier.
    threshold, high_threshold : numpy.ndarray
        Per-code score thresholds for ``suggested`` and for high confidence.
    exclude_weight, classifier_weight : float
    class_counts : numpy.ndarray
        Training texts of each classifier class (the codes, then "none").
    learned_codes : list of str
        Codes with enough reviewed segments to learn from.
    reviewed : numpy.ndarray
        ``(n_reviewed, dim)`` unit vectors of reviewed segments of the learned codes.
    reviewed_owner : numpy.ndarray
        Code index of each reviewed segment.
    reviewed_gate : float
        Similarity to a reviewed segment that counts for nothing (see :func:`reviewed_similarity`).
    reviewed_weight : float
    lexical_vocabulary : list of str
        The lexical classifier's character n-grams (see :func:`lexical_probability`).
    lexical_idf : numpy.ndarray
        Their inverse document frequencies.
    lexical_coef, lexical_intercept : numpy.ndarray
        The lexical classifier, ``(n_codes + 1, n_ngrams)`` and ``(n_codes + 1,)``,
        classes as in ``coef``. Empty arrays disable it.
    lexical_weight : float
    """

    code_ids: list[str]
    labels: list[str]
    prototypes: np.ndarray
    prototype_owner: np.ndarray
    excludes: np.ndarray
    exclude_owner: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    threshold: np.ndarray
    high_threshold: np.ndarray
    exclude_weight: float
    classifier_weight: float
    class_counts: np.ndarray = field(default_factory=lambda: np.zeros(0))
    learned_codes: list[str] = field(default_factory=list)
    reviewed: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    reviewed_owner: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    reviewed_gate: float = 1.0
    reviewed_weight: float = 0.0
    lexical_vocabulary: list[str] = field(default_factory=list)
    lexical_idf: np.ndarray = field(default_factory=lambda: np.zeros(0))
    lexical_coef: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    lexical_intercept: np.ndarray = field(default_factory=lambda: np.zeros(0))
    lexical_weight: float = 0.0

    @property
    def n_codes(self) -> int:
        return len(self.code_ids)


def _per_code(values: np.ndarray, owner: np.ndarray, n_codes: int, reduce) -> np.ndarray:
    out = np.full((values.shape[0], n_codes), np.nan, dtype=np.float64)
    for code in range(n_codes):
        columns = owner == code
        if columns.any():
            out[:, code] = reduce(values[:, columns])
    return out


def _soft_max(sims: np.ndarray) -> np.ndarray:
    t = PROTOTYPE_TEMPERATURE
    top = sims.max(axis=1, keepdims=True)
    return (top + t * np.log(np.exp((sims - top) / t).mean(axis=1, keepdims=True)))[:, 0]


def relevance(vectors: np.ndarray, model: CodeModel) -> np.ndarray:
    """Similarity of each segment to each code's prototypes, less the exclude penalty.

    Parameters
    ----------
    vectors : numpy.ndarray
        ``(n, dim)`` unit vectors of the segments.
    model : CodeModel

    Returns
    -------
    numpy.ndarray
        ``(n, n_codes)`` in cosine units.
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    sims = vectors @ model.prototypes.T
    soft = _per_code(sims, model.prototype_owner, model.n_codes, _soft_max)
    soft = np.nan_to_num(soft, nan=-1.0)
    if model.exclude_weight and len(model.excludes):
        best_own = np.nan_to_num(_per_code(sims, model.prototype_owner, model.n_codes,
                                           lambda x: x.max(axis=1)), nan=-1.0)
        best_exclude = _per_code(vectors @ model.excludes.T, model.exclude_owner, model.n_codes,
                                 lambda x: x.max(axis=1))
        penalty = np.nan_to_num(np.maximum(best_exclude - best_own, 0.0), nan=0.0)
        soft = soft - model.exclude_weight * penalty
    return soft


def classifier_probability(vectors: np.ndarray, model: CodeModel) -> np.ndarray:
    """The classifier's probability of each code for each segment.

    Returns
    -------
    numpy.ndarray
        ``(n, n_codes)``. Each row sums to one less the probability of "none of
        the codes", so off-topic text has a low probability for every code.
    """
    vectors = np.asarray(vectors, dtype=np.float64)
    if model.coef.size == 0:
        return np.full((len(vectors), model.n_codes), 1.0 / max(model.n_codes, 1))
    return _code_probability(vectors @ model.coef.T + model.intercept, model.n_codes)


def _code_probability(logits: np.ndarray, n_codes: int) -> np.ndarray:
    """The softmax of a classifier's ``logits`` over the codes and "none", less the "none" column."""
    logits = logits - logits.max(axis=1, keepdims=True)
    probability = np.exp(logits)
    probability /= probability.sum(axis=1, keepdims=True)
    return probability[:, :n_codes]


def lexical_key(model: CodeModel) -> str:
    """A hash of the lexical classifier: the name of its cache of scored texts."""
    digest = hashlib.sha256("\0".join(model.lexical_vocabulary).encode())
    for array in (model.lexical_idf, model.lexical_coef, model.lexical_intercept):
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:24]


def word_ngrams(word: str) -> list[str]:
    """The lexical features' n-grams of one word: scikit-learn's ``char_wb`` analyser.

    The word is padded with a space on each side; a padded word no longer than
    ``n`` counts once, and then no longer n-grams are taken.
    """
    word = f" {word} "
    grams = []
    for n in range(LEXICAL_NGRAMS[0], LEXICAL_NGRAMS[1] + 1):
        if len(word) <= n:
            grams.append(word)
            break
        grams.extend(word[i:i + n] for i in range(len(word) - n + 1))
    return grams


def _lexical_scores(texts: list[str], model: CodeModel) -> np.ndarray:
    """The lexical classifier's probabilities.

    The TF-IDF transform of :func:`pipeline.learn.lexical_vectoriser` is written
    out here, so that scoring neither imports scikit-learn nor splits a word into
    n-grams more than once.
    """
    column = {term: i for i, term in enumerate(model.lexical_vocabulary)}
    columns_of_word: dict[str, np.ndarray] = {}
    coef = model.lexical_coef
    logits = np.tile(np.asarray(model.lexical_intercept, dtype=np.float64), (len(texts), 1))
    for row, text in enumerate(texts):
        parts = []
        for word in text.lower().split():
            columns = columns_of_word.get(word)
            if columns is None:
                columns = columns_of_word[word] = np.array(
                    [column[g] for g in word_ngrams(word) if g in column], dtype=np.intp)
            parts.append(columns)
        if not parts:
            continue
        columns, counts = np.unique(np.concatenate(parts), return_counts=True)
        if not len(columns):
            continue
        weights = (1.0 + np.log(counts)) * model.lexical_idf[columns]
        logits[row] += coef[:, columns].astype(np.float64) @ (weights / np.sqrt(weights @ weights))
    return _code_probability(logits, model.n_codes)


def lexical_probability(texts: list[str], model: CodeModel, cache_dir: Path | None = None) -> np.ndarray:
    """The lexical classifier's probability of each code for each text.

    Parameters
    ----------
    texts : list of str
    model : CodeModel
    cache_dir : Path, optional
        Usually ``root / paths.LEXICAL_CACHE``. The probabilities are kept in a
        folder of it named by :func:`lexical_key`, by text hash (the format of
        the embedding cache), so a re-run scores only new texts; the
        :data:`LEXICAL_CACHE_KEEP` most recently used folders are kept.

    Returns
    -------
    numpy.ndarray
        ``(len(texts), n_codes)``, as :func:`classifier_probability`; ``1 / n_codes``
        everywhere when the model has no lexical classifier.
    """
    if not model.lexical_vocabulary or not model.lexical_weight:
        return np.full((len(texts), model.n_codes), 1.0 / max(model.n_codes, 1))
    if cache_dir is None or not texts:
        return _lexical_scores(list(texts), model)
    from pipeline.embed import read_cache, text_hash, write_cache

    folder = Path(cache_dir) / lexical_key(model)
    cached = read_cache(folder)
    hashes = [text_hash(t) for t in texts]
    missing = {h: t for h, t in zip(hashes, texts) if h not in cached}
    if missing:
        new = dict(zip(missing, _lexical_scores(list(missing.values()), model).astype(np.float32)))
        write_cache(folder, new)
        cached.update(new)
    folder.mkdir(parents=True, exist_ok=True)
    folder.touch()   # now the most recently used
    for old in sorted((p for p in Path(cache_dir).iterdir() if p.is_dir() and not p.name.startswith(".")),
                      key=lambda p: p.stat().st_mtime)[:-LEXICAL_CACHE_KEEP]:
        shutil.rmtree(old, ignore_errors=True)
    return np.stack([cached[h] for h in hashes]).astype(np.float64)


def none_is_likeliest(vectors: np.ndarray, model: CodeModel) -> np.ndarray:
    """Whether "none of the codes" is the classifier's most likely class for each segment.

    Each class's probability is first divided by its share of the training
    texts, so that the many background sentences against few texts per code
    (or the reverse) do not decide it. False everywhere without a classifier.
    """
    if model.coef.size == 0 or len(model.class_counts) != model.n_codes + 1:
        return np.zeros(len(vectors), dtype=bool)
    codes = classifier_probability(vectors, model)
    probability = np.column_stack([codes, 1.0 - codes.sum(axis=1)])
    share = np.maximum(model.class_counts, 1) / max(model.class_counts.sum(), 1)
    return (probability / share).argmax(axis=1) == model.n_codes


def reviewed_similarity(vectors: np.ndarray, model: CodeModel) -> np.ndarray:
    """How much closer each segment is to a reviewed segment of each code than unrelated text is.

    ``max(0, best similarity to the code's reviewed segments - gate) / (1 - gate)``,
    where the gate is the similarity that segments coded with *different*
    codes reach (its 0.99 quantile; see :func:`pipeline.learn.fit_code_model`).
    Only segments phrased much like ones an analyst has already coded get
    more than zero; 1 means an identical text.

    Returns
    -------
    numpy.ndarray
        ``(n, n_codes)`` in [0, 1]; zeros when nothing was learned.
    """
    out = np.zeros((len(vectors), model.n_codes))
    if not len(model.reviewed):
        return out
    best = _per_code(np.asarray(vectors, dtype=np.float32) @ model.reviewed.T, model.reviewed_owner,
                     model.n_codes, lambda x: x.max(axis=1))
    gate = min(model.reviewed_gate, 0.99)
    return np.nan_to_num(np.maximum(best - gate, 0.0) / (1.0 - gate), nan=0.0)


def score(vectors: np.ndarray, texts: list[str], model: CodeModel,
          lexical_cache: Path | None = None) -> np.ndarray:
    """The suggestion score of every code for every segment.

    ``relevance + classifier_weight * (p(code) - 1 / n_codes)
    + lexical_weight * (p_lexical(code) - 1 / n_codes)
    + reviewed_weight * reviewed_similarity``; see the module docstring.

    Parameters
    ----------
    vectors : numpy.ndarray
        ``(n, dim)`` unit vectors of the segments.
    texts : list of str
        Their texts, for the lexical classifier.
    model : CodeModel
    lexical_cache : Path, optional
        See :func:`lexical_probability`.

    Returns
    -------
    numpy.ndarray
        ``(n, n_codes)``; higher is a better fit.
    """
    if len(texts) != len(vectors):
        raise ValueError(f"{len(texts)} text(s) for {len(vectors)} vector(s)")
    return combined_score(vectors, model, classifier_probability(vectors, model),
                          lexical_probability(list(texts), model, lexical_cache))


def combined_score(vectors: np.ndarray, model: CodeModel, probability: np.ndarray,
                   lexical: np.ndarray) -> np.ndarray:
    """:func:`score` from the two classifiers' probabilities (cross-fitted ones, for the thresholds)."""
    scores = relevance(vectors, model)
    if model.classifier_weight:
        scores = scores + model.classifier_weight * (probability - 1.0 / model.n_codes)
    if model.lexical_weight and model.lexical_vocabulary:
        scores = scores + model.lexical_weight * (lexical - 1.0 / model.n_codes)
    if model.reviewed_weight and len(model.reviewed):
        scores = scores + model.reviewed_weight * reviewed_similarity(vectors, model)
    return scores


def confidence_band(scores: np.ndarray, threshold: np.ndarray, high_threshold: np.ndarray) -> np.ndarray:
    """``high`` / ``medium`` / ``low`` for each score, given per-code thresholds."""
    bands = np.where(scores >= threshold, "medium", "low").astype(object)
    bands[(scores >= threshold) & (scores >= high_threshold)] = "high"
    return bands


def rank_codes(segment_ids: list[str], texts: list[str], vectors: np.ndarray, model: CodeModel,
               top_k: int = 3, threshold: float | str = "auto",
               lexical_cache: Path | None = None) -> pd.DataFrame:
    """The top ``top_k`` codes for each segment, as a tidy table.

    Parameters
    ----------
    segment_ids, texts : list of str
    vectors : numpy.ndarray
        ``(len(segment_ids), dim)`` unit vectors.
    model : CodeModel
    top_k : int
    threshold : "auto" or float
        "auto" uses the model's per-code thresholds; a number applies to every code.
    lexical_cache : Path, optional
        See :func:`lexical_probability`.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`pipeline.tables.SUGGESTION_COLUMNS`: ``segment_id,
        code_id, rank, score, confidence, suggested``; ``top_k`` rows per
        segment, rank 1 first.

    Examples
    --------
    >>> table = rank_codes(["s1"], ["Our grant was cut."], vectors, model)   # doctest: +SKIP
    >>> table["rank"].tolist()                                   # doctest: +SKIP
    [1, 2, 3]
    """
    top_k = min(top_k, model.n_codes)
    n = len(segment_ids)
    if n == 0:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(
            SUGGESTION_COLUMNS, ("string", "string", "int64", "float64", "string", "bool"))})
    scores = score(vectors, texts, model, lexical_cache)
    # Ties (rare) are broken by codebook order, so the table is reproducible.
    order = np.argsort(-scores, axis=1, kind="stable")[:, :top_k]
    # Rounded as written, so that "suggested" agrees with the score a reader sees.
    top = np.round(np.take_along_axis(scores, order, axis=1), 4)
    if threshold == "auto":
        limit = model.threshold[order]
        # Text the classifier finds likeliest about none of the codes, and not phrased
        # like any segment analysts coded: no code is suggested, however it ranks.
        off_topic = none_is_likeliest(vectors, model) & ~(reviewed_similarity(vectors, model) > 0).any(axis=1)
        limit = np.where(off_topic[:, None], np.inf, limit)
    else:
        limit = np.full(order.shape, float(threshold))
    high = np.maximum(model.high_threshold[order], limit)
    suggested = top >= limit
    bands = confidence_band(top, limit, high)
    code_ids = np.array(model.code_ids, dtype=object)
    return pd.DataFrame({
        "segment_id": np.repeat(np.array(segment_ids, dtype=object), top_k),
        "code_id": code_ids[order].reshape(-1),
        "rank": np.tile(np.arange(1, top_k + 1), n).astype("int64"),
        "score": top.reshape(-1).astype("float64"),
        "confidence": bands.reshape(-1),
        "suggested": suggested.reshape(-1).astype(bool),
    })[SUGGESTION_COLUMNS]


# -------------------------------------------------------------------- stage


def build_code_model(codebook, config: dict, root: Path, segment_ids: list[str] | None = None,
                     segment_texts: list[str] | None = None,
                     segment_vectors: np.ndarray | None = None) -> CodeModel:
    """Fit (or load from the cache) the code model for ``codebook``.

    Reviewed segments in ``data/processed/decisions.parquet`` are used when
    ``segment_ids``, ``segment_texts`` and ``segment_vectors`` (the current
    segments and their embeddings) are given; see :mod:`pipeline.learn`.
    """
    from pipeline import learn
    from pipeline.embed import embed_texts
    from pipeline.model_files import model_key

    settings = suggest_settings(config)
    texts = code_texts(codebook)
    # One call, so the embedding cache is read once.
    vectors = embed_texts(model_texts(texts), config, root)
    n_texts, n_excludes = len(texts.texts), len(texts.exclude_texts)
    text_vectors = vectors[:n_texts]
    exclude_vectors = vectors[n_texts:n_texts + n_excludes]
    background_vectors = vectors[n_texts + n_excludes:]
    examples = None
    if segment_ids is not None and segment_texts is not None and segment_vectors is not None:
        decisions = learn.read_decisions(Path(root) / paths.DECISIONS)
        examples = learn.training_examples(decisions, codebook, segment_ids, segment_texts, segment_vectors)
    return learn.cached_code_model(
        texts, text_vectors, exclude_vectors, background_vectors, examples, settings,
        cache_dir=Path(root) / paths.MODEL_CACHE, model_key=model_key(config, root),
    )


def _non_interviewer(segments: pd.DataFrame) -> pd.Series:
    if "speaker_role" not in segments.columns:
        return pd.Series(True, index=segments.index)
    return segments["speaker_role"].fillna("").astype(str).str.lower() != "interviewer"


def run_suggest(config: dict, root: Path) -> None:
    """Stage: suggest the top ``suggest.top_k`` codes for every segment not spoken by an interviewer.

    Parameters
    ----------
    config : dict
        Validated configuration (``codebook``, ``embedding`` and ``suggest`` sections).
    root : Path
        The project folder. Reads the segments, their embeddings, the codebook
        and (when present) the analysts' decisions; writes
        ``data/processed/suggestions.parquet`` and ``reports/tables/suggestions.csv``.
        With ``suggest.fine_tune`` the code texts are embedded with the
        fine-tuned model that the segments were embedded with (see
        :mod:`pipeline.finetune`).

    Raises
    ------
    InputError
        If the embeddings do not cover the current segments, or were made from an
        earlier text of a segment (re-run embed).
    """
    from pipeline.codebook import codebook_path, project_codebook
    from pipeline.embed import EMBED_COLUMNS, embeddings_model_key, read_embeddings, stale_segments
    from pipeline.model_files import model_key
    from pipeline.finetune import encoder_config
    from pipeline.segment import read_segments

    root = Path(root)
    settings = suggest_settings(config)
    codebook = project_codebook(config, root)
    if not codebook.codes:
        raise InputError("the codebook has no codes to suggest", file=codebook_path(config, root),
                         hint="add at least one code under a theme")
    segments = read_segments(root, EMBED_COLUMNS)
    embedded_ids, vectors = read_embeddings(root / paths.EMBEDDINGS)
    row_of = {segment_id: i for i, segment_id in enumerate(embedded_ids)}
    segment_ids = segments["segment_id"].astype(str).tolist()
    missing = [s for s in segment_ids if s not in row_of]
    if missing:
        raise InputError(
            f"{len(missing)} segment(s) have no embedding (e.g. {missing[0]})",
            file=root / paths.EMBEDDINGS, hint="the embeddings are out of date; re-run the embed stage",
        )
    changed = stale_segments(root / paths.EMBEDDINGS, segments)
    if changed:
        raise InputError(
            f"{len(changed)} segment(s) have changed text since they were embedded (e.g. {changed[0]})",
            file=root / paths.EMBEDDINGS, hint="the embeddings are out of date; re-run the embed stage",
        )
    segment_vectors = vectors[[row_of[s] for s in segment_ids]] if segment_ids else vectors[:0]

    # With suggest.fine_tune the segments were embedded with the fine-tuned model;
    # the code texts must be too (see pipeline.finetune).
    model_config = encoder_config(config, root)
    made_by = embeddings_model_key(root / paths.EMBEDDINGS)
    if made_by and made_by != model_key(model_config, root):
        raise InputError("the embeddings were made with another model than the one configured now",
                         file=root / paths.EMBEDDINGS, hint="re-run the embed stage")
    segment_texts = segments["text"].astype(str).tolist()
    model = build_code_model(codebook, model_config, root, segment_ids, segment_texts, segment_vectors)
    coded = _non_interviewer(segments).to_numpy()
    table = rank_codes([s for s, keep in zip(segment_ids, coded) if keep],
                       [t for t, keep in zip(segment_texts, coded) if keep], segment_vectors[coded],
                       model, top_k=int(settings["top_k"]), threshold=settings["threshold"],
                       lexical_cache=root / paths.LEXICAL_CACHE)
    write_parquet(root / paths.SUGGESTIONS, table)
    labels = dict(zip(model.code_ids, model.labels))
    readable = table.assign(code_label=table["code_id"].map(labels))
    write_csv(root / paths.SUGGESTIONS_CSV, readable)

    n_segments = int(coded.sum())
    n_suggested = int(table.loc[table["suggested"], "segment_id"].nunique()) if len(table) else 0
    log.info("Suggested codes for %d segment(s) (%d interviewer turn(s) skipped); %d have at least "
             "one code above the threshold%s", n_segments, len(segments) - n_segments, n_suggested,
             f"; learned from decisions for {len(model.learned_codes)} code(s)" if model.learned_codes else "")
