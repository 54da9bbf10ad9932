"""Answer → Telegram HTML: escaping, structure, citations, and splitting under 4096."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.render import (
    MESSAGE_LIMIT,
    bold,
    clean,
    link,
    paginate,
    quote,
    render_answer,
    render_context,
    render_inline,
    safe_url,
    to_html,
    utf16_len,
)
from retrieval import Answer, Context, DocInfo, Extract

ALLOWED_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
    "blockquote", "tg-spoiler", "span", "tg-emoji",
}
_TOKEN = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+(?:=\"[^\"<>]*\")?)*)\s*>|&(lt|gt|amp|quot|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});")


def telegram_visible_text(html_text: str) -> str:
    """Validate like Telegram's HTML parser (strictly) and return the visible text."""
    out: list[str] = []
    stack: list[str] = []
    pos = 0
    entities = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
    for match in _TOKEN.finditer(html_text):
        chunk = html_text[pos : match.start()]
        assert "<" not in chunk and ">" not in chunk and "&" not in chunk, f"unescaped markup in {chunk!r}"
        out.append(chunk)
        pos = match.end()
        if match.group(4):
            name = match.group(4)
            if name.startswith("#x"):
                out.append(chr(int(name[2:], 16)))
            elif name.startswith("#"):
                out.append(chr(int(name[1:])))
            else:
                out.append(entities[name])
            continue
        closing, tag = match.group(1), match.group(2).lower()
        assert tag in ALLOWED_TAGS, f"unsupported tag {tag}"
        if closing:
            assert stack and stack[-1] == tag, f"unmatched </{tag}> (open: {stack})"
            stack.pop()
        else:
            if tag == "blockquote":
                assert "blockquote" not in stack, "nested blockquote"
            stack.append(tag)
    tail = html_text[pos:]
    assert "<" not in tail and ">" not in tail and "&" not in tail, f"unescaped markup in {tail!r}"
    out.append(tail)
    assert not stack, f"unclosed tags {stack}"
    visible = "".join(out)
    assert visible.strip(), "empty message"
    assert utf16_len(visible) <= MESSAGE_LIMIT, "visible text over 4096"
    return visible


def assert_sendable(pages: list[str]) -> str:
    """Every page is valid Telegram HTML within the limit; returns all visible text."""
    assert pages
    texts = []
    for page in pages:
        assert utf16_len(page) <= MESSAGE_LIMIT
        texts.append(telegram_visible_text(page))
    return "\n".join(texts)


DOC = DocInfo(id="d1", file="d1.txt", title="كوريا الشمالية", source="AP", date="2024-11-22", url="https://example.org/a?x=1&y=2")


def extract(text: str, spans=(), rank: int = 1, doc: DocInfo = DOC, before=None, after=None) -> Extract:
    return Extract(rank=rank, score=1.0, position=rank * 10, text=text, spans=tuple(spans), doc=doc,
                   paragraph=3, sentence=2, before=before, after=after)


def answer(*extracts: Extract, question="ماذا حدث في سيول؟", confidence="high", more=False) -> Answer:
    return Answer(question=question, answered=bool(extracts), confidence=confidence if extracts else "none",
                  extracts=tuple(extracts), more=more, suggestions=() if extracts else ("كوريا", "الاقتصاد"))


def test_answer_quotes_with_bold_spans_and_citation() -> None:
    text = "حثت كوريا الجنوبية جارتها على التوقف."
    pages = render_answer(answer(extract(text, spans=[(4, 9)])))
    assert len(pages) == 1
    html_text = pages[0]
    assert "<blockquote>حثت <b>كوريا</b> الجنوبية جارتها على التوقف.</blockquote>" in html_text
    assert '<a href="https://example.org/a?x=1&amp;y=2">«كوريا الشمالية»</a>' in html_text
    visible = telegram_visible_text(html_text)
    assert "AP" in visible and "2024-11-22" in visible and "الفقرة ٣" in visible
    assert "بوضوح" in visible  # confidence header in plain words


@pytest.mark.parametrize("confidence,phrase", [("high", "بوضوح"), ("medium", "قد تجيب"), ("low", "لم أجد إجابة صريحة")])
def test_confidence_in_plain_words(confidence: str, phrase: str) -> None:
    assert phrase in render_answer(answer(extract("نص."), confidence=confidence))[0]


def test_not_answered_suggests_topics() -> None:
    visible = assert_sendable(render_answer(answer()))
    assert "لم أجد" in visible and "إعادة صياغة" in visible
    assert "• كوريا" in visible and "• الاقتصاد" in visible


def test_overlapping_and_out_of_range_spans() -> None:
    pages = render_answer(answer(extract("abcdef", spans=[(0, 3), (2, 4), (5, 99), (7, 2), (-5, 0)])))
    assert "<b>abcd</b>e<b>f</b>" in pages[0]


def test_fragment_shows_neighbours() -> None:
    pages = render_answer(answer(extract("جزء", before="قبل.", after="بعد.")))
    visible = assert_sendable(pages)
    assert "قبل." in visible and "بعد." in visible


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        "Tom & Jerry &amp; &lt; &#0; &unknown;",
        "<b>unclosed <i>tags</b>",
        "\u202eRTL override\u200f\u200e\u200b mixed",
        '"><a href="javascript:alert(1)">x</a>',
        "*bold* _it_ `code` [link](http://x) ||spoiler||",
        "\x00\x01\x07 control \ud800 lone surrogate \r\n end",
    ],
)
def test_hostile_text_is_escaped_everywhere(hostile: str) -> None:
    doc = DocInfo(id="x", file="x.txt", title=hostile, source=hostile, date=hostile, url="javascript:alert(1)")
    ans = answer(extract(hostile, spans=[(0, 3)], doc=doc, before=hostile, after=hostile), question=hostile)
    visible = assert_sendable(render_answer(ans))
    assert "javascript" not in "".join(render_answer(ans)).split("href")[0] or 'href="javascript' not in "".join(render_answer(ans))
    assert clean(hostile).replace("\r\n", "\n")[:5] in visible or not clean(hostile).strip()
    assert_sendable([render_inline(ans.extracts[0])])


def test_links_only_for_http() -> None:
    assert safe_url("https://a.b/c") == "https://a.b/c"
    for bad in ("javascript:alert(1)", "ftp://x", "http://", "https://a b", None, "", "tg://x"):
        assert safe_url(bad) is None
    assert to_html(link("javascript:x", "t")) == "t"
    assert to_html(link('https://a.b/"x"', "t")) == '<a href="https://a.b/&quot;x&quot;">t</a>'


def test_long_answer_is_split_between_extracts() -> None:
    sentence = "هذه جملة عربية طويلة نسبيًا تتكرر لاختبار تقسيم الرسائل. " * 25
    extracts = [extract(sentence.strip(), rank=i, spans=[(0, 3)]) for i in range(1, 6)]
    pages = render_answer(answer(*extracts))
    assert len(pages) > 1
    visible = assert_sendable(pages)
    for page in pages:  # each page starts and ends on a whole block: no split quote here
        assert page.count("<blockquote>") == page.count("</blockquote>")
    assert visible.count("الفقرة") == 5


def test_one_huge_sentence_splits_on_boundaries_inside_the_quote() -> None:
    text = ("جملة فيها علامات & و < و > كثيرة. " * 400).strip()
    pages = render_answer(answer(extract(text, spans=[(0, 4), (len(text) - 6, len(text))])))
    assert len(pages) >= 4
    visible = assert_sendable(pages)
    assert visible.count("&") == text.count("&")
    for page in pages[:-1]:  # cuts fall after a sentence end, never mid-word
        body = telegram_visible_text(page).rstrip()
        assert body.endswith(".") or body.endswith("»") or body.endswith("٣")


def test_unbreakable_text_is_hard_cut_safely() -> None:
    text = "&" * 10_000
    pages = paginate([[quote(bold(text))]])
    visible = assert_sendable(pages)
    assert visible.count("&") == 10_000


def test_repeated_word_many_spans_is_fast() -> None:
    word = "كلمة "
    text = word * 2000
    spans = [(i * len(word), i * len(word) + 4) for i in range(2000)]
    started = time.perf_counter()
    pages = render_answer(answer(extract(text, spans=spans)))
    elapsed = time.perf_counter() - started
    assert_sendable(pages)
    assert elapsed < 2.0


def test_context_highlights_sentence() -> None:
    ctx = Context(doc=DOC, paragraph=2, text="أولى. ثانية. ثالثة.", highlight=(6, 12))
    pages = render_context(ctx)
    assert "<blockquote>أولى. <b>ثانية.</b> ثالثة.</blockquote>" in pages[0]
    assert "الفقرة ٢" in assert_sendable(pages)


def test_a_pdf_extract_and_its_context_cite_the_page() -> None:
    pdf = DocInfo(id="r", file="report.pdf", title="التقرير السنوي", source=None, date=None, url=None)
    with_page = Extract(rank=1, score=1.0, position=1, text="نص من التقرير.", spans=(), doc=pdf,
                        paragraph=4, sentence=7, page=12)
    assert "ص ١٢، الفقرة ٤" in telegram_visible_text(render_answer(answer(with_page))[0])
    assert "ص " not in telegram_visible_text(render_answer(answer(extract("بلا صفحات.")))[0])
    ctx = Context(doc=pdf, paragraph=4, text="نص من التقرير.", highlight=(0, 3), page=12)
    assert "ص ١٢، الفقرة ٤" in assert_sendable(render_context(ctx))


def test_utf16_length_counts_astral_characters_twice() -> None:
    assert utf16_len("😀") == 2
    pages = paginate([["😀" * 3000]])
    assert len(pages) == 2
    assert_sendable(pages)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    question=st.text(max_size=300),
    sentence=st.text(min_size=0, max_size=5000),
    title=st.text(max_size=80),
    spans=st.lists(st.tuples(st.integers(-10, 6000), st.integers(-10, 6000)), max_size=8),
)
def test_any_text_renders_to_sendable_pages(question: str, sentence: str, title: str, spans) -> None:
    doc = DocInfo(id="p", file="p.txt", title=title, source=title or None, date=None, url=None)
    ans = answer(extract(sentence, spans=spans, doc=doc), extract(sentence[::-1], rank=2, doc=doc), question=question)
    for page in render_answer(ans):
        assert utf16_len(page) <= MESSAGE_LIMIT
        telegram_visible_text(page)
    telegram_visible_text(render_inline(ans.extracts[0]))
