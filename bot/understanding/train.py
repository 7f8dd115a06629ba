"""Training: phrasings -> `Model`, with scikit-learn. Never imported by a serving process.

    python -m bot.understanding.train PHRASINGS_DIR OUT.npz

Topics come from a linear model over TF-IDF features: character n-grams inside word boundaries
(2-5, robust to typos, slang and missing spaces) plus word uni- and bigrams. The model is a
linear SVM whose margins are turned into probabilities by temperature scaling, the temperature
fitted on out-of-fold scores. Training takes about a second; `cache.load_or_train` runs this
module in a child process and keeps the result, so serving processes load numbers, not
scikit-learn (which with SciPy costs some 70 MB of memory per process).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize_scalar
from scipy.sparse import hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC

from bot.types import Topic
from bot.understanding.analyzers import CHAR_NGRAMS, TOKEN_PATTERN, WORD_NGRAMS
from bot.understanding.model import Model, save_model
from bot.understanding.phrasings import read_phrasings
from bot.understanding.text import clean, normalize

_C: Final = 1.0  # inverse regularisation of the linear SVM, chosen by cross-validation
_CALIBRATION_FOLDS: Final = 3
_CHAR_WEIGHT: Final = 1.0
_WORD_WEIGHT: Final = 0.7


def vectorizers() -> tuple[TfidfVectorizer, TfidfVectorizer]:
    """The char and word vectorizers; `analyzers.py` repeats their analyzers without scikit-learn."""
    char = TfidfVectorizer(
        analyzer="char_wb", ngram_range=CHAR_NGRAMS, sublinear_tf=True, lowercase=False, dtype=np.float64
    )
    word = TfidfVectorizer(
        analyzer="word",
        ngram_range=WORD_NGRAMS,
        sublinear_tf=True,
        lowercase=False,
        token_pattern=TOKEN_PATTERN,
        dtype=np.float64,
    )
    return char, word


def train(rows: Iterable[tuple[str, Topic]]) -> Model:
    """Fit the vectorizers, the temperature and the SVM on (phrasing, topic) rows."""
    data = list(rows)
    if not data:
        raise ValueError("no phrasings to train on")
    texts = [normalize(clean(text)[0]) for text, _ in data]
    labels = [topic.value for _, topic in data]
    char, word = vectorizers()
    x_char = char.fit_transform(texts) * _CHAR_WEIGHT
    x_word = word.fit_transform(texts) * _WORD_WEIGHT
    x = hstack([x_char, x_word]).tocsr()
    y = np.asarray(labels)
    temperature = _fit_temperature(x, y)
    svm = LinearSVC(C=_C, random_state=0).fit(x, y)
    offset = len(char.vocabulary_)
    return Model(
        classes=tuple(str(c) for c in svm.classes_),
        char_vocabulary={str(term): int(col) for term, col in char.vocabulary_.items()},
        word_vocabulary={str(term): offset + int(col) for term, col in word.vocabulary_.items()},
        idf=np.concatenate([char.idf_, word.idf_]).astype(np.float64),
        char_weight=_CHAR_WEIGHT,
        word_weight=_WORD_WEIGHT,
        coef_t=np.ascontiguousarray(svm.coef_.T, dtype=np.float64),
        intercept=np.asarray(svm.intercept_, dtype=np.float64),
        temperature=temperature,
        known_words=frozenset(w for text in texts for w in text.split() if not w.startswith("_")),
    )


def _fit_temperature(x: object, y: NDArray[np.str_]) -> float:
    """Temperature scaling: the factor on the SVM scores whose softmax best predicts held-out labels.

    The margins of a linear SVM are not probabilities; a softmax over margins times one fitted
    factor is (Guo et al. 2017, "On calibration of modern neural networks"). The factor is fitted
    on out-of-fold scores, so it reflects phrasings the model has not seen.
    """
    classes, y_idx = np.unique(y, return_inverse=True)
    smallest = int(np.bincount(y_idx).min())
    folds = min(_CALIBRATION_FOLDS, smallest)
    if folds < 2:
        return 1.0
    scores = np.zeros((len(y), len(classes)))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    for train_rows, held in splitter.split(np.zeros(len(y)), y_idx):
        model = LinearSVC(C=_C, random_state=0).fit(x[train_rows], y_idx[train_rows])  # type: ignore[index]
        part = np.full((len(held), len(classes)), -10.0)
        part[:, model.classes_] = model.decision_function(x[held])  # type: ignore[index]
        scores[held] = part

    def nll(t: float) -> float:
        z = scores * t
        z -= z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return float(-log_p[np.arange(len(y)), y_idx].mean())

    best = minimize_scalar(nll, bounds=(0.1, 50.0), method="bounded")
    return float(best.x)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        sys.stderr.write("usage: python -m bot.understanding.train PHRASINGS_DIR OUT.npz\n")
        return 2
    phrasings_dir, out = (Path(a) for a in argv)
    save_model(train(read_phrasings(phrasings_dir)), out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
