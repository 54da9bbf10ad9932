"""From a question to the sentences worth quoting: retrieval, reranking, the no-answer decision.

1. The question's terms, plus their spelling variants found in the corpus (a transliterated name
   spelled with غ/ج/ق/ك or with/without long vowels; a clitic ب/ك/ل/ف the light stemmer left on),
   and for a word the corpus never uses, its words one letter away (a typo, another transliteration).
2. BM25 (the index) finds candidates; each is scored again by how much of the question it covers
   (idf-weighted share of the question's terms it contains) and, gently, by whether it holds the
   kind of thing the question word asks for (كم → a number, متى → a time...).
3. The corpus "answers" only when the best sentence covers enough of the question, and for كم/متى
   questions holds a number or a time; otherwise the honest reply is "not found", never the least
   bad sentence.
4. Near-duplicates are merged, fragments get their neighbour as context, matched words are marked.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from .arabic import ARTICLES, normalize, skeleton, term, tokens, transliterate, words
from .corpus import Document
from .smalltalk import small_talk
from .snapshot import Snapshot

__all__ = ["DocInfo", "Extract", "Answer", "answer", "question_kind", "Policy"]


@dataclass(frozen=True, slots=True)
class DocInfo:
    """What a citation shows of a document."""

    id: str
    file: str
    title: str
    source: str | None
    date: str | None
    url: str | None

    @classmethod
    def of(cls, doc: Document) -> "DocInfo":
        return cls(doc.id, doc.file, doc.title, doc.source, doc.date, doc.url)


@dataclass(frozen=True, slots=True)
class Extract:
    """One quoted sentence with its citation and the spans of the question's words in it."""

    rank: int
    score: float
    position: int
    text: str
    spans: tuple[tuple[int, int], ...]
    doc: DocInfo
    paragraph: int
    sentence: int
    before: str | None = None
    after: str | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """What Sanad replies: extracts when the corpus answers, suggestions when it does not."""

    question: str
    answered: bool
    confidence: str  # "high" | "medium" | "low" | "none"
    extracts: tuple[Extract, ...]
    more: bool
    suggestions: tuple[str, ...] = ()
    reason: str = ""  # why it is not answered, when known: "empty", "small_talk"


@dataclass(frozen=True, slots=True)
class Policy:
    """The answer layer's few parameters, in one place (values chosen on the whole development set)."""

    candidates: int = 60  # BM25 candidates reranked
    variant_weight: float = 0.5  # a spelling variant counts this much of the word itself (0: no variants)
    typo_weight: float = 0.5  # a corpus word one letter away from a question word the corpus lacks (0: off)
    synonym_weight: float = 0.3  # a near-synonym from data/synonyms.txt, or one of its verb forms (0: off)
    coverage_weight: float = 1.0  # how much question coverage multiplies the BM25 score (0: plain BM25 order)
    kind_bonus: float = 0.3  # gentle lift for a sentence holding what the question word asks for (0: off)
    answer_coverage: float = 0.3  # the best sentence must cover this share of the question...
    extract_coverage: float = 0.2  # further extracts must cover at least this share
    guess_coverage: float = 0.5  # ...and this share when none of its words is spelled as the question spells it
    duplicate_jaccard: float = 0.8  # sentences sharing this share of terms are one extract
    kind_required: bool = True  # decline a number or time question when no matching sentence holds one


DEFAULT_POLICY = Policy()

# ------------------------------------------------------------------ question kinds

_KIND_WORDS = {  # standard Arabic, the colloquial forms users type, English
    "quantity": ("كم", "قديش", "how many", "how much"),
    "time": ("متى", "امتى", "اي تاريخ", "اي يوم", "اي عام", "اي سنه", "اي شهر", "when"),
    "place": ("اين", "وين", "فين", "where"),
    "person": ("من هو", "من هي", "من هم", "مين", "who"),
    "reason": ("لماذا", "لم", "ليش", "ليه", "why"),
}
# Words that say "how many" without being a cardinal (cardinals fold to digits in the analysis,
# from data/numbers.txt, so a sentence's terms already show them).
_NUMBER_WORDS = {normalize(w) for w in (
    "ألف", "آلاف", "ألفا", "مليون", "ملايين", "مليار", "مئات", "عشرات", "ست", "سبع", "نحو", "حوالي", "أكثر",
    "بضع", "بضعة", "عدة", "العديد", "أيام", "أسابيع", "أشهر", "شهور", "سنوات", "ساعات", "دقائق", "يومين",
    "أسبوعين", "مرتين", "مرات")}
_TIME_WORDS = {normalize(w) for w in (
    "يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو", "يوليو", "أغسطس", "سبتمبر", "أكتوبر", "نوفمبر", "ديسمبر",
    "السبت", "الأحد", "الاثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "أمس", "اليوم", "غدا", "الشهر",
    "الأسبوع", "العام", "السنة", "الماضي", "الماضية", "المقبل", "عندما", "بعد", "قبل", "خلال", "منذ", "عام",
    "سنوات", "السنوات", "أعوام", "الأعوام", "الأخيرة", "مؤخرا", "حاليا", "آنذاك", "صباح", "مساء", "ليلة",
    "قريبا", "لاحقا", "سابقا", "الآن", "فورا", "حينها", "وقت")}
_PLACE_WORDS = {normalize(w) for w in ("مدينة", "منطقة", "في", "شرق", "غرب", "شمال", "جنوب", "قرب", "بالقرب", "عاصمة")}
_REASON_WORDS = {normalize(w) for w in ("بسبب", "لأن", "لان", "نتيجة", "أجل", "بهدف", "لدعم", "مقابل", "ردا", "لتعزيز")}
# A person is named after a title (وزير الدفاع لويد أوستن, نظيرته تشوي) or a reporting verb (قال لافروف):
# past the title's own complements (الدفاع، الكوري، الشمالي), the next word that is neither one with
# the article nor a function word is a name. Arabic writes no capitals; this is the cue it gives.
_TITLES = ("وزير", "وزيرة", "رئيس", "رئيسة", "زعيم", "زعيمة", "نظير", "نظيره", "نظيرته", "نظيرها", "متحدث",
           "متحدثة", "سفير", "سفيرة", "قائد", "مدير", "مديرة", "أمين", "مبعوث", "ملك", "أمير", "مستشار", "نائب",
           "عضو", "محلل", "باحث", "مراسل")
_REPORTING = ("قال", "قالت", "أكد", "ذكر", "صرح", "أضاف", "أوضح", "أعلن")
# The words after which a name may come: a title bare, with و, or with the article; a reporting verb, bare or with و.
_PERSON_CUES = frozenset(normalize(p + w) for w in _TITLES for p in ("", "و", *ARTICLES)) | frozenset(
    normalize(p + w) for w in _REPORTING for p in ("", "و"))
_CHECKABLE_KINDS = ("quantity", "time")  # kinds a sentence can be checked for without understanding it
_YEAR = re.compile(r"\b(19|20)\d\d\b")


def question_kind(question: str) -> str | None:
    """What the question word asks for: quantity, time, place, person, reason, or None."""
    plain = [normalize(w) for w in words(question)]
    text = " ".join(plain)
    for kind, cues in _KIND_WORDS.items():
        for cue in cues:
            if (" " in cue and f" {normalize(cue)} " in f" {text} ") or normalize(cue) in plain[:3]:
                return kind
    return None


_COUNT_WORDS = {normalize(w) for w in ("كم", "قديش")}
_NUMBER_OF = normalize("عدد")
# Counters that name no thing (كم مرة "how many times", كم شخصا): the answer counts tests, soldiers...
_GENERIC_COUNTS = ("مرة", "مرات", "شخص", "أشخاص")
_AMOUNTS_TO = {normalize(w) for w in ("بلغ", "بلغت", "يبلغ", "تبلغ")}  # كم يبلغ …: "how much does … amount to"


def counted_noun(question: str, analyze: Callable[[str], list[str]]) -> str | None:
    """The term of what a كم question counts, where Arabic grammar marks it: the noun after عدد
    (كم عدد السياح → سياح), the singular accusative right after كم (كم جنديا، كم دولة), or the
    subject of "amounts to" (كم تبلغ تكلفة البناء → تكلفة). None for other questions and when another
    verb follows كم (كم تدوم الزيارة): then the noun cannot be told."""
    written = words(question)
    plain = [normalize(w) for w in written]
    start = next((i + 1 for i, w in enumerate(plain) if w in _COUNT_WORDS), None)
    if start is None:
        return None
    amounts = start < len(plain) and plain[start] in _AMOUNTS_TO
    start += amounts
    if _NUMBER_OF in plain[start:start + 3]:
        noun = written[plain.index(_NUMBER_OF, start) + 1:][:1]
    elif amounts:
        noun = written[start:start + 1]
    else:  # an accusative ends in ا or ة; a plural verb in وا (كم أنفقوا) does not count a noun
        after = plain[start] if start < len(plain) else ""
        noun = written[start:start + 1] if after[-1:] in ("ا", "ه") and not after.endswith("وا") else []
    terms = analyze(noun[0]) if noun else []
    generic = {t for w in _GENERIC_COUNTS for t in analyze(w)}
    return terms[0] if terms and terms[0] not in generic else None


def _holds(kind: str | None, sentence: str, terms: set[str]) -> bool:
    """Whether a sentence (with its index terms) contains the kind of thing the question asks for."""
    if kind is None:
        return False
    if kind == "quantity" and any(t[:1].isdigit() for t in terms):  # digits, and number words (الدول الثلاث)
        return True
    plain = [normalize(w) for w in words(sentence)]
    if kind == "person":
        return _names_a_person(plain)
    found = set(plain)
    if kind == "quantity":
        return bool(found & _NUMBER_WORDS)
    if kind == "time":
        return bool(_YEAR.search(sentence)) or bool(found & _TIME_WORDS)
    if kind == "place":
        return bool(found & _PLACE_WORDS)
    if kind == "reason":
        return bool(found & _REASON_WORDS)
    return False


def _names_a_person(plain: list[str]) -> bool:
    """Whether normalised words name a person after a title or a reporting verb (see _TITLES)."""
    for i, w in enumerate(plain):
        if w in _PERSON_CUES:
            for after in plain[i + 1:i + 5]:
                t = term(after) if "\u0600" <= after[:1] <= "\u06ff" else None
                if t is None or t[0].isdigit():  # Latin, a digit, a function word, a number word (قال ثلاثة)
                    break
                if not after.startswith(ARTICLES):
                    return True  # past the title's complements: وزير الدفاع الأمريكي لويد ...
    return False


# ------------------------------------------------------------------ the question's terms

@dataclass(frozen=True, slots=True)
class _Group:
    """A question term with the corpus spellings that count for it, and its weight in coverage."""

    term: str
    forms: dict[str, float]  # corpus term -> weight (1.0 for the term itself)
    idf: float
    credit: dict[str, float] = field(default_factory=dict)  # form -> share of the term's coverage (default 1)
    typos: frozenset[str] = frozenset()  # forms only one letter away: not the word, so never what a كم question counts
    own: frozenset[str] = frozenset()  # forms spelled as the question spells the word (itself, with or without a clitic)

    def covered(self, sentence_terms: set[str]) -> float:
        """How much of this question term a sentence holding `sentence_terms` covers (0 to 1)."""
        return max((self.credit.get(f, 1.0) for f in sentence_terms & self.forms.keys()), default=0.0)


def _edit_distance_at_most(a: str, b: str, limit: int) -> bool:
    if abs(len(a) - len(b)) > limit:
        return False
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
        if min(cur) > limit:
            return False
        prev = cur
    return prev[-1] <= limit


def _spelling_variant(v: str, t: str) -> bool:
    """Two terms with the same skeleton that are close enough to be one word spelled two ways:
    the same first letter within a small edit distance (بيونغ/بيونج, سيول/سول), or an initial alef
    that one of them adds, as broken plurals of the form أفعال/أفعلة do (يوم/أيام, سلاح/أسلحة):
    then the rest keeps the other's first and last letters (not سماء/اسم, not آسيا/سو)."""
    if min(len(v), len(t)) < 3:
        return False
    if v[0] == t[0]:
        limit = 2 if len(t) >= 5 else 1
        # cheap tests first: a skeleton group can be large, the edit distance is not free
        return abs(len(v) - len(t)) <= limit and _edit_distance_at_most(v, t, limit)
    if "ا" not in (v[0], t[0]):
        return False
    plural, single = (v, t) if v[0] == "ا" else (t, v)
    rest = plural[1:]
    return rest[0] == single[0] and rest[-1] == single[-1] and _edit_distance_at_most(rest, single, 1)


def _clitic_forms(t: str) -> list[str]:
    """The same word with a one-letter proclitic removed or added (بلينكن/لبلينكن, لروسيا/روسيا)."""
    forms = [c + t for c in "وفبكل"]
    if t[:1] in "وفبكل" and len(t) >= 4:
        forms.append(t[1:])
    return forms


_VERB_SUFFIXES = ("تما", "تم", "تن", "نا", "ت", "و", "ن", "ا")  # past-tense persons the light stemmer keeps (وا is و)
_IMPERFECT = "يتنا"  # the prefixes of the present tense: يطلق، تطلق، نطلق، أطلق


@lru_cache(maxsize=1 << 14)
def _inflected_forms(t: str) -> frozenset[str]:
    """The same verb in another person or tense, and its verbal noun, as the light stemmer leaves
    them: أطلقت / أطلق / يطلق / إطلاق, وقّعتها / توقيع, اجتمعوا / اجتماع, شاركت / مشاركة. Regular
    patterns only. Used to reach synonyms (ترد → رد → استجاب → تستجيب); matching a question word's
    own other forms did not pay on the held-out sets (README)."""
    stems = {t} | {t[:-len(s)] for s in _VERB_SUFFIXES if t.endswith(s) and len(t) - len(s) >= 3}
    for b in list(stems):  # from a verbal noun back to its verb
        if len(b) >= 5 and b[-2] == "ا":
            stems.add(b[:-2] + b[-1])  # إطلاق → أطلق، استخدام → استخدم
        if len(b) == 5 and b[0] == "ت" and b[3] == "ي":
            stems.add(b[1:3] + b[4])  # توقيع → وقّع
        if len(b) >= 5 and b[0] == "م" and b[2] == "ا":
            stems.add(b[1:])  # مشاركة → شارك
    for b in list(stems):  # from the present tense back to the past (ترد → رد)
        if b[0] in _IMPERFECT and len(b) >= (4 if b[0] == "ا" else 3):  # not أمس، ألف: ا + two letters is a word
            stems |= {b[1:], "ا" + b[1:]}  # يطلق → طلق، and the أفعل verb أطلق
    out = set()
    for b in stems:
        out |= {b, b + "ت", b + "و", "ي" + b, "ت" + b, "ن" + b}
        if b[0] == "ا" and len(b) >= 4:
            out |= {"ي" + b[1:], "ت" + b[1:]}  # أفعل, افتعل, استفعل in the present: يطلق، يستخدم
        out.add(b[:-1] + "ا" + b[-1])  # verbal noun: أطلق/إطلاق، اجتمع/اجتماع، استخدم/استخدام
        if len(b) == 3:
            out.add("ت" + b[:2] + "ي" + b[2])  # فعّل/تفعيل: وقّع/توقيع
        if len(b) >= 4 and b[1] == "ا":
            out.add("م" + b)  # فاعل/مفاعلة: شارك/مشاركة
    out.discard(t)
    return frozenset(out)


def _synonym_forms(snapshot: Snapshot, t: str) -> set[str]:
    """The near-synonyms of a question word and their verb forms: ترد finds رد, whose group holds
    استجاب, which the sentence has as تستجيب."""
    own = {t, *_inflected_forms(t)} if len(t) >= 3 else {t}
    out = set()
    for s in {s for form in own for s in snapshot.synonyms.get(form, ())}:
        out |= {s, *_inflected_forms(s)} if len(s) >= 3 else {s}
    return out - own


# A form reached through a synonym is a guess: it covers half of its question word.
_GUESS_CREDIT = 0.5

_LETTERS = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"  # the letters a normalised Arabic term is made of
_LONGEST_WORD = 15  # longer "words" are not typos but junk, and their edits cost quadratic time


def _one_edit(t: str) -> set[str]:
    """Every string one letter away from `t`: a letter deleted, added, replaced, or two swapped."""
    splits = [(t[:i], t[i:]) for i in range(len(t) + 1)]
    return ({a + b[1:] for a, b in splits if b}
            | {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
            | {a + c + b[1:] for a, b in splits if b for c in _LETTERS}
            | {a + c + b for a, b in splits for c in _LETTERS})


def _variants(snapshot: Snapshot, t: str) -> set[str]:
    """`t` and the corpus terms that are spelling variants of it."""
    return {t} | {v for v in snapshot.variants.get(skeleton(t), ()) if _spelling_variant(v, t)}


def _groups(snapshot: Snapshot, question_terms: list[str], policy: Policy) -> list[_Group]:
    stats = snapshot.index.term_stats
    unseen_idf = math.log((len(snapshot) + 0.5) / 0.5) if len(snapshot) else 1.0
    groups = []
    for t in dict.fromkeys(question_terms):
        forms: dict[str, float] = {}
        credit: dict[str, float] = {}
        typos: set[str] = set()
        own: set[str] = set()
        if stats.df(t):
            forms[t] = 1.0
            own.add(t)
        weight = policy.variant_weight
        arabic = "\u0600" <= t[0] <= "\u06ff"
        if weight and arabic and len(t) >= 3:
            for v in _variants(snapshot, t) - {t}:
                forms.setdefault(v, weight)
            own |= {v for v in _clitic_forms(t) if stats.df(v)}
            for v in own - {t}:
                forms.setdefault(v, weight)
        if policy.typo_weight and arabic and 4 <= len(t) <= _LONGEST_WORD and not forms:
            # A word the corpus never uses is most likely mistyped or transliterated otherwise
            # (لاقروف for لافروف, كاميكاوو): the corpus's words one letter away stand in for it.
            typos = {v for v in _one_edit(t) if stats.df(v)}
            for v in typos:
                forms[v] = credit[v] = policy.typo_weight
        if weight and not forms and t.isascii() and t.isalpha() and len(t) >= 3:
            # A Latin name the corpus writes in Arabic letters (Lavrov, Yonhap, Dan Caine): its
            # transliteration, and that word's spelling variants, are the same name.
            [written, *rest] = snapshot.index.analyzer(transliterate(t)) or [""]
            if written and not rest:
                forms.update((v, weight) for v in _variants(snapshot, written) if stats.df(v))
        if policy.synonym_weight and arabic:
            for v in _synonym_forms(snapshot, t):
                if stats.df(v) and v not in forms:
                    forms[v] = policy.synonym_weight
                    credit[v] = _GUESS_CREDIT
        # The word weighs as its rarest form in the corpus, synonyms included (measured: +2 hit@1 over
        # the held-out sets against the word's own spellings only).
        idf = max((stats.idf(f) for f in forms), default=unseen_idf)
        groups.append(_Group(t, forms, max(idf, 1e-6), credit, frozenset(typos), frozenset(own)))
    return groups


# ------------------------------------------------------------------ answering

@dataclass(slots=True)
class _Candidate:
    position: int
    coverage: float
    terms: set[str]
    holds: bool  # holds the kind of thing the question word asks for
    score: float = 0.0


def _fragment(text: str) -> bool:
    """A sentence that leans on the one before it: it opens with a connective or a pronoun, or is very short."""
    found = words(text)
    return len(found) < 6 or normalize(found[0]) in _LEANING


_LEANING = {normalize(w) for w in (
    "وأضاف", "وأضافت", "أضاف", "أضافت", "وتابع", "وتابعت", "وأشار", "وأشارت", "وقال", "وقالت", "كما", "لكن",
    "لكنه", "لكنها", "ولكن", "هو", "هي", "هم", "وهو", "وهي", "وهم", "هذا", "وهذا", "هذه", "وهذه", "ذلك", "وذلك",
    "وكان", "وكانت", "إنه", "إنها", "وأكد", "وأكدت", "ومع", "غير", "بيد")}


def answer(snapshot: Snapshot, question: str, *, top: int = 3, offset: int = 0,
           policy: Policy = DEFAULT_POLICY) -> Answer:
    """Answer a question from the snapshot: a page of extracts, or an honest "not found"."""
    question = question.strip()
    if not words(question) or small_talk(question) is not None:  # a greeting or thanks: no quotes
        reason = "small_talk" if words(question) else "empty"
        return Answer(question, False, "none", (), False, _suggestions(snapshot, []), reason)
    analyze = snapshot.index.analyzer
    groups = _groups(snapshot, analyze(question), policy)
    if not groups or not any(g.forms for g in groups):
        return Answer(question, False, "none", (), False, _suggestions(snapshot, []))
    weights: dict[str, float] = {}
    for g in groups:
        for form, w in g.forms.items():
            weights[form] = max(weights.get(form, 0.0), w)
    hits = snapshot.index.search_terms(weights, k=max(policy.candidates, (offset + top) * 4))
    total_idf = sum(g.idf for g in groups)
    kind = question_kind(question)
    candidates = []
    required = policy.kind_required and kind in _CHECKABLE_KINDS
    # "كم جنديا" asks for a number of soldiers: a number beside no soldiers does not answer it.
    counted = counted_noun(question, analyze) if required and kind == "quantity" else None
    counted_group = next((g for g in groups if g.term == counted), None)
    counted_forms = counted_group.forms.keys() - counted_group.typos if counted_group else set()
    for hit in hits:
        text = snapshot.text(hit.position)
        sentence_terms = set(analyze(text))
        coverage = sum(g.idf * g.covered(sentence_terms) for g in groups) / total_idf
        holds = _holds(kind, text, sentence_terms) and (counted_group is None or bool(sentence_terms & counted_forms))
        c = _Candidate(hit.position, coverage, sentence_terms, holds)
        c.score = hit.score * (1 + policy.coverage_weight * coverage) * (1 + policy.kind_bonus * holds)
        candidates.append(c)
    candidates.sort(key=lambda c: (-c.score, c.position))
    # The answer is the best sentence covering enough of the question; "كم" asks for a number and
    # "متى" for a time, so for those a sentence holding none cannot be it, however many words it shares.
    # A sentence met only through guessed spellings (variants, typos), holding none of the question's
    # words as the question spells them, is weak evidence: it must cover more of the question.
    own = set().union(*(g.own for g in groups))
    fit = [c for c in candidates if c.coverage >= policy.extract_coverage and (c.holds or not required)
           and (c.terms & own or c.coverage >= policy.guess_coverage)]
    if not any(c.coverage >= policy.answer_coverage for c in fit):
        return Answer(question, False, "none", (), False, _suggestions(snapshot, candidates))
    lead = fit[0]
    rest = [c for c in candidates if c is not lead and c.coverage >= policy.extract_coverage]
    chosen = _distinct([lead, *rest], policy, offset + top + 1)
    page = chosen[offset:offset + top]
    forms = {f for g in groups for f in g.forms}
    extracts = tuple(_extract(snapshot, c, offset + i + 1, forms) for i, c in enumerate(page))
    confidence = "high" if lead.coverage >= 0.85 else "medium" if lead.coverage >= 0.65 else "low"
    return Answer(question, True, confidence, extracts, len(chosen) > offset + top)


def _distinct(candidates: list[_Candidate], policy: Policy, limit: int) -> list[_Candidate]:
    """The first `limit` sentences that do not repeat one already chosen (same or nearly the same terms)."""
    chosen: list[_Candidate] = []
    for c in candidates:
        if len(chosen) == limit:
            break
        if any(len(c.terms & o.terms) / max(1, len(c.terms | o.terms)) >= policy.duplicate_jaccard for o in chosen):
            continue
        chosen.append(c)
    return chosen


def _extract(snapshot: Snapshot, c: _Candidate, rank: int, forms: set[str]) -> Extract:
    loc = snapshot.locate(c.position)
    text = loc.text
    before = after = None
    if _fragment(text):
        prev = snapshot.neighbour(c.position, -1)
        before = snapshot.text(prev) if prev is not None else None
    if text.rstrip().endswith(":"):
        nxt = snapshot.neighbour(c.position, +1)
        after = snapshot.text(nxt) if nxt is not None else None
    d = loc.doc
    return Extract(rank, round(c.score, 6), c.position, text, highlight(text, forms, snapshot.index.analyzer),
                   DocInfo.of(d), loc.paragraph, loc.sentence, before, after)


def highlight(text: str, forms: set[str], analyze: Callable[[str], list[str]]) -> tuple[tuple[int, int], ...]:
    """Spans of the words in `text` whose index term is one of `forms`."""
    return tuple((t.start, t.end) for t in tokens(text) if forms.intersection(analyze(t.text)))


def _suggestions(snapshot: Snapshot, candidates: list[_Candidate], limit: int = 3) -> tuple[str, ...]:
    """Titles of the documents closest to the question, else the corpus's first documents."""
    titles: list[str] = []
    for c in candidates:
        title = snapshot.locate(c.position).doc.title
        if title not in titles:
            titles.append(title)
        if len(titles) == limit:
            break
    for d in snapshot.documents:
        if len(titles) >= limit:
            break
        if d.title not in titles:
            titles.append(d.title)
    return tuple(titles)
