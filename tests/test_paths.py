"""Where Sanad reads and writes: the bundled corpus and settings, and the per-user data folder."""

from __future__ import annotations

import fnmatch
import os
import subprocess
import sys
import tomllib
from pathlib import Path

from bot.paths import bundled, data_dir, default_corpus, default_db, provide_corpus
from bot.settings import load_settings
from tests.conftest import ROOT


def test_the_bundled_corpus_and_settings_are_found():
    assert len(list(bundled("seeds").glob("*.txt"))) == 5 and (bundled("seeds") / "metadata.toml").is_file()
    assert (bundled("config") / "sanad.toml").is_file()


def test_every_bundled_file_is_packaged():
    """`pip install .` ships what the checkout reads: each file of seeds/ and config/ matches the package data."""
    tool = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    for folder in ("seeds", "config"):
        package = f"bot.bundled.{folder}"
        assert package in tool["packages"] and tool["package-dir"][package] == folder
        for path in (ROOT / folder).iterdir():
            assert any(fnmatch.fnmatch(path.name, g) for g in tool["package-data"][package]), path


def test_every_code_package_is_packaged():
    """`pip install .` ships every package of the code (a sub-package left out would import only from a checkout)."""
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"]
    for top in ("retrieval", "bot"):
        for init in (ROOT / top).rglob("__init__.py"):
            assert ".".join(init.parent.relative_to(ROOT).parts) in packages, init


def test_the_data_folder_follows_xdg(tmp_path):
    assert data_dir({"XDG_DATA_HOME": str(tmp_path)}) == tmp_path / "sanad"
    assert data_dir({}) == Path.home() / ".local" / "share" / "sanad"


def test_settings_default_to_the_data_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    s = load_settings({})
    assert s.db_path == default_db() == tmp_path / "sanad" / "sanad.sqlite3"
    assert s.corpus_dir == default_corpus() == tmp_path / "sanad" / "corpus"


def test_the_bundled_articles_are_copied_once_into_the_default_corpus_only(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert not provide_corpus(tmp_path / "elsewhere")  # a folder the user named is left alone
    assert not (tmp_path / "elsewhere").exists()
    assert provide_corpus(default_corpus())
    copied = sorted(p.name for p in default_corpus().iterdir())
    assert copied == sorted(p.name for p in bundled("seeds").iterdir())
    (default_corpus() / "000_567f2c53f91ef5fe.txt").unlink()  # an admin removed it: not brought back
    assert not provide_corpus(default_corpus())
    assert not (default_corpus() / "000_567f2c53f91ef5fe.txt").exists()


def test_sanad_run_from_any_folder_writes_only_to_the_data_folder(tmp_path):
    cwd, data = tmp_path / "somewhere", tmp_path / "data"
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANAD_")}
    env.update({"XDG_DATA_HOME": str(data), "PYTHONPATH": str(ROOT), "NO_COLOR": "1"})
    out = subprocess.run([sys.executable, "-m", "bot.cli", "ask", "ماذا نشر البيت الأبيض؟"], cwd=cwd, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "البيت" in out.stdout, out.stderr
    assert list(cwd.iterdir()) == []
    assert (data / "sanad" / "sanad.sqlite3").is_file() and len(list((data / "sanad" / "corpus").glob("*.txt"))) == 5
