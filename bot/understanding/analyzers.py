"""The two TF-IDF analyzers in plain Python: the n-grams scikit-learn's `TfidfVectorizer` makes.

Serving must not import scikit-learn (with SciPy it adds some 70 MB to every process), yet its
features must be exactly the training features. These functions are line-for-line the
analyzers `TfidfVectorizer(...).build_analyzer()` returns for the settings `train.vectorizers`
uses (no lower-casing, no accent stripping, no stop words); tests/test_understanding_model.py
checks them against scikit-learn on many strings. The settings live here so training and
serving cannot drift apart.
"""

from __future__ import annotations

import re
from typing import Final

CHAR_NGRAMS: Final = (2, 5)  # char_wb n-gram sizes
WORD_NGRAMS: Final = (1, 2)  # word n-gram sizes
TOKEN_PATTERN: Final = r"(?u)\b\w+\b"  # one-letter words count ("i", "a", "3")

_WHITE_SPACES: Final = re.compile(r"\s\s+")
_TOKEN_RE: Final = re.compile(TOKEN_PATTERN)


def char_wb_ngrams(text: str) -> list[str]:
    """Character n-grams that never cross a word boundary, each word padded with one space.

    As scikit-learn's `_char_wb_ngrams`: a word shorter than an n-gram size gives one (whole,
    padded) n-gram for that size and none for the larger sizes.
    """
    min_n, max_n = CHAR_NGRAMS
    ngrams: list[str] = []
    append = ngrams.append
    for w in _WHITE_SPACES.sub(" ", text).split():
        w = " " + w + " "
        w_len = len(w)
        for n in range(min_n, max_n + 1):
            offset = 0
            append(w[offset : offset + n])
            while offset + n < w_len:
                offset += 1
                append(w[offset : offset + n])
            if offset == 0:  # count a short word (w_len < n) only once
                break
    return ngrams


def word_ngrams(text: str) -> list[str]:
    """The words of `TOKEN_PATTERN`, then every run of two joined by a space (uni- then bigrams)."""
    tokens: list[str] = _TOKEN_RE.findall(text)
    min_n, max_n = WORD_NGRAMS
    ngrams = list(tokens) if min_n == 1 else []
    count = len(tokens)
    for n in range(max(min_n, 2), min(max_n + 1, count + 1)):
        for i in range(count - n + 1):
            ngrams.append(" ".join(tokens[i : i + n]))
    return ngrams
