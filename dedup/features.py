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
from collections.abc import Mapping
from functools import lru_cache

from wordfreq import freq_to_zipf, get_frequency_dict, zipf_frequency

_WORD = re.compile(r"\w+")
# Tokens with their case and position: words (with inner apostrophes/hyphens) and numbers.
_TOKEN = re.compile(
    r"[^\W\d_][\w'’-]*[^\W_]|[^\W\d_]|\d[\d,.]*\d(?:st|nd|rd|th|s|m|bn|k|ST|ND|RD|TH)?|\d(?:st|nd|rd|th|ST|ND|RD|TH)?"
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
    return joined_key(" ".join(tokens))


def joined_key(joined: str) -> str:
    """`words_key` of tokens already joined by single spaces."""
    return hashlib.sha256(joined.encode("utf-8", "surrogatepass")).hexdigest()


def shingles(tokens: list[str], size: int) -> set[str]:
    """Word n-grams; a text shorter than n words is one shingle, so it can still match a copy."""
    if len(tokens) < size:
        return {" ".join(tokens)} if tokens else set()
    return {" ".join(tokens[i : i + size]) for i in range(len(tokens) - size + 1)}


@lru_cache(maxsize=200_000)
def zipf(word: str) -> float:
    """General-English frequency (Zipf scale, 0 = unseen, 7+ = "the"): a prior for rarity.

    A plain lower-case ASCII word is looked up in wordfreq's table directly, with wordfreq's
    own rounding, because `zipf_frequency` tokenises its argument first, which is slow over a
    large corpus's distinct terms. The two agree on every such word (tests/test_dedup_scoring.py
    checks a sample against wordfreq)."""
    if word.isascii() and word.isalpha() and word.islower():
        return _zipf_of_plain_word(word)
    return zipf_frequency(word, "en")


@lru_cache(maxsize=1)
def _english_frequencies() -> dict[str, float]:
    return get_frequency_dict("en", "best")


def _zipf_of_plain_word(word: str) -> float:
    frequency = _english_frequencies().get(word, 0.0)
    if frequency <= 0.0:
        return 0.0
    frequency = round(frequency, math.floor(-math.log(frequency, 10)) + 3)  # wordfreq's 3 digits
    return round(freq_to_zipf(frequency), 2)


_POSSESSIVE = re.compile(r"['’][sS]?$")
# A capitalised word this common is a title or sentence word ("Secretary", "Foreign"), not a name.
_NAME_MAX_ZIPF = 4.6


def event_terms(text: str, title: str | None = None, names: set[str] | None = None) -> Counter[str]:
    """Bag of event-identifying terms: names and name phrases, numbers, rare words.

    A capitalised word counts as a name when it is not common English ("Motegi", "Okinawa", not
    "Secretary" or a sentence's first word). Adjacent capitalised words with no punctuation between
    them also count as one phrase when one of them is a name ("nobuo kishi", "north korea"): far
    more specific than either word. Headlines are often Title Case, so the title contributes
    only its rare words and names by the same tests.

    Every distinct token is judged once (`_token_kind`, cached across documents) and counted as
    often as it occurs; only capitalised tokens are looked at in sequence, for phrases. Judging
    each occurrence in a Python loop cost a millisecond per article, a third of cleaning it.
    `names`, when given, receives the text's (not the title's) single-word names capitalised
    inside a sentence (not only as its first word), collected in the same pass
    (`subject_terms` reads them).
    """
    bag: Counter[str] = Counter()
    for source, found in ((text, names), (title or "", None)):
        parts = _TOKEN_SPLIT.split(source)  # gap, token, gap, token, ..., gap
        tokens = parts[1::2]
        for token, count in Counter(tokens).items():
            term = _bag_term(token)
            if term is not None:
                bag[term] += count
        # Phrases: runs of adjacent names and capitalised words. Only a token that starts with
        # a capital can be either (`_token_kind`), so only those are judged, in text order.
        previous: tuple[str, int] | None = None
        previous_at = -2
        for i in [i for i, token in enumerate(tokens) if token[0].isupper()]:
            lower, kind = _token_kind(tokens[i])
            if kind != _NAME and kind != _CAPITALISED:
                previous = None
                continue
            if found is not None and kind == _NAME and i and not _SENTENCE_END.search(parts[2 * i]):
                found.add(lower)  # capitalised inside a sentence: a name, not a sentence's first word
            # parts[2 * i] is the text between this token and the one before it.
            if (
                previous is not None
                and previous_at == i - 1
                and not parts[2 * i].strip()
                and _NAME in (kind, previous[1])
            ):
                bag[previous[0] + " " + lower] += 1
            previous, previous_at = (lower, kind), i
        if "<" in source:
            for code in _COMPANY_CODE.findall(source):
                bag[code_term(code)] += 1
    return bag


# The gap before a token that starts a sentence (or a line, a heading, a quotation).
_SENTENCE_END = re.compile(r"(?:[.!?:;\"“”‘’'(\[]|\n)\s*$")
_TOKEN_SPLIT = re.compile("(" + _TOKEN.pattern + ")")
_OTHER, _NUMBER, _RARE_WORD, _NAME, _CAPITALISED = range(5)


@lru_cache(maxsize=500_000)
def _bag_term(token: str) -> str | None:
    """The token's term when it counts in the bag on its own (a number, a rare word or a name)."""
    lower, kind = _token_kind(token)
    return lower if kind in (_NUMBER, _RARE_WORD, _NAME) else None


@lru_cache(maxsize=500_000)
def _token_kind(token: str) -> tuple[str, int]:
    """A token's term (lower-cased, possessive dropped; numbers prefixed "#") and its kind: a
    number, a rare word, a name (a capitalised rare word), another capitalised word (which may
    still join a name in a phrase), or nothing."""
    stripped = _POSSESSIVE.sub("", token)
    lower = stripped.casefold()
    if len(lower) < 2:
        return lower, _OTHER
    if stripped[0].isdigit():
        if len(lower.replace(",", "").replace(".", "")) >= 2:
            return "#" + lower, _NUMBER
        return lower, _OTHER
    if stripped[0].isupper():
        return lower, _NAME if zipf(lower) < _NAME_MAX_ZIPF else _CAPITALISED
    if len(lower) >= 4 and zipf(lower) < _RARE_ZIPF:
        return lower, _RARE_WORD
    return lower, _OTHER


@lru_cache(maxsize=200_000)
def rarity_prior(term: str) -> float:
    """Rarer in general English means more telling; numbers, codes and phrases count as rare.
    Cached: each story's terms are ranked by it and then stored with it, twice per term."""
    if term.startswith(("#", "<")) or " " in term:
        return 1.5
    return min(1.5, max(0.25, (7.0 - zipf(term)) / 4.0))


def principal_terms(text: str, title: str | None, bag: Mapping[str, int] | None = None) -> set[str]:
    """A story's principal specifics (who, what, where, when): the single-word event terms
    (names, numbers, rare words) of its title that its text repeats, or all of them when the
    title is in capitals (a wire headline, whose body often names no one). None without a title.

    A Title Case headline capitalises every word, so only the title words the text also has are
    taken from it. Phrases are left out: their words are there, and another outlet writes the
    same name with a middle initial. A story's lead was tried in place of a missing title: each
    outlet leads with its own details, and on events-dev (mostly untitled) it cost 0.03 ARI
    (docs/tuning.md). `bag` is `event_terms(text, title)` when already known."""
    if not title or not title.strip():
        return set()
    bag = event_terms(text, title) if bag is None else bag
    caps = title.isupper()
    return {t for t, n in event_terms(title).items() if " " not in t and (caps or bag.get(t, 0) > n)}


# A code in angle brackets: how wires mark a company, in a headline or at its first mention in
# the text ("<CHL>", "<IBM.N>", "<AT&T>"; the exchange suffix is not part of it). Capitals
# only: lower-case ones ("<noframe>") are markup left in a text.
_COMPANY_CODE = re.compile(r"<([A-Z0-9&]{1,8})(?:\.[A-Z]{1,3})*>")


def code_term(code: str) -> str:
    """The event term of a company code: "<cts>", never the word "cts" (cents), "t" or "else",
    so that only a story that marks the same code carries it."""
    return f"<{code.casefold()}>"


def subject_terms(principal: set[str], title: str | None, body_names: set[str]) -> set[str]:
    """Who or what a story's headline says it is about: its principal specifics that its text
    uses as names (capitalised and not common English: a company, a person, a place), and any
    company code the headline marks in angle brackets. Numbers are the "what", not the who,
    and a count is often revised between reports. The text decides what is a name because a
    headline in capitals, or in Title Case, capitalises every word ("RAISES", "Begin").
    Grouping takes the one rarest in the corpus as the story's subject
    (`EventSpace.pair_disagreements`). `body_names`: `event_terms(text, title, names=...)`."""
    return {t for t in principal if t in body_names} | headline_codes(title)


def headline_codes(title: str | None) -> set[str]:
    """The company codes a headline marks (`code_term`s): whom a wire story is about."""
    if not title or "<" not in title:
        return set()
    return {code_term(code) for code in _COMPANY_CODE.findall(title)}


def rare_subject_terms(subjects: set[str]) -> set[str]:
    """The subject names rare in general English (a code, an unusual name: "hwp", "hefner"):
    names no other account of the same happening would leave out or spell another way, as it
    might "Defence" or "Tokyo" ("Defense", "the Japanese capital")."""
    return {t for t in subjects if t.startswith("<") or zipf(t) < _RARE_ZIPF}


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
