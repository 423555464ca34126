"""Shared helpers for the cleaning benchmarks: the AEB loaders, the article-text metric, line diffs
and artifact detectors.

Why a module of its own: the metric has to be *the* published one (scrapinghub's
article-extraction-benchmark, "AEB") or our numbers cannot be set beside trafilatura's,
readability's and resiliparse's published figures; every benchmark script must therefore share one
implementation instead of re-deriving it. The detectors live here too so that the cleaner's author
can import them in a notebook and see exactly what the benchmark counts.

Metric (reproduces the published AEB figures, see `evaluate`):
    tokens are `\\w+` runs, case kept (the published evaluator does not fold case; folding changes
    the results by at most 0.0001 on the reference outputs);
    each text becomes the multiset of its word 4-grams (a text of 1-3 tokens is one shorter
    "gram", an empty text has none);
    per document: tp = |pred ∩ true| (multiset), precision = tp / |pred|, recall = tp / |true|;
    edge cases as in the published evaluator: prediction and truth both empty (or identical down
    to the grams) -> P = R = 1; any other document with tp = 0, including an empty prediction of a
    non-empty truth -> P = R = 0 (an empty output is a failure, not a "perfectly precise" one, so
    a cleaner cannot buy precision by deleting a whole document); a truth that is empty while the
    prediction is not -> P = R = 0 (the AEB truth has no empty bodies, so this never fires there);
    P and R are averaged over documents; F1 is the harmonic mean of the two averages.

The shared data is *not* part of the repository (see /work/shared/README.md); it is read from
`<repo>/../shared` and never copied.
"""

from __future__ import annotations

import gzip
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from common import AEB_DIR, AEB_TRUTH

# --------------------------------------------------------------------------------------------
# The AEB data (its location and the "not found" exit: common.py)
# --------------------------------------------------------------------------------------------

DIRTY_INPUTS = ("resiliparse", "readability", "html-text")


def load_truth() -> dict[str, str]:
    """The true article body of each AEB page, by page id."""
    raw = json.loads(AEB_TRUTH.read_text(encoding="utf-8"))
    return {key: (value.get("articleBody") or "") for key, value in raw.items()}


def load_urls() -> dict[str, str]:
    """The URL of each AEB page (extractors may use it to pick site rules)."""
    raw = json.loads(AEB_TRUTH.read_text(encoding="utf-8"))
    return {key: (value.get("url") or "") for key, value in raw.items()}


def load_dirty(name: str) -> dict[str, str]:
    """What one common extractor produced from the pages: the text cleaner's input."""
    path = AEB_DIR / "dirty-text" / f"{name}.json"
    return {k: v or "" for k, v in json.loads(path.read_text(encoding="utf-8")).items()}


def load_pages(ids: Iterable[str]) -> dict[str, bytes]:
    """The raw (gunzipped) HTML bytes of each page, undecoded."""
    return {key: gzip.decompress((AEB_DIR / "html" / f"{key}.html.gz").read_bytes()) for key in ids}


def bench_decode(data: bytes) -> str:
    """Bytes to str for the reference extractors, independent of newsclean's own decoder.

    All 181 AEB pages are valid UTF-8; the charset-normalizer fallback only keeps the benchmark
    from crashing should the data ever change.
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        from charset_normalizer import from_bytes

        best = from_bytes(data).best()
        return str(best) if best is not None else data.decode("utf-8", errors="replace")


# --------------------------------------------------------------------------------------------
# The metric
# --------------------------------------------------------------------------------------------

TOKEN_RE = re.compile(r"\w+")
NGRAM = 4


def tokens(text: str) -> list[str]:
    """`\\w+` runs, case kept: the published evaluator's tokenisation."""
    return TOKEN_RE.findall(text or "")


def shingles(text: str, n: int = NGRAM) -> Counter[tuple[str, ...]]:
    """Multiset of word n-grams; a text shorter than n tokens is one shorter gram."""
    toks = tokens(text)
    if not toks:
        return Counter()
    if len(toks) < n:
        return Counter([tuple(toks)])
    return Counter(tuple(toks[i : i + n]) for i in range(len(toks) - n + 1))


@dataclass(frozen=True, slots=True)
class DocScore:
    """Precision and recall of one document."""

    precision: float
    recall: float

    @property
    def f1(self) -> float:
        """Per-document F1, only used to rank documents for `--failures`."""
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def doc_score(pred: str, truth: str) -> DocScore:
    """Score one document with the AEB rules (see the module docstring for the edge cases)."""
    pred_sh = shingles(pred)
    true_sh = shingles(truth)
    tp = sum((pred_sh & true_sh).values())
    fp = sum(pred_sh.values()) - tp
    fn = sum(true_sh.values()) - tp
    if fp == 0 and fn == 0:
        return DocScore(1.0, 1.0)
    if tp == 0:
        return DocScore(0.0, 0.0)
    return DocScore(tp / (tp + fp), tp / (tp + fn))


@dataclass(frozen=True, slots=True)
class Score:
    """Averaged precision and recall over documents and the F1 of those averages."""

    precision: float
    recall: float
    n: int
    per_doc: dict[str, DocScore] = field(default_factory=dict, compare=False, repr=False)

    @property
    def f1(self) -> float:
        """F1 of the averaged P and R (not the average of per-document F1s), as published."""
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def evaluate(preds: Mapping[str, str], truths: Mapping[str, str]) -> Score:
    """Score predictions against truths; a document with no prediction counts as empty output."""
    per_doc = {key: doc_score(preds.get(key, "") or "", truth) for key, truth in truths.items()}
    n = len(per_doc) or 1
    return Score(
        precision=sum(s.precision for s in per_doc.values()) / n,
        recall=sum(s.recall for s in per_doc.values()) / n,
        n=len(per_doc),
        per_doc=per_doc,
    )


def norm_ws(text: str) -> str:
    """NFC, then every whitespace run as one space, trimmed: the encoding cases' comparison."""
    return " ".join(unicodedata.normalize("NFC", text).split())


# --------------------------------------------------------------------------------------------
# Line diffs (for --failures)
# --------------------------------------------------------------------------------------------


class _TokenIndex:
    """One text's 4-grams and token string, to ask quickly how much of a line it contains."""

    def __init__(self, text: str) -> None:
        toks = tokens(text)
        self.grams = {tuple(toks[i : i + NGRAM]) for i in range(len(toks) - NGRAM + 1)}
        self.joined = " " + " ".join(toks) + " "

    def coverage(self, line: str) -> float:
        """Share of the line's 4-grams found in this text (short lines: found as a run or not)."""
        toks = tokens(line)
        if not toks:
            return 1.0
        if len(toks) < NGRAM:
            return 1.0 if f" {' '.join(toks)} " in self.joined else 0.0
        grams = [tuple(toks[i : i + NGRAM]) for i in range(len(toks) - NGRAM + 1)]
        return sum(g in self.grams for g in grams) / len(grams)


def _lines(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def extra_lines(pred: str, truth: str, threshold: float = 0.5) -> list[str]:
    """Lines of the prediction mostly absent from the truth: what a cleaner should remove."""
    index = _TokenIndex(truth)
    return [line for line in _lines(pred) if index.coverage(line) < threshold]


def missing_lines(pred: str, truth: str, threshold: float = 0.5) -> list[str]:
    """Lines of the truth mostly absent from the prediction: what a cleaner removed wrongly."""
    index = _TokenIndex(pred)
    return [line for line in _lines(truth) if index.coverage(line) < threshold]


# --------------------------------------------------------------------------------------------
# Artifact detectors
# --------------------------------------------------------------------------------------------
# Each detector looks at one line at a time (leading bullets stripped, whitespace collapsed) and
# is meant to be *precise*: a hit should almost always be page furniture, never prose. Most are
# anchored at the start of the line and limited to short lines. A page counts for a kind when the
# output has a hit whose text is not also a hit in the truth (compared on lower-cased tokens), so
# an article that really contains "Read more: ..." is not held against the extractor.

_BULLET_RE = re.compile(r"^[\s•·◦▪►▶»‣⁃*+\-–—|]+")
_I = re.IGNORECASE
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DATE = (
    rf"(?:{_MONTH}\s*\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}|\d{{1,2}}(?:st|nd|rd|th)?\.?\s+"
    r"[^\W\d_]{3,10}\.?,?\s+(?:19|20)\d\d|[^\W\d_]{3,10}\.?\s+\d{1,2},\s+(?:19|20)\d\d|"
    r"(?:19|20)\d\d-\d\d-\d\d|\d{1,2}/\d{1,2}/\d{2,4}|\d{1,2}\s+" + _MONTH + r"(?:\s+\d{4})?)"
)
_TIME = r"\d{1,2}[:.]\d{2}(?:\s*[ap]\.?\s?m\.?)?"
_AGENCY = (
    r"(?:getty(?: images)?|shutterstock|istock(?:photo)?|ap(?: photo)?|associated press|reuters|"
    r"afp|epa(?:-efe)?|bloomberg|xinhua|dpa|pa wire|pa images|alamy|the new york times|"
    r"the washington post|nasa|wikimedia commons|unsplash|pexels|file photo|handout)"
)


def _rx(*patterns: str) -> list[re.Pattern[str]]:
    """Case-insensitive, except that an explicit `[A-Z]` still means a capital letter."""
    return [re.compile(p.replace("[A-Z]", "(?-i:[A-Z])"), _I) for p in patterns]


@dataclass(frozen=True, slots=True)
class Detector:
    """One artifact kind: regexes tried on a line, and the longest line (words) they may match."""

    kind: str
    description: str
    patterns: list[re.Pattern[str]]
    max_words: int = 20
    extra: bool = False  # a kind beyond the list, reported for the cleaner's author
    predicate: Callable[[str], bool] | None = None

    def matches(self, line: str) -> bool:
        """Does this (normalised) line look like this kind of artifact?"""
        if len(line.split()) > self.max_words:
            return False
        if self.predicate is not None and self.predicate(line):
            return True
        return any(p.search(line) for p in self.patterns)


def _is_dateline(line: str) -> bool:
    """A line that is only a date/time (plus 'Updated', weekday, zone): a dateline."""
    if not re.search(_DATE, line, _I):
        return False
    rest = re.sub(_DATE, " ", line, flags=_I)
    rest = re.sub(_TIME, " ", rest, flags=_I)
    rest = re.sub(
        r"\b(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?|\b(?:updated|published|posted|first|last|"
        r"on|at|am|pm|gmt|utc|[ecmp][sd]t|ist|bst|cet|ast|hkt|jst|edt|est|pst|cst|date|"
        r"modified|created)\b",
        " ",
        rest,
        flags=_I,
    )
    rest = re.sub(r"\b[A-Z]{2,4}\b", " ", rest)  # time zones: EST, HKT, GMT+3 ...
    return not re.search(r"\w", rest)


_TRAILING_BY_RE = re.compile(r"\bby\s+[A-Z][\w.'’-]+(?:\s+[A-Z][\w.'’-]+){0,3}$")


def _is_dated_byline(line: str) -> bool:
    """'Monday November 18, 2019 7:45 am PST by Joe Rossignol': a date and a trailing 'by Name'."""
    if _is_dateline(line):
        return True
    return bool(re.search(_DATE, line, _I) and _TRAILING_BY_RE.search(line))


def _is_mojibake(line: str) -> bool:
    """ftfy's own 'this is mis-decoded text' test, plus the replacement character."""
    if "\ufffd" in line:
        return True
    from ftfy.badness import is_bad

    return bool(is_bad(line))


DETECTORS: tuple[Detector, ...] = (
    Detector(
        "html_comment",
        "an HTML comment or its delimiters: '<!--', '-->'",
        _rx(r"<!--", r"-->"),
        max_words=10_000,
    ),
    Detector(
        "video_js",
        "player chrome and 'needs JavaScript / unsupported' notices",
        _rx(
            r"\b(?:requires?|enable|need|needs|turn on)\s+(?:the\s+)?javascript\b",
            r"\bjavascript\s+(?:is\s+)?(?:disabled|required|must be enabled|is off)\b",
            r"\bmedia playback is (?:unsupported|not supported)\b",
            r"\byour browser (?:does not|doesn't|can ?not|cannot) (?:support|play)\b",
            r"^media caption",
            r"^(?:current time|duration|remaining time|stream type)\b.{0,12}$",
            r"^loaded:\s*\d+(?:\.\d+)?\s*%$",
            r"^(?:video|videos|watch|watch (?:now|video|live|the video)|play video|watch cbsn live"
            r"|live|now playing|up next|autoplay)$",
            r"^(?:this|the) (?:video|slideshow|content|media|player)\b.{0,40}\b(?:requires|"
            r"(?:is )?not (?:available|supported)|unavailable|could not be loaded)\b",
            r"^video (?:player|loading|unavailable|not available)\b",
            r"\b(?:adobe )?flash player\b",
        ),
        max_words=25,
    ),
    Detector(
        "advertisement",
        "ad labels ('Advertisement', 'Sponsored', 'Реклама') and affiliate disclosures",
        _rx(
            r"^(?:advertisement|advertisements|advertising|advert|adverts|ad|ads|sponsored|"
            r"sponsored (?:links?|content|stories|post)|paid (?:content|post)|promoted(?: content|"
            r" stories)?|partner (?:content|news)|реклама|iklan|anzeige|publicidade?|publicité|"
            r"pubblicità|werbung|広告|광고)[\s:.-]*$",
            r"^(?:story|article|text) continues below",
            r"^continue reading (?:the main story|below)",
            r"^advertisement\s*[-–:]\s*(?:scroll|story|continue)",
            r"\baffiliate (?:commission|links?|partnerships?)\b",
            r"\bif you (?:buy|purchase) something (?:through|via|using) (?:this|our|a link)",
        ),
        max_words=35,
    ),
    Detector(
        "byline",
        "bylines, 'Published/Posted/Updated <date>' lines, bare datelines, author bios",
        _rx(
            r"^by$",
            r"^by[\s:]+[-–|,]",
            r"^(?:by|von|por|par|di|oleh|door|av|από)[\s:]+\S+(?:\s+\S+){0,9}$",
            r"^(?:posted|published|updated|first published|last updated|last modified|"
            r"written|created)(?:\s+(?:on|at|by))?\s*(?:[:|]|$|" + _DATE + "|" + _TIME + ")",
            r"^(?:text|текст|автор|author|autor|auteur|reporter|written by)\s*:",
            r"^\(?(?:additional )?(?:reporting|writing|editing|compiled|research) by\b",
            r"\bcontributed (?:to )?(?:this )?report(?:ing)?\b",
            r"^[A-Z][\w.'’-]+(?: [A-Z][\w.'’-]+){0,3}\s*[-–|,]\s*" + _DATE,
            r"^\S+(?: \S+){0,5},? (?:staff|senior|chief|contributing|political|business|sports|"
            r"auto|news|opinion|science|tech|health|investigative)?\s*(?:writer|reporter|"
            r"correspondent|editor|columnist|contributor)s?$",
            r"^[A-Z][\w.'’-]+(?: [A-Z][\w.'’-]+){0,3} is an? (?:[\w-]+ ){0,4}(?:reporter|writer|"
            r"correspondent|editor|columnist|contributor|journalist)\b",
        ),
        max_words=16,
        predicate=_is_dated_byline,
    ),
    Detector(
        "tags",
        "'Tags:', 'Topics', 'Filed under', 'Теги' lines",
        _rx(
            r"^(?:tags?|topics?|filed under|tagged(?: with| as)?|categories|category|keywords|"
            r"related topics|теги|etiquetas|schlagworte|标签|タグ)\b\s*[:|,]?",
            r"^this (?:article|story|entry|post) (?:is|was) (?:related to|filed under|tagged|"
            r"posted in)\b",
            r"\band tagged[\s,]*$",
        ),
        max_words=30,
    ),
    Detector(
        "photo",
        "photo/image captions' credit lines: 'Photo: X, AP', 'Image copyright', '(Image: ©…)'",
        _rx(
            r"^(?:photo|photos|photograph|image|images|picture|pictures|foto|fotos|pic|pics|"
            r"credit|credits|illustration|graphic|source|фото)(?:\s+(?:credit|courtesy|by))?\s*[:|]",
            r"^(?:image|photo|picture) (?:copyright|caption|credit|courtesy)\b",
            r"^(?:photo|image|picture|illustration)s? (?:by|courtesy(?: of)?|via)\b",
            r"^photo illustration\b",
            r"^credit\.\.\.",
            r"^courtesy(?: of)?\s+\S",
            r"\((?:photo|image|picture|credit|foto|pic|illustration)s?\b[^)]{0,80}\)\s*$",
            r"\b(?:photo|image|picture|pic|credit)s?\s*:\s*[^.]{0,60}$",
            r"\bcredit:\s*\S[^.]{0,60}$",
            r"^©\s*[A-Z]",
            r"\S©\s*[A-Z][\w ]{0,30}$",
            rf"[,/|]\s*{_AGENCY}(?:\s*/\s*[\w .-]{{1,30}})?\s*\)?$",
            rf"\bvia {_AGENCY}\s*\)?$",
            rf"^{_AGENCY}$",
            r"^image \d+ (?:of|/) /?\s*\d+$",
            r"^\d+ (?:of|/) \d+$",
            r"^(?:caption|close|enlarge(?: this image)?|expand|hide caption|toggle caption|"
            r"view (?:all|gallery|photos?|slideshow)(?: \(\d+\))?|see (?:all )?photos|gallery|"
            r"photo gallery|main article image|fullscreen|full screen)$",
            r"\bsubmitted photo$",
            r"\bgallery$",
        ),
        max_words=16,
    ),
    Detector(
        "share_subscribe",
        "share buttons, follow/subscribe/newsletter prompts",
        _rx(
            r"^(?:share|shares|tweet|email|e-mail|print|pin(?: it)?|whatsapp|reddit|linkedin|"
            r"facebook|twitter|flipboard|pocket|buffer|copy link|share this(?: article| story| "
            r"post| page)?|sharing is caring!?|subscribe(?: now| today)?|sign up(?: now)?|sign in|"
            r"log ?in|register|newsletter|follow(?: us)?|get it|like this:?|like loading\.*|"
            r"submit|feedback|bookmark(?: and share)?|get short url|listen live|send)$",
            r"^\d[\d,.]*\s*(?:k\s*)?(?:shares?|views?|likes?)$",
            r"^share (?:on|via|this|to|with)\b",
            r"\b(?:subscribe|sign up|newsletters?|follow us|follow (?:him|her|me|them|[A-Z]\w+) "
            r"(?:on|at)|like us on facebook|download (?:our|the) app|get (?:our|the) app|"
            r"delivered (?:straight )?to your inbox|in your inbox|get breaking news|"
            r"turn on notifications|by clicking here|click here to (?:subscribe|get|download))\b",
        ),
        max_words=30,
    ),
    Detector(
        "read_more",
        "'Read more', 'Related', 'More from', 'You may also like', teaser headers",
        _rx(
            r"^[\[(]?\s*(?:read more|read next|read also|also read|see also|see more|related|"
            r"related (?:articles?|stories|posts?|content|coverage|links|news|reading|topics|"
            r"videos?|roundup|post)|more (?:stories|news|videos?|from|in|on|about|like this|"
            r"great [\w ]{1,20}stories|to explore)|you (?:may|might) (?:also )?(?:like|enjoy|"
            r"be interested)|recommended(?: for you| stories| reading| articles)?|most (?:popular|"
            r"read|viewed|shared)|popular(?: on| now| stories| posts)?|trending(?: now| news| "
            r"stories)?|top stories|latest (?:news|stories|headlines)|our latest stories|"
            r"don'?t miss|editor'?s picks?|what to read next|explore further|must read|"
            r"in case you missed it|further reading|also on|leia (?:também|mais)|leggi anche|"
            r"lesen sie auch|lees ook|lire aussi|lea también|baca juga|материалы по теме|"
            r"читайте также|关联阅读|関連記事|관련기사)\b",
        ),
        max_words=25,
    ),
    Detector(
        "breadcrumb_menu",
        "breadcrumbs ('Home > News'), skip links, menu/search/back-to-top labels",
        _rx(
            r"^(?:home|startseite|inicio|início|accueil|beranda|главная)\s*(?:[>›»/|]|$)",
            r"^[^\W\d][\w&'’ .-]{0,30}\s*[>›»]\s*[^\W\d][\w&'’ .-]{0,30}(?:\s*[>›»]\s*.{1,30})*$",
            r"^(?:skip to (?:main )?content|jump (?:directly )?to (?:the )?(?:main )?content|"
            r"skip (?:navigation|to navigation)|menu|main menu|navigation|search|search for:?|"
            r"back to top|to top|top|pagetop|accessibility links|toggle navigation|close menu|"
            r"open menu|sections|zurück zur übersicht|back to [\w ]{1,20}|view [\w ]{1,20} in|"
            r"all sections|site map|sitemap)$",
            r"^home [A-Z]\w+(?: [\w&-]+){0,6}$",
        ),
        max_words=12,
    ),
    Detector(
        "copyright",
        "copyright / all-rights-reserved lines (a '©' photo credit counts as 'photo')",
        _rx(
            r"^(?!(?:image|photo|picture) copyright).*\bcopyright\b",
            r"\ball rights reserved\b",
            r"[©ⓒ]\s*(?:19|20)\d\d",
            r"[©ⓒ]\s*copyright",
            r"\(c\)\s*(?:19|20)\d\d",
            r"무단전재|alle rechte vorbehalten|todos los derechos|tous droits réservés|"
            r"все права защищены|版权所有|無断転載",
        ),
        max_words=40,
    ),
    Detector(
        "mojibake",
        "ftfy.badness.is_bad(line) or U+FFFD in the line",
        [],
        max_words=10_000,
        predicate=_is_mojibake,
    ),
    Detector(
        "markup",
        "(extra) leftover tags, entities, shortcodes, code: '<img …>', '&amp;', '[x]…[/x]', '*/?>'",
        _rx(
            r"</?[a-z][a-z0-9]*(?:\s[^<>]*)?/?>",
            r"&(?:amp|lt|gt|quot|nbsp|mdash|ndash|#\d+|#x[0-9a-f]+);",
            r"^\s*\*/|/\*|\?>$",
            r"\[/[a-z_]+\]|\[[a-z_]+\s+[a-z_]+=",
            r"\b(?:function\s*\(|var\s+\w+\s*=|document\.write|window\.\w+\s*=)",
        ),
        max_words=10_000,
        extra=True,
    ),
    Detector(
        "comments",
        "(extra) comment-section furniture: 'Leave a Reply', '12 Comments', 'Comments are closed'",
        _rx(
            r"^(?:\d+\s+)?(?:comments?|comentários?|commenti|kommentare|commentaires|"
            r"комментарии|komentar|responses?|replies|reply)\b\s*(?:\(\+?\d*\+?\))?$",
            r"^(?:leave a (?:reply|comment)|post a comment|add (?:a )?comment|join the discussion|"
            r"comments are closed|show (?:all |new )?comments|view (?:all )?comments|"
            r"load(?:ing)? comments|\[?\s*read all comments|be the first to comment|"
            r"comment on this (?:article|story)|tell us what you think|share your thoughts|"
            r"deixe uma resposta|lascia un commento|tinggalkan balasan|добавить комментарий|"
            r"blog comments powered by disqus|want to join the discussion|feel free to "
            r"contribute|post comment)\b",
            r"^\d+ (?:thoughts|responses|replies|comments) (?:on|to)\b",
            r"\byou must be logged in to (?:post|leave) a comment\b",
            r"\byour email address will not be published\b",
            r"\bcomments? (?:are|is) (?:subject to|moderated)\b",
        ),
        max_words=25,
        extra=True,
    ),
    Detector(
        "cookie",
        "(extra) cookie / consent / privacy notices",
        _rx(
            r"\b(?:we use cookies|uses cookies|use of cookies|accept cookies|cookie (?:settings|"
            r"policy|preferences|consent)|this website (?:uses|is using) cookies|"
            r"you consent to|by choosing i accept|gdpr)\b",
            r"^(?:privacy policy|terms of (?:service|use)|accept|i accept|ok|got it)$",
        ),
        max_words=60,
        extra=True,
    ),
)


def _norm_line(line: str) -> str:
    return " ".join(_BULLET_RE.sub("", line).split())


def _key(line: str) -> str:
    return " ".join(tokens(line.lower())) or line.strip().lower()


@lru_cache(maxsize=4096)
def _find_artifacts_cached(text: str) -> dict[str, tuple[str, ...]]:
    found: dict[str, list[str]] = {}
    for raw in text.splitlines():
        line = _norm_line(raw)
        if not line:
            continue
        for det in DETECTORS:
            if det.matches(line):
                found.setdefault(det.kind, []).append(line)
    return {k: tuple(v) for k, v in found.items()}


def find_artifacts(text: str) -> dict[str, tuple[str, ...]]:
    """Lines of `text` that each detector fires on, by kind (a line may count for several)."""
    return _find_artifacts_cached(text or "")


def new_artifacts(pred: str, truth: str) -> dict[str, list[str]]:
    """Detector hits in the prediction that are not also hits in the truth, by kind."""
    truth_hits = find_artifacts(truth)
    out: dict[str, list[str]] = {}
    for kind, lines in find_artifacts(pred).items():
        known = {_key(line) for line in truth_hits.get(kind, ())}
        fresh = [line for line in lines if _key(line) not in known]
        if fresh:
            out[kind] = fresh
    return out
