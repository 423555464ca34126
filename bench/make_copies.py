"""Make a labelled near-copy set the way syndication and scraping make copies of news stories.

events-dev has few real syndicated copies, so the "exact / near copy" relation of newsclean's
grouping could not be measured from it alone. This script takes originals from events-dev (one
per event) and from the aeb article truths, and derives copies of them with the edits that wire
copies, reposts and scrapes really show:

- ``verbatim``     the same text again (whitespace may differ): an exact duplicate;
- ``headline``     a new headline and a dateline "CITY, Mon D (Outlet) — " before the lede;
- ``cut``          one paragraph (not the lede) dropped;
- ``truncate``     the tail cut off, keeping 40-75% (a print-length version);
- ``add``          a paragraph of local context (taken from an unrelated article) inserted;
- ``lede``         the first sentence rewritten;
- ``note``         an editor's note or a correction appended;
- ``boilerplate``  another outlet's header lines and footer lines around the story;
- ``html``         the text left in HTML markup (paragraph tags, links, entities, an ad slot);
- ``mojibake``     UTF-8 read as Windows-1252 after quotes and dashes were made typographic;
- ``teaser``       only the first 12-35% of the words, plus "Read more" (< 40% of the text).

Every copy says which original it came from, that original's event, the transformations applied
(in order) and ``kept_fraction``: the share of the original's words that survive verbatim in the
copy, counted from the construction (a cut paragraph or a rewritten lede is lost, markup and
mojibake are surface noise and do not count as loss, added text does not count as kept).

To let a benchmark check that same-event articles are *not* called copies, half of the events-dev
originals also bring one or two "siblings": other articles of the same event that share little
text with the original (word 5-gram containment below 0.2 both ways).

The set is deterministic for a given seed and size. Every record:
``id, role ("original"|"copy"|"sibling"), original_id, event, source_dataset, title, text,
date (ISO YYYY-MM-DD or null), outlet, transformations, kept_fraction``.

Usage: ``python bench/make_copies.py --seed 7 --n 200 --out /tmp/copies.jsonl``
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from common import AEB_TRUTH, EVENTS_PATH, require_shared

MIN_ORIGINAL_WORDS = 80  # a teaser of a 40-word story is a sentence, not a teaser
AEB_SHARE = 0.25  # share of originals taken from the aeb truths (each its own event)

_WORD = re.compile(r"\S+")
_SENT_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"'”’)]))\s+(?=[A-Z“\"'(])")


def normalise_date(value: object) -> str | None:
    """ISO YYYY-MM-DD from the shapes events-dev holds ("2018-01-10T22:37:00", "2015-06-30")."""
    if not value or not isinstance(value, str):
        return None
    s = value.strip()
    m = re.match(r"(\d{4})-(\d{2})-(\d{2})", s)
    if m:
        return f"{m.group(1)}-{m.group(2)}-{m.group(3)}"
    for fmt in ("%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%Y/%m/%d", "%m/%d/%Y"):
        try:
            return datetime.strptime(s, fmt).date().isoformat()
        except ValueError:
            continue
    return None


def load_events(path: Path = EVENTS_PATH) -> list[dict[str, Any]]:
    """events-dev rows as stored: id, cluster_id, title, text, source, date, url, dataset."""
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load_aeb(path: Path = AEB_TRUTH) -> dict[str, dict[str, str]]:
    """aeb truths: {id: {"articleBody", "url"}}."""
    return json.loads(path.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------------------------
# Text pieces

OUTLETS = [
    "The Daily Courier",
    "Metro Herald",
    "Northern Ledger",
    "Valley Post-Tribune",
    "Coastal Observer",
    "The Evening Sentinel",
    "City Wire",
    "Global Newsline",
    "Riverside Gazette",
    "The Morning Chronicle",
    "Capital Dispatch",
    "Lakeside Times",
]
CITIES = [
    "WASHINGTON",
    "NEW YORK",
    "LONDON",
    "LOS ANGELES",
    "CHICAGO",
    "PARIS",
    "TOKYO",
    "BERLIN",
    "SYDNEY",
    "TORONTO",
    "MUMBAI",
    "NAIROBI",
    "BRUSSELS",
    "HOUSTON",
]
HEADERS = [
    ["Skip to main content", "Home | News | World | Politics | Business | Sport", "Advertisement"],
    ["{outlet}", "Subscribe now: get unlimited access for $1", "Latest News"],
    ["Menu", "Search", "Sign in", "{outlet} — Breaking news, local news"],
    ["BREAKING NEWS", "Share on Facebook", "Share on Twitter", "Email this article"],
]
FOOTERS = [
    ["Sign up for our daily newsletter.", "© {year} {outlet}. All rights reserved."],
    ["Share this:", "Facebook", "Twitter", "Email", "Related Stories", "Most Read"],
    [
        "Copyright {year} {outlet}. This material may not be published, broadcast, rewritten or "
        "redistributed.",
        "Advertisement",
    ],
    ["Follow {outlet} on Twitter and Facebook.", "Comments are closed.", "Back to top"],
]
NOTES = [
    "Editor's note: This story has been updated with additional reporting.",
    "Editor's note: This article was first published by {outlet} and is republished here with permission.",
    "Correction: An earlier version of this article misstated the day of the announcement. "
    "It was made on Thursday, not Wednesday.",
    "Correction: A previous version of this story gave an incorrect title for one of the "
    "officials quoted. The error has been fixed.",
    "This story has been corrected to reflect that the figures were released by officials, not "
    "by the company.",
]
TEASER_TAILS = ["… Read more", "[…] Continue reading at {outlet}", "... Full story", "Read more »"]
HEADLINE_SUFFIX = [
    ": what we know",
    " — report",
    ", officials say",
    " (UPDATE 2)",
    ": live updates",
    " amid growing concern",
    "",
]
LEDE_OPENERS = [
    "According to reports, ",
    "In a development on {day}, ",
    "Officials said that ",
    "It emerged on {day} that ",
    "Reports say ",
]
SYNONYMS = {
    "said": "stated",
    "says": "states",
    "told": "informed",
    "announced": "revealed",
    "about": "around",
    "after": "following",
    "before": "ahead of",
    "people": "individuals",
    "police": "authorities",
    "killed": "left dead",
    "new": "fresh",
    "big": "major",
    "help": "assist",
    "show": "indicate",
    "shows": "indicates",
    "also": "additionally",
    "more": "further",
    "many": "numerous",
    "start": "begin",
    "started": "began",
}
_LOWER_AFTER_OPENER = {
    "the",
    "a",
    "an",
    "in",
    "on",
    "at",
    "after",
    "before",
    "two",
    "three",
    "police",
    "officials",
    "authorities",
    "more",
    "some",
    "several",
}
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = ["Jan", "Feb", "March", "April", "May", "June", "July", "Aug", "Sept", "Oct", "Nov", "Dec"]


def _words(text: str) -> int:
    return len(_WORD.findall(text))


def _shingles(text: str, k: int = 5) -> set[tuple[str, ...]]:
    toks = re.findall(r"\w+", text.lower())
    return {tuple(toks[i : i + k]) for i in range(max(0, len(toks) - k + 1))}


def containment(a: str, b: str, k: int = 5) -> float:
    """Largest share of either text's word k-grams found in the other (0 when one is empty)."""
    sa, sb = _shingles(a, k), _shingles(b, k)
    if not sa or not sb:
        return 0.0
    inter = len(sa & sb)
    return max(inter / len(sa), inter / len(sb))


def split_paragraphs(text: str) -> list[str]:
    """Paragraphs of the text; a text of fewer than three is cut into runs of three sentences.

    Cutting and inserting paragraphs needs several of them, and some sources (Multi-News,
    ECB+) store a story as one or two long lines.
    """
    paras = [p.strip() for p in re.split(r"\n\s*\n|\n", text) if p.strip()]
    if len(paras) >= 3:
        return paras
    sentences = [s for p in paras for s in _SENT_END.split(p) if s.strip()]
    if len(sentences) < 3:
        return paras
    return [" ".join(sentences[i : i + 3]) for i in range(0, len(sentences), 3)]


# --------------------------------------------------------------------------------------------
# A copy under construction


@dataclass
class Para:
    """One paragraph of a copy and how many of the original's words it still holds verbatim."""

    text: str
    kept: int


@dataclass
class Draft:
    """A copy being built: paragraphs plus the framing that surface transforms add."""

    paras: list[Para]
    title: str | None
    outlet: str
    date: str | None
    header: list[str] = field(default_factory=list)
    footer: list[str] = field(default_factory=list)
    html_seed: float | None = None  # set by the html transform: markup is drawn at render time
    mojibake: bool = False
    applied: list[str] = field(default_factory=list)

    def render(self) -> str:
        lines = [*self.header, *(p.text for p in self.paras), *self.footer]
        if self.html_seed is not None:
            text = _to_html(lines, random.Random(self.html_seed))
        else:
            text = "\n\n".join(lines)
        if self.mojibake:
            text = _mojibake(text)
        return text


@dataclass(frozen=True)
class Context:
    """What transforms may borrow: a pool of unrelated paragraphs and the copy's outlet."""

    donor_paragraphs: list[str]
    year: int


def _fmt(s: str, draft: Draft, ctx: Context, rng: random.Random) -> str:
    return s.format(outlet=draft.outlet, year=ctx.year, day=rng.choice(DAYS))


def t_headline(d: Draft, rng: random.Random, ctx: Context) -> None:
    """New headline from the lede's opening words; dateline before the lede."""
    source = d.title or d.paras[0].text
    words = re.findall(r"[\w'’-]+", source)[: rng.randint(6, 10)]
    if words:
        head = " ".join(words)
        d.title = head[:1].upper() + head[1:] + rng.choice(HEADLINE_SUFFIX)
    when = ""
    if d.date:
        dt = date.fromisoformat(d.date)
        when = f", {MONTHS[dt.month - 1]} {dt.day}"
    dateline = f"{rng.choice(CITIES)}{when} ({d.outlet}) — "
    d.paras[0] = Para(dateline + d.paras[0].text, d.paras[0].kept)


def t_cut(d: Draft, rng: random.Random, ctx: Context) -> None:
    """Drop one paragraph after the lede."""
    if len(d.paras) < 3:
        return
    del d.paras[rng.randrange(1, len(d.paras))]


def t_truncate(d: Draft, rng: random.Random, ctx: Context) -> None:
    """Keep the lede and the following paragraphs up to 40-75% of the words (print length)."""
    total = sum(_words(p.text) for p in d.paras)
    target = total * rng.uniform(0.40, 0.75)
    kept: list[Para] = []
    n = 0
    for p in d.paras:
        w = _words(p.text)
        if kept and n + w > target:
            break
        kept.append(p)
        n += w
    d.paras = kept


def t_add(d: Draft, rng: random.Random, ctx: Context) -> None:
    """Insert a paragraph of unrelated local context (it keeps nothing of the original)."""
    extra = rng.choice(ctx.donor_paragraphs)
    d.paras.insert(rng.randint(1, len(d.paras)), Para(extra, 0))


def t_lede(d: Draft, rng: random.Random, ctx: Context) -> None:
    """Rewrite the first sentence: new opener, synonyms, a dropped clause; its words count lost."""
    first = d.paras[0]
    sentences = _SENT_END.split(first.text, maxsplit=1)
    lede, rest = sentences[0], (sentences[1] if len(sentences) > 1 else "")
    toks = lede.split()
    new = [SYNONYMS.get(t.lower(), t) for t in toks]
    if len(new) > 12 and "," in lede:  # drop the last clause
        cut = " ".join(new).rsplit(",", 1)[0]
        new = (cut.rstrip(".") + ".").split()
    opener = rng.choice(LEDE_OPENERS).format(day=rng.choice(DAYS))
    if new and new[0].lower() in _LOWER_AFTER_OPENER:
        new[0] = new[0].lower()
    rewritten = opener + " ".join(new)
    lost = _words(lede)
    text = rewritten + (" " + rest if rest else "")
    d.paras[0] = Para(text, max(0, first.kept - lost))


def t_note(d: Draft, rng: random.Random, ctx: Context) -> None:
    d.paras.append(Para(_fmt(rng.choice(NOTES), d, ctx, rng), 0))


def t_boilerplate(d: Draft, rng: random.Random, ctx: Context) -> None:
    d.header = [_fmt(s, d, ctx, rng) for s in rng.choice(HEADERS)]
    d.footer = [_fmt(s, d, ctx, rng) for s in rng.choice(FOOTERS)]


def t_html(d: Draft, rng: random.Random, ctx: Context) -> None:
    d.html_seed = rng.random()


def t_mojibake(d: Draft, rng: random.Random, ctx: Context) -> None:
    d.mojibake = True


def t_teaser(d: Draft, rng: random.Random, ctx: Context) -> None:
    """First 12-35% of the words, cut at a word, then a "read more" tail."""
    total = sum(_words(p.text) for p in d.paras)
    budget = max(8, int(total * rng.uniform(0.12, 0.35)))
    out: list[Para] = []
    for p in d.paras:
        toks = _WORD.findall(p.text)
        if len(toks) <= budget:
            out.append(p)
            budget -= len(toks)
        else:
            share = budget / len(toks) if toks else 0
            out.append(Para(" ".join(toks[:budget]), int(p.kept * share)))
            budget = 0
        if budget <= 0:
            break
    out.append(Para(_fmt(rng.choice(TEASER_TAILS), d, ctx, rng), 0))
    d.paras = out


def t_verbatim(d: Draft, rng: random.Random, ctx: Context) -> None:
    """An exact copy; only the paragraph spacing may differ, which text normalisation removes."""


TRANSFORMS: dict[str, Callable[[Draft, random.Random, Context], None]] = {
    "verbatim": t_verbatim,
    "cut": t_cut,
    "truncate": t_truncate,
    "add": t_add,
    "lede": t_lede,
    "teaser": t_teaser,
    "headline": t_headline,
    "note": t_note,
    "boilerplate": t_boilerplate,
    "html": t_html,
    "mojibake": t_mojibake,
}
# Content edits first, then framing, then surface noise: the order a syndicated copy goes through.
ORDER = [
    "verbatim",
    "cut",
    "truncate",
    "add",
    "lede",
    "teaser",
    "headline",
    "note",
    "boilerplate",
    "html",
    "mojibake",
]


def choose_transforms(rng: random.Random) -> list[str]:
    """One copy's recipe, drawn from the kinds of copies seen in the wild."""
    kind = rng.choices(["exact", "syndicated", "noisy", "print", "teaser"], weights=[10, 40, 20, 12, 18])[0]
    if kind == "exact":
        chosen = {"verbatim"}
    elif kind == "syndicated":
        chosen = {"headline", *rng.sample(["cut", "add", "lede", "note", "boilerplate"], rng.randint(1, 3))}
    elif kind == "noisy":
        chosen = {rng.choice(["html", "mojibake"])}
        chosen |= set(rng.sample(["headline", "cut", "note", "boilerplate", "lede"], rng.randint(0, 2)))
    elif kind == "print":
        chosen = {"truncate", "headline", *rng.sample(["note", "boilerplate", "lede"], rng.randint(0, 1))}
    else:
        chosen = {"teaser", *rng.sample(["headline", "boilerplate", "html"], rng.randint(0, 2))}
    return [t for t in ORDER if t in chosen]


def _to_html(lines: list[str], rng: random.Random) -> str:
    """Wrap lines as a scraped page body would be: tags, a link, entities, an ad slot."""
    out = ['<div class="article-body">']
    for i, line in enumerate(lines):
        s = line.replace("&", "&amp;").replace("’", "&#8217;").replace("—", "&mdash;")
        words = s.split(" ")
        if len(words) > 8 and rng.random() < 0.3:
            j = rng.randrange(1, len(words) - 2)
            words[j] = f'<a href="https://example.com/tag/{j}">{words[j]}</a>'
        if len(words) > 8 and rng.random() < 0.2:
            words[0] = f"<strong>{words[0]}</strong>"
        out.append(f"<p>{' '.join(words)}</p>")
        if i == 1:
            out.append('<!-- ad slot --><div class="ad" data-slot="mid">Advertisement</div>')
    out.append("</div>")
    return "\n".join(out)


_CP1252_UNDEFINED = {0x81, 0x8D, 0x8F, 0x90, 0x9D}


def _mojibake(text: str) -> str:
    """Typographic quotes and dashes first (so there is something to break), then UTF-8 bytes
    read as Windows-1252, the commonest mojibake in scraped news ("donâ€™t")."""
    text = re.sub(r"(\w)'(\w)", "\\1’\\2", text)
    text = re.sub(r'"(\S[^"]*?)"', "“\\1”", text)
    text = text.replace(" - ", " — ")
    out = []
    for b in text.encode("utf-8"):
        if b < 0x80 or b in _CP1252_UNDEFINED:
            out.append(chr(b))
        else:
            out.append(bytes([b]).decode("cp1252"))
    return "".join(out)


# --------------------------------------------------------------------------------------------
# The set


@dataclass(frozen=True)
class Original:
    id: str
    event: str
    source_dataset: str
    title: str | None
    text: str
    date: str | None
    outlet: str | None


def _originals(
    rng: random.Random, n: int, events: list[dict[str, Any]], aeb: dict[str, dict[str, str]]
) -> tuple[list[Original], dict[str, list[dict]]]:
    by_event: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in events:
        by_event[row["cluster_id"]].append(row)
    n_aeb = round(n * AEB_SHARE)
    n_ev = n - n_aeb
    event_ids = sorted(by_event)
    rng.shuffle(event_ids)
    out: list[Original] = []
    for ev in event_ids:
        if len(out) >= n_ev:
            break
        cands = sorted(
            (r for r in by_event[ev] if _words(r["text"]) >= MIN_ORIGINAL_WORDS), key=lambda r: r["id"]
        )
        if not cands:
            continue
        r = rng.choice(cands)
        out.append(
            Original(
                r["id"],
                ev,
                r["dataset"],
                r.get("title") or None,
                r["text"],
                normalise_date(r.get("date")),
                r.get("source") or None,
            )
        )
    aeb_ids = sorted(k for k, v in aeb.items() if _words(v["articleBody"]) >= MIN_ORIGINAL_WORDS)
    for k in rng.sample(aeb_ids, min(n_aeb, len(aeb_ids))):
        out.append(Original(f"aeb_{k[:16]}", f"aeb:{k[:16]}", "aeb", None, aeb[k]["articleBody"], None, None))
    return out, by_event


def make_copies(
    seed: int = 7, n: int = 200, copies_per_original: tuple[int, int] = (1, 3), sibling_share: float = 0.5
) -> list[dict[str, Any]]:
    """The near-copy set: `n` originals, their copies, and same-event siblings of some of them.

    Returns records in a stable order (originals, siblings and copies of one original together).
    Needs the shared data (exits with a message if it is absent).
    """
    require_shared(EVENTS_PATH, AEB_TRUTH)
    rng = random.Random(seed)
    events = load_events()
    aeb = load_aeb()
    originals, by_event = _originals(rng, n, events, aeb)
    chosen_events = {o.event for o in originals}
    donors = sorted(
        p
        for r in events
        if r["cluster_id"] not in chosen_events
        for p in split_paragraphs(r["text"])
        if 25 <= _words(p) <= 90
    )
    records: list[dict[str, Any]] = []
    for orig in originals:
        records.append(
            _record(orig.id, "original", orig, orig.title, orig.text, orig.date, orig.outlet, [], 1.0)
        )
        if orig.source_dataset != "aeb" and rng.random() < sibling_share:
            others = [
                r
                for r in sorted(by_event[orig.event], key=lambda r: r["id"])
                if r["id"] != orig.id and containment(r["text"], orig.text) < 0.2
            ]
            picked = rng.sample(others, min(len(others), rng.randint(1, 2)))
            if len(picked) == 2 and containment(picked[0]["text"], picked[1]["text"]) >= 0.2:
                picked = picked[:1]  # two siblings that copy each other would be a copy pair
            for r in picked:
                records.append(
                    _record(
                        r["id"],
                        "sibling",
                        orig,
                        r.get("title") or None,
                        r["text"],
                        normalise_date(r.get("date")),
                        r.get("source") or None,
                        [],
                        None,
                        original_id=None,
                    )
                )
        paragraphs = split_paragraphs(orig.text)
        total = sum(_words(p) for p in paragraphs)
        for k in range(rng.randint(*copies_per_original)):
            recipe = choose_transforms(rng)
            outlet = rng.choice([o for o in OUTLETS if o != orig.outlet])
            when = orig.date
            if when and rng.random() < 0.4:
                when = (date.fromisoformat(when) + timedelta(days=1)).isoformat()
            draft = Draft([Para(p, _words(p)) for p in paragraphs], orig.title, outlet, when)
            ctx = Context(donors, int(orig.date[:4]) if orig.date else 2024)
            for name in recipe:
                TRANSFORMS[name](draft, rng, ctx)
                draft.applied.append(name)
            text = draft.render()
            if "verbatim" in recipe and rng.random() < 0.5:
                text = text.replace("\n\n", "\n") + "\n"
            kept = sum(p.kept for p in draft.paras) / total if total else 0.0
            records.append(
                _record(
                    f"{orig.id}__copy{k}",
                    "copy",
                    orig,
                    draft.title,
                    text,
                    draft.date,
                    outlet,
                    draft.applied,
                    round(kept, 3),
                )
            )
    return records


def _record(
    doc_id: str,
    role: str,
    orig: Original,
    title: str | None,
    text: str,
    when: str | None,
    outlet: str | None,
    transformations: list[str],
    kept: float | None,
    original_id: str | None = "",
) -> dict[str, Any]:
    return {
        "id": doc_id,
        "role": role,
        "original_id": orig.id if original_id == "" else original_id,
        "event": orig.event,
        "source_dataset": orig.source_dataset,
        "title": title,
        "text": text,
        "date": when,
        "outlet": outlet,
        "transformations": transformations,
        "kept_fraction": kept,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--n", type=int, default=200, help="number of originals (default 200)")
    ap.add_argument("--out", type=Path, help="JSONL file to write (default: standard output)")
    args = ap.parse_args(argv)
    records = make_copies(seed=args.seed, n=args.n)
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    if args.out:
        args.out.write_text(lines, encoding="utf-8")
        roles: Counter[str] = Counter()
        for r in records:
            roles[r["role"]] += 1
        print(f"wrote {len(records)} records to {args.out}: {dict(roles)}", file=sys.stderr)
    else:
        sys.stdout.write(lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
