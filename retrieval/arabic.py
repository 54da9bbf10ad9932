"""Arabic text analysis: one function, `analyze`, turns text into index terms.

The same analysis runs on corpus sentences and on questions, so every rule here
(normalisation, stopwords, light stemming) makes a spelling variant in a question
meet its form in the corpus. Words are analysed once each and cached, because a
large corpus repeats the same words millions of times.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import pyarabic.araby as araby

from .sizedcache import SizedCache, sized_cache

__all__ = ["analyze", "normalize", "ARTICLES", "tokens", "words", "Token", "term", "skeleton", "synonyms", "transliterate", "STEMMERS"]

# Zero-width and bidi control characters that web text carries inside words.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                                    "\u2066\u2067\u2068\u2069\u061c\ufeff\u00ad"))
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_LETTERS = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ٲ": "ا", "ٳ": "ا",
                          "ؤ": "و", "ئ": "ي", "ى": "ي", "ة": "ه", "ء": None,
                          "ک": "ك", "ی": "ي", "ڤ": "ف", "پ": "ب", "چ": "ج", "گ": "ك"})

# A token is a run of Arabic letters (with their marks and tatweel), of Latin letters,
# or a number; "8,000" and "٨٬٠٠٠" are one number, "B-52H" is the tokens B, 52, H.
_TOKEN = re.compile(
    r"(?:[0-9٠-٩۰-۹]+(?:[,٬'][0-9٠-٩۰-۹]{3})+(?![0-9٠-٩۰-۹])(?:[.٫][0-9٠-٩۰-۹]+)?"
    r"|[0-9٠-٩۰-۹]+(?:[.٫][0-9٠-٩۰-۹]+)?)"
    r"|(?:[\u0621-\u064a\u0671-\u06d3\u06fa-\u06ff][\u0610-\u061a\u0621-\u065f\u0670-\u06d3\u06fa-\u06ff\u0640"
    r"\u200b-\u200f\u202a-\u202e\u2066-\u2069\u061c\ufeff\u00ad]*)"
    r"|(?:[^\W\d_\u0600-\u06ff]+)"
)
_THOUSANDS = re.compile(r"[,٬']")


@dataclass(frozen=True, slots=True)
class Token:
    """A word as it stands in the text: its characters and where they are."""

    text: str
    start: int
    end: int


def tokens(text: str) -> list[Token]:
    """Split text into words and numbers, keeping their offsets so matches can be highlighted."""
    return [Token(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]


def words(text: str) -> list[str]:
    """The words and numbers of `text`, as `tokens` finds them, without their offsets (cheaper)."""
    return _TOKEN.findall(text)


@sized_cache(32 << 20)
def normalize(word: str) -> str:
    """Fold a word's spelling variants: marks, tatweel, hamza/alef forms, ة→ه, ى→ي, digits, case."""
    word = unicodedata.normalize("NFKC", word).translate(_INVISIBLE)
    word = araby.strip_tatweel(araby.strip_tashkeel(word))
    word = word.translate(_DIGITS).translate(_LETTERS)
    if word[:1].isdigit():
        word = _THOUSANDS.sub("", word).replace("٫", ".")
    return word.lower()


# Light stemmer: clitic prefixes, then common suffixes, never leaving fewer than three letters.
# The rules are Larkey's light10 family plus the adverbial alef, so that كوريا / الكورية and
# جنديا / جندي meet. A bare ب/ك/ل/ف is too often part of the word (بلينكن, كيم, لافروف) to strip
# here; the answer layer matches those forms as discounted variants instead. Figures: README.
# Before a short word of data/clitic_hosts.txt (سعة، مدة، بيان) the letter is the proclitic: were it
# kept, the word would be one letter longer and lose an ending its bare form keeps (بسعة → بسع,
# سعة → سعه), so the clitic form would fold onto another stem than the word itself.
# The article with the proclitics it takes, longest first.
ARTICLES = ("وبال", "وكال", "وفال", "ولل", "فبال", "فال", "بال", "كال", "وال", "لل", "ال")
_SUFFIXES = ("هما", "كما", "تها", "ها", "نا", "ا", "تهم", "هم", "هن", "كم", "ات", "ون", "ين", "ان", "يه", "ته", "ه", "ي")


def _strip_prefix(word: str) -> str:
    for prefix in ARTICLES:
        if word.startswith(prefix) and len(word) - len(prefix) >= 2:
            return word[len(prefix):]
    if word[:1] == "و" and len(word) >= 4 and not word.startswith(_root_waw()):
        return word[1:]
    return word


def _light_stem(word: str) -> str:
    word = _strip_prefix(word)
    if word[:1] in _PROCLITICS and word[1:] in _clitic_hosts():
        word = word[1:]  # بسعة → سعة: the stem of the word itself
    return _strip_suffixes(word)


def _strip_suffixes(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
    return word


def _snowball_stem(word: str) -> str:
    return _snowball().stemWord(word)


@lru_cache(maxsize=1)
def _snowball():
    import Stemmer  # PyStemmer: an evaluation alternative, installed with the test extra only

    return Stemmer.Stemmer("arabic")


STEMMERS = {"light": _light_stem, "snowball": _snowball_stem, "none": lambda w: w}


def _word_list(name: str) -> list[str]:
    text = resources.files("retrieval").joinpath("data", name).read_text(encoding="utf-8")
    words = (line.strip() for line in text.splitlines())
    return [normalize(w) for w in words if w and not w.startswith("#")]


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    return frozenset(_word_list("stopwords.txt"))


_PROCLITICS = "بكلف"


@lru_cache(maxsize=1)
def _clitic_hosts() -> frozenset[str]:
    """Short words a proclitic ب/ك/ل/ف is stripped from (data/clitic_hosts.txt)."""
    return frozenset(_word_list("clitic_hosts.txt"))


@lru_cache(maxsize=1)
def _root_waw() -> tuple[str, ...]:
    return tuple(_word_list("root_waw.txt"))


CACHE_BYTES = 96 << 20  # per cache and stemmer; sized by bytes, since questions can hold long garbage words
_MISSING = object()
_caches = {name: SizedCache(CACHE_BYTES) for name in STEMMERS}  # word -> term, per stemmer
_chunk_caches = {name: SizedCache(CACHE_BYTES) for name in STEMMERS}  # chunk -> terms


def term(word: str, stemmer: str = "light") -> str | None:
    """The index term of one token, or None for a stopword; cached per distinct word."""
    cache = _caches[stemmer]
    t = cache.get(word, _MISSING)
    if t is _MISSING:
        t = cache.put(word, _term(word, stemmer))
    return t


def _term(word: str, stemmer: str) -> str | None:
    norm = normalize(word)
    if not norm or norm in _stopwords():
        return None
    if not norm[0].isalpha() or not ("\u0600" <= norm[0] <= "\u06ff"):
        return norm  # numbers and Latin words are kept as they are (lowercased)
    if _function_word(norm):
        return None
    number = _number(norm)
    if number:
        return number
    stem = STEMMERS[stemmer](norm)
    return stem if len(stem) > 1 else None


def _number(norm: str) -> str | None:
    """The digits a cardinal number word stands for (اثنين → 2, والثلاثة → 3), or None. The word is
    looked up whole first (واحد is not و + احد); a form marked * in the list is a number only
    without the article (الاثنين is Monday)."""
    words, bare_only = _number_words()
    if norm in words:
        return words[norm]
    bare = _strip_prefix(norm)
    if bare not in words or (bare in bare_only and "ال" in norm[:len(norm) - len(bare)]):
        return None
    return words[bare]


@lru_cache(maxsize=1)
def _number_words() -> tuple[dict[str, str], frozenset[str]]:
    """Cardinal number words and their digits, and the forms that are numbers only without the article."""
    words: dict[str, str] = {}
    bare_only: set[str] = set()
    for line in resources.files("retrieval").joinpath("data", "numbers.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            digits, *names = line.split()
            for name in names:
                word = normalize(name.lstrip("*"))
                words[word] = digits
                if name.startswith("*"):
                    bare_only.add(word)
    return words, frozenset(bare_only)


_PRONOUN_SUFFIXES = ("هما", "كما", "ها", "نا", "هم", "هن", "كم", "ه")


def _function_word(norm: str) -> bool:
    """A stopword behind a proclitic or before a pronoun (وهو، عليها، لديهم). Only these affixes:
    a plural or adjective ending can turn a content word into a stopword's letters (الولايات → ولا)."""
    stop = _stopwords()
    bare = _strip_prefix(norm)  # (إليهم loses a false "ال" here: the pronoun is looked for on both)
    return bare in stop or any(w.endswith(s) and _takes_pronoun(w[:-len(s)], stop)
                               for w in (norm, bare) for s in _PRONOUN_SUFFIXES)


_SHORT_HOSTS = frozenset(("من", "عن", "في", "لي", "بي"))  # two-letter words that carry a pronoun (منهم، فيها)


def _takes_pronoun(host: str, stop: frozenset[str]) -> bool:
    """Whether `host` is a function word that a pronoun suffix can follow. Not any two-letter
    stopword: ثمنا is not ثم + نا, nor الإله the article + ه."""
    return host in stop and (len(host) >= 3 or host in _SHORT_HOSTS)


def analyze(text: str, stemmer: str = "light") -> list[str]:
    """Turn text into index terms; used for corpus sentences and questions alike."""
    # The hot loop of indexing: tokens never span white space, so each space-separated chunk
    # ("وقال،" "(AP)" "8,000") is analysed once and its terms are reused from then on.
    cache = _chunk_caches[stemmer]
    out: list[str] = []
    for chunk in text.split():
        terms = cache.get(chunk)
        if terms is None:
            terms = cache.put(chunk, tuple(t for t in map(lambda w: term(w, stemmer), _TOKEN.findall(chunk)) if t))
        out.extend(terms)
    return out


_SKELETON = str.maketrans({"غ": "ك", "ج": "ك", "ق": "ك", "ك": "ك", "ا": None, "و": None, "ي": None,
                           "ه": None, "ث": "س", "ص": "س", "ذ": "ز", "ظ": "ز", "ض": "د", "ط": "ت"})


@sized_cache(16 << 20)
def skeleton(t: str) -> str:
    """A term's consonant skeleton: the letters transliterated names keep across spellings.

    بيونغ/بيونج, جونغ/جونج, سيول/سيئول/سول share a skeleton because foreign names are written
    with غ/ج/ق/ك for the same sound and with or without long vowels.
    """
    if not t or not ("\u0600" <= t[0] <= "\u06ff"):
        return t
    return t.translate(_SKELETON)


@lru_cache(maxsize=8)
def synonyms(analyzer: Callable[[str], list[str]] = analyze) -> dict[str, frozenset[str]]:
    """Each term of data/synonyms.txt (as `analyzer` makes it) and the other terms of its groups:
    the words of news Arabic that say the same thing (اجتماع/لقاء, وعد/تعهد)."""
    text = resources.files("retrieval").joinpath("data", "synonyms.txt").read_text(encoding="utf-8")
    out: dict[str, set[str]] = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            group = {terms[0] for w, terms in ((w, analyzer(w)) for w in line.split())
                     if len(terms) == 1 and (len(terms[0]) >= 3 or terms[0] == normalize(w))}  # not آلاف → اف
            for t in group:
                out.setdefault(t, set()).update(group - {t})
    return {t: frozenset(others) for t, others in out.items() if others}


# Latin letters as Arabic news writes foreign names (Lavrov لافروف, Yonhap يونهاب, TASS تاس):
# digraphs first, a doubled letter once (TASS تاس). Vowels become long vowels, which the
# skeleton drops anyway, so the spelling variants machinery absorbs the rest.
_LATIN_PAIRS = (("sh", "ش"), ("ch", "تش"), ("kh", "خ"), ("gh", "غ"), ("th", "ث"), ("ph", "ف"), ("dh", "ذ"),
                ("zh", "ج"), ("ou", "و"), ("ck", "ك"), ("qu", "كو"))
_LATIN_LETTERS = dict(zip("abcdefghijklmnopqrstuvwxyz", ("ا", "ب", "ك", "د", "ي", "ف", "غ", "ه", "ي", "ج", "ك", "ل",
                                                        "م", "ن", "و", "ب", "ك", "ر", "س", "ت", "و", "ف", "و", "كس", "ي", "ز")))
_DOUBLED = re.compile(r"(.)\1")


def transliterate(word: str) -> str:
    """A Latin word written in Arabic letters, as Arabic news spells foreign names (lavrov → لافروف)."""
    word = _DOUBLED.sub(r"\1", word.lower())
    out, i = [], 0
    while i < len(word):
        pair = next((arabic for latin, arabic in _LATIN_PAIRS if word.startswith(latin, i)), None)
        if pair:
            out.append(pair)
            i += 2
        else:
            out.append(_LATIN_LETTERS.get(word[i], ""))
            i += 1
    return "".join(out)
