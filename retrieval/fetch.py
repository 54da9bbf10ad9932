"""Fetching a web page (or a PDF or Word file) by its address, for `sanad add URL` and the bot's /add.

Only http and https, with a limit on size and on time, and every failure said in plain words: an
address that does not answer, an error status, a file too large, a type Sanad does not read.
"""

from __future__ import annotations

import re
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

__all__ = ["FetchError", "Fetched", "fetch"]

_TYPES = {"text/html": ".html", "application/xhtml+xml": ".html", "application/pdf": ".pdf",
          "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx"}
_SUFFIXES = (".html", ".htm", ".pdf", ".docx")
_UNSAFE = re.compile(r"[^\w\u0600-\u06ff.-]+")
_BLOCK = 64 * 1024


class FetchError(Exception):
    """A page that could not be fetched; `reason` says why in plain words."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Fetched:
    """A fetched file: the address it came from (after redirects), a file name for it, its bytes."""

    url: str
    name: str
    data: bytes


def _name(url: str, content_type: str) -> str:
    """A plain file name for the page: its host and last path part, with the extension its type calls for."""
    parts = urlsplit(url)
    last = PurePosixPath(unquote(parts.path)).name
    suffix = PurePosixPath(last).suffix.lower()
    if suffix not in _SUFFIXES:
        suffix = _TYPES.get(content_type)
        if suffix is None:
            raise FetchError(f"the address gives {content_type or 'an unknown type'}, not a web page, PDF or "
                             "Word file")
    else:
        last = last[: -len(suffix)]
    stem = _UNSAFE.sub("-", f"{parts.hostname or 'page'}-{last}" if last else parts.hostname or "page").strip("-.")
    return f"{stem[:80] or 'page'}{suffix}"


def fetch(url: str, *, max_bytes: int, timeout: float = 20.0) -> Fetched:
    """The file at an http(s) address, read whole within `max_bytes` and `timeout` seconds; FetchError if not."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise FetchError("the address must start with http:// or https:// and name a host")
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(url.strip(), headers={"User-Agent": "Sanad/0.1 (+document fetch)"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > max_bytes:
                raise FetchError(f"page too large ({int(length)} bytes, limit {max_bytes})")
            chunks, size = [], 0
            while block := response.read(_BLOCK):
                size += len(block)
                if size > max_bytes:
                    raise FetchError(f"page too large (more than {max_bytes} bytes)")
                if time.monotonic() > deadline:
                    raise FetchError(f"the address did not answer in time ({timeout:g} s)")
                chunks.append(block)
            content_type = response.headers.get_content_type()
            final = response.geturl()
    except urllib.error.HTTPError as e:
        raise FetchError(f"the address answered with an error (HTTP {e.code})") from None
    except urllib.error.URLError as e:
        if isinstance(e.reason, (TimeoutError, socket.timeout)):
            raise FetchError(f"the address did not answer in time ({timeout:g} s)") from None
        raise FetchError(f"the address cannot be reached ({e.reason})") from None
    except (TimeoutError, socket.timeout):
        raise FetchError(f"the address did not answer in time ({timeout:g} s)") from None
    except (OSError, ValueError) as e:  # connection reset, a malformed address or answer
        raise FetchError(f"the address cannot be reached ({e.__class__.__name__})") from None
    return Fetched(final, _name(final, content_type), b"".join(chunks))
