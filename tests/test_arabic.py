"""Normalisation, tokenisation, stopwords and light stemming: the rules a question and a sentence share."""

import pytest

from retrieval.arabic import analyze, skeleton, synonyms, tokens, transliterate


@pytest.mark.parametrize("variant, plain", [
    ("مَنْ هِيَ وَزِيرَةُ", "من هي وزيرة"),          # diacritics
    ("كـــــم", "كم"),                                # tatweel
])
def test_marks_and_tatweel_do_not_change_terms(variant, plain):
    assert analyze(variant) == analyze(plain)


@pytest.mark.parametrize("a, b", [
    ("أكد", "اكد"), ("إطلاق", "اطلاق"), ("آلاف", "الاف"),   # hamza on alef
    ("الجبهة", "الجبهه"), ("الغربية", "الغربيه"),           # ta marbuta written as ha
    ("مستشفى", "مستشفي"),                                 # alef maqsura
    ("سيئول", "سيؤول".replace("ؤ", "ئ")),                 # hamza carriers
])
def test_spelling_variants_meet(a, b):
    assert analyze(a) == analyze(b) and analyze(a)


@pytest.mark.parametrize("text", ["٨٠٠٠", "8,000", "8000", "٨٬٠٠٠", "۸۰۰۰"])
def test_numbers_fold_to_ascii_without_thousands_separators(text):
    assert analyze(text) == ["8000"]


def test_decimal_numbers_keep_their_point():
    assert analyze("3.5") == ["3.5"]
    assert analyze("٣٫٥") == ["3.5"]


def test_latin_is_lowercased_and_kept_whole():
    assert analyze("DPRK") == analyze("dprk") == ["dprk"]
    assert analyze("KCNA") == ["kcna"]


def test_hyphenated_codes_split_into_letters_and_numbers():
    assert "52" in analyze("B-52H") and "52" in analyze("بي-52")


def test_question_and_function_words_are_dropped():
    assert analyze("ما هي") == []
    assert analyze("من هو الذي في على إلى") == []
    assert analyze("what is DPRK") == ["dprk"]


def test_colloquial_question_words_are_dropped_like_standard_ones():
    # Users type the question words they speak; they frame the question and name nothing in it.
    assert analyze("مين وين شو ايش قديش امتى ليش شلون") == []
    assert analyze("مين زار روسيا") == analyze("من زار روسيا")


def test_function_words_with_a_clitic_or_a_pronoun_are_dropped():
    assert analyze("وهو عليها لديهم منهم إليهم لكنه") == []


def test_a_plural_ending_does_not_make_a_content_word_a_stopword():
    # الولايات stems to the letters of the particle ولا; it is still the word "states".
    assert analyze("الولايات المتحدة") == analyze("والولايات المتحدة") != analyze("المتحدة")
    assert analyze("البناء") == analyze("بناء") != []


@pytest.mark.parametrize("words, digits", [
    ("محادثات اثنين زائد اثنين", "محادثات 2 زائد 2"), ("الثلاثة", "3"), ("والعشرين", "20"),
    ("ثمانية", "٨"), ("مئة", "100"),
])
def test_number_words_meet_their_digits(words, digits):
    assert analyze(words) == analyze(digits)


def test_number_words_are_read_whole_and_monday_is_not_two():
    assert analyze("واحد") == analyze("1") and analyze("واحدة") == analyze("1")  # not و + احد
    assert analyze("واثنين") == analyze("2")
    assert analyze("يوم الاثنين") != analyze("يوم 2")


def test_short_words_with_a_pronoun_ending_are_not_taken_for_function_words():
    # ثمنا is not ثم + نا, لونا not لو + نا, الإله not the article + ه.
    assert analyze("ثمنا") == analyze("ثمن") != []
    assert analyze("لونا") != [] and analyze("الإله") != []


def test_an_article_written_onto_a_number_is_not_a_term():
    assert analyze("ال١٢ مليون") == analyze("12 مليون")


def test_punctuation_and_quotes_are_not_terms():
    assert analyze("“الكشف” «دعم» (يونهاب) — ؟!") == analyze("الكشف دعم يونهاب")


@pytest.mark.parametrize("forms", [
    ("كوريا", "الكورية", "لكوريا".replace("ل", "ال", 1)),      # adverbial alef and nisba meet
    ("جندي", "جنديا"),
    ("روسيا", "الروسية", "وروسيا"),
    ("أمريكا", "الأمريكي", "الأمريكية", "الأمريكيين"),
    ("التدريبات", "تدريبات", "والتدريبات", "بالتدريبات"),
    ("وزير", "الوزير", "ووزير", "والوزير"),                      # root waw is not the conjunction
])
def test_light_stemmer_conflates_inflections(forms):
    terms = {tuple(analyze(f)) for f in forms}
    assert len(terms) == 1, terms


def test_light_stemmer_keeps_short_words_whole():
    # never leaves fewer than three letters (or two after the article)
    for word in ("كيم", "سول", "قال", "دعم"):
        assert len(analyze(word)[0]) >= 3


def test_invisible_marks_inside_words_are_ignored():
    assert analyze("كو\u200fريا \u200bالشمالية") == analyze("كوريا الشمالية")


def test_tokens_keep_offsets_into_the_original_text():
    text = "قال لافروف: ما يصل إلى 8,000 جندي."
    for t in tokens(text):
        assert text[t.start:t.end] == t.text
    assert "8,000" in [t.text for t in tokens(text)]


def test_skeleton_joins_transliteration_variants_of_names():
    def sk(word):
        return skeleton(analyze(word)[0])
    assert sk("بيونغ") == sk("بيونج")
    assert sk("جونغ") == sk("جونج")
    assert sk("سيول") == sk("سيئول") == sk("سول")
    assert sk("لافروف") != sk("بوتين")


def test_empty_and_symbol_only_text_gives_no_terms():
    assert analyze("") == []
    assert analyze("😀 ‏ ... ###") == []


def test_synonym_groups_join_both_ways_as_index_terms():
    table = synonyms()
    [meeting], [encounter] = analyze("اجتماع"), analyze("لقاء")
    assert encounter in table[meeting] and meeting in table[encounter]
    [promised], [pledged] = analyze("وعد"), analyze("تعهد")
    assert pledged in table[promised]


def test_synonyms_never_land_on_words_the_analyser_folds_them_onto():
    # رؤساء folds to روس (روسيا), آلاف to اف, دولي to دول (countries): such words would join unrelated
    # questions to the table. A term is kept only if it has three letters or is the word itself.
    table = synonyms()
    for word in ("روسيا", "الدول", "ميناء", "أمس"):
        [t] = analyze(word)
        assert not ({t} | set(table.get(t, ()))) & {analyze(w)[0] for w in ("رئيس", "عالمي", "مرفأ", "التمس")}, word
    assert analyze("آلاف") == ["اف"] and "اف" not in table  # the fold is real; the table leaves it out


def test_every_synonym_group_adds_something_the_stemmer_does_not():
    from importlib import resources
    text = resources.files("retrieval").joinpath("data", "synonyms.txt").read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            assert len({t[0] for t in map(analyze, line.split()) if len(t) == 1}) >= 2, line


@pytest.mark.parametrize("latin, arabic", [
    ("Lavrov", "لافروف"), ("TASS", "تاس"), ("Yonhap", "يونهاب"), ("Shoigu", "شويغو"), ("Wonsan", "وونسان"),
])
def test_latin_names_are_written_as_arabic_news_writes_them(latin, arabic):
    assert transliterate(latin) == arabic


@pytest.mark.parametrize("clitic, bare", [
    ("بسعة", "سعة"), ("لمدة", "مدة"), ("بقوة", "قوة"), ("بدقة", "دقة"), ("وبسعة", "السعة"), ("للمدة", "المدة"),
    ("لبيان", "بيان"), ("بغزة", "غزة"), ("بكمية", "كمية"), ("بمكان", "المكان"),
])
def test_a_proclitic_before_a_short_word_leaves_the_words_stem(clitic, bare):
    assert analyze(clitic) == analyze(bare) and analyze(bare)


@pytest.mark.parametrize("word, stem", [("بلينكن", "بلينكن"), ("كلمة", "كلم"), ("كلمات", "كلم"), ("فترة", "فتر")])
def test_a_first_letter_that_belongs_to_the_word_stays(word, stem):
    assert analyze(word) == [stem]


_CLITICS = "وبكلف"


def _same_but_a_clitic(a: str, b: str) -> bool:
    """One stem, or the same stem with a one-letter proclitic kept (the answer layer matches those)."""
    return a == b or (a[:1] in _CLITICS and a[1:] == b) or (b[:1] in _CLITICS and b[1:] == a)


def test_no_clitic_form_in_the_corpus_folds_onto_another_stem_than_its_bare_form():
    from retrieval import load_corpus
    from retrieval.arabic import normalize, words
    from tests.conftest import SEEDS

    vocabulary: dict[str, str] = {}
    for doc in load_corpus(SEEDS).documents:
        vocabulary.update((normalize(w), w) for w in words(doc.text))
    pairs = [(w, vocabulary[n[1:]]) for n, w in vocabulary.items()
             if n[:1] in _CLITICS and len(n) >= 4 and n[1:] in vocabulary]
    assert len(pairs) > 50  # the property is checked on many pairs, not a handful
    for clitic_form, bare_form in pairs:
        a, b = analyze(clitic_form), analyze(bare_form)
        if len(a) == len(b) == 1:
            assert _same_but_a_clitic(a[0], b[0]), (clitic_form, a, bare_form, b)


def test_every_clitic_host_needs_the_list_and_meets_its_clitic_forms():
    from retrieval.arabic import ARTICLES, _clitic_hosts, _strip_suffixes

    hosts = _clitic_hosts()
    assert len(hosts) >= 20
    for host in hosts:
        [stem] = analyze(host)
        assert stem == _strip_suffixes(host), host  # a content word, stemmed by the suffix rules alone...
        for clitic in "بكلف":
            if (clitic + host).startswith(ARTICLES):
                continue  # للغة is ل + اللغة: the article's rule, not this list's
            # ...whose ending a kept proclitic would cut further (بسعة → بسع, not ب + سعه)
            assert _strip_suffixes(clitic + host) != clitic + stem, host
            assert analyze(clitic + host) == [stem], (clitic, host)


def test_analysis_caches_are_capped_in_bytes(monkeypatch):
    """Issue 13.9: unique long questions (many long made-up words) cannot grow memory past the caps."""
    import random
    import tracemalloc

    from retrieval import arabic
    from retrieval.sizedcache import SizedCache

    budget = 1 << 20
    for caches in (arabic._caches, arabic._chunk_caches):
        monkeypatch.setitem(caches, "light", SizedCache(budget))
    for cached in (arabic.normalize, arabic.skeleton):
        monkeypatch.setattr(cached.cache, "max_bytes", budget)
    rng = random.Random(13)
    letters = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"

    def question() -> str:
        return " ".join("".join(rng.choice(letters) for _ in range(rng.randint(20, 90))) for _ in range(40))

    analyze(question())
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(600):  # 24,000 unique words of up to 90 letters
            analyze(question())
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert arabic._caches["light"].bytes <= budget and arabic._chunk_caches["light"].bytes <= budget
    assert grown < 6 << 20, grown  # kept, they take 13 MB; capped, about 1 MB
