"""What each relation compares: normalised text, word shingles, and event terms.

Copies share long word sequences, so near-duplicates are judged on word 5-gram shingles. Different
outlets' stories about one event share almost no 5-grams but do share who, where and what: names,
places, organisations, numbers and rare words. Those "event terms" carry the same-event signal.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from functools import lru_cache

from wordfreq import zipf_frequency

_WORD = re.compile(r"\w+")
# Tokens with their case and position: words (with inner apostrophes/hyphens) and numbers.
_TOKEN = re.compile(
    r"[^\W\d_][\w'’-]*[^\W_]|[^\W\d_]|\d[\d,.]*\d(?:st|nd|rd|th|s|m|bn|k)?|\d(?:st|nd|rd|th)?"
)

# A lower-case word this rare in general English is topical enough to identify a story.
_RARE_ZIPF = 3.0


def words(text: str) -> list[str]:
    """Lower-cased word tokens, the unit of shingles and exact-duplicate keys."""
    return _WORD.findall(text.casefold())


def exact_key(text: str) -> str:
    """Same key for texts equal up to case, punctuation and spacing."""
    return words_key(words(text))


def words_key(tokens: list[str]) -> str:
    """`exact_key` of a text already split by `words`."""
    return hashlib.sha256(" ".join(tokens).encode("utf-8", "surrogatepass")).hexdigest()


def shingles(tokens: list[str], size: int) -> set[str]:
    """Word n-grams; a text shorter than n words is one shingle, so it can still match a copy."""
    if len(tokens) < size:
        return {" ".join(tokens)} if tokens else set()
    return {" ".join(tokens[i : i + size]) for i in range(len(tokens) - size + 1)}


@lru_cache(maxsize=200_000)
def zipf(word: str) -> float:
    """General-English frequency (Zipf scale, 0 = unseen, 7+ = "the"): a prior for rarity."""
    return zipf_frequency(word, "en")


_POSSESSIVE = re.compile(r"['’]s?$")
# A capitalised word this common is a title or sentence word ("Secretary", "Foreign"), not a name.
_NAME_MAX_ZIPF = 4.6


def event_terms(text: str, title: str | None = None) -> Counter[str]:
    """Bag of event-identifying terms: names and name phrases, numbers, rare words.

    A capitalised word counts as a name when it is not common English ("Motegi", "Okinawa", not
    "Secretary" or a sentence's first word). Adjacent capitalised words with no punctuation between
    them also count as one phrase when one of them is a name ("nobuo kishi", "north korea"): far
    more specific than either word. Headlines are often Title Case, so the title contributes
    only its rare words and names by the same tests.
    """
    bag: Counter[str] = Counter()
    for source in (text, title or ""):
        run: list[tuple[str, bool]] = []
        last_end = 0
        for match in _TOKEN.finditer(source):
            token = _POSSESSIVE.sub("", match.group(0))
            lower = token.casefold()
            gap = source[last_end : match.start()]
            last_end = match.end()
            if gap.strip():
                run = []
            if len(lower) < 2:
                run = []
                continue
            if token[0].isdigit():
                if len(lower.replace(",", "").replace(".", "")) >= 2:
                    bag["#" + lower] += 1
                run = []
                continue
            if token[0].isupper():
                rare = zipf(lower) < _NAME_MAX_ZIPF
                if rare:
                    bag[lower] += 1
                run.append((lower, rare))
                if len(run) >= 2 and (run[-1][1] or run[-2][1]):
                    bag[run[-2][0] + " " + run[-1][0]] += 1
                continue
            run = []
            if len(lower) >= 4 and zipf(lower) < _RARE_ZIPF:
                bag[lower] += 1
    return bag


def rarity_prior(term: str) -> float:
    """Rarer in general English means more telling; numbers and phrases count as rare."""
    if term.startswith("#") or " " in term:
        return 1.5
    return min(1.5, max(0.25, (7.0 - zipf(term)) / 4.0))


def salient_terms(bag: Counter[str], k: int) -> set[str]:
    """The `k` terms that best identify a story, for its candidate signature.

    Ranked by frequency and general-English rarity only, not by corpus IDF: a name that only this
    document has so far (IDF at its highest) can find no partner, while one it shares with the
    other coverage of its event can. Ties break alphabetically so signatures are deterministic.
    """
    ranked = sorted(bag.items(), key=lambda kv: (-(1.0 + math.log(kv[1])) * rarity_prior(kv[0]), kv[0]))
    return {term for term, _ in ranked[:k]}


def idf(doc_freq: int, n_docs: int) -> float:
    """Corpus IDF that vanishes for a term in every document (it separates nothing)."""
    return math.log((n_docs + 1) / (doc_freq + 0.5))
