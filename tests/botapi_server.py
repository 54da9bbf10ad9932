"""A local Telegram Bot API server for the test suite.

It speaks the Bot API over HTTP on 127.0.0.1 the way api.telegram.org does, so the
real bot (python-telegram-bot with ``base_url=f"{server.url}/bot"`` and
``base_file_url=f"{server.url}/file/bot"``) runs against it unchanged:

* requests: ``GET``/``POST`` ``/bot<token>/<method>`` with a JSON body,
  ``application/x-www-form-urlencoded`` (what PTB v22's HTTPXRequest sends: nested
  values JSON-encoded inside the form) or ``multipart/form-data`` (uploads), plus query
  string parameters; method names are case-insensitive;
* files: ``GET /file/bot<token>/<file_path>``;
* answers: ``{"ok": true, "result": ...}`` or
  ``{"ok": false, "error_code": N, "description": "...", "parameters": {...}}``.

Validation follows Telegram (tdlib's HTML parser, the 4096 UTF-16 code unit limit counted
on the visible text after entity parsing and trimming, BUTTON_DATA_INVALID, "message is
not modified", ...). Unknown methods answer 404 "Not Found", never a fake success.

Thread model: a ``ThreadingHTTPServer`` in a background thread; every piece of state
is guarded by one lock/condition, so the test-facing API is usable from any thread or
event loop. Every wait is bounded.

Deliberate differences from api.telegram.org (stricter, to catch bugs early):
* ``strict_html=True`` (default) rejects a bare ``&`` that does not start an entity and a
  bare ``>``; the docs say they *must* be escaped, but tdlib passes them through.
  Pass ``strict_html=False`` for tdlib's lenient behaviour.
* Webhook URLs may be plain http (``webhook_require_https=False``) so tests can use
  127.0.0.1.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import secrets
import socket
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable

__all__ = [
    "BotAPIServer",
    "BotAPIError",
    "Call",
    "parse_html",
    "parse_markdown_v2",
    "parse_formatted_text",
    "utf16_len",
]

MAX_MESSAGE_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_DOWNLOAD_SIZE = 20 * 1024 * 1024

_request_local = threading.local()  # the connection of the request being handled (long-poll disconnects)


def _client_gone() -> bool:
    """True when the client of the current request closed its connection (best effort)."""
    sock = getattr(_request_local, "sock", None)
    if sock is None:
        return False
    import select

    try:
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return False
        return sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


# ----------------------------------------------------------------------------- errors


class BotAPIError(Exception):
    """An error answer of the Bot API (error_code + description [+ parameters])."""

    def __init__(self, error_code: int, description: str, parameters: dict | None = None):
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters

    def to_json(self) -> dict:
        out: dict[str, Any] = {"ok": False, "error_code": self.error_code, "description": self.description}
        if self.parameters:
            out["parameters"] = self.parameters
        return out


def _bad(description: str) -> BotAPIError:
    return BotAPIError(400, "Bad Request: " + description)


class EntityParseError(ValueError):
    """The text could not be parsed with the given parse_mode (tdlib's message)."""


# ------------------------------------------------------------------------- utilities


def utf16_len(s: str) -> int:
    """Length in UTF-16 code units, as Telegram counts offsets and lengths."""
    return len(s.encode("utf-16-le", "surrogatepass")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8", "surrogatepass"))


_WS = " \t\n\r\x0b\x0c"

_ENTITY_PRIORITY = {  # order among entities with equal offset and length (outer first)
    "blockquote": 0, "expandable_blockquote": 0, "pre": 1, "code": 1, "text_link": 2, "text_mention": 2,
    "custom_emoji": 2, "date_time": 2, "bold": 3, "italic": 4, "underline": 5, "strikethrough": 6,
    "spoiler": 7,
}
_FORMATTING = {"bold", "italic", "underline", "strikethrough", "spoiler"}
_BLOCKQUOTES = {"blockquote", "expandable_blockquote"}


def _sort_entities(entities: list[dict]) -> list[dict]:
    return sorted(entities, key=lambda e: (e["offset"], -e["length"], _ENTITY_PRIORITY.get(e["type"], 9)))


def _fix_nesting(entities: list[dict]) -> list[dict]:
    """Drop entities Telegram does not allow to be nested (it removes them silently).

    * nothing inside pre/code;
    * blockquotes cannot be nested;
    * non-formatting entities (links, mentions...) cannot contain each other.
    """
    ents = _sort_entities(entities)
    kept: list[dict] = []
    for e in ents:
        e_end = e["offset"] + e["length"]
        ok = True
        for p in kept:
            p_end = p["offset"] + p["length"]
            if not (p["offset"] <= e["offset"] and e_end <= p_end):
                if p["offset"] < e_end and e["offset"] < p_end and not (e["offset"] <= p["offset"] and p_end <= e_end):
                    ok = False  # partial overlap: Telegram cuts; we drop the later one
                    break
                continue
            if p["type"] in ("pre", "code"):
                ok = False
            elif p["type"] in _BLOCKQUOTES and e["type"] in _BLOCKQUOTES:
                ok = False
            elif p["type"] not in _FORMATTING and p["type"] not in _BLOCKQUOTES and e["type"] not in _FORMATTING:
                ok = False
            if not ok:
                break
        if ok:
            kept.append(e)
    return kept


def _trim(text: str, entities: list[dict]) -> tuple[str, list[dict]]:
    """Strip leading/trailing whitespace like Telegram, keeping entity offsets right."""
    stripped_left = text.lstrip(_WS)
    shift = utf16_len(text) - utf16_len(stripped_left)
    result = stripped_left.rstrip(_WS)
    total = utf16_len(result)
    out = []
    for e in entities:
        start = max(e["offset"] - shift, 0)
        end = min(e["offset"] + e["length"] - shift, total)
        if end > start:
            e = dict(e, offset=start, length=end - start)
            out.append(e)
    return result, out


# ------------------------------------------------------------------------ HTML parser

_HTML_TAGS = {
    "a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins", "tg-spoiler", "tg-emoji", "span",
    "pre", "code", "blockquote", "tg-time",
}
_HTML_SIMPLE = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline", "ins": "underline",
    "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough", "tg-spoiler": "spoiler",
    "span": "spoiler", "code": "code", "pre": "pre",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def _decode_html_entity(text: str, i: int) -> tuple[str | None, int]:
    """Decode the entity at text[i] == '&'. Returns (char, next index) or (None, i)."""
    m = re.compile(r"&(#[0-9]{1,10}|#[xX][0-9a-fA-F]{1,8}|[a-zA-Z]{2,10});").match(text, i)
    if not m:
        return None, i
    body = m.group(1)
    if body.startswith("#"):
        code = int(body[2:], 16) if body[1:2] in ("x", "X") else int(body[1:])
        if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return None, i
        return chr(code), m.end()
    ch = _NAMED_ENTITIES.get(body)  # tdlib: exactly these four, case-sensitive
    if ch is None:
        return None, i
    return ch, m.end()


def _decode_attr(value: str) -> str:
    out = []
    i = 0
    while i < len(value):
        if value[i] == "&":
            ch, j = _decode_html_entity(value, i)
            if ch is not None:
                out.append(ch)
                i = j
                continue
        out.append(value[i])
        i += 1
    return "".join(out)


def _link_entity(url: str, offset: int, length: int) -> dict | None:
    url = url.strip()
    if not url or any(c in url for c in " \n\t<>\"") or len(url) > 2048:
        return None
    m = re.fullmatch(r"tg://user\?id=(\d{1,15})", url)
    if m:
        uid = int(m.group(1))
        return {"type": "text_mention", "offset": offset, "length": length,
                "user": {"id": uid, "is_bot": False, "first_name": f"User {uid}"}}
    parsed = urllib.parse.urlsplit(url if "://" in url else "http://" + url)
    if parsed.scheme.lower() not in ("http", "https", "tg", "ton", "ftp") or (
        parsed.scheme.lower() in ("http", "https", "ftp") and ("." not in parsed.netloc or not parsed.hostname)
    ):
        return None
    if "://" not in url:
        url = "http://" + url
    if parsed.scheme.lower() in ("http", "https") and parsed.path == "" and not parsed.query and not parsed.fragment:
        url += "/"
    return {"type": "text_link", "offset": offset, "length": length, "url": url}


def parse_html(text: str, *, strict: bool = True) -> tuple[str, list[dict]]:
    """Parse Telegram HTML into (visible text, entities) like tdlib's parse_html.

    Raises EntityParseError with tdlib's wording ("Unsupported start tag "x" at byte
    offset N", "Can't find end tag corresponding to start tag "b"", ...). Entities are
    not trimmed nor nesting-fixed here; see :func:`parse_formatted_text`.
    """
    out: list[str] = []
    pos16 = 0  # current utf-16 offset in the output
    stack: list[dict] = []
    entities: list[dict] = []
    n = len(text)
    i = 0

    def emit(s: str) -> None:
        nonlocal pos16
        out.append(s)
        pos16 += utf16_len(s)

    while i < n:
        c = text[i]
        if c == "&":
            ch, j = _decode_html_entity(text, i)
            if ch is not None:
                emit(ch)
                i = j
                continue
            if strict:
                raise EntityParseError(
                    f'Unescaped "&" at byte offset {_byte_offset(text, i)}: use "&amp;" (strict test server)')
            emit("&")
            i += 1
            continue
        if c == ">" and strict:
            raise EntityParseError(
                f'Unescaped ">" at byte offset {_byte_offset(text, i)}: use "&gt;" (strict test server)')
        if c != "<":
            j = i + 1
            while j < n and text[j] not in "<&>":
                j += 1
            emit(text[i:j])
            i = j
            continue

        begin = i
        i += 1
        if i < n and text[i] == "/":  # ---- end tag
            if not stack:
                raise EntityParseError(f"Unexpected end tag at byte offset {_byte_offset(text, begin)}")
            i += 1
            j = i
            while j < n and not text[j].isspace() and text[j] != ">":
                j += 1
            end_name = text[i:j].lower()
            while j < n and text[j].isspace():
                j += 1
            if j >= n or text[j] != ">":
                raise EntityParseError(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
            top = stack.pop()
            if end_name and end_name != top["tag"]:
                raise EntityParseError(
                    f'Unmatched end tag at byte offset {_byte_offset(text, begin)}, '
                    f'expected "</{top["tag"]}>", found "</{end_name}>"')
            i = j + 1
            _close_html_tag(top, pos16, "".join(out), stack, entities)
            continue

        # ---- start tag
        j = i
        while j < n and not text[j].isspace() and text[j] != ">":
            j += 1
        if j >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
        tag = text[i:j].lower()
        if tag not in _HTML_TAGS:
            raise EntityParseError(f'Unsupported start tag "{tag}" at byte offset {_byte_offset(text, begin)}')
        attrs: dict[str, str] = {}
        while True:
            while j < n and text[j].isspace():
                j += 1
            if j >= n:
                raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
            if text[j] == ">":
                break
            k = j
            while k < n and not text[k].isspace() and text[k] not in "=>":
                k += 1
            name = text[j:k].lower()
            if not name:
                raise EntityParseError(
                    f'Empty attribute name in the tag "{tag}" at byte offset {_byte_offset(text, begin)}')
            while k < n and text[k].isspace():
                k += 1
            if k >= n:
                raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
            if text[k] != "=":
                if tag == "blockquote" and name == "expandable":
                    attrs[name] = ""
                    j = k
                    continue
                raise EntityParseError(
                    f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                    f"at byte offset {_byte_offset(text, begin)}")
            k += 1
            while k < n and text[k].isspace():
                k += 1
            if k >= n:
                raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
            if text[k] in "'\"":
                q = text[k]
                end = text.find(q, k + 1)
                if end < 0:
                    raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
                value = text[k + 1:end]
                j = end + 1
            else:
                end = k
                while end < n and not text[end].isspace() and text[end] != ">":
                    end += 1
                value = text[k:end]
                j = end
            attrs[name] = _decode_attr(value)
        i = j + 1
        if tag == "span" and attrs.get("class") != "tg-spoiler":
            raise EntityParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {_byte_offset(text, begin)}')
        if tag == "tg-emoji" and not re.fullmatch(r"[0-9]{1,20}", attrs.get("emoji-id", "")):
            raise EntityParseError(f"Invalid custom emoji identifier specified at byte offset {_byte_offset(text, begin)}")
        if tag == "tg-time" and not re.fullmatch(r"[0-9]{1,12}", attrs.get("unix", "")):
            raise EntityParseError(f"Invalid Unix time specified at byte offset {_byte_offset(text, begin)}")
        stack.append({"tag": tag, "attrs": attrs, "start": pos16})

    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1]["tag"]}"')
    return "".join(out), entities


def _close_html_tag(top: dict, pos16: int, visible: str, stack: list[dict], entities: list[dict]) -> None:
    tag, attrs, start = top["tag"], top["attrs"], top["start"]
    length = pos16 - start
    if tag == "code" and stack and stack[-1]["tag"] == "pre" and attrs.get("class", "").startswith("language-"):
        if stack[-1]["start"] == start:
            stack[-1]["language"] = attrs["class"][len("language-"):]
            return
    if length <= 0:
        return
    if tag == "a":
        href = attrs.get("href")
        if href is None:  # tdlib uses the link text as the URL
            href = visible.encode("utf-16-le", "surrogatepass")[start * 2:].decode("utf-16-le", "surrogatepass")
        e = _link_entity(href, start, length)
        if e:
            entities.append(e)
        return
    if tag == "blockquote":
        entities.append({"type": "expandable_blockquote" if "expandable" in attrs else "blockquote",
                         "offset": start, "length": length})
        return
    if tag == "tg-emoji":
        entities.append({"type": "custom_emoji", "offset": start, "length": length,
                         "custom_emoji_id": attrs["emoji-id"]})
        return
    if tag == "tg-time":
        e = {"type": "date_time", "offset": start, "length": length, "unix_time": int(attrs["unix"])}
        if attrs.get("format"):
            e["date_time_format"] = attrs["format"]
        entities.append(e)
        return
    e = {"type": _HTML_SIMPLE[tag], "offset": start, "length": length}
    if tag == "pre" and top.get("language"):
        e["language"] = top["language"]
    entities.append(e)


# ------------------------------------------------------------------- MarkdownV2 parser

_MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_MDV2_NAMES = {"*": "Bold", "_": "Italic", "__": "Underline", "~": "Strikethrough", "||": "Spoiler"}
_MDV2_TYPES = {"*": "bold", "_": "italic", "__": "underline", "~": "strikethrough", "||": "spoiler"}


def parse_markdown_v2(text: str) -> tuple[str, list[dict]]:
    """Parse MarkdownV2 like tdlib (bold, italic, underline, strike, spoiler, code, pre,
    links, blockquotes); reserved characters must be escaped."""
    out: list[str] = []
    pos16 = 0
    stack: list[dict] = []
    entities: list[dict] = []
    n = len(text)
    i = 0
    quote_start: int | None = None
    quote_expandable = False

    def emit(s: str) -> None:
        nonlocal pos16
        out.append(s)
        pos16 += utf16_len(s)

    def err(msg: str) -> EntityParseError:
        return EntityParseError(msg)

    while i < n:
        at_line_start = i == 0 or text[i - 1] == "\n"
        if at_line_start:
            is_quote = text[i] == ">" or text.startswith("**>", i)
            if is_quote and quote_start is None:
                quote_start = pos16
                quote_expandable = False
            if not is_quote and quote_start is not None:
                if pos16 - 1 > quote_start:
                    entities.append({"type": "expandable_blockquote" if quote_expandable else "blockquote",
                                     "offset": quote_start, "length": pos16 - 1 - quote_start})
                quote_start = None
            if is_quote:
                i += 3 if text.startswith("**>", i) else 1
                if text.startswith("**>", i - 3) and i >= 3 and text[i - 3:i] == "**>":
                    quote_expandable = True
                continue
        c = text[i]
        if c == "\\":
            if i + 1 < n and 0 < ord(text[i + 1]) < 127:
                emit(text[i + 1])
                i += 2
                continue
            emit(c)
            i += 1
            continue
        if c == "|" and text.startswith("||", i) and quote_start is not None and (
            i + 2 == n or text[i + 2] == "\n") and not (stack and stack[-1]["m"] == "||"):
            quote_expandable = True
            i += 2
            continue
        if c == "`":
            if text.startswith("```", i):
                end_lang = text.find("\n", i + 3)
                j = i + 3
                lang = ""
                close = text.find("```", j)
                if close < 0:
                    raise err(f"Can't find end of Pre entity at byte offset {_byte_offset(text, i)}")
                if 0 <= end_lang < close:
                    lang = text[j:end_lang].strip()
                    if lang and not re.fullmatch(r"[\w+#.-]+", lang):
                        lang = ""
                        content_start = j
                    else:
                        content_start = end_lang + 1
                else:
                    content_start = j
                content = _mdv2_code_content(text, content_start, close, err)
                start = pos16
                emit(content)
                if pos16 > start:
                    e = {"type": "pre", "offset": start, "length": pos16 - start}
                    if lang:
                        e["language"] = lang
                    entities.append(e)
                i = close + 3
                continue
            close = i + 1
            while close < n and text[close] != "`":
                close += 2 if text[close] == "\\" else 1
            if close >= n:
                raise err(f"Can't find end of Code entity at byte offset {_byte_offset(text, i)}")
            content = _mdv2_code_content(text, i + 1, close, err)
            start = pos16
            emit(content)
            if pos16 > start:
                entities.append({"type": "code", "offset": start, "length": pos16 - start})
            i = close + 1
            continue
        if c == "[":
            stack.append({"m": "[", "start": pos16, "at": i})
            i += 1
            continue
        if c == "]":
            if not stack or stack[-1]["m"] != "[":
                raise err("Character ']' is reserved and must be escaped with the preceding '\\'")
            top = stack.pop()
            if i + 1 >= n or text[i + 1] != "(":
                raise err("Character ']' is reserved and must be escaped with the preceding '\\'")
            j = i + 2
            url_chars = []
            while j < n and text[j] != ")":
                if text[j] == "\\" and j + 1 < n:
                    url_chars.append(text[j + 1])
                    j += 2
                else:
                    url_chars.append(text[j])
                    j += 1
            if j >= n:
                raise err(f"Can't find end of a URL at byte offset {_byte_offset(text, i + 1)}")
            if pos16 > top["start"]:
                e = _link_entity("".join(url_chars), top["start"], pos16 - top["start"])
                if e:
                    entities.append(e)
            i = j + 1
            continue
        marker = None
        for m in ("||", "__", "*", "_", "~"):
            if text.startswith(m, i):
                marker = m
                break
        if marker == "||" or marker in ("*", "_", "~", "__"):
            if stack and stack[-1]["m"] == marker:
                top = stack.pop()
                if pos16 > top["start"]:
                    entities.append({"type": _MDV2_TYPES[marker], "offset": top["start"], "length": pos16 - top["start"]})
                i += len(marker)
                continue
            if any(s["m"] == marker for s in stack):
                raise err(f"Can't find end of {_MDV2_NAMES[marker]} entity at byte offset "
                          f"{_byte_offset(text, [s for s in stack if s['m'] == marker][-1]['at'])}")
            stack.append({"m": marker, "start": pos16, "at": i})
            i += len(marker)
            continue
        if c in _MDV2_RESERVED:
            raise err(f"Character '{c}' is reserved and must be escaped with the preceding '\\'")
        emit(c)
        i += 1
    if quote_start is not None and pos16 > quote_start:
        entities.append({"type": "expandable_blockquote" if quote_expandable else "blockquote",
                         "offset": quote_start, "length": pos16 - quote_start})
    if stack:
        top = stack[-1]
        if top["m"] == "[":
            raise err(f"Can't find end of TextUrl entity at byte offset {_byte_offset(text, top['at'])}")
        raise err(f"Can't find end of {_MDV2_NAMES[top['m']]} entity at byte offset {_byte_offset(text, top['at'])}")
    return "".join(out), entities


def _mdv2_code_content(text: str, start: int, end: int, err: Callable[[str], Exception]) -> str:
    out = []
    j = start
    while j < end:
        if text[j] == "\\" and j + 1 < end + 1 and j + 1 < len(text) and 0 < ord(text[j + 1]) < 127:
            out.append(text[j + 1])
            j += 2
        else:
            out.append(text[j])
            j += 1
    return "".join(out)


def parse_markdown_legacy(text: str) -> tuple[str, list[dict]]:
    """Legacy "Markdown": *bold* _italic_ `code` ```pre``` [text](url); no nesting."""
    out: list[str] = []
    pos16 = 0
    entities: list[dict] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in "*_`[":
            if c == "`" and text.startswith("```", i):
                close = text.find("```", i + 3)
                kind, body_start, skip = "pre", i + 3, 3
            elif c == "[":
                close = text.find("]", i + 1)
                kind, body_start, skip = "link", i + 1, 1
            else:
                close = text.find(c, i + 1)
                kind = {"*": "bold", "_": "italic", "`": "code"}[c]
                body_start, skip = i + 1, 1
            if close < 0:
                raise EntityParseError(
                    f"Can't find end of the entity starting at byte offset {_byte_offset(text, i)}")
            body = text[body_start:close]
            start = pos16
            out.append(body)
            pos16 += utf16_len(body)
            i = close + skip
            if kind == "link":
                if text.startswith("(", i):
                    endp = text.find(")", i)
                    if endp >= 0:
                        e = _link_entity(text[i + 1:endp], start, pos16 - start)
                        if e and pos16 > start:
                            entities.append(e)
                        i = endp + 1
                continue
            if pos16 > start:
                entities.append({"type": kind, "offset": start, "length": pos16 - start})
            continue
        out.append(c)
        pos16 += utf16_len(c)
        i += 1
    return "".join(out), entities


def parse_formatted_text(
    text: str,
    parse_mode: str | None = None,
    entities: list[dict] | None = None,
    *,
    strict_html: bool = True,
    max_length: int = MAX_MESSAGE_LENGTH,
    allow_empty: bool = False,
    too_long: str = "message is too long",
) -> tuple[str, list[dict]]:
    """What Telegram does with text + parse_mode/entities: returns (visible text, entities).

    Raises BotAPIError(400, "Bad Request: ...") exactly like the server answers; usable
    directly in unit tests of a renderer.
    """
    if text is None:
        text = ""
    if not isinstance(text, str):
        text = str(text)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise _bad("strings must be encoded in UTF-8") from None
    mode = (parse_mode or "").strip().lower()
    try:
        if mode == "html":
            visible, ents = parse_html(text, strict=strict_html)
        elif mode == "markdownv2":
            visible, ents = parse_markdown_v2(text)
        elif mode == "markdown":
            visible, ents = parse_markdown_legacy(text)
        elif mode in ("", "none"):
            visible = text
            ents = []
            total = utf16_len(text)
            for e in entities or []:
                if not isinstance(e, dict) or not isinstance(e.get("type"), str):
                    raise _bad("can't parse entities: entity must be an Object with a type")
                try:
                    off, ln = int(e.get("offset")), int(e.get("length"))
                except (TypeError, ValueError):
                    raise _bad("can't parse MessageEntity: Field \"offset\" must be of type Integer") from None
                if off < 0 or ln <= 0 or off >= total:
                    continue
                ents.append(dict(e, offset=off, length=min(ln, total - off)))
        else:
            raise _bad("unsupported parse_mode")
    except EntityParseError as exc:
        raise _bad(f"can't parse entities: {exc}") from None
    visible, ents = _trim(visible, ents)
    ents = _fix_nesting(ents)
    if not visible and not allow_empty:
        raise _bad("message text is empty")
    if utf16_len(visible) > max_length:
        raise _bad(too_long)
    return visible, ents


# --------------------------------------------------------------------- automatic entities

_AUTO_PATTERNS = [
    ("bot_command", re.compile(r"(?<![\w/@])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![\w/])")),
    ("mention", re.compile(r"(?<![\w@])@[A-Za-z][A-Za-z0-9_]{3,31}(?![\w@])")),
    ("hashtag", re.compile(r"(?<![\w#])#[^\W\d_][\w]*")),
    ("url", re.compile(r"https?://[^\s<>\"]+[^\s<>\".,;:!?)\]]")),
]


def auto_entities(text: str) -> list[dict]:
    """bot_command / mention / hashtag / url entities as Telegram clients' servers add them."""
    found: list[tuple[int, int, str]] = []
    for kind, rx in _AUTO_PATTERNS:
        for m in rx.finditer(text):
            if any(s < m.end() and m.start() < e for s, e, _ in found):
                continue
            found.append((m.start(), m.end(), kind))
    found.sort()
    return [{"type": k, "offset": utf16_len(text[:s]), "length": utf16_len(text[s:e])} for s, e, k in found]


# ------------------------------------------------------------------------------ calls


@dataclass
class Call:
    """One request the bot made: method (canonical case), normalised params, outcome."""

    method: str
    params: dict
    ok: bool
    result: Any = None
    error_code: int | None = None
    description: str | None = None
    time: float = field(default_factory=time.monotonic)
    index: int = 0

    @property
    def chat_id(self) -> Any:
        cid = self.params.get("chat_id")
        if cid is None and isinstance(self.result, dict) and isinstance(self.result.get("chat"), dict):
            return self.result["chat"]["id"]
        return cid

    @property
    def text(self) -> str | None:
        """Visible text of the resulting message (after entity parsing), else raw text param."""
        if isinstance(self.result, dict) and "text" in self.result:
            return self.result["text"]
        return self.params.get("text")

    def __repr__(self) -> str:
        outcome = "ok" if self.ok else f"{self.error_code} {self.description}"
        p = {k: (v if len(repr(v)) < 120 else repr(v)[:117] + "...") for k, v in self.params.items()}
        return f"<Call #{self.index} {self.method} {p} -> {outcome}>"


# The params we decode from their form-encoded JSON string (PTB sends nested objects so).
_JSON_PARAMS = {
    "reply_markup", "entities", "caption_entities", "reply_parameters", "link_preview_options", "results",
    "commands", "scope", "allowed_updates", "button", "media", "options", "permissions",
}
_INT_PARAMS = {
    "chat_id", "message_id", "user_id", "offset", "limit", "timeout", "message_thread_id",
    "reply_to_message_id", "cache_time", "max_connections", "from_chat_id",
}
_BOOL_PARAMS = {
    "disable_notification", "protect_content", "allow_sending_without_reply", "show_alert", "is_personal",
    "drop_pending_updates", "disable_web_page_preview", "disable_content_type_detection", "revoke_messages",
    "allow_paid_broadcast",
}

_METHODS = [
    "getMe", "logOut", "close", "getUpdates", "setWebhook", "deleteWebhook", "getWebhookInfo", "sendMessage",
    "editMessageText", "editMessageReplyMarkup", "deleteMessage", "deleteMessages", "answerCallbackQuery",
    "answerInlineQuery", "sendChatAction", "setMyCommands", "getMyCommands", "deleteMyCommands", "getFile",
    "sendDocument", "getChat", "getChatMember", "getChatAdministrators", "getChatMemberCount",
    "setMyDescription", "getMyDescription", "setMyShortDescription", "getMyShortDescription", "setMyName",
    "getMyName", "editMessageCaption",
]
_METHOD_CANON = {m.lower(): m for m in _METHODS}

_CHAT_ACTIONS = {
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note",
}
_BUTTON_KINDS = (
    "url", "callback_data", "web_app", "login_url", "switch_inline_query", "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat", "copy_text", "callback_game", "pay",
)
_SCOPES = {
    "default", "all_private_chats", "all_group_chats", "all_chat_administrators", "chat",
    "chat_administrators", "chat_member",
}
_UPDATE_TYPES_DEFAULT_EXCLUDED = {"chat_member", "message_reaction", "message_reaction_count"}
_INLINE_RESULT_TYPES = {
    "article", "photo", "gif", "mpeg4_gif", "video", "audio", "voice", "document", "location", "venue",
    "contact", "game", "sticker",
}


def _canonical_scope(scope: Any) -> tuple:
    if scope is None or scope == {}:
        return ("default",)
    if not isinstance(scope, dict) or scope.get("type") not in _SCOPES:
        raise _bad("can't parse BotCommandScope JSON object")
    t = scope["type"]
    if t in ("chat", "chat_administrators", "chat_member"):
        try:
            cid = int(scope.get("chat_id"))
        except (TypeError, ValueError):
            raise _bad("chat not found") from None
        if t == "chat_member":
            try:
                return (t, cid, int(scope.get("user_id")))
            except (TypeError, ValueError):
                raise _bad("user not found") from None
        return (t, cid)
    return (t,)


# ------------------------------------------------------------------------------ server


class BotAPIServer:
    """A Telegram Bot API server on 127.0.0.1 for tests. See the module docstring."""

    def __init__(
        self,
        token: str | None = None,
        *,
        bot_id: int = 7000000001,
        bot_username: str = "SanadTestBot",
        bot_first_name: str = "Sanad",
        host: str = "127.0.0.1",
        port: int = 0,
        strict_html: bool = True,
        privacy_mode: bool = False,
        supports_inline_queries: bool = True,
        callback_query_timeout: float = 60.0,
        inline_query_timeout: float = 60.0,
        max_long_poll: float = 60.0,
        conflict_policy: str = "telegram",
        webhook_require_https: bool = False,
    ) -> None:
        self.token = token or f"{bot_id}:AA{secrets.token_urlsafe(24)[:33]}"
        self.bot_id = bot_id
        self.bot_username = bot_username
        self.bot_user = {"id": bot_id, "is_bot": True, "first_name": bot_first_name, "username": bot_username}
        self.host = host
        self._port = port
        self.strict_html = strict_html
        self.privacy_mode = privacy_mode
        self.supports_inline_queries = supports_inline_queries
        self.callback_query_timeout = callback_query_timeout
        self.inline_query_timeout = inline_query_timeout
        self.max_long_poll = max_long_poll
        if conflict_policy not in ("telegram", "reject_new"):
            raise ValueError("conflict_policy must be 'telegram' or 'reject_new'")
        self.conflict_policy = conflict_policy
        self.webhook_require_https = webhook_require_https

        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._sockets: set[socket.socket] = set()

        self._update_ids = itertools.count(1)
        self._updates: list[dict] = []
        self._allowed_updates: list[str] = []
        self._poll_generation = 0
        self._polls_waiting = 0
        self.get_updates_count = 0

        self.users: dict[int, dict] = {}
        self.chats: dict[int, dict] = {}
        self._members: dict[int, set[int]] = {}
        self._admins: dict[int, dict[int, str]] = {}
        self._msg_counter: dict[int, itertools.count] = {}
        self._messages: dict[tuple[int, int], dict] = {}
        self._deleted: set[tuple[int, int]] = set()
        self._inline_messages: dict[str, dict] = {}
        self._callbacks: dict[str, dict] = {}
        self._inline_queries: dict[str, dict] = {}
        self._files: dict[str, dict] = {}
        self._files_by_path: dict[str, dict] = {}
        self._file_counter = itertools.count(1)
        self._query_counter = itertools.count(1)
        self._commands: dict[tuple, list[dict]] = {}
        self.descriptions: dict[str, dict[str, str]] = {"description": {}, "short_description": {}, "name": {}}
        self.webhook: dict[str, Any] = {"url": ""}
        self.webhook_deliveries: list[dict] = []
        self._webhook_thread: threading.Thread | None = None

        self.calls: list[Call] = []  # every call incl. getUpdates
        self.sent: list[Call] = []  # every call except getUpdates
        self.rejected: list[Call] = []  # calls answered 400
        self.errors: list[Call] = []  # every non-ok answer (400, 401, 404, 409, 429, 500)
        self.server_errors: list[str] = []  # tracebacks of bugs in this server
        self._flood: dict[str, Any] = {"n": 0, "retry_after": 1, "methods": {"sendmessage"}}

    # ------------------------------------------------------------------ lifecycle

    @property
    def port(self) -> int:
        if not self._httpd:
            raise RuntimeError("server not started")
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        """Root URL (TELEGRAM_API_URL): the bot calls f"{url}/bot<token>/<method>"."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    def start(self) -> "BotAPIServer":
        if self._httpd:
            return self
        server = self

        class Handler(_Handler):
            api = server

        class HTTPD(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True
            request_queue_size = 64

        self._stopping = False
        self._httpd = HTTPD((self.host, self._port), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="botapi-server", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        httpd = self._httpd
        if not httpd:
            return
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        httpd.shutdown()
        with self._lock:
            socks = list(self._sockets)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        httpd.server_close()
        if self._thread:
            self._thread.join(timeout)
        if self._webhook_thread:
            self._webhook_thread.join(timeout)
        self._httpd = None

    def __enter__(self) -> "BotAPIServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ---------------------------------------------------------- users and chats

    def user(self, user_id: int, first_name: str = "مستخدم", *, username: str | None = None,
             last_name: str | None = None, language_code: str | None = "ar", is_bot: bool = False) -> dict:
        """Register (or update) a user and return its User object."""
        u: dict[str, Any] = {"id": int(user_id), "is_bot": is_bot, "first_name": first_name}
        if last_name:
            u["last_name"] = last_name
        if username:
            u["username"] = username
        if language_code:
            u["language_code"] = language_code
        with self._lock:
            self.users[u["id"]] = u
        return dict(u)

    def private(self, user: dict | int) -> dict:
        """The private chat of the bot with `user` (a User dict or a registered id)."""
        u = self._user(user)
        chat = {"id": u["id"], "type": "private", "first_name": u["first_name"]}
        if u.get("last_name"):
            chat["last_name"] = u["last_name"]
        if u.get("username"):
            chat["username"] = u["username"]
        with self._lock:
            self.chats[chat["id"]] = chat
            self._members.setdefault(chat["id"], set()).update({u["id"], self.bot_id})
        return dict(chat)

    def group(self, chat_id: int = -4000000001, title: str = "مجموعة") -> dict:
        """A basic group (negative id)."""
        return self._add_chat({"id": int(chat_id), "type": "group", "title": title})

    def supergroup(self, chat_id: int = -1001000000001, title: str = "مجموعة كبرى", *,
                   username: str | None = None, is_forum: bool = False) -> dict:
        """A supergroup (id -100...)."""
        chat: dict[str, Any] = {"id": int(chat_id), "type": "supergroup", "title": title}
        if username:
            chat["username"] = username
        if is_forum:
            chat["is_forum"] = True
        return self._add_chat(chat)

    def _add_chat(self, chat: dict) -> dict:
        with self._lock:
            self.chats[chat["id"]] = chat
            self._members.setdefault(chat["id"], set()).add(self.bot_id)
        return dict(chat)

    def set_admins(self, chat: dict | int, admin_ids: Iterable[int], *, owner_id: int | None = None) -> None:
        """Who administers a group (getChatMember / getChatAdministrators answer from this)."""
        cid = self._chat(chat)["id"]
        with self._lock:
            table = {int(a): "administrator" for a in admin_ids}
            if owner_id is not None:
                table[int(owner_id)] = "creator"
            self._admins[cid] = table
            self._members.setdefault(cid, set()).update(table)

    def _user(self, user: dict | int) -> dict:
        if isinstance(user, dict):
            with self._lock:
                known = self.users.get(int(user["id"]))
            if not known:
                return self.user(user["id"], user.get("first_name", "مستخدم"), username=user.get("username"),
                                 last_name=user.get("last_name"), language_code=user.get("language_code"),
                                 is_bot=user.get("is_bot", False))
            return dict(known)
        with self._lock:
            if int(user) not in self.users:
                return self.user(int(user))
            return dict(self.users[int(user)])

    def _chat(self, chat: dict | int) -> dict:
        with self._lock:
            if isinstance(chat, dict):
                if chat["id"] not in self.chats:
                    self.chats[chat["id"]] = dict(chat)
                    self._members.setdefault(chat["id"], set()).add(self.bot_id)
                return dict(self.chats[chat["id"]])
            if int(chat) in self.chats:
                return dict(self.chats[int(chat)])
        if int(chat) > 0:
            return self.private(int(chat))
        raise KeyError(f"unknown chat {chat}: create it with group()/supergroup() first")

    # --------------------------------------------------------- inject updates

    def _new_message_id(self, chat_id: int) -> int:
        with self._lock:
            return next(self._msg_counter.setdefault(chat_id, itertools.count(1)))

    def _store(self, msg: dict) -> dict:
        with self._lock:
            self._messages[(msg["chat"]["id"], msg["message_id"])] = msg
        return msg

    def _resolve_message(self, message: dict | int, chat: dict | int | None = None) -> dict:
        with self._lock:
            if isinstance(message, dict):
                key = (message["chat"]["id"], message["message_id"])
            else:
                if chat is None:
                    raise ValueError("pass the chat with a bare message_id")
                key = (self._chat(chat)["id"], int(message))
            if key not in self._messages:
                raise KeyError(f"no message {key}")
            return self._messages[key]

    def _push_update(self, kind: str, payload: dict) -> dict:
        with self._cond:
            upd = {"update_id": next(self._update_ids), kind: payload}
            self._updates.append(upd)
            self._cond.notify_all()
        self._ensure_webhook_thread()
        return upd

    def _addressed_to_bot(self, msg: dict) -> bool:
        uname = "@" + self.bot_username.lower()
        text = msg.get("text", msg.get("caption", "")) or ""
        for e in msg.get("entities", []) + msg.get("caption_entities", []):
            frag = text.encode("utf-16-le", "surrogatepass")[e["offset"] * 2:(e["offset"] + e["length"]) * 2]
            frag = frag.decode("utf-16-le", "surrogatepass").lower()
            if e["type"] == "bot_command" and ("@" not in frag or frag.endswith(uname)):
                return True
            if e["type"] == "mention" and frag == uname:
                return True
        reply = msg.get("reply_to_message")
        return bool(reply and reply.get("from", {}).get("id") == self.bot_id)

    def send_text(self, chat: dict | int, user: dict | int, text: str, *, reply_to: dict | int | None = None,
                  entities: list[dict] | None = None, message_thread_id: int | None = None,
                  deliver: bool | None = None) -> dict:
        """A user sends `text` in `chat`; queues a `message` update; returns the Message dict.

        bot_command/mention/hashtag/url entities are added like Telegram does unless
        `entities` is given. In groups with privacy_mode=True, messages not addressed to
        the bot are stored but not delivered (Telegram's privacy mode); `deliver` overrides.
        """
        c = self._chat(chat)
        u = self._user(user)
        msg: dict[str, Any] = {"message_id": self._new_message_id(c["id"]), "from": u, "chat": c,
                               "date": int(time.time()), "text": text}
        ents = auto_entities(text) if entities is None else entities
        if ents:
            msg["entities"] = ents
        if message_thread_id is not None:
            msg["message_thread_id"] = message_thread_id
            msg["is_topic_message"] = True
        if reply_to is not None:
            msg["reply_to_message"] = self._reply_snapshot(self._resolve_message(reply_to, c))
        with self._lock:
            self._members.setdefault(c["id"], set()).add(u["id"])
        self._store(msg)
        if deliver is None:
            deliver = not (self.privacy_mode and c["type"] != "private" and not self._addressed_to_bot(msg))
        if deliver:
            self._push_update("message", msg)
        return json.loads(json.dumps(msg))

    def edited_message(self, message: dict | int, new_text: str, *, chat: dict | int | None = None,
                       entities: list[dict] | None = None) -> dict:
        """The user edits their message: queues an `edited_message` update."""
        with self._lock:
            msg = self._resolve_message(message, chat)
            msg["text"] = new_text
            ents = auto_entities(new_text) if entities is None else entities
            if ents:
                msg["entities"] = ents
            else:
                msg.pop("entities", None)
            msg["edit_date"] = int(time.time())
            snapshot = json.loads(json.dumps(msg))
        self._push_update("edited_message", snapshot)
        return snapshot

    def send_document(self, chat: dict | int, user: dict | int, filename: str, data: bytes,
                      mime_type: str = "text/plain", *, caption: str | None = None) -> dict:
        """A user sends a document: stores the file (getFile + download work) and queues the update."""
        c = self._chat(chat)
        u = self._user(user)
        f = self._store_file(bytes(data), filename, mime_type)
        msg: dict[str, Any] = {"message_id": self._new_message_id(c["id"]), "from": u, "chat": c,
                               "date": int(time.time()), "document": self._document_json(f)}
        if caption:
            msg["caption"] = caption
            ents = auto_entities(caption)
            if ents:
                msg["caption_entities"] = ents
        with self._lock:
            self._members.setdefault(c["id"], set()).add(u["id"])
        self._store(msg)
        self._push_update("message", msg)
        return json.loads(json.dumps(msg))

    def press_button(self, message: dict | int, callback_data: str, user: dict | int | None = None, *,
                     chat: dict | int | None = None, check: bool = True) -> str:
        """`user` presses the inline button carrying `callback_data` under `message`.

        Queues a `callback_query` update with the current state of the message; returns
        the callback query id. check=True requires such a button to exist (as Telegram
        clients only send existing buttons); check=False lets tests forge data.
        """
        with self._lock:
            msg = self._resolve_message(message, chat)
            if check:
                rows = (msg.get("reply_markup") or {}).get("inline_keyboard", [])
                if not any(b.get("callback_data") == callback_data for row in rows for b in row):
                    raise ValueError(f"message {msg['message_id']} has no button with callback_data {callback_data!r}")
            if user is None:
                user = msg["chat"]["id"] if msg["chat"]["type"] == "private" else None
                if user is None:
                    raise ValueError("pass the user pressing the button")
            u = self._user(user)
            qid = f"{next(self._query_counter)}{secrets.randbelow(10**9):09d}"
            snapshot = json.loads(json.dumps(msg))
            self._callbacks[qid] = {"created": time.monotonic(), "answered": None, "user": u}
        cq = {"id": qid, "from": u, "message": snapshot, "chat_instance": str(abs(hash(msg["chat"]["id"]))),
              "data": callback_data}
        self._push_update("callback_query", cq)
        return qid

    def inline_query(self, user: dict | int, query: str, *, offset: str = "", chat_type: str | None = "private") -> str:
        """`user` types `@bot query`: queues an `inline_query` update; returns the query id."""
        u = self._user(user)
        with self._lock:
            qid = f"{next(self._query_counter)}{secrets.randbelow(10**9):09d}"
            self._inline_queries[qid] = {"created": time.monotonic(), "answer": None, "user": u, "query": query}
        iq: dict[str, Any] = {"id": qid, "from": u, "query": query, "offset": offset}
        if chat_type:
            iq["chat_type"] = chat_type
        self._push_update("inline_query", iq)
        return qid

    def inline_answer(self, query_id: str) -> dict | None:
        """The params of the answerInlineQuery that answered `query_id` (or None)."""
        with self._lock:
            return self._inline_queries.get(query_id, {}).get("answer")

    def choose_inline_result(self, query_id: str, result_id: str, chat: dict | int) -> dict:
        """The user picks an answered inline result: its message is posted in `chat` via the bot."""
        with self._lock:
            q = self._inline_queries[query_id]
            answer = q["answer"]
            if not answer:
                raise ValueError("the inline query was not answered")
            result = next(r for r in answer["results"] if r["id"] == result_id)
            imc = result["input_message_content"]
        text, ents = parse_formatted_text(imc.get("message_text", ""), imc.get("parse_mode"), imc.get("entities"),
                                          strict_html=self.strict_html)
        c = self._chat(chat)
        msg: dict[str, Any] = {"message_id": self._new_message_id(c["id"]), "from": q["user"], "chat": c,
                               "date": int(time.time()), "text": text, "via_bot": dict(self.bot_user)}
        if ents:
            msg["entities"] = ents
        if result.get("reply_markup"):
            msg["reply_markup"] = result["reply_markup"]
        self._store(msg)
        self._push_update("message", msg)
        return json.loads(json.dumps(msg))

    # ---------------------------------------------------------------- observe

    def mark(self) -> int:
        """Index to pass as `since=` to wait_for: only calls recorded after now count."""
        with self._lock:
            return len(self.sent)

    def _match(self, pred: Callable[[Call], bool] | None, method: str | None, chat_id: Any, since: int) -> Call | None:
        for c in self.sent[since:]:
            if method and c.method.lower() != method.lower():
                continue
            if chat_id is not None and str(c.chat_id) != str(chat_id):
                continue
            if pred is None or pred(c):
                return c
        return None

    def wait_for(self, predicate: Callable[[Call], bool] | None = None, timeout: float = 5.0, *,
                 method: str | None = None, chat_id: Any = None, since: int = 0) -> Call:
        """Block (this thread) until a recorded call (index >= since) matches; TimeoutError otherwise.

        Do NOT call from the event loop that runs the bot: use wait_for_async there.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = self._match(predicate, method, chat_id, since)
                if found:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(self._timeout_message(method, chat_id, since, timeout))
                self._cond.wait(min(remaining, 0.5))

    async def wait_for_async(self, predicate: Callable[[Call], bool] | None = None, timeout: float = 5.0, *,
                             method: str | None = None, chat_id: Any = None, since: int = 0) -> Call:
        """Like wait_for, without blocking the event loop (for async tests running the bot)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                found = self._match(predicate, method, chat_id, since)
            if found:
                return found
            if time.monotonic() >= deadline:
                with self._lock:
                    raise TimeoutError(self._timeout_message(method, chat_id, since, timeout))
            await asyncio.sleep(0.01)

    def _timeout_message(self, method: str | None, chat_id: Any, since: int, timeout: float) -> str:
        recent = "\n  ".join(repr(c) for c in self.sent[since:][-15:]) or "(none)"
        return (f"no matching call (method={method}, chat_id={chat_id}) within {timeout}s; "
                f"calls since #{since}:\n  {recent}")

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.sent if c.method.lower() == method.lower()]

    def messages_in(self, chat_id: int | dict, *, from_bot: bool | None = True) -> list[dict]:
        """Current (edited, not deleted) messages of a chat, in order; from_bot=None for all."""
        cid = chat_id["id"] if isinstance(chat_id, dict) else int(chat_id)
        with self._lock:
            msgs = [m for (c, _), m in sorted(self._messages.items(), key=lambda kv: kv[0][1]) if c == cid]
            if from_bot is not None:
                msgs = [m for m in msgs if (m.get("from", {}).get("id") == self.bot_id) == from_bot]
            return json.loads(json.dumps(msgs))

    def message(self, chat_id: int | dict, message_id: int) -> dict | None:
        cid = chat_id["id"] if isinstance(chat_id, dict) else int(chat_id)
        with self._lock:
            m = self._messages.get((cid, int(message_id)))
            return json.loads(json.dumps(m)) if m else None

    def commands(self, scope: dict | None = None, language_code: str = "") -> list[dict]:
        """Commands set with setMyCommands for exactly this scope + language ([] if none)."""
        with self._lock:
            return json.loads(json.dumps(self._commands.get((_canonical_scope(scope), language_code or ""), [])))

    @property
    def command_sets(self) -> dict[tuple, list[dict]]:
        """All command lists: {(scope tuple, language_code): [BotCommand dicts]}."""
        with self._lock:
            return {k: [dict(c) for c in v] for k, v in self._commands.items()}

    @property
    def pending_updates(self) -> list[dict]:
        with self._lock:
            return [dict(u) for u in self._updates]

    def flood(self, n: int, retry_after: int = 1, methods: Iterable[str] = ("sendMessage",)) -> None:
        """The next `n` calls of `methods` answer 429 Too Many Requests (retry_after)."""
        with self._lock:
            self._flood = {"n": int(n), "retry_after": int(retry_after), "methods": {m.lower() for m in methods}}

    def file_bytes(self, file_id: str) -> bytes:
        with self._lock:
            return self._files[file_id]["data"]

    # -------------------------------------------------------------- files

    def _store_file(self, data: bytes, filename: str | None, mime_type: str | None, kind: str = "documents") -> dict:
        with self._lock:
            n = next(self._file_counter)
            file_id = f"BQACAgIAAxkBAAI{n:06d}{secrets.token_urlsafe(16)}"
            ext = ""
            if filename and "." in filename:
                ext = "." + re.sub(r"[^A-Za-z0-9]", "", filename.rsplit(".", 1)[1])[:10]
            f = {"file_id": file_id, "file_unique_id": f"AgAD{n:06d}", "file_size": len(data), "data": data,
                 "file_name": filename, "mime_type": mime_type, "file_path": f"{kind}/file_{n}{ext}"}
            self._files[file_id] = f
            self._files_by_path[f["file_path"]] = f
        return f

    @staticmethod
    def _document_json(f: dict) -> dict:
        d = {"file_id": f["file_id"], "file_unique_id": f["file_unique_id"], "file_size": f["file_size"]}
        if f.get("file_name"):
            d["file_name"] = f["file_name"]
        if f.get("mime_type"):
            d["mime_type"] = f["mime_type"]
        return d

    # ------------------------------------------------------------ webhook delivery

    def _ensure_webhook_thread(self) -> None:
        with self._lock:
            if not self.webhook.get("url") or (self._webhook_thread and self._webhook_thread.is_alive()):
                return
            self._webhook_thread = threading.Thread(target=self._webhook_loop, name="botapi-webhook", daemon=True)
            self._webhook_thread.start()

    def _webhook_loop(self) -> None:
        while True:
            with self._cond:
                while not self._stopping and self.webhook.get("url") and not self._deliverable():
                    self._cond.wait(0.5)
                if self._stopping or not self.webhook.get("url"):
                    return
                upd = self._deliverable()[0]
                url, secret = self.webhook["url"], self.webhook.get("secret_token")
            headers = {"Content-Type": "application/json"}
            if secret:
                headers["X-Telegram-Bot-Api-Secret-Token"] = secret
            req = urllib.request.Request(url, data=json.dumps(upd).encode(), headers=headers, method="POST")
            status, error = None, None
            try:
                with urllib.request.urlopen(req, timeout=10) as resp:
                    status = resp.status
            except urllib.error.HTTPError as exc:
                status, error = exc.code, f"Wrong response from the webhook: {exc.code} {exc.reason}"
            except Exception as exc:  # connection refused, timeout...
                error = f"Connection failed: {exc}"
            with self._cond:
                self.webhook_deliveries.append({"update": upd, "status": status, "error": error})
                if status is not None and 200 <= status < 300:
                    self._updates = [u for u in self._updates if u["update_id"] != upd["update_id"]]
                else:
                    self.webhook["last_error_date"] = int(time.time())
                    self.webhook["last_error_message"] = error
                self._cond.notify_all()
                if error:
                    self._cond.wait(0.2)

    def _deliverable(self) -> list[dict]:
        allowed = set(self._allowed_updates) if self._allowed_updates else None
        out = []
        for u in self._updates:
            kind = next(k for k in u if k != "update_id")
            if (allowed is not None and kind not in allowed) or (allowed is None and kind in _UPDATE_TYPES_DEFAULT_EXCLUDED):
                continue
            out.append(u)
        return out

    # ================================================================= dispatch

    def handle(self, http_method: str, token: str, method: str, params: dict) -> tuple[int, dict]:
        """Answer one API call; returns (HTTP status, JSON body). Records the call."""
        canon = _METHOD_CANON.get(method.lower(), method)
        norm = _normalise(params)
        result: Any = None
        try:
            if token != self.token:
                if re.fullmatch(r"\d{1,20}:[A-Za-z0-9_-]{20,}", token or ""):
                    raise BotAPIError(401, "Unauthorized")
                raise BotAPIError(404, "Not Found")
            handler = getattr(self, "_m_" + method.lower(), None) if method.lower() in _METHOD_CANON else None
            if handler is None:
                raise BotAPIError(404, "Not Found")
            with self._lock:
                fl = self._flood
                if fl["n"] > 0 and method.lower() in fl["methods"]:
                    fl["n"] -= 1
                    raise BotAPIError(429, f"Too Many Requests: retry after {fl['retry_after']}",
                                      {"retry_after": fl["retry_after"]})
            result = handler(norm)
            body = {"ok": True, "result": result}
            status = 200
            call = Call(canon, norm, True, result=result)
        except BotAPIError as exc:
            body, status = exc.to_json(), exc.error_code
            call = Call(canon, norm, False, error_code=exc.error_code, description=exc.description)
        except Exception as exc:  # a bug here, not in the bot: make it loud
            import traceback

            tb = traceback.format_exc()
            self.server_errors.append(tb)
            body = {"ok": False, "error_code": 500, "description": f"Internal Server Error: {exc!r}"}
            status = 500
            call = Call(canon, norm, False, error_code=500, description=body["description"])
        with self._cond:
            call.index = len(self.sent) if canon != "getUpdates" else -1
            self.calls.append(call)
            if canon != "getUpdates":
                self.sent.append(call)
            else:
                self.get_updates_count += 1
            if not call.ok:
                self.errors.append(call)
                if call.error_code == 400:
                    self.rejected.append(call)
            self._cond.notify_all()
        return status, json.loads(json.dumps(body))

    # ----------------------------------------------------------- param helpers

    def _chat_param(self, p: dict, name: str = "chat_id") -> dict:
        v = p.get(name)
        if v is None or v == "":
            raise _bad("chat_id is empty")
        with self._lock:
            if isinstance(v, str) and v.startswith("@"):
                for c in self.chats.values():
                    if c.get("username", "").lower() == v[1:].lower():
                        return c
                raise _bad("chat not found")
            try:
                cid = int(v)
            except (TypeError, ValueError):
                raise _bad("chat not found") from None
            if cid not in self.chats:
                raise _bad("chat not found")
            return self.chats[cid]

    @staticmethod
    def _int(p: dict, name: str, default: Any = None, required: bool = False) -> Any:
        v = p.get(name)
        if v is None or v == "":
            if required:
                raise _bad(f"{name} is empty" if name != "message_id" else "message identifier is not specified")
            return default
        if isinstance(v, bool):
            raise _bad(f'field "{name}" must be of type Integer')
        try:
            return int(v)
        except (TypeError, ValueError):
            try:
                return int(float(v))
            except (TypeError, ValueError):
                raise _bad(f'field "{name}" must be of type Integer') from None

    @staticmethod
    def _bool(p: dict, name: str) -> bool:
        v = p.get(name)
        if isinstance(v, str):
            return v.strip().lower() in ("true", "1")
        return bool(v)

    @staticmethod
    def _json(p: dict, name: str, what: str) -> Any:
        v = p.get(name)
        if isinstance(v, str):
            if v == "":
                return None
            try:
                v = json.loads(v)
            except ValueError:
                raise _bad(f"can't parse {what} JSON object") from None
        return v

    def _text(self, text: Any, parse_mode: Any, entities: Any, **kw: Any) -> tuple[str, list[dict]]:
        if entities is not None and not isinstance(entities, list):
            raise _bad("can't parse entities JSON object")
        return parse_formatted_text("" if text is None else str(text), parse_mode, entities,
                                    strict_html=self.strict_html, **kw)

    @staticmethod
    def _with_auto_entities(text: str, ents: list[dict]) -> list[dict]:
        """Telegram also marks urls, @mentions, #hashtags and /commands in bot messages
        (not inside code, pre or links)."""
        blocked = [(e["offset"], e["offset"] + e["length"]) for e in ents
                   if e["type"] in ("code", "pre", "text_link", "text_mention", "custom_emoji", "date_time")]
        extra = [a for a in auto_entities(text)
                 if not any(s < a["offset"] + a["length"] and a["offset"] < t for s, t in blocked)]
        return _sort_entities(ents + extra) if extra else ents

    def _reply_markup(self, p: dict, *, inline_only: bool = False) -> dict | None:
        rm = self._json(p, "reply_markup", "reply keyboard markup")
        return self._validate_markup(rm, inline_only=inline_only)

    def _validate_markup(self, rm: Any, *, inline_only: bool = False) -> dict | None:
        if rm is None:
            return None
        if not isinstance(rm, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in rm:
            if inline_only:
                raise _bad("can't parse inline keyboard markup JSON object")
            if any(k in rm for k in ("keyboard", "remove_keyboard", "force_reply")):
                return None  # accepted; Telegram does not echo reply keyboards in the Message
            raise _bad("can't parse reply keyboard markup JSON object")
        kb = rm["inline_keyboard"]
        if not isinstance(kb, list) or not all(isinstance(r, list) for r in kb):
            raise _bad("can't parse inline keyboard markup JSON object: Field \"inline_keyboard\" must be of type Array")
        total = 0
        clean_rows = []
        for row in kb:
            clean_row = []
            for b in row:
                total += 1
                if not isinstance(b, dict):
                    raise _bad("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
                if not isinstance(b.get("text"), str):
                    raise _bad("can't parse inline keyboard button: Field \"text\" must be of type String")
                kinds = [k for k in _BUTTON_KINDS if k in b]
                if not kinds:
                    raise _bad("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
                if "callback_data" in b:
                    data = b["callback_data"]
                    if not isinstance(data, str) or not (1 <= len(data.encode("utf-8", "surrogatepass")) <= MAX_CALLBACK_DATA_BYTES):
                        raise _bad("BUTTON_DATA_INVALID")
                if "url" in b:
                    u = b["url"]
                    if not isinstance(u, str) or _link_entity(u, 0, 1) is None:
                        raise _bad(f"inline keyboard button URL '{u}' is invalid: Wrong HTTP URL")
                if not b["text"].strip():
                    raise _bad("BUTTON_TEXT_INVALID")
                clean_row.append({k: v for k, v in b.items() if k in ("text",) + _BUTTON_KINDS or k in ("style", "icon_custom_emoji_id")})
            clean_rows.append(clean_row)
        if total > 100:
            raise _bad("REPLY_MARKUP_TOO_LONG")
        return {"inline_keyboard": clean_rows}

    def _reply_snapshot(self, msg: dict) -> dict:
        snap = json.loads(json.dumps(msg))
        snap.pop("reply_to_message", None)
        return snap

    def _bot_message(self, chat: dict, p: dict, **content: Any) -> dict:
        msg: dict[str, Any] = {"message_id": 0, "from": dict(self.bot_user), "chat": dict(chat),
                               "date": int(time.time())}
        thread = self._int(p, "message_thread_id")
        if thread is not None and chat.get("is_forum"):
            msg["message_thread_id"] = thread
            msg["is_topic_message"] = True
        # reply_parameters (Bot API 7.0+) or the legacy reply_to_message_id
        rp = self._json(p, "reply_parameters", "reply parameters")
        if rp is None and p.get("reply_to_message_id") not in (None, ""):
            rp = {"message_id": self._int(p, "reply_to_message_id"),
                  "allow_sending_without_reply": self._bool(p, "allow_sending_without_reply")}
        if rp is not None:
            if not isinstance(rp, dict) or "message_id" not in rp:
                raise _bad("can't parse reply parameters JSON object")
            rchat = chat
            if rp.get("chat_id") not in (None, ""):
                rchat = self._chat_param(rp)
            with self._lock:
                target = self._messages.get((rchat["id"], self._int(rp, "message_id")))
            if target is None:
                if not self._bool(rp, "allow_sending_without_reply"):
                    raise _bad("message to be replied not found")
            else:
                quote = rp.get("quote")
                if quote is not None and quote not in (target.get("text") or target.get("caption") or ""):
                    raise _bad("quote not found")
                if rchat["id"] == chat["id"]:
                    msg["reply_to_message"] = self._reply_snapshot(target)
                    if target.get("message_thread_id") and chat.get("is_forum"):
                        msg.setdefault("message_thread_id", target["message_thread_id"])
                else:
                    msg["external_reply"] = {"origin": {"type": "user", "sender_user": target.get("from"),
                                                        "date": target["date"]}, "message_id": target["message_id"]}
        msg.update(content)
        return msg

    def _commit_bot_message(self, msg: dict) -> dict:
        with self._lock:
            msg["message_id"] = next(self._msg_counter.setdefault(msg["chat"]["id"], itertools.count(1)))
            self._messages[(msg["chat"]["id"], msg["message_id"])] = msg
            return json.loads(json.dumps(msg))

    def _own_message(self, p: dict, *, action: str = "edit") -> tuple[dict | None, dict]:
        """Message addressed by chat_id+message_id or inline_message_id -> (chat or None, message)."""
        if p.get("inline_message_id") not in (None, ""):
            with self._lock:
                m = self._inline_messages.get(str(p["inline_message_id"]))
            if m is None:
                raise _bad("MESSAGE_ID_INVALID")
            return None, m
        chat = self._chat_param(p)
        mid = self._int(p, "message_id", required=True)
        with self._lock:
            m = self._messages.get((chat["id"], mid))
        if m is None:
            raise _bad(f"message to {action} not found")
        if m.get("from", {}).get("id") != self.bot_id:
            raise _bad(f"message can't be {action}ed" if action == "edit" else "message can't be deleted")
        return chat, m

    # ================================================================= methods

    def _m_getme(self, p: dict) -> dict:
        return dict(self.bot_user, can_join_groups=True, can_read_all_group_messages=not self.privacy_mode,
                    supports_inline_queries=self.supports_inline_queries, can_connect_to_business=False,
                    has_main_web_app=False)

    def _m_logout(self, p: dict) -> bool:
        return True

    def _m_close(self, p: dict) -> bool:
        return True

    def _m_getupdates(self, p: dict) -> list[dict]:
        offset = self._int(p, "offset", 0)
        limit = self._int(p, "limit", 100)
        limit = 100 if limit <= 0 or limit > 100 else limit
        timeout = max(0.0, min(float(p.get("timeout") or 0), self.max_long_poll))
        allowed = self._json(p, "allowed_updates", "allowed updates")
        deadline = time.monotonic() + timeout
        with self._cond:
            if self.webhook.get("url"):
                raise BotAPIError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                       "use deleteWebhook to delete the webhook first")
            if self._polls_waiting and self.conflict_policy == "reject_new":
                raise BotAPIError(409, "Conflict: terminated by other getUpdates request; make sure that only "
                                       "one bot instance is running")
            if isinstance(allowed, list):
                self._allowed_updates = [str(a) for a in allowed]
            if offset > 0:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            elif offset < 0:
                self._updates = self._updates[offset:]
            self._poll_generation += 1
            me = self._poll_generation
            self._cond.notify_all()  # wake (and terminate) a pending getUpdates
            self._polls_waiting += 1
            try:
                while True:
                    if self._poll_generation != me:
                        raise BotAPIError(409, "Conflict: terminated by other getUpdates request; make sure that "
                                               "only one bot instance is running")
                    # drop updates the current allowed_updates filter excludes (Telegram never queues them)
                    deliverable = self._deliverable()
                    if len(deliverable) != len(self._updates):
                        keep = {u["update_id"] for u in deliverable}
                        self._updates = [u for u in self._updates if u["update_id"] in keep]
                    if deliverable or self._stopping:
                        return json.loads(json.dumps(deliverable[:limit]))
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or _client_gone():  # a stopped bot's poll ends here, not at its timeout
                        return []
                    self._cond.wait(min(remaining, 0.25))
            finally:
                self._polls_waiting -= 1

    def _m_setwebhook(self, p: dict) -> bool:
        url = str(p.get("url") or "")
        if url:
            parts = urllib.parse.urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise _bad("bad webhook: Failed to resolve host: Name or service not known")
            if self.webhook_require_https and parts.scheme != "https":
                raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = p.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise _bad("bad webhook: Secret token contains unallowed characters")
        allowed = self._json(p, "allowed_updates", "allowed updates")
        with self._cond:
            if self._bool(p, "drop_pending_updates"):
                self._updates = []
            if isinstance(allowed, list):
                self._allowed_updates = [str(a) for a in allowed]
            self.webhook = {"url": url, "secret_token": secret, "max_connections": self._int(p, "max_connections", 40),
                            "ip_address": p.get("ip_address")}
            self._cond.notify_all()
        self._ensure_webhook_thread()
        return True

    def _m_deletewebhook(self, p: dict) -> bool:
        with self._cond:
            if self._bool(p, "drop_pending_updates"):
                self._updates = []
            self.webhook = {"url": ""}
            self._cond.notify_all()
        return True

    def _m_getwebhookinfo(self, p: dict) -> dict:
        with self._lock:
            info: dict[str, Any] = {"url": self.webhook.get("url", ""), "has_custom_certificate": False,
                                    "pending_update_count": len(self._updates)}
            if self.webhook.get("url"):
                info["max_connections"] = self.webhook.get("max_connections", 40)
                if self._allowed_updates:
                    info["allowed_updates"] = list(self._allowed_updates)
                if self.webhook.get("last_error_date"):
                    info["last_error_date"] = self.webhook["last_error_date"]
                    info["last_error_message"] = self.webhook["last_error_message"]
            return info

    def _m_sendmessage(self, p: dict) -> dict:
        chat = self._chat_param(p)
        text, ents = self._text(p.get("text"), p.get("parse_mode"), self._json(p, "entities", "entities"))
        ents = self._with_auto_entities(text, ents)
        markup = self._reply_markup(p)
        lpo = self._json(p, "link_preview_options", "link preview options")
        if lpo is not None and not isinstance(lpo, dict):
            raise _bad("can't parse link preview options JSON object")
        content: dict[str, Any] = {"text": text}
        if ents:
            content["entities"] = ents
        if lpo:
            content["link_preview_options"] = lpo
        if markup:
            content["reply_markup"] = markup
        msg = self._bot_message(chat, p, **content)
        return self._commit_bot_message(msg)

    def _m_sendchataction(self, p: dict) -> bool:
        self._chat_param(p)
        if p.get("action") not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        return True

    def _m_editmessagetext(self, p: dict) -> Any:
        chat, m = self._own_message(p)
        text, ents = self._text(p.get("text"), p.get("parse_mode"), self._json(p, "entities", "entities"))
        ents = self._with_auto_entities(text, ents)
        markup = self._reply_markup(p, inline_only=True)
        with self._lock:
            if "text" not in m:
                raise _bad("there is no text in the message to edit")
            return self._edit(chat, m, {"text": text, "entities": ents, "reply_markup": markup})

    def _m_editmessagecaption(self, p: dict) -> Any:
        chat, m = self._own_message(p)
        cap, ents = self._text(p.get("caption"), p.get("parse_mode"), self._json(p, "caption_entities", "entities"),
                               max_length=MAX_CAPTION_LENGTH, allow_empty=True, too_long="message caption is too long")
        markup = self._reply_markup(p, inline_only=True)
        with self._lock:
            if "text" in m:
                raise _bad("there is no caption in the message to edit")
            return self._edit(chat, m, {"caption": cap, "caption_entities": ents, "reply_markup": markup})

    def _m_editmessagereplymarkup(self, p: dict) -> Any:
        chat, m = self._own_message(p)
        markup = self._reply_markup(p, inline_only=True)
        with self._lock:
            return self._edit(chat, m, {"reply_markup": markup})

    def _edit(self, chat: dict | None, m: dict, fields: dict) -> Any:
        """Apply an edit (the caller holds the lock): each field set, or removed when empty, as
        Telegram stores messages. Telegram refuses an edit that would change nothing."""
        if all(m.get(k) == (v or None) for k, v in fields.items()):
            raise _bad("message is not modified: specified new message content and reply markup are exactly "
                       "the same as a current content and reply markup of the message")
        for k, v in fields.items():
            if v:
                m[k] = v
            else:
                m.pop(k, None)
        m["edit_date"] = int(time.time())
        return True if chat is None else json.loads(json.dumps(m))

    def _delete_one(self, chat: dict, mid: int) -> None:
        with self._lock:
            m = self._messages.get((chat["id"], mid))
            if m is None:
                raise _bad("message to delete not found")
            mine = m.get("from", {}).get("id") == self.bot_id
            bot_is_admin = self._admins.get(chat["id"], {}).get(self.bot_id) in ("administrator", "creator")
            if not mine and chat["type"] != "private" and not bot_is_admin:
                raise _bad("message can't be deleted")
            del self._messages[(chat["id"], mid)]
            self._deleted.add((chat["id"], mid))

    def _m_deletemessage(self, p: dict) -> bool:
        chat = self._chat_param(p)
        self._delete_one(chat, self._int(p, "message_id", required=True))
        return True

    def _m_deletemessages(self, p: dict) -> bool:
        chat = self._chat_param(p)
        ids = self._json(p, "message_ids", "message identifiers")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise _bad("message identifiers are not specified")
        for mid in ids:
            try:
                self._delete_one(chat, int(mid))
            except BotAPIError:
                pass
        return True

    def _m_answercallbackquery(self, p: dict) -> bool:
        qid = str(p.get("callback_query_id") or "")
        text = p.get("text")
        if text is not None and utf16_len(str(text)) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        url = p.get("url")
        with self._lock:
            q = self._callbacks.get(qid)
            if q is None or q["answered"] is not None or time.monotonic() - q["created"] > self.callback_query_timeout:
                raise _bad("query is too old and response timeout expired or query ID is invalid")
            if url:
                raise _bad("URL_INVALID")
            q["answered"] = {"text": text, "show_alert": self._bool(p, "show_alert")}
        return True

    def callback_answer(self, query_id: str) -> dict | None:
        """What answerCallbackQuery said for `query_id` (None if not answered yet)."""
        with self._lock:
            return (self._callbacks.get(query_id) or {}).get("answered")

    def _m_answerinlinequery(self, p: dict) -> bool:
        qid = str(p.get("inline_query_id") or "")
        results = self._json(p, "results", "inline query results")
        if not isinstance(results, list):
            raise _bad("can't parse inline query results JSON object")
        if len(results) > 50:
            raise _bad("RESULTS_TOO_MUCH")
        nxt = p.get("next_offset")
        if nxt is not None and len(str(nxt).encode()) > 64:
            raise _bad("NEXT_OFFSET_INVALID")
        ids = set()
        clean = []
        for r in results:
            if not isinstance(r, dict):
                raise _bad("can't parse inline query result JSON object")
            rid = r.get("id")
            if not isinstance(rid, str) or not 1 <= len(rid.encode("utf-8", "surrogatepass")) <= 64:
                raise _bad("RESULT_ID_INVALID")
            if rid in ids:
                raise _bad("RESULT_ID_DUPLICATE")
            ids.add(rid)
            if r.get("type") not in _INLINE_RESULT_TYPES:
                raise _bad("can't parse inline query result: Unsupported inline query result type "
                           f"\"{r.get('type')}\"")
            if r["type"] == "article" and not isinstance(r.get("title"), str):
                raise _bad("can't parse inline query result: Field \"title\" must be of type String")
            imc = r.get("input_message_content")
            if r["type"] == "article" and not isinstance(imc, dict):
                raise _bad("can't parse inline query result: Field \"input_message_content\" must be of type Object")
            if isinstance(imc, dict) and "message_text" in imc:
                self._text(imc.get("message_text"), imc.get("parse_mode"), imc.get("entities"),
                           too_long="MESSAGE_TOO_LONG")
            self._validate_markup(r.get("reply_markup"), inline_only=True)
            clean.append(r)
        with self._lock:
            q = self._inline_queries.get(qid)
            if q is None or q["answer"] is not None or time.monotonic() - q["created"] > self.inline_query_timeout:
                raise _bad("query is too old and response timeout expired or query ID is invalid")
            q["answer"] = {"results": clean, "cache_time": p.get("cache_time"), "is_personal": self._bool(p, "is_personal"),
                           "next_offset": nxt}
        return True

    def _command_key(self, p: dict) -> tuple:
        scope = self._json(p, "scope", "BotCommandScope")
        key = _canonical_scope(scope)
        if len(key) > 1:
            with self._lock:
                chat = self.chats.get(key[1])
            if chat is None:
                raise _bad("chat not found")
            if key[0] in ("chat_administrators", "chat_member") and chat["type"] == "private":
                raise _bad("can't change commands in private chats" if key[0] == "chat_member" else "chat not found")
        lang = str(p.get("language_code") or "")
        if lang and not re.fullmatch(r"[a-z]{2}", lang):
            raise _bad("invalid language code specified")
        return key, lang

    def _m_setmycommands(self, p: dict) -> bool:
        cmds = self._json(p, "commands", "bot commands")
        if not isinstance(cmds, list):
            raise _bad("can't parse commands JSON object")
        if len(cmds) > 100:
            raise _bad("too many commands specified")
        clean = []
        for c in cmds:
            if not isinstance(c, dict):
                raise _bad("can't parse BotCommand JSON object")
            name, desc = c.get("command"), c.get("description")
            if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise _bad("BOT_COMMAND_INVALID")
            if not isinstance(desc, str) or not 1 <= len(desc.strip()) <= 256:
                raise _bad("command description must be non-empty" if not (isinstance(desc, str) and desc.strip())
                           else "BOT_COMMAND_DESCRIPTION_INVALID")
            clean.append({"command": name, "description": desc})
        key = self._command_key(p)
        with self._lock:
            if clean:
                self._commands[key] = clean
            else:
                self._commands.pop(key, None)
        return True

    def _m_getmycommands(self, p: dict) -> list[dict]:
        key = self._command_key(p)
        with self._lock:
            return [dict(c) for c in self._commands.get(key, [])]

    def _m_deletemycommands(self, p: dict) -> bool:
        key = self._command_key(p)
        with self._lock:
            self._commands.pop(key, None)
        return True

    def _m_getfile(self, p: dict) -> dict:
        fid = str(p.get("file_id") or "")
        with self._lock:
            f = self._files.get(fid)
        if f is None:
            raise _bad("invalid file_id" if fid else "file_id not specified")
        if f["file_size"] > MAX_DOWNLOAD_SIZE:
            raise _bad("file is too big")
        return {"file_id": f["file_id"], "file_unique_id": f["file_unique_id"], "file_size": f["file_size"],
                "file_path": f["file_path"]}

    def _m_senddocument(self, p: dict) -> dict:
        chat = self._chat_param(p)
        doc = p.get("document")
        if isinstance(doc, _Upload):
            f = self._store_file(doc.data, doc.filename, doc.content_type)
        elif isinstance(doc, str) and doc.startswith("attach://"):
            up = p.get(doc[len("attach://"):])
            if not isinstance(up, _Upload):
                raise _bad("wrong file identifier/HTTP URL specified")
            f = self._store_file(up.data, up.filename, up.content_type)
        elif isinstance(doc, str) and doc in self._files:
            f = self._files[doc]
        else:
            raise _bad("wrong file identifier/HTTP URL specified" if doc else "there is no document in the request")
        cap, ents = self._text(p.get("caption"), p.get("parse_mode"), self._json(p, "caption_entities", "entities"),
                               max_length=MAX_CAPTION_LENGTH, allow_empty=True, too_long="message caption is too long")
        content: dict[str, Any] = {"document": self._document_json(f)}
        if cap:
            content["caption"] = cap
            if ents:
                content["caption_entities"] = ents
        markup = self._reply_markup(p)
        if markup:
            content["reply_markup"] = markup
        return self._commit_bot_message(self._bot_message(chat, p, **content))

    def _m_getchat(self, p: dict) -> dict:
        chat = self._chat_param(p)
        full = dict(chat, accent_color_id=0, max_reaction_count=11,
                    accepted_gift_types={"unlimited_gifts": False, "limited_gifts": False, "unique_gifts": False,
                                         "premium_subscription": False, "gifts_from_channels": False})
        return full

    def _member_json(self, chat: dict, uid: int) -> dict:
        with self._lock:
            status = self._admins.get(chat["id"], {}).get(uid)
            user = self.users.get(uid) or (dict(self.bot_user) if uid == self.bot_id else
                                           {"id": uid, "is_bot": False, "first_name": f"User {uid}"})
            if status is None:
                if chat["type"] == "private":
                    status = "member"
                else:
                    status = "member" if uid in self._members.get(chat["id"], set()) else "left"
        if status == "creator":
            return {"status": "creator", "user": user, "is_anonymous": False}
        if status == "administrator":
            rights = {k: True for k in (
                "can_manage_chat", "can_delete_messages", "can_manage_video_chats", "can_restrict_members",
                "can_change_info", "can_invite_users", "can_post_stories", "can_edit_stories",
                "can_delete_stories", "can_pin_messages")}
            return {"status": "administrator", "user": user, "can_be_edited": False, "is_anonymous": False,
                    "can_promote_members": False, **rights}
        return {"status": status, "user": user}

    def _m_getchatmember(self, p: dict) -> dict:
        chat = self._chat_param(p)
        uid = self._int(p, "user_id", required=True)
        return self._member_json(chat, uid)

    def _m_getchatadministrators(self, p: dict) -> list[dict]:
        chat = self._chat_param(p)
        if chat["type"] == "private":
            raise _bad("there are no administrators in the private chat")
        with self._lock:
            ids = list(self._admins.get(chat["id"], {}))
        return [self._member_json(chat, uid) for uid in ids]

    def _m_getchatmembercount(self, p: dict) -> int:
        chat = self._chat_param(p)
        with self._lock:
            return len(self._members.get(chat["id"], set()))

    def _set_desc(self, p: dict, field_name: str, limit: int) -> bool:
        value = str(p.get(field_name) or "")
        if len(value) > limit:
            raise _bad(f"{field_name.replace('_', ' ')} is too long")
        lang = str(p.get("language_code") or "")
        with self._lock:
            if value:
                self.descriptions[field_name][lang] = value
            else:
                self.descriptions[field_name].pop(lang, None)
        return True

    def _get_desc(self, p: dict, field_name: str) -> dict:
        lang = str(p.get("language_code") or "")
        with self._lock:
            d = self.descriptions[field_name]
            return {field_name: d.get(lang, d.get("", ""))}

    def _m_setmydescription(self, p: dict) -> bool:
        return self._set_desc(p, "description", 512)

    def _m_getmydescription(self, p: dict) -> dict:
        return self._get_desc(p, "description")

    def _m_setmyshortdescription(self, p: dict) -> bool:
        return self._set_desc(p, "short_description", 120)

    def _m_getmyshortdescription(self, p: dict) -> dict:
        return self._get_desc(p, "short_description")

    def _m_setmyname(self, p: dict) -> bool:
        return self._set_desc(p, "name", 64)

    def _m_getmyname(self, p: dict) -> dict:
        d = self._get_desc(p, "name")
        return {"name": d["name"] or self.bot_user["first_name"]}


# ------------------------------------------------------------------------ HTTP layer


@dataclass
class _Upload:
    filename: str | None
    content_type: str | None
    data: bytes

    def __repr__(self) -> str:
        return f"<upload {self.filename!r} {self.content_type} {len(self.data)} bytes>"


def _normalise(params: dict) -> dict:
    """Form values are strings: decode the JSON-valued and integer params (JSON bodies pass)."""
    out: dict[str, Any] = {}
    for k, v in params.items():
        if isinstance(v, str):
            if k in _JSON_PARAMS and v[:1] in ("{", "["):
                try:
                    v = json.loads(v)
                except ValueError:
                    pass
            elif k in _INT_PARAMS and re.fullmatch(r"-?\d+", v.strip()):
                v = int(v)
            elif k in _BOOL_PARAMS and v.lower() in ("true", "false"):
                v = v.lower() == "true"
        out[k] = v
    return out


def _parse_multipart(body: bytes, content_type: str) -> dict:
    m = re.search(r'boundary="?([^";]+)"?', content_type)
    if not m:
        raise _bad("can't parse multipart/form-data: no boundary")
    boundary = b"--" + m.group(1).encode()
    out: dict[str, Any] = {}
    for part in body.split(boundary)[1:]:
        if part.startswith(b"--"):
            break
        part = part[2:] if part.startswith(b"\r\n") else part
        head, _, data = part.partition(b"\r\n\r\n")
        if data.endswith(b"\r\n"):
            data = data[:-2]
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            if ":" in line:
                hk, hv = line.split(":", 1)
                headers[hk.strip().lower()] = hv.strip()
        disp = headers.get("content-disposition", "")
        nm = re.search(r'(?:^|;)\s*name="([^"]*)"', disp)
        if not nm:
            continue
        fn = re.search(r'filename\*?="?([^";]*)"?', disp)
        if fn is not None:
            out[nm.group(1)] = _Upload(urllib.parse.unquote(fn.group(1)), headers.get("content-type"), data)
        else:
            out[nm.group(1)] = data.decode("utf-8", "surrogateescape")
    return out


class _Truncated(Exception):
    """A request body shorter than its Content-Length: the client went away while sending it."""


class _Handler(BaseHTTPRequestHandler):
    api: BotAPIServer
    protocol_version = "HTTP/1.1"
    timeout = 120  # idle keep-alive connections end eventually
    server_version = "TestBotAPI/1.0"

    def setup(self) -> None:
        super().setup()
        with self.api._lock:
            self.api._sockets.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.api._lock:
                self.api._sockets.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:  # keep test output (and the token) quiet
        pass

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if len(body) < length:  # the client died mid-request: a real server never sees it as a call
            raise _Truncated()
        return body

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True

    def _json(self, status: int, obj: dict) -> None:
        self._send(status, json.dumps(obj, ensure_ascii=False).encode("utf-8"))

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        api = self.api
        split = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(split.path)
        try:
            body = self._read_body() if self.command == "POST" else b""
        except _Truncated:
            self.close_connection = True
            return
        m = re.fullmatch(r"/file/bot([^/]*)/(.+)", path)
        if m:
            with api._lock:
                f = api._files_by_path.get(m.group(2)) if m.group(1) == api.token else None
            if f is None:
                self._json(404, {"ok": False, "error_code": 404, "description": "Not Found"})
            else:
                self._send(200, f["data"], f.get("mime_type") or "application/octet-stream")
            return
        m = re.fullmatch(r"/bot([^/]*)/([A-Za-z0-9_]+)/?", path)
        if not m:
            self._json(404, {"ok": False, "error_code": 404, "description": "Not Found"})
            return
        params: dict[str, Any] = dict(urllib.parse.parse_qsl(split.query, keep_blank_values=True))
        ctype = self.headers.get("Content-Type", "")
        try:
            if body:
                if ctype.startswith("application/json"):
                    data = json.loads(body.decode("utf-8"))
                    if not isinstance(data, dict):
                        raise ValueError("not an object")
                    params.update(data)
                elif ctype.startswith("multipart/form-data"):
                    params.update(_parse_multipart(body, ctype))
                else:
                    params.update(urllib.parse.parse_qsl(body.decode("utf-8", "surrogateescape"),
                                                         keep_blank_values=True))
        except BotAPIError as exc:
            self._json(exc.error_code, exc.to_json())
            return
        except ValueError:
            self._json(400, {"ok": False, "error_code": 400,
                             "description": "Bad Request: can't parse JSON encoded request body"})
            return
        _request_local.sock = self.connection
        try:
            status, out = api.handle(self.command, m.group(1), m.group(2), params)
        finally:
            _request_local.sock = None
        self._json(status, out)
