"""Text analysis for the embedded search: the same steps the OpenSearch index defines.

Lowercase, ASCII folding (æ -> ae, ø -> o, å -> a), Norwegian and English stop words, and both the
Norwegian and the English Snowball stem of every word, so a query in either language finds a text
in either. Typos: a query word of five letters or more also matches indexed words one edit away
(an insertion, deletion, substitution or transposition), found through a deletion index.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import snowballstemmer

_WORD = re.compile(r"[0-9a-z]+")
_FOLD = str.maketrans({"æ": "ae", "ø": "o", "å": "a", "ä": "a", "ö": "o", "ü": "u", "é": "e", "è": "e"})

# Lucene's _norwegian_ and _english_ stop-word lists.
NORWEGIAN_STOP = frozenset(
    "og i jeg det at en et den til er som på de med han av ikke ikkje der så var meg seg men ett har om vi"
    " min mitt ha hadde hun nå over da ved fra du ut sin dem oss opp man kan hans hvor eller hva skal selv"
    " sjøl her alle vil bli ble blei blitt kunne inn når være kom noen noe ville dere som deres kun ja etter"
    " ned skulle denne for deg si sine sitt mot å meget hvorfor dette disse uten hvordan ingen din ditt"
    " blir samme hvilken hvilke sånn inni mellom vår hver hvem vors hvis både bare enn fordi før mange også"
    " slik vært være båe begge siden dykk dykkar dei deira deires deim di då eg ein eit eitt elles honom hjå"
    " ho hoe henne hennar hennes hoss hossen ikkje ingi inkje korleis korso kva kvar kvarhelst kven kvi"
    " kvifor me medan mi mine mykje no nokon noka nokor noko nokre si sia sidan so somt somme um upp vere"
    " vore verte vort varte vart".translate(_FOLD).split()
)
ENGLISH_STOP = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their then there"  # noqa: SIM905
    " these they this to was will with".split()
)
STOP_WORDS = NORWEGIAN_STOP | ENGLISH_STOP

# A snowball stemmer keeps state while it stems: sharing one between threads (the server's pool,
# the indexing thread) raised errors and, worse, returned wrong stems into the cache. One each.
_stemmers = threading.local()


def _stem(word: str) -> tuple[str, str]:
    if not hasattr(_stemmers, "norwegian"):
        _stemmers.norwegian = snowballstemmer.stemmer("norwegian")
        _stemmers.english = snowballstemmer.stemmer("english")
    return _stemmers.norwegian.stemWord(word), _stemmers.english.stemWord(word)


def fold(text: str) -> str:
    """Lowercase and fold to ASCII the way OpenSearch's lowercase + asciifolding filters do."""
    lowered = text.lower().translate(_FOLD)
    return unicodedata.normalize("NFKD", lowered).encode("ascii", "ignore").decode("ascii")


def words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


@lru_cache(maxsize=65536)
def stems(word: str) -> frozenset[str]:
    """The word's Norwegian and English stems (and the word itself, for codes like icpc or ncsp)."""
    return frozenset({word, *_stem(word)})


def analyze(text: str) -> list[str]:
    """Index terms of ``text``."""
    terms: list[str] = []
    for word in words(text):
        if word in STOP_WORDS:
            continue
        terms.extend(sorted(stems(word)))
    return terms


def deletions(term: str) -> set[str]:
    return {term[:i] + term[i + 1 :] for i in range(len(term))}


def within_one_edit(a: str, b: str) -> bool:
    """Damerau-Levenshtein distance of at most one."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diffs = [i for i in range(la) if a[i] != b[i]]
        if len(diffs) == 1:
            return True
        return (
            len(diffs) == 2
            and diffs[1] == diffs[0] + 1
            and a[diffs[0]] == b[diffs[1]]
            and a[diffs[1]] == b[diffs[0]]
        )
    shorter, longer = (a, b) if la < lb else (b, a)
    return any(longer[:i] + longer[i + 1 :] == shorter for i in range(len(longer)))


MIN_FUZZY_LENGTH = 5


class Vocabulary:
    """The indexed terms, with a deletion index for finding those one edit from a query word."""

    def __init__(self, terms: Iterable[str]) -> None:
        self.terms = frozenset(terms)
        self._by_deletion: dict[str, set[str]] = {}
        for term in self.terms:
            if len(term) >= MIN_FUZZY_LENGTH - 1:
                for key in deletions(term) | {term}:
                    self._by_deletion.setdefault(key, set()).add(term)

    def near(self, word: str) -> set[str]:
        if len(word) < MIN_FUZZY_LENGTH:
            return set()
        candidates: set[str] = set()
        for key in deletions(word) | {word}:
            candidates |= self._by_deletion.get(key, set())
        return {c for c in candidates if within_one_edit(word, c)}


@dataclass(frozen=True)
class QueryTerm:
    """One word of the query and every index term that counts as a match for it."""

    word: str
    forms: frozenset[str]


def query_terms(q: str, vocabulary: Vocabulary | None = None) -> list[QueryTerm]:
    result: list[QueryTerm] = []
    for word in words(q):
        if word in STOP_WORDS:
            continue
        forms = set(stems(word))
        if vocabulary is not None and not (forms & vocabulary.terms):
            for near in vocabulary.near(word):
                forms.add(near)
            for stem in list(stems(word)):
                forms |= vocabulary.near(stem)
        result.append(QueryTerm(word, frozenset(forms)))
    return result
