"""English word lists from spacy-lookups-data, read once per process on first use.

* :func:`inflected_forms`: an inflected form → its lemma ("volunteers" →
  "volunteer", "staffing" → "staff"); base forms are not in it;
* :func:`lemma_words`: every word of the lemma tables (which list some first
  names too: "sarah"), inflected forms included;
* :func:`english_words`: those and the everyday words of :mod:`pipeline.common_words`.
"""

from __future__ import annotations

import functools
import gzip
import json
from importlib import resources


def spacy_table(name: str):
    """One of spacy-lookups-data's English tables, e.g. ``"lemma_lookup"``."""
    path = resources.files("spacy_lookups_data") / "data" / f"en_{name}.json.gz"
    with path.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as handle:
        return json.load(handle)


@functools.cache
def inflected_forms() -> dict[str, str]:
    return spacy_table("lemma_lookup")


def lemma_words() -> frozenset[str]:
    return frozenset().union(*spacy_table("lemma_index").values(), inflected_forms())


@functools.cache
def english_words() -> frozenset[str]:
    from pipeline.common_words import EVERYDAY_WORDS

    return lemma_words() | EVERYDAY_WORDS
