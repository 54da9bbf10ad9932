"""Every reason the library gives for a refused upload, a skipped file or a failed reload has Arabic wording."""

import re

import pytest

from bot.reasons import _UNKNOWN, arabic_reason
from tests.conftest import ROOT

_CODE_WORDS = ("UTF-8", "JSON", "text", ".txt", ".jsonl", ".pdf", ".docx", ".html", "PDF", "Word", "docx",
               "http://", "https://", "/remove")  # names a user types as they are


def _library_reasons() -> list[str]:
    """The reasons written in retrieval/ (UploadError, ReloadError, Skipped, decoding errors), placeholders filled in."""
    found = []
    for name in ("engine.py", "corpus.py", "fetch.py", "documents/__init__.py", "documents/pdf.py", "documents/word.py",
                 "documents/web.py"):
        source = (ROOT / "retrieval" / name).read_text(encoding="utf-8")
        for m in re.finditer(r'(?:UploadError|ReloadError|Skipped|ValueError|DocumentError|FetchError)\([^"\n]*?f?"([^"]+)"'
                             r'|notes = tuple\(f"([^"]+)"', source):
            found.append(re.sub(r"\{[^}]*\}", "3", m.group(1) or m.group(2)))
    return found


def test_the_library_reasons_are_found():
    assert len(_library_reasons()) >= 35


@pytest.mark.parametrize("reason", _library_reasons())
def test_each_library_reason_reads_in_arabic(reason):
    arabic = arabic_reason(reason)
    assert arabic != _UNKNOWN, reason
    rest = arabic
    for word in _CODE_WORDS:
        rest = rest.replace(word, "")
    assert re.search(r"[\u0600-\u06ff]", arabic) and not re.search(r"[A-Za-z]", rest.replace("3", "")), arabic


def test_numbers_are_shown_in_arabic_digits_and_unknown_reasons_stay_out():
    assert arabic_reason("file too large (2500000 bytes, limit 2000000)") == \
        "حجم الملف (٢٥٠٠٠٠٠ بايت) يتجاوز الحد المسموح به (٢٠٠٠٠٠٠ بايت)."
    assert arabic_reason("Traceback: secret internals") == _UNKNOWN


def test_a_failed_save_on_a_shared_store_never_claims_to_serve_from_memory():
    shared = arabic_reason("the database could not be written (server closed the connection); nothing was changed")
    local = arabic_reason("the database could not be written (disk I/O error); the corpus is served from memory only")
    assert "لم أغيّر شيئًا" in shared and "الذاكرة" not in shared and "الذاكرة" in local
