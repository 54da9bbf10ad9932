"""Keyed pseudonyms (issue 13.8): no id can be recovered without the key, which lives outside the database."""

from __future__ import annotations

import stat

import pytest

from retrieval.pseudonym import Pseudonyms, key_path, load_key


def test_pseudonyms_depend_on_the_key_and_on_what_is_named() -> None:
    a, b = Pseudonyms(b"k" * 32), Pseudonyms(b"j" * 32)
    assert a.of("user", 42) == a.of("user", 42) != b.of("user", 42)
    assert a.of("user", 42) != a.of("chat", 42) and "42" not in a.of("user", 42)
    assert a.secret("buttons") != a.secret("user-id") and len(a.secret("buttons")) == 32


def test_the_key_file_is_made_once_private_and_then_reused(tmp_path) -> None:
    path = key_path(tmp_path / "sanad.sqlite3")
    assert path.name == "sanad.sqlite3.key"
    key = load_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and load_key(path) == key and len(key) == 32


def test_a_truncated_key_file_is_refused(tmp_path) -> None:
    path = tmp_path / "db.key"
    path.write_bytes(b"short")
    path.chmod(0o600)
    with pytest.raises(OSError, match="damaged"):
        load_key(path)
