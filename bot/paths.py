"""Where Sanad's files live: what ships with the package, and the per-user data folder it writes to.

The bundled corpus (`seeds/`) and default settings (`config/sanad.toml`) are read from the package
when Sanad is installed (pyproject maps the repository's top-level folders into `bot/bundled/`), or
from the checkout's own folders when it runs from one. Nothing is ever written there: the database
and the served corpus (which admins add to) live in the per-user data folder.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

__all__ = ["bundled", "data_dir", "default_db", "default_corpus", "provide_corpus"]

_PACKAGE = Path(__file__).resolve().parent


def bundled(name: str) -> Path:
    """A folder that ships with Sanad ("seeds" or "config"): the installed copy, else the checkout's."""
    installed = _PACKAGE / "bundled" / name
    return installed if installed.is_dir() else _PACKAGE.parent / name


def data_dir(env: Mapping[str, str] | None = None) -> Path:
    """The per-user data folder: $XDG_DATA_HOME/sanad, else ~/.local/share/sanad."""
    env = os.environ if env is None else env
    base = env.get("XDG_DATA_HOME", "").strip()
    return (Path(base) if base else Path.home() / ".local" / "share") / "sanad"


def default_db(env: Mapping[str, str] | None = None) -> Path:
    """The database when neither SANAD_DB nor the settings file names one."""
    return data_dir(env) / "sanad.sqlite3"


def default_corpus(env: Mapping[str, str] | None = None) -> Path:
    """The served corpus folder when neither SANAD_CORPUS nor the settings file names one."""
    return data_dir(env) / "corpus"


def provide_corpus(corpus_dir: Path) -> bool:
    """On first use, fill the default corpus folder with the bundled articles; True if it did.

    Only the default folder, and only when it does not exist yet: a folder the user named is theirs
    (a missing one is a typo to report, not to fill), and uploads then never write into the package.
    """
    if corpus_dir.exists() or corpus_dir != default_corpus():
        return False
    corpus_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = corpus_dir.with_name(corpus_dir.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(bundled("seeds"), staging)
    staging.rename(corpus_dir)  # whole or absent, if two first runs race
    return True
