"""Property tests (hypothesis) over the analyser, the answer builder and the renderer.

Whatever text Telegram can deliver — empty after normalisation, emoji only, 4,096 characters,
mixed scripts, bidi marks and zero-width characters, HTML/MarkdownV2 look-alikes, control
characters, one letter, one word repeated 2,000 times — the analyser returns clean terms, the
answer builder returns extracts quoted verbatim from their documents, and the renderer produces
pages that Telegram's HTML parser (the test server's) accepts within 4096 UTF-16 units.

Hypothesis and function-scoped fixtures do not mix, so the seed snapshot is built once per module.
"""

from __future__ import annotations

import functools
import os
import unicodedata

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from bot.handlers import normalise_question
from bot.render import MESSAGE_LIMIT, render_answer, render_context, render_inline
from botapi_server import BotAPIError, parse_formatted_text, utf16_len
from conftest import SEEDS
from retrieval import Snapshot, analyze, answer, load_corpus
from retrieval.arabic import normalize

# SANAD_PROPERTY_EXAMPLES=2000 for a longer hunt than the normal run's.
EXAMPLES = int(os.environ.get("SANAD_PROPERTY_EXAMPLES", "120"))
PROPERTY = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@functools.lru_cache(maxsize=1)
def snapshot() -> Snapshot:
    return Snapshot.build(load_corpus(SEEDS).documents)


@functools.lru_cache(maxsize=1)
def corpus_words() -> tuple[str, ...]:
    """Words of the seed corpus, so generated questions often hit something and get answered."""
    words = {w for d in snapshot().documents for w in d.text.split() if len(w) > 2}
    return tuple(sorted(words))


# ------------------------------------------------------------------ strategies

BIDI = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u061c"
ZERO_WIDTH = "\u200b\u200c\u200d\ufeff\u00ad\u2060"
CONTROLS = "".join(map(chr, range(0, 32))) + "\x7f\x85\u2028\u2029"
MARKUP = ["<b>", "</b>", "<i>", "<a href='javascript:x'>", "</a>", "<script>", "</blockquote>", "<pre>",
          "&", "&amp;", "&lt;", "&#0;", "&#x110000;", "*bold*", "_it_", "__u__", "~s~", "||sp||", "`code`",
          "```py\nx```", "[l](http://x)", "\\", ">quote", "#tag", "@SanadTestBot", "/reload", "/ask@x"]
EMOJI = ["😀", "👍🏽", "👨‍👩‍👧", "🇸🇦", "❤️", "🔥", "\U0001f9ff"]
ARABIC_BITS = ["كوريا", "الشمالية", "لافروف", "ماذا", "قال", "كم", "جنديا", "سيول", "؟", "،", "ـ", "\u064b",
               "\u0651", "٨٬٠٠٠", "8,000", "أ", "ة", "ى", "ء"]
LATIN_BITS = ["Korea", "B-52H", "NATO", "İ", "ß", "ﬁ", "Ⅻ", "½", "x"]

fragments = st.one_of(
    st.sampled_from(ARABIC_BITS), st.sampled_from(LATIN_BITS), st.sampled_from(MARKUP),
    st.sampled_from(EMOJI), st.sampled_from(list(BIDI + ZERO_WIDTH)), st.sampled_from(list(CONTROLS)),
    st.sampled_from([" ", "\n", "\t", "  "]),
    st.text(max_size=12),  # any code points, lone surrogates included
)
mixed = st.lists(fragments, max_size=40).map("".join)


@st.composite
def corpus_question(draw) -> str:
    """A few corpus words, possibly dressed with marks, markup and emoji."""
    words = draw(st.lists(st.sampled_from(corpus_words()), min_size=1, max_size=8))
    noise = draw(st.lists(fragments, max_size=4))
    parts = words + noise
    return " ".join(draw(st.permutations(parts)))


questions = st.one_of(st.text(max_size=300), mixed, corpus_question())

# The hostile inputs, always tried first (hypothesis @example).
HOSTILE = [
    "", " ", "\n\t ", "؟", "😀" * 50, "👨‍👩‍👧" * 3, "ك" * 4096, ("لافروف " * 700)[:4096],
    " ".join(["كوريا"] * 2000), "ك", "a", "1", BIDI * 10, ZERO_WIDTH * 10,
    "\u202eكوريا\u202c \u200fالشمالية\u200e لافروف\u200b",
    "<b>كوريا</b> <script>alert(1)</script> &amp; &", "*كوريا* _الشمالية_ [لافروف](http://x) `code` ||s||",
    CONTROLS + "كوريا" + CONTROLS, "Korea كوريا Корея 朝鲜 कोरिया", "\ud800كوريا\udfff", "\x00" * 100,
    "ماذا قال لافروف عن كوريا الشمالية؟", "كم جنديا أرسلت كوريا الشمالية إلى روسيا؟",
]


def _hostile(test):
    for text in HOSTILE:
        test = example(text)(test)
    return test


# ------------------------------------------------------------------ the analyser


@PROPERTY
@given(mixed)
@_hostile
def test_analyze_never_raises_and_gives_clean_terms(text: str) -> None:
    terms = analyze(text)
    assert isinstance(terms, list)
    for t in terms:
        assert isinstance(t, str) and t
        assert not any(ch.isspace() for ch in t), repr(t)
        assert t == t.lower()


@PROPERTY
@given(st.one_of(st.text(max_size=200), mixed), st.one_of(st.text(max_size=200), mixed))
def test_analyze_is_compositional_over_whitespace(a: str, b: str) -> None:
    """A question is analysed word by word: joining two texts with a space joins their terms."""
    assert analyze(a + " " + b) == analyze(a) + analyze(b)


@PROPERTY
@given(corpus_question())
def test_invisible_marks_and_diacritics_inside_arabic_words_change_nothing(question: str) -> None:
    """Zero-width, bidi marks, tatweel and harakat inside Arabic words are not part of the word."""
    marks = "\u200b\u200c\u200d\u200e\u200f\u0640\u064e\u0651"
    dressed = "".join(
        ch + (marks[i % len(marks)] if "\u0621" <= ch <= "\u064a" and i % 3 == 0 else "")
        for i, ch in enumerate(question))
    assert analyze(dressed) == analyze(question)


@PROPERTY
@given(st.one_of(st.text(max_size=60), mixed))
@_hostile
def test_normalize_is_idempotent(word: str) -> None:
    once = normalize(word)
    assert normalize(once) == once


@PROPERTY
@given(mixed)
@_hostile
def test_terms_are_already_normalised(text: str) -> None:
    """Index terms are fixed points of normalisation, so a question and a sentence meet on them."""
    for t in analyze(text):
        assert normalize(t) == t, (t, normalize(t))


# ------------------------------------------------------------------ the answer builder


def check_answer(text: str, *, top: int = 3, offset: int = 0) -> None:
    snap = snapshot()
    docs = {d.id: d for d in snap.documents}
    result = answer(snap, text, top=top, offset=offset)
    assert isinstance(result.answered, bool)
    if not result.answered:
        assert result.extracts == () and result.more is False and result.confidence == "none"
        return
    assert result.confidence in ("high", "medium", "low")
    assert len(result.extracts) <= top
    assert result.extracts or offset > 0  # a later page may run past the last extract, the first never
    ranks = [e.rank for e in result.extracts]
    assert ranks == list(range(offset + 1, offset + 1 + len(ranks)))
    for e in result.extracts:
        doc = docs[e.doc.id]
        assert e.text and e.text in doc.text  # quoted verbatim
        assert snap.text(e.position) == e.text
        for neighbour in (e.before, e.after):
            assert neighbour is None or neighbour in doc.text
        previous_end = 0
        for start, end in e.spans:
            assert 0 <= start < end <= len(e.text)
            assert start >= previous_end  # in order, not overlapping
            previous_end = end


@PROPERTY
@given(questions)
@_hostile
def test_answer_never_raises_and_quotes_verbatim(text: str) -> None:
    check_answer(text)
    check_answer(normalise_question(text))  # what the bot actually asks


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corpus_question(), st.integers(1, 5), st.integers(0, 12))
def test_answer_pages_are_consistent(text: str, top: int, offset: int) -> None:
    check_answer(text, top=top, offset=offset)


def test_corpus_questions_are_often_answered() -> None:
    """The strategy above is useful only if it reaches the answered branch; make sure it does."""
    import random

    rng = random.Random(6)
    words = corpus_words()
    answered = sum(answer(snapshot(), " ".join(rng.sample(words, 3))).answered for _ in range(60))
    assert answered >= 10


# ------------------------------------------------------------------ the renderer, through Telegram's parser


def telegram_accepts(page: str) -> str:
    """The test server's HTML parser must accept the page; its visible text fits in one message."""
    try:
        visible, _ = parse_formatted_text(page, "HTML")
    except BotAPIError as exc:  # pragma: no cover - the failure message is the point
        pytest.fail(f"Telegram would reject the page ({exc.description}):\n{page[:500]!r}")
    assert utf16_len(visible) <= MESSAGE_LIMIT
    return visible


@PROPERTY
@given(questions)
@_hostile
def test_any_question_renders_to_pages_telegram_accepts(text: str) -> None:
    snap = snapshot()
    for asked in (text, normalise_question(text)):
        for first_page in (True, False):
            result = answer(snap, asked, top=3, offset=0 if first_page else 3)
            pages = render_answer(result, first_page=first_page)
            assert pages
            for page in pages:
                telegram_accepts(page)
            for e in result.extracts:
                telegram_accepts(render_inline(e))


def test_every_sentence_context_renders() -> None:
    """The context button of every sentence of the seed corpus gives acceptable pages."""
    from retrieval.engine import Context
    from retrieval import DocInfo

    snap = snapshot()
    for position in range(len(snap)):
        loc = snap.locate(position)
        p = loc.doc.paragraphs[loc.paragraph_index]
        d = loc.doc
        ctx = Context(DocInfo.of(d), loc.paragraph,
                      d.text[p.start:p.end], (loc.start - p.start, loc.end - p.start))
        for page in render_context(ctx):
            telegram_accepts(page)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=mixed, source=st.one_of(st.none(), mixed), date=st.one_of(st.none(), mixed),
       url=st.one_of(st.none(), st.sampled_from(["https://x.org/a?b=1&c=<2>", "javascript:alert(1)", "http://\"x"])),
       sentence=st.one_of(mixed, st.sampled_from(HOSTILE)), question=questions)
def test_arbitrary_answer_fields_render_to_pages_telegram_accepts(title, source, date, url, sentence, question) -> None:
    """Documents may carry anything (uploads): every field is escaped and the pages still fit."""
    from retrieval import Answer, DocInfo, Extract

    assume(sentence)
    doc = DocInfo("d", "d.txt", title, source, date, url)
    spans = tuple((i, i + 1) for i in range(0, len(sentence), max(1, len(sentence) // 7)))
    extracts = tuple(Extract(r, 1.0, r, sentence, spans, doc, r, r, before=sentence[:50] or None,
                             after=sentence[-50:] or None) for r in (1, 2, 3))
    result = Answer(question, True, "high", extracts, True)
    for page in render_answer(result):
        telegram_accepts(page)
    telegram_accepts(render_inline(extracts[0]))


def test_unicode_database_sanity() -> None:
    """The control-character set above really is what Telegram and the renderer must cope with."""
    assert all(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in CONTROLS)
