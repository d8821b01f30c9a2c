"""Regenerate pipeline/common_words.py from spacy-lookups-data (run from the repo root).

The pseudonymiser matches a one-word name ("Power", "Will") only when it is
capitalised if the word is also an everyday English word. The everyday words
are the most frequent lower-case words in spaCy's English lexeme probability
table (spacy-lookups-data, ``en_lexeme_prob``: those with a log probability
above ``THRESHOLD``) that are also in its lemma tables or stop words. The table
takes seconds to load, so its words are kept in a module rather than read by
every stage.

    .venv/bin/python scripts/common_words.py
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from pipeline.lexicon import lemma_words, spacy_table

THRESHOLD = -11.0   # about 3,000 words; no common first name is that frequent
TARGET = Path(__file__).resolve().parent.parent / "pipeline" / "common_words.py"


def everyday_words() -> list[str]:
    """Frequent words that are in spaCy's English word lists (which leaves out forum slang and misspellings)."""
    from spacy.lang.en.stop_words import STOP_WORDS

    known = STOP_WORDS | lemma_words()
    return sorted(word for word, logprob in spacy_table("lexeme_prob").items()
                  if logprob > THRESHOLD and word.isalpha() and word.isascii() and word in known)


def module_text(words: list[str]) -> str:
    body = textwrap.fill(" ".join(words), width=96, initial_indent="    ", subsequent_indent="    ",
                         break_long_words=False, break_on_hyphens=False)
    return (
        '"""Everyday English words, for :mod:`pipeline.anonymise` (generated: do not edit).\n\n'
        f"The {len(words)} lower-case words whose log probability in spacy-lookups-data's\n"
        f"``en_lexeme_prob`` table is above {THRESHOLD:g} and that are in its lemma tables or\n"
        "spaCy's stop words. Regenerate with\n"
        '``python scripts/common_words.py``.\n"""\n\n'
        f'EVERYDAY_WORDS = frozenset("""\n{body}\n""".split())\n'
    )


if __name__ == "__main__":
    TARGET.write_text(module_text(everyday_words()), encoding="utf-8")
    print(f"wrote {TARGET}")
