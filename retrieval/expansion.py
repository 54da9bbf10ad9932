"""Stage 2 of the answer path: each question term expanded into the corpus forms that stand for it.

The sources, each with its weight in the Policy: the term itself; the same word with a one-letter
clitic or spelled another way (a transliterated name with غ/ج/ق/ك, with or without long vowels, a
broken plural's alef); for a word the corpus never uses, its words one letter away (a typo, another
transliteration); a Latin name written in Arabic letters; near-synonyms from data/synonyms.txt.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

from .arabic import skeleton, transliterate
from .snapshot import Snapshot
from .policy import Policy

__all__ = ["Expansion", "expand"]


@dataclass(frozen=True, slots=True)
class Expansion:
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


def expand(snapshot: Snapshot, question_terms: tuple[str, ...] | list[str], policy: Policy) -> list[Expansion]:
    """Each question term with the corpus forms that count for it, by source: the term itself (1.0),
    its clitic forms and spelling variants (variant_weight), words one letter away when the corpus
    lacks it (typo_weight), its Arabic-letter transliteration when Latin (variant_weight), and its
    near-synonyms (synonym_weight, half credit). A source at weight 0 is switched off."""
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
        groups.append(Expansion(t, forms, max(idf, 1e-6), credit, frozenset(typos), frozenset(own)))
    return groups
