import threading

import pytest

from retrieval.fetch import FetchError, fetch
from tests.documents_corpus import FOLDER
from tests.local_http import closed_port, serving

PAGE = (FOLDER / "news.html").read_bytes()
PDF = (FOLDER / "report.pdf").read_bytes()


@pytest.fixture(scope="module")
def site():
    routes = {"/news/page.html": (200, "text/html; charset=utf-8", PAGE),
              "/story?id=7": (200, "text/html", PAGE),
              "/report": (200, "application/pdf", PDF),
              "/big.html": (200, "text/html", b"x" * 5000),
              "/image.png": (200, "image/png", b"\x89PNG"),
              "/gone.html": (410, "text/html", b"gone")}
    with serving(routes) as base:
        yield base


def test_a_page_is_fetched_whole_with_a_name_from_its_address(site):
    got = fetch(f"{site}/news/page.html", max_bytes=100_000)
    assert got.data == PAGE and got.url == f"{site}/news/page.html" and got.name == "127.0.0.1-page.html"


def test_the_type_gives_the_extension_when_the_address_has_none(site):
    assert fetch(f"{site}/story?id=7", max_bytes=100_000).name == "127.0.0.1-story.html"
    assert fetch(f"{site}/report", max_bytes=100_000).name == "127.0.0.1-report.pdf"


@pytest.mark.parametrize("path, reason", [
    ("/big.html", "too large"), ("/image.png", "image/png, not a web page"), ("/gone.html", "HTTP 410"),
])
def test_what_cannot_be_added_is_refused_with_the_reason(site, path, reason):
    with pytest.raises(FetchError, match=reason):
        fetch(f"{site}{path}", max_bytes=1000)


def test_an_unreachable_address_says_so():
    with pytest.raises(FetchError, match="cannot be reached"):
        fetch(f"http://127.0.0.1:{closed_port()}/page.html", max_bytes=1000)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/x.html", "http://", "page.html"])
def test_only_http_addresses_are_fetched(url):
    with pytest.raises(FetchError, match="http:// or https://"):
        fetch(url, max_bytes=1000)


def test_an_address_that_does_not_answer_in_time_says_so():
    hold = threading.Event()
    with serving({"/hold.html": (200, "text/html", PAGE)}, hold) as base:
        try:
            with pytest.raises(FetchError, match="did not answer in time"):
                fetch(f"{base}/hold.html", max_bytes=100_000, timeout=0.2)
        finally:
            hold.set()
