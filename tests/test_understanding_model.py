"""The model a server loads is the model training made: same n-grams as scikit-learn, same file
contents back, the same answers as a classifier trained in the process, and no scikit-learn or
SciPy in a serving process (they would cost every process some 70 MB)."""

from __future__ import annotations

import random
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from bot.classify import Classifier, default_phrasings_dir, read_phrasings
from bot.types import Topic
from bot.understanding import cache
from bot.understanding.analyzers import char_wb_ngrams, word_ngrams
from bot.understanding.model import Model, load_model, save_model
from bot.understanding.train import train, vectorizers

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module", autouse=True)
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every test here caches models in a directory of its own, never in ~/.cache."""
    path = tmp_path_factory.mktemp("model-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(cache.CACHE_DIR_ENV, str(path))
        yield path


@pytest.fixture(scope="module")
def rows() -> list[tuple[str, Topic]]:
    return read_phrasings(default_phrasings_dir())


@pytest.fixture(scope="module")
def trained(rows: list[tuple[str, Topic]]) -> Model:
    return train(rows)


# --------------------------------------------------------------------------------------------
# The analyzers are scikit-learn's

VARIED = [
    "", " ", "   ", "\n", "a", "I", "ab", "abc", "abcd", "abcde", "abcdef", "a b c", "x yz", "xy z",
    "  leading and trailing  ", "end space ", "multiple   spaces\tand\ttabs\nand\nnewlines",
    "mixed \t\n\r\x0b\x0c whitespace", "\x1c\x1d\x1e\x1f separators\x85next line",
    "no\u00a0break\u2003em\u3000ideographic\u2028line", "zero\u200bwidth joiner\u200d", "tab\tonly",
    "Ünïcödé façade naïve", "ß straße İstanbul ǅ title", "ﬁ ligature ｆｕｌｌ width", "e\u0301 combining",
    "中文 字符 测试", "مرحبا بالعالم", "😀 emoji 👍🏽 mix", "punctuation!?.,;:()[]{}<>\"' marks",
    "don't can't won't i'm", "amazon.de co.uk www.amazon.com", "_long_wait_ _marketplace_ spapi",
    "md1000 oautherror mderror", "1 22 333 4444 55555 666666", "a_b c-d e/f g'h", "w/o b/c 3p 1p",
    "how do i connect my amazon account", "hi team how do i connect amazon de also what is spapi",
]  # fmt: skip


def _random_strings(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    alphabet = "abcxyz'_-/.,?! 0129éßü中😀" + " \t\n\u00a0\u3000\x1c"
    return ["".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 40))) for _ in range(count)]


def _analyzer_inputs(rows: list[tuple[str, Topic]]) -> list[str]:
    from bot.classify import normalize

    return VARIED + _random_strings(1500, seed=1) + [normalize(text) for text, _ in rows[::3]]


def test_char_ngrams_are_scikit_learns(rows: list[tuple[str, Topic]]) -> None:
    reference = vectorizers()[0].build_analyzer()
    for text in _analyzer_inputs(rows):
        assert char_wb_ngrams(text) == reference(text), repr(text)


def test_word_ngrams_are_scikit_learns(rows: list[tuple[str, Topic]]) -> None:
    reference = vectorizers()[1].build_analyzer()
    for text in _analyzer_inputs(rows):
        assert word_ngrams(text) == reference(text), repr(text)


# --------------------------------------------------------------------------------------------
# The file keeps everything


def test_model_file_round_trip(trained: Model, tmp_path: Path) -> None:
    path = tmp_path / "model.npz"
    save_model(trained, path)
    loaded = load_model(path)
    assert loaded.classes == trained.classes
    assert loaded.char_vocabulary == trained.char_vocabulary
    assert loaded.word_vocabulary == trained.word_vocabulary
    assert loaded.known_words == trained.known_words
    assert (loaded.char_weight, loaded.word_weight, loaded.temperature) == (
        trained.char_weight,
        trained.word_weight,
        trained.temperature,
    )
    for name in ("idf", "coef_t", "intercept"):
        assert np.array_equal(getattr(loaded, name), getattr(trained, name)), name
        assert getattr(loaded, name).dtype == np.float64


def test_a_model_file_holds_no_pickles(trained: Model, tmp_path: Path) -> None:
    path = tmp_path / "model.npz"
    save_model(trained, path)
    with np.load(path, allow_pickle=False) as data:
        assert all(data[name].dtype != object for name in data.files)


# --------------------------------------------------------------------------------------------
# A loaded model answers exactly as the trained one


def _variations(rows: list[tuple[str, Topic]], count: int, seed: int) -> list[str]:
    """Phrasings changed the ways customers change them: joined, greeted, misspelt, shouted."""
    rng = random.Random(seed)
    texts = [text for text, _ in rows]

    def typo(s: str) -> str:
        i = rng.randrange(max(1, len(s)))
        return s[:i] + s[i + 1 :]

    changes: list[Callable[[str], str]] = [
        lambda s: f"{s}? Also, {rng.choice(texts)}",
        lambda s: f"hi team! {s} thanks",
        lambda s: f"{s}. {rng.choice(texts)}; and how much is it",
        typo,
        lambda s: typo(typo(s)),
        str.upper,
        lambda s: s.replace(" ", "   "),
        lambda s: s + " we're 3P on amazon.de and UK",
        lambda s: s[: len(s) // 2],
        lambda s: s + " ?!?! https://sellercentral.amazon.co.uk/x?error=access_denied",
        lambda s: "MD1000 " + s,
        lambda s: s + " it's been 4 days",
    ]
    return [rng.choice(changes)(rng.choice(texts)) for _ in range(count)]


def test_loaded_model_understands_like_the_trained_one(rows: list[tuple[str, Topic]], cache_dir: Path) -> None:
    in_process = Classifier(default_phrasings_dir(), rows=rows)
    served = Classifier(default_phrasings_dir())  # a cold cache: trained in a child process, loaded
    assert served.model_source == "trained"
    assert list(cache_dir.glob("understanding-*.npz"))
    assert served.topics == in_process.topics
    assert served.temperature == in_process.temperature
    texts = [text for text, _ in rows[::15]] + _variations(rows, 300, seed=4) + ["", "qwerty", "vendor", "yes"]
    for text in texts:
        assert served.understand(text) == in_process.understand(text), text
        assert served.top(text) == in_process.top(text), text


def test_a_cached_model_needs_no_training(monkeypatch: pytest.MonkeyPatch) -> None:
    Classifier(default_phrasings_dir())  # fills the cache (if the test above did not)

    def no_subprocess(*args: object, **kwargs: object) -> None:
        raise AssertionError("a cache hit must not start a process")

    monkeypatch.setattr(subprocess, "run", no_subprocess)
    classifier = Classifier(default_phrasings_dir())
    assert classifier.model_source == "cache"
    assert classifier.understand("how do i hook up my amazon store").topics[0] is Topic.CONNECT_START


# --------------------------------------------------------------------------------------------
# The cache


def _copy_phrasings(to: Path) -> Path:
    to.mkdir()
    for path in default_phrasings_dir().glob("*.txt"):
        (to / path.name).write_bytes(path.read_bytes())
    return to


def test_the_cache_key_follows_the_phrasings(tmp_path: Path) -> None:
    copy = _copy_phrasings(tmp_path / "phrasings")
    key = cache.cache_key(copy)
    assert key == cache.cache_key(default_phrasings_dir())  # content decides, not where it lies
    billing = copy / f"{Topic.BILLING.value}.txt"
    billing.write_text(billing.read_text(encoding="utf-8") + "what does the invoice say\n", encoding="utf-8")
    assert cache.cache_key(copy) != key


def _fake_training(model: Model, calls: list[Path]) -> Callable[[Path, Path], None]:
    def fake(phrasings_dir: Path, out: Path) -> None:
        calls.append(out)
        save_model(model, out)

    return fake


def test_a_damaged_cache_file_is_trained_again(trained: Model, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cache.CACHE_DIR_ENV, str(tmp_path))
    calls: list[Path] = []
    monkeypatch.setattr(cache, "train_in_subprocess", _fake_training(trained, calls))
    path = tmp_path / f"understanding-{cache.cache_key(default_phrasings_dir())}.npz"
    path.write_bytes(b"PK\x03\x04 half a file")
    model, source = cache.load_or_train(default_phrasings_dir())
    assert source == "trained" and len(calls) == 1
    assert load_model(path).classes == model.classes == trained.classes
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left


def test_an_unwritable_cache_dir_still_gives_a_model(
    trained: Model, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv(cache.CACHE_DIR_ENV, str(blocker / "cache"))
    calls: list[Path] = []
    monkeypatch.setattr(cache, "train_in_subprocess", _fake_training(trained, calls))
    model, source = cache.load_or_train(default_phrasings_dir())
    assert source == "trained, not cached" and len(calls) == 1
    assert model.classes == trained.classes
    assert not calls[0].exists()  # the temporary directory is gone


def test_failed_training_says_what_failed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cache.CACHE_DIR_ENV, str(tmp_path))
    monkeypatch.setattr(cache, "TRAIN_MODULE", "bot.understanding.no_such_module")
    with pytest.raises(cache.TrainingError, match=r"(?s)exited with 1.*No module named bot\.understanding\.no_such"):
        Classifier(default_phrasings_dir())
    assert list(tmp_path.iterdir()) == []


def test_missing_or_empty_phrasings_are_an_error_before_any_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_training(phrasings_dir: Path, out: Path) -> None:
        raise AssertionError("nothing to train on, nothing should be trained")

    monkeypatch.setattr(cache, "train_in_subprocess", no_training)
    with pytest.raises(ValueError, match="no phrasings for topic"):
        Classifier(tmp_path)
    for topic in Topic:
        (tmp_path / f"{topic.value}.txt").write_text("# only comments\n\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no phrasings to train on"):
        Classifier(tmp_path)


# --------------------------------------------------------------------------------------------
# A serving process


_SERVE = """
import sys
from bot.classify import Classifier, default_phrasings_dir
import bot.app
classifier = Classifier(default_phrasings_dir())
classifier.understand("hi we are a vendor")
print(classifier.model_source)
print(sorted({name.split(".")[0] for name in sys.modules} & {"sklearn", "scipy"}))
"""


@pytest.mark.slow
def test_a_serving_process_never_imports_scikit_learn(tmp_path: Path) -> None:
    """Neither on a cold cache (training runs in a child) nor on a warm one."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), cache.CACHE_DIR_ENV: str(tmp_path / "cache")}
    outputs = [
        subprocess.run([sys.executable, "-c", _SERVE], cwd=REPO, env=env, capture_output=True, text=True, check=True)
        for _ in range(2)
    ]
    assert [out.stdout.split("\n")[:2] for out in outputs] == [["trained", "[]"], ["cache", "[]"]]
