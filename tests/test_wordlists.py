"""data/cues.toml: every list is there, normalised, without repeats, and names only known kinds."""

import re
import tomllib
from importlib import resources

from retrieval.arabic import normalize
from retrieval.question import Kind
from retrieval.wordlists import cues

RAW = tomllib.loads(resources.files("retrieval").joinpath("data", "cues.toml").read_text(encoding="utf-8"))
ARABIC = re.compile(r"^[\u0621-\u064a ]+$")


def test_every_list_is_non_empty_and_has_no_repeat_after_normalisation():
    for section, lists in RAW.items():
        for name, words in lists.items():
            assert words, (section, name)
            folded = [" ".join(normalize(w) for w in word.split()) for word in words]
            assert len(set(folded)) == len(folded), (section, name, sorted(w for w in folded if folded.count(w) > 1))


def test_arabic_lists_hold_arabic_words_only():
    for section, lists in RAW.items():
        for name, words in lists.items():
            arabic = [w for w in words if not w.isascii()]
            assert all(ARABIC.match(w) for w in arabic), (section, name)
            if section != "question":  # only question cues mix in English ("how many")
                assert arabic == words, (section, name)


def test_kinds_are_the_question_kinds():
    kinds = {k.value for k in Kind}
    assert set(RAW["question"]) == kinds
    assert set(RAW["holds"]) <= kinds


def test_loaded_lists_are_normalised():
    c = cues()
    assert normalize("أشخاص") in {normalize(w) for w in c.generic_counts}
    assert "الف" in c.holds["quantity"]  # ألف with its hamza folded, as the analysis folds text
    assert all(w == normalize(w) for w in c.leaning)
