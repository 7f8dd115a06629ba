"""Topic probabilities of one normalised text, from a plain-data `Model`.

Scoring skips scikit-learn's per-call machinery (validation and sparse-matrix building cost more
than the arithmetic): the vocabulary, IDF weights and coefficients are applied with dictionary
look-ups and one small matrix product, which gives exactly the numbers `TfidfVectorizer.transform`
and `LinearSVC.decision_function` give (sublinear tf, idf, l2 norm per block, block weights).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Final

import numpy as np
from numpy.typing import NDArray

from bot.understanding.analyzers import char_wb_ngrams, word_ngrams
from bot.understanding.model import Model


class _Block:
    """The columns of one vectorizer (char or word n-grams): features of a text, l2-normalised.

    Character n-grams of the `char_wb` kind never cross a space, so the columns of each word are
    worked out once and kept (a bounded cache; words repeat a lot).
    """

    _CACHE_LIMIT: Final = 50_000

    def __init__(
        self,
        analyze: Callable[[str], list[str]],
        columns: dict[str, int],
        idf: list[float],
        weight: float,
        per_word: bool,
    ) -> None:
        self.analyze = analyze
        self.columns = columns
        self.idf = idf  # of every column of the model, indexed by column
        self.weight = weight
        self.per_word = per_word
        self._word_columns: dict[str, list[int]] = {}

    def _columns_of_word(self, word: str) -> list[int]:
        cols = self._word_columns.get(word)
        if cols is None:
            columns = self.columns
            cols = [columns[t] for t in self.analyze(word) if t in columns]
            if len(self._word_columns) >= self._CACHE_LIMIT:
                self._word_columns.clear()
            self._word_columns[word] = cols
        return cols

    def warm(self, words: Iterable[str]) -> None:
        if self.per_word:
            for word in words:
                self._columns_of_word(word)

    def features(self, text: str, index: list[int], value: list[float]) -> None:
        counts: Counter[int] = Counter()
        if self.per_word:
            for word in text.split():
                counts.update(self._columns_of_word(word))
        else:
            columns = self.columns
            counts.update(columns[t] for t in self.analyze(text) if t in columns)
        if not counts:
            return
        idf = self.idf
        vals = [idf[c] if n == 1 else idf[c] * (1.0 + math.log(n)) for c, n in counts.items()]
        scale = self.weight / math.sqrt(sum(v * v for v in vals))
        index.extend(counts)
        value.extend(v * scale for v in vals)


class Scorer:
    """Probabilities of every class of a `Model` (in `model.classes` order) for normalised text."""

    def __init__(self, model: Model) -> None:
        idf: list[float] = model.idf.tolist()
        self._blocks = (
            _Block(char_wb_ngrams, model.char_vocabulary, idf, model.char_weight, per_word=True),
            _Block(word_ngrams, model.word_vocabulary, idf, model.word_weight, per_word=False),
        )
        self._blocks[0].warm(model.known_words)
        self._coef_t = model.coef_t
        self._intercept = model.intercept
        self.temperature = model.temperature

    def probabilities(self, text: str) -> NDArray[np.float64]:
        index: list[int] = []
        value: list[float] = []
        for block in self._blocks:
            block.features(text, index, value)
        scores = self._intercept.copy()
        if index:
            scores += np.asarray(value) @ self._coef_t[index]
        scores *= self.temperature
        scores -= scores.max()
        exp = np.exp(scores)
        result: NDArray[np.float64] = exp / exp.sum()
        return result
