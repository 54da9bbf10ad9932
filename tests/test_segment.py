"""Sentence splitting: on . ؟ ! ?, never inside numbers, abbreviations or quotations."""

from retrieval.segment import split_sentences


def parts(text):
    return [text[a:b] for a, b in split_sentences(text)]


def test_splits_on_arabic_and_latin_punctuation():
    assert parts("جاء الوزير. هل وصل؟ نعم! Really? Yes.") == ["جاء الوزير.", "هل وصل؟", "نعم!", "Really?", "Yes."]


def test_numbers_dates_and_codes_stay_whole():
    text = "أرسلت 8,000 جندي في 2024-11-01 مع قاذفات B-52H و3.5 طن. ثم عادت."
    assert parts(text) == ["أرسلت 8,000 جندي في 2024-11-01 مع قاذفات B-52H و3.5 طن.", "ثم عادت."]


def test_single_letter_abbreviations_do_not_end_a_sentence():
    assert parts("قالت الـ U.S. Navy إنها جاهزة. انتهى.") == ["قالت الـ U.S. Navy إنها جاهزة.", "انتهى."]


def test_quoted_speech_stays_in_its_sentence():
    text = "وقال: “لا أعلق. ولن أعلق”. ثم غادر."
    assert parts(text) == ["وقال: “لا أعلق. ولن أعلق”.", "ثم غادر."]
    text = "وأضافت الوكالة «أكد كيم. ودعم موسكو». وانتهى اللقاء."
    assert parts(text) == ["وأضافت الوكالة «أكد كيم. ودعم موسكو».", "وانتهى اللقاء."]


def test_an_unclosed_quote_does_not_swallow_the_paragraph():
    text = "قال “دعم كامل. ثم أضاف شيئا آخر. وانتهى"
    assert len(parts(text)) == 3


def test_offsets_point_into_the_source_and_skip_spaces():
    text = "  أولى.   ثانية؟  "
    spans = split_sentences(text)
    assert [text[a:b] for a, b in spans] == ["أولى.", "ثانية؟"]


def test_range_arguments_limit_the_split():
    text = "عنوان\nالأولى. الثانية."
    start = text.index("\n") + 1
    assert [text[a:b] for a, b in split_sentences(text, start)] == ["الأولى.", "الثانية."]


def test_no_terminator_is_one_sentence_and_empty_is_none():
    assert parts("جملة بلا نقطة") == ["جملة بلا نقطة"]
    assert parts("   ") == []
