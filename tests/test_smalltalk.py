"""Small talk: greetings, thanks and chat are recognised; questions, even ones that open with a greeting, are not."""

import json
from importlib import resources

import pytest

from retrieval import answer
from retrieval.smalltalk import SmallTalkKind, small_talk
from tests.conftest import ROOT


@pytest.mark.parametrize("message, kind", [
    ("السلام عليكم", SmallTalkKind.GREETING), ("مرحبا", SmallTalkKind.GREETING), ("مرحباً يا سند!", SmallTalkKind.GREETING),
    ("السَّلامُ عَلَيْكُمْ ورحمة الله", SmallTalkKind.GREETING), ("hello", SmallTalkKind.GREETING),
    ("شكرا", SmallTalkKind.THANKS), ("شكراااا جزيلا", SmallTalkKind.THANKS), ("Thank you!", SmallTalkKind.THANKS),
    ("مع السلامة", SmallTalkKind.FAREWELL), ("كيف حالك؟", SmallTalkKind.CHAT), ("من أنت؟", SmallTalkKind.CHAT),
    ("h", SmallTalkKind.TOO_SHORT), ("ب", SmallTalkKind.TOO_SHORT), ("ههههه", SmallTalkKind.TOO_SHORT),
])
def test_small_talk_is_recognised(message, kind):
    assert small_talk(message) is kind


@pytest.mark.parametrize("message", [
    "السلام عليكم، كم جنديا أرسلت كوريا؟", "شكرا، ومن هو نظير لافروف؟", "مرحبا ماذا نشر البيت الأبيض",
    "كيف حال الاقتصاد الروسي؟", "من هو لافروف؟", "B-52H", "", "😀", "2024",
])
def test_a_question_or_an_empty_message_is_not_small_talk(message):
    assert small_talk(message) is None


def test_no_question_of_the_evaluation_sets_is_small_talk():
    files = sorted((ROOT / "tests" / "data").glob("*.jsonl"))
    assert len(files) >= 8
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            q = json.loads(line)["q"]
            assert small_talk(q) is None, q


def test_every_phrase_of_the_data_file_is_small_talk_of_its_kind():
    text = resources.files("retrieval").joinpath("data", "smalltalk.txt").read_text(encoding="utf-8")
    kind, seen = None, set()
    for line in (line.strip() for line in text.splitlines()):
        if line.startswith("["):
            kind = line.strip("[]")
            seen.add(kind)
        elif line and not line.startswith("#"):
            expected = None if kind == "filler" else SmallTalkKind(kind)
            if expected is not None:
                assert small_talk(line) is expected, line
                assert small_talk(f"{line} يا سند") is expected, line  # filler beside a phrase
            else:
                assert small_talk(line) is None, line  # filler alone says nothing
    assert seen == {k.value for k in SmallTalkKind if k is not SmallTalkKind.TOO_SHORT} | {"filler"}


@pytest.mark.parametrize("message", ["السلام عليكم", "مرحبا", "شكرا", "h"])
def test_small_talk_gets_no_extracts(seed_snapshot, message):
    a = answer(seed_snapshot, message)
    assert not a.answered and a.extracts == () and a.reason == "small_talk" and a.confidence == "none"


def test_a_question_that_opens_with_a_greeting_is_answered(seed_snapshot):
    a = answer(seed_snapshot, "السلام عليكم، كم جنديا أرسلت كوريا؟")
    assert a.answered and a.extracts and a.reason == "answered"
    assert answer(seed_snapshot, "   ").reason == "empty"
