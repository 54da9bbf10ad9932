from retrieval.documents.bidi import to_logical


def visual(logical: str) -> list[str]:
    """How a PDF reader hands over an Arabic line with a number and a Latin name: glyphs left to right."""
    out = list(logical[::-1])
    # the number and the name are drawn left to right, so they come out the right way round
    text = "".join(out).replace("54", "45").replace("melaS demhA", "Ahmed Salem")
    return list(text)


def test_a_reversed_line_comes_back_with_its_number_and_name_in_place():
    logical = "قال المهندس Ahmed Salem إن المحطة تنتج 45 ألف متر"
    assert to_logical(visual(logical)) == logical


def test_a_ligature_glyph_keeps_its_own_order():
    # the lam-alef glyph carries "لا" in logical order: it must not be turned around with the line
    assert to_logical(["ث", "لا", "ث", " ", "ت", "ا"]) == "ات ثلاث"


def test_presentation_forms_become_plain_letters():
    # ﻣﻴﺎﻩ drawn with presentation forms, visual order
    assert to_logical(["\ufeea", "\ufe8e", "\ufef4", "\ufee3"]) == "مياه"


def test_a_latin_line_is_left_alone():
    assert to_logical(list("Annual report 2024")) == "Annual report 2024"


def test_brackets_in_a_right_to_left_line_are_their_twins():
    # the page shows "(…)"; the glyph drawn rightmost is the logical opening bracket, mirrored
    assert to_logical(list("(راكتبا)")) == "(ابتكار)"
