"""Keyed pseudonyms for Telegram ids: the database stores no raw id, and its hashes cannot be reversed
by enumerating ids without a key kept outside it.

The key lives in a file beside the database (`<database>.key`, mode 0600), created on first use.
Whoever holds the database alone cannot tell which user asked what: an unkeyed or in-database salt
was reversed at 300k ids a second. Losing the key only unlinks the log from its users (/forgetme
then finds nothing older); it never loses the corpus or the questions.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import stat
from pathlib import Path

__all__ = ["Pseudonyms", "load_key", "key_path", "KEY_BYTES"]

KEY_BYTES = 32
log = logging.getLogger(__name__)


class Pseudonyms:
    """HMAC-SHA256 under one key: `of` names an id, `secret` derives a named sub-key (e.g. for buttons)."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def of(self, kind: str, value: int | str) -> str:
        """The pseudonym of a chat or user id (kind says which, so one id gives two unrelated names)."""
        return hmac.new(self._key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:32]

    def secret(self, name: str) -> bytes:
        """A 32-byte key for `name`, derived from the key file (nothing secret is stored in the database)."""
        return hmac.new(self._key, f"secret:{name}".encode(), hashlib.sha256).digest()


def key_path(db_path: Path) -> Path:
    """Where the key of a database lives: beside it, named after it."""
    return db_path.with_name(db_path.name + ".key")


def load_key(path: Path) -> bytes:
    """Read the key file, or create it (0600) with a random key; a key others can read is tightened
    to 0600. OSError when it can be neither read nor created."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            log.warning("the id key %s was readable by others (mode %o); set it to 0600", path, mode)
            os.chmod(path, 0o600)
        key = path.read_bytes()
        if len(key) < KEY_BYTES:
            raise OSError(f"the id key {path} is damaged ({len(key)} bytes); move it aside to make a new one")
        return key
    key = secrets.token_bytes(KEY_BYTES)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
        f.flush()
        os.fsync(f.fileno())
    return key
