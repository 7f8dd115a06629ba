"""The trained model as plain data, and its file: one `.npz` that numpy alone reads.

Everything `Classifier.understand` needs from training, and nothing of scikit-learn: the two
vocabularies (term -> column), their IDF weights, the SVM coefficients laid out for scoring,
the intercepts, the calibration temperature, the class names and the words the phrasings use.
Vocabularies are stored as parallel arrays of terms and columns, so the file loads with
`allow_pickle=False` (a model file is data, never code).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray

# Bumped whenever the arrays below change meaning; part of the cache key too.
FORMAT: Final = 1


@dataclass(frozen=True, eq=False)
class Model:
    """A trained topic model. Columns: every char n-gram first, then every word n-gram."""

    classes: tuple[str, ...]  # topic ids, in the order of the scores
    char_vocabulary: dict[str, int]  # char_wb n-gram -> column
    word_vocabulary: dict[str, int]  # word n-gram -> column (already after the char columns)
    idf: NDArray[np.float64]  # per column
    char_weight: float  # the char block is scaled to this l2 norm, the word block to word_weight
    word_weight: float
    coef_t: NDArray[np.float64]  # (columns, classes): SVM coefficients, transposed for scoring
    intercept: NDArray[np.float64]  # per class
    temperature: float  # softmax(temperature * scores) are the probabilities
    known_words: frozenset[str]  # every word of the normalised phrasings, markers left out

    def __post_init__(self) -> None:
        columns, classes = len(self.char_vocabulary) + len(self.word_vocabulary), len(self.classes)
        if self.coef_t.shape != (columns, classes) or self.idf.shape != (columns,):
            raise ValueError(
                f"model arrays do not fit: coef {self.coef_t.shape}, idf {self.idf.shape}, "
                f"{columns} columns, {classes} classes"
            )
        if self.intercept.shape != (classes,):
            raise ValueError(f"model arrays do not fit: intercept {self.intercept.shape}, {classes} classes")


def save_model(model: Model, path: Path) -> None:
    """Write `model` to `path` (a compressed `.npz`; the name is used as given)."""
    char_terms, char_columns = _vocabulary_arrays(model.char_vocabulary)
    word_terms, word_columns = _vocabulary_arrays(model.word_vocabulary)
    with open(path, "wb") as out:
        np.savez_compressed(
            out,
            format=np.asarray(FORMAT, dtype=np.int64),
            classes=np.asarray(model.classes, dtype=np.str_),
            char_terms=char_terms,
            char_columns=char_columns,
            word_terms=word_terms,
            word_columns=word_columns,
            idf=model.idf,
            weights=np.asarray([model.char_weight, model.word_weight], dtype=np.float64),
            coef_t=model.coef_t,
            intercept=model.intercept,
            temperature=np.asarray(model.temperature, dtype=np.float64),
            known_words=np.asarray(sorted(model.known_words), dtype=np.str_),
        )
        out.flush()
        os.fsync(out.fileno())


def load_model(path: Path) -> Model:
    """Read a file `save_model` wrote; ValueError when it is of another format or inconsistent."""
    # The file is opened here, not by numpy: np.load leaks its handle when a damaged archive fails to open.
    with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as data:
        found = int(data["format"])
        if found != FORMAT:
            raise ValueError(f"{path} holds a model of format {found}, expected {FORMAT}")
        char_weight, word_weight = (float(w) for w in data["weights"])
        return Model(
            classes=tuple(str(c) for c in data["classes"]),
            char_vocabulary=_vocabulary(data["char_terms"], data["char_columns"]),
            word_vocabulary=_vocabulary(data["word_terms"], data["word_columns"]),
            idf=np.ascontiguousarray(data["idf"], dtype=np.float64),
            char_weight=char_weight,
            word_weight=word_weight,
            coef_t=np.ascontiguousarray(data["coef_t"], dtype=np.float64),
            intercept=np.ascontiguousarray(data["intercept"], dtype=np.float64),
            temperature=float(data["temperature"]),
            known_words=frozenset(str(w) for w in data["known_words"]),
        )


def _vocabulary_arrays(vocabulary: dict[str, int]) -> tuple[NDArray[np.str_], NDArray[np.int64]]:
    """Terms and their columns as two parallel arrays, in column order."""
    pairs = sorted(vocabulary.items(), key=lambda item: item[1])
    # numpy's fixed-width strings drop trailing NULs; normalised text never holds one, but a
    # term that did would come back as another term.
    if any(term.endswith("\x00") for term, _ in pairs):
        raise ValueError("a vocabulary term ends with NUL and cannot be stored")
    terms = np.asarray([t for t, _ in pairs], dtype=np.str_)
    columns = np.asarray([c for _, c in pairs], dtype=np.int64)
    return terms, columns


def _vocabulary(terms: NDArray[np.str_], columns: NDArray[np.int64]) -> dict[str, int]:
    if terms.shape != columns.shape:
        raise ValueError(f"vocabulary arrays do not fit: {terms.shape} terms, {columns.shape} columns")
    return dict(zip(terms.tolist(), columns.tolist(), strict=True))
