"""A trained model for a phrasings directory: from the cache, or trained in a child process.

Training needs scikit-learn and SciPy, which a serving process must not load (they stay in
memory for good, some 70 MB). So a process that finds no cached model runs
`python -m bot.understanding.train` as a child, which writes the model file and exits, and then
loads that file with numpy alone. The file is kept under a key that changes with anything that
could change the model: the phrasings, the code that cleans text and trains, and the versions
of scikit-learn and SciPy.

Cache directory: `$CONNECTBOT_CACHE_DIR`, else `~/.cache/connectbot`. Files are written whole
or not at all (a temporary file renamed into place), so processes starting together at most
train twice. When the directory cannot be written the model is trained into a temporary
directory and used from there.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import subprocess
import sys
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path
from typing import Final

from bot.understanding.model import FORMAT, Model, load_model
from bot.understanding.phrasings import phrasing_files, read_phrasings

log = logging.getLogger("connectbot.understanding")

CACHE_DIR_ENV: Final = "CONNECTBOT_CACHE_DIR"
TRAIN_MODULE: Final = "bot.understanding.train"
# The modules whose code decides what training produces (read as files, never imported here).
_MODEL_SOURCES: Final = ("train.py", "analyzers.py", "model.py", "text.py", "glossary.py", "markets.py", "phrasings.py")
_LIBRARIES: Final = ("scikit-learn", "scipy", "numpy")
_TRAIN_TIMEOUT_S: Final = 600
_UNREADABLE: Final = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile)


class TrainingError(RuntimeError):
    """The training process failed; the message holds its last lines of output."""


def cache_dir() -> Path:
    configured = os.environ.get(CACHE_DIR_ENV)
    return Path(configured) if configured else Path.home() / ".cache" / "connectbot"


def cache_key(phrasings_dir: Path) -> str:
    """sha256 over every phrasing file (name and content), the training code and library versions."""
    digest = hashlib.sha256(f"connectbot understanding model, format {FORMAT}\n".encode())

    def add(name: str, content: bytes) -> None:
        digest.update(f"{name}\0{len(content)}\0".encode())
        digest.update(content)

    for path in phrasing_files(phrasings_dir):
        add(f"phrasings/{path.name}", path.read_bytes())
    package = Path(__file__).resolve().parent
    for name in _MODEL_SOURCES:
        add(f"source/{name}", (package / name).read_bytes())
    for library in _LIBRARIES:
        add(f"library/{library}", _version(library).encode())
    return digest.hexdigest()


def load_or_train(phrasings_dir: Path) -> tuple[Model, str]:
    """The model for `phrasings_dir` and where it came from: "cache", "trained" or "trained, not cached"."""
    path = cache_dir() / f"understanding-{cache_key(phrasings_dir)}.npz"
    if path.is_file():
        try:
            return load_model(path), "cache"
        except _UNREADABLE as exc:  # damaged or foreign file: train again over it
            log.warning("cached model %s unreadable (%s); training again", path, exc)
    if not read_phrasings(phrasings_dir):
        raise ValueError("no phrasings to train on")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=".understanding-", suffix=".npz.tmp", dir=path.parent)
        os.close(fd)
    except OSError as exc:
        log.warning("cache directory %s not writable (%s); the model is not cached", path.parent, exc)
        with tempfile.TemporaryDirectory(prefix="connectbot-") as tmp:
            out = Path(tmp) / "understanding.npz"
            train_in_subprocess(phrasings_dir, out)
            return load_model(out), "trained, not cached"
    tmp_path = Path(tmp_name)
    try:
        train_in_subprocess(phrasings_dir, tmp_path)
        model = load_model(tmp_path)
        try:
            os.chmod(tmp_path, 0o644)  # mkstemp made it private; it is a cache anyone may read
            os.replace(tmp_path, path)
        except OSError as exc:
            log.warning("could not store the model in %s (%s); it is not cached", path, exc)
            return model, "trained, not cached"
    finally:
        with contextlib.suppress(OSError):
            tmp_path.unlink(missing_ok=True)
    log.info("trained the understanding model into %s", path)
    return model, "trained"


def train_in_subprocess(phrasings_dir: Path, out: Path) -> None:
    """Run `python -m bot.understanding.train` with this interpreter and this checkout's code."""
    root = Path(__file__).resolve().parents[2]  # the directory holding the `bot` package
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH")) if p)
    command = [sys.executable, "-m", TRAIN_MODULE, str(phrasings_dir.resolve()), str(out.resolve())]
    try:
        result = subprocess.run(
            command, cwd=root, env=env, capture_output=True, text=True, timeout=_TRAIN_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise TrainingError(f"could not train the understanding model ({' '.join(command)}): {exc}") from exc
    if result.returncode != 0:
        output = (result.stderr or result.stdout or "(no output)").strip().splitlines()
        raise TrainingError(
            f"training the understanding model failed: `{' '.join(command)}` exited with {result.returncode}:\n"
            + "\n".join(output[-20:])
        )


def _version(library: str) -> str:
    try:
        return metadata.version(library)
    except metadata.PackageNotFoundError:
        return "absent"
