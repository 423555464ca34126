"""Build a realistic raw folder of N files for bench/perf.py, deterministically from a seed.

Why a builder and not a fixed folder: throughput, memory and scaling have to be measured at 1k,
10k and 100k documents on the situations `newsclean run` meets in a scraped news feed, and the
shared data holds only ~2.7k distinct articles (2,534 events-dev texts and 181 aeb truths) and
181 real HTML pages. The corpus is therefore made of:

- **originals** (~60%): events-dev and aeb-truth texts as ``.txt`` (headline, blank line, body),
  taken one whole event at a time so same-event coverage by several outlets stays as in the data.
  Beyond the ~2.7k real texts, further *replicas* of the data are added. A replica applies a
  vocabulary cipher: the ~250 commonest words stay, every other word is swapped with another of
  about the same corpus frequency (a fixed permutation per replica, case kept), and digits are
  permuted. Within a replica the same substitution applies to every article of an event, so the
  event's shared names and quotes survive and the replica is a new event with the same structure;
  across replicas almost no word 5-gram survives, so replicas are neither copies nor same-event
  coverage of each other. Word and rare-term frequencies, lengths, lines and punctuation keep the
  real distribution, which is what costs time in cleaning and grouping (the text reads as word
  salad, which does not matter for speed). Replica 0 is the real text.
- **near copies** (~20%): an original with its headline and a dateline changed, a paragraph cut
  or added, or an editor's note appended (bench/make_copies.py's transforms), under another
  outlet's folder.
- **exact copies** (~10%): an original's bytes again under another outlet's folder.
- **HTML pages** (~10%): the aeb pages as ``.html`` or ``.html.gz``; once all 181 are used, the
  same page templates with their article paragraphs, title and headline replaced by a fresh
  (ciphered) article: real page chrome, new stories.
- **encodings**: some originals written as cp1252 bytes (with typographic quotes) and some as
  UTF-8 mojibake (UTF-8 read as Windows-1252 and saved again).

Files live under ``raw/<outlet>/<yyyy>/<mm>/``. A manifest (kept *beside* the raw folder, never in
it) records each file's kind and copy family (an original, its exact and near copies share a
family), so perf.py can score duplicate groupings against the construction.

The shared data is read from ``<repo>/../shared`` in place and never copied into the repository.
"""

from __future__ import annotations

import gzip
import html
import json
import random
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import make_copies as mc
from common import AEB_HTML, AEB_TRUTH, EVENTS_PATH, require_shared

SHARE_NEAR = 0.20
SHARE_EXACT = 0.10
SHARE_HTML = 0.10
SHARE_CP1252 = 0.04  # of all files: originals written as cp1252 bytes
SHARE_MOJIBAKE = 0.03  # of all files: originals written as UTF-8 mojibake
KEEP_WORDS = 250  # commonest words left as they are by the replica cipher
CIPHER_BAND = 64  # words swap only within bands of this many words of similar frequency
NEAR_EDITS = ["headline", "cut", "add", "note"]
_WORD_RE = re.compile(r"[A-Za-z]+")
_P_RE = re.compile(r"<p\b[^>]*>(.*?)</p>", re.S | re.I)
_TAG_RE = re.compile(r"<[^>]+>")
_TITLE_RE = re.compile(r"<title[^>]*>(.*?)</title>", re.S | re.I)
_H1_RE = re.compile(r"(<h1\b[^>]*>)(.*?)(</h1>)", re.S | re.I)
_CHARSET_RE = re.compile(r"""(charset\s*=\s*["']?)[A-Za-z0-9_.:-]+""", re.I)


# --------------------------------------------------------------------------------------------
# Source material


@dataclass(frozen=True, slots=True)
class Article:
    """One real article: the unit a replica ciphers and a copy is derived from."""

    key: str
    event: str
    title: str | None
    text: str
    date: str | None
    outlet: str | None


@dataclass(frozen=True, slots=True)
class Page:
    """An aeb HTML page, and where its article paragraphs are (for filling it with a new story)."""

    key: str
    raw: bytes  # the page as stored (gzip-decompressed)
    text: str  # decoded (UTF-8, else cp1252)
    spans: tuple[tuple[int, int], ...]  # inner spans of the <p> elements holding the article
    title: str | None


@dataclass
class Sources:
    """Everything the builder samples from, loaded once per process."""

    articles: list[Article]
    events: dict[str, list[int]]  # event -> indices into articles
    pages: list[Page]
    donors: list[str]  # unrelated paragraphs for the "add" edit
    vocab: list[str]  # words by descending corpus frequency (the cipher's bands)


_SOURCES: Sources | None = None


def _norm(s: str) -> str:
    return " ".join(s.split())


def load_sources() -> Sources:
    """Read events-dev, the aeb truths and pages (cached: the builder runs several times)."""
    global _SOURCES
    if _SOURCES is not None:
        return _SOURCES
    require_shared(EVENTS_PATH, AEB_TRUTH, AEB_HTML)
    articles: list[Article] = []
    for row in mc.load_events(EVENTS_PATH):
        title = (row.get("title") or "").strip() or None
        articles.append(
            Article(
                row["id"],
                row["cluster_id"],
                title,
                row["text"],
                mc.normalise_date(row.get("date")),
                (row.get("source") or "").strip() or None,
            )
        )
    truths = mc.load_aeb(AEB_TRUTH)
    for key in sorted(truths):
        articles.append(
            Article(f"aeb_{key[:16]}", f"aeb:{key[:16]}", None, truths[key]["articleBody"], None, None)
        )
    events: dict[str, list[int]] = defaultdict(list)
    for i, a in enumerate(articles):
        events[a.event].append(i)
    pages = [_load_page(p, truths) for p in sorted(AEB_HTML.glob("*.html.gz"))]
    donors = sorted(
        {p for a in articles[:2534] for p in mc.split_paragraphs(a.text) if 25 <= len(p.split()) <= 90}
    )
    counts: Counter[str] = Counter()
    for a in articles:
        counts.update(w.lower() for w in _WORD_RE.findall(a.text))
    vocab = [w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    _SOURCES = Sources(articles, dict(events), pages, donors, vocab)
    return _SOURCES


def _load_page(path: Path, truths: dict[str, dict[str, str]]) -> Page:
    key = path.name.split(".")[0]
    raw = gzip.decompress(path.read_bytes())
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    body = _norm(truths.get(key, {}).get("articleBody", ""))
    spans = []
    for m in _P_RE.finditer(text):
        inner = _norm(html.unescape(_TAG_RE.sub("", m.group(1))))
        if len(inner) >= 40 and inner[:40] in body:
            spans.append(m.span(1))
    title_m = _TITLE_RE.search(text)
    title = _norm(html.unescape(title_m.group(1))) if title_m else None
    return Page(f"aeb_{key[:16]}", raw, text, tuple(spans) if len(spans) >= 3 else (), title or None)


# --------------------------------------------------------------------------------------------
# Replicas: new events with the real data's statistics


class Cipher:
    """Replica r's word and digit substitution (identity for r = 0)."""

    def __init__(self, vocab: list[str], replica: int, seed: int) -> None:
        self.replica = replica
        self.words: dict[str, str] = {}
        self.digits = str.maketrans("", "")
        if replica == 0:
            return
        rng = random.Random(f"cipher:{seed}:{replica}")
        rest = vocab[KEEP_WORDS:]
        for lo in range(0, len(rest), CIPHER_BAND):
            band = rest[lo : lo + CIPHER_BAND]
            shuffled = band[:]
            rng.shuffle(shuffled)
            self.words.update(zip(band, shuffled, strict=True))
        digits = list("0123456789")
        rng.shuffle(digits)
        self.digits = str.maketrans("0123456789", "".join(digits))

    def _word(self, m: re.Match[str]) -> str:
        w = m.group(0)
        new = self.words.get(w.lower())
        if new is None:
            return w
        if w.isupper() and len(w) > 1:
            return new.upper()
        return new.capitalize() if w[0].isupper() else new

    def __call__(self, text: str | None) -> str | None:
        if text is None or self.replica == 0:
            return text
        return _WORD_RE.sub(self._word, text).translate(self.digits)


# --------------------------------------------------------------------------------------------
# The corpus


@dataclass
class Entry:
    """One raw file: where it is, what situation it stands for, and its copy family."""

    path: str
    kind: str  # original | cp1252 | mojibake | near | exact | html
    family: str  # an original and its exact / near copies share it
    event: str


@dataclass
class Manifest:
    """What was written; kept beside (never inside) the raw folder."""

    seed: int
    entries: list[Entry] = field(default_factory=list)
    replicas: int = 0
    bytes: int = 0

    def kinds(self) -> dict[str, int]:
        return dict(sorted(Counter(e.kind for e in self.entries).items()))

    def save(self, path: Path) -> None:
        data = {
            "seed": self.seed,
            "replicas": self.replicas,
            "bytes": self.bytes,
            "entries": [asdict(e) for e in self.entries],
        }
        path.write_text(json.dumps(data), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Manifest:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(data["seed"], [Entry(**e) for e in data["entries"]], data["replicas"], data["bytes"])


@dataclass
class _Doc:
    """An original as it will be written (after the replica cipher)."""

    family: str
    event: str
    title: str | None
    text: str
    date: str | None
    outlet: str


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "unknown"


def _folder(outlet: str, when: str | None, rng: random.Random) -> str:
    year, month = (
        (when[:4], when[5:7]) if when else (str(rng.randint(2015, 2024)), f"{rng.randint(1, 12):02d}")
    )
    return f"{_slug(outlet)}/{year}/{month}"


def _as_text_file(title: str | None, body: str) -> str:
    return f"{title}\n\n{body}\n" if title else body.rstrip("\n") + "\n"


def _typographic(text: str) -> str:
    """Curly quotes and dashes, so a cp1252 file holds bytes that are not ASCII."""
    text = re.sub(r"(\w)'(\w)", "\\1’\\2", text)
    text = re.sub(r'"(\S[^"]*?)"', "“\\1”", text)
    return text.replace(" - ", " – ")


class Builder:
    """Writes files one by one; `originals()` yields fresh, never-used originals forever."""

    def __init__(self, raw: Path, seed: int, manifest: Manifest | None = None) -> None:
        self.src = load_sources()
        self.raw = raw
        self.seed = seed
        self.manifest = manifest or Manifest(seed)
        self.rng = random.Random(f"corpus:{seed}:{len(self.manifest.entries)}")
        self.used_paths = {e.path for e in self.manifest.entries}
        self.base: list[tuple[_Doc, str]] = []  # originals written (doc, path): copy sources
        self._orig_iter = self._originals(self.manifest.replicas)
        self._page_variant = 0

    # -- originals from replicas of the data, one whole event at a time
    def _originals(self, first_replica: int) -> Iterator[_Doc]:
        replica = first_replica
        while True:
            cipher = Cipher(self.src.vocab, replica, self.seed)
            rng = random.Random(f"events:{self.seed}:{replica}")
            events = sorted(self.src.events)
            rng.shuffle(events)
            self.manifest.replicas = replica + 1
            for ev in events:
                for i in self.src.events[ev]:
                    a = self.src.articles[i]
                    outlet = a.outlet or rng.choice(mc.OUTLETS)
                    yield _Doc(
                        f"{a.key}#r{replica}",
                        f"{ev}#r{replica}",
                        cipher(a.title),
                        cipher(a.text) or "",
                        a.date,
                        outlet,
                    )
            replica += 1

    def _write(self, rel: str, data: bytes, kind: str, family: str, event: str) -> str:
        stem, dot, ext = rel.partition(".")
        n = 1
        while rel in self.used_paths:  # a title seen twice in one folder
            n += 1
            rel = f"{stem}-{n}{dot}{ext}"
        path = self.raw / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.used_paths.add(rel)
        self.manifest.entries.append(Entry(rel, kind, family, event))
        self.manifest.bytes += len(data)
        return rel

    def _name(self, doc: _Doc, outlet: str, ext: str) -> str:
        words = _WORD_RE.findall(doc.title or doc.text)[:6]
        return f"{_folder(outlet, doc.date, self.rng)}/{_slug(' '.join(words))[:60]}{ext}"

    def original(self) -> None:
        doc = next(self._orig_iter)
        r = self.rng.random()
        total = 1 - SHARE_NEAR - SHARE_EXACT - SHARE_HTML
        if r < SHARE_CP1252 / total:
            try:
                data = _as_text_file(doc.title, _typographic(doc.text)).encode("cp1252")
                kind = "cp1252"
            except UnicodeEncodeError:
                data, kind = _as_text_file(doc.title, doc.text).encode("utf-8"), "original"
        elif r < (SHARE_CP1252 + SHARE_MOJIBAKE) / total:
            draft = mc.Draft(
                [mc.Para(p, 0) for p in mc.split_paragraphs(doc.text)],
                doc.title,
                doc.outlet,
                doc.date,
                mojibake=True,
            )
            title = (
                mc.Draft([mc.Para(doc.title, 0)], None, "", None, mojibake=True).render()
                if doc.title
                else None
            )
            data, kind = _as_text_file(title, draft.render()).encode("utf-8"), "mojibake"
        else:
            data, kind = _as_text_file(doc.title, doc.text).encode("utf-8"), "original"
        rel = self._write(self._name(doc, doc.outlet, ".txt"), data, kind, doc.family, doc.event)
        self.base.append((doc, rel))

    def _other_outlet(self, doc: _Doc) -> str:
        return self.rng.choice([o for o in mc.OUTLETS if o != doc.outlet])

    def exact(self) -> None:
        doc, rel = self.rng.choice(self.base)
        data = (self.raw / rel).read_bytes()
        self._write(self._name(doc, self._other_outlet(doc), ".txt"), data, "exact", doc.family, doc.event)

    def near(self) -> None:
        doc, _ = self.rng.choice(self.base)
        outlet = self._other_outlet(doc)
        draft = mc.Draft(
            [mc.Para(p, len(p.split())) for p in mc.split_paragraphs(doc.text)], doc.title, outlet, doc.date
        )
        ctx = mc.Context(self.src.donors, int(doc.date[:4]) if doc.date else 2024)
        chosen = set(self.rng.sample(NEAR_EDITS, self.rng.randint(1, 3)))
        for name in mc.ORDER:
            if name in chosen:
                mc.TRANSFORMS[name](draft, self.rng, ctx)
        data = _as_text_file(draft.title, draft.render()).encode("utf-8")
        self._write(self._name(doc, outlet, ".txt"), data, "near", doc.family, doc.event)

    def html(self) -> None:
        pages = self.src.pages
        variant, index = divmod(self._page_variant, len(pages))
        self._page_variant += 1
        page = pages[index]
        ext = ".html.gz" if self.rng.random() < 0.5 else ".html"
        outlet = f"web-{page.key[4:10]}"
        if variant == 0 or not page.spans:
            data, family, event = page.raw, page.key, f"aeb:{page.key[4:]}"
        else:
            doc = next(self._orig_iter)  # a fresh story in this page's chrome
            data = _fill_page(page, doc, self.rng).encode("utf-8")
            family, event = doc.family, doc.event
        if ext == ".html.gz":
            data = gzip.compress(data, mtime=0)
        name = f"{_folder(outlet, None, self.rng)}/{page.key[4:14]}-{variant}{ext}"
        self._write(name, data, "html", family, event)


def _fill_page(page: Page, doc: _Doc, rng: random.Random) -> str:
    """The page's chrome with `doc` in place of its article paragraphs, title and headline."""
    paras = [html.escape(p, quote=False) for p in mc.split_paragraphs(doc.text)] or [""]
    k = len(page.spans)
    slots = (
        [*paras[: k - 1], "</p>\n<p>".join(paras[k - 1 :])]
        if len(paras) >= k
        else paras + [""] * (k - len(paras))
    )
    out: list[str] = []
    done = 0
    for (lo, hi), new in zip(page.spans, slots, strict=True):
        out += [page.text[done:lo], new]
        done = hi
    text = "".join(out) + page.text[done:]
    title = doc.title or " ".join(doc.text.split()[: rng.randint(6, 10)])
    new_title = html.escape(title, quote=False)
    if page.title:
        text = text.replace(html.escape(page.title, quote=False), new_title)
    text = _TITLE_RE.sub(
        lambda m: m.group(0).replace(m.group(1), new_title) if m.group(1) else m.group(0), text, count=1
    )
    text = _H1_RE.sub(lambda m: m.group(1) + new_title + m.group(3), text, count=1)
    return _CHARSET_RE.sub(lambda m: m.group(1) + "utf-8", text)


MIXES = ("mixed", "text", "html")


def build_corpus(raw: Path, n_docs: int, seed: int = 1, *, mix: str = "mixed") -> Manifest:
    """Write `n_docs` files under `raw` (which must not exist yet); return the manifest.

    `mix`: "mixed" (the shares above), "text" (the same without HTML pages, whose share goes to
    originals: the issue's throughput target is set on text documents, and pages have a target of
    their own) or "html" (pages only)."""
    if mix not in MIXES:
        raise ValueError(f"mix must be one of {MIXES}, not {mix!r}")
    raw.mkdir(parents=True, exist_ok=False)
    b = Builder(raw, seed)
    if mix == "html":
        for _ in range(n_docs):
            b.html()
        return b.manifest
    share_html = SHARE_HTML if mix == "mixed" else 0.0
    n_near, n_exact, n_html = (round(n_docs * s) for s in (SHARE_NEAR, SHARE_EXACT, share_html))
    n_orig = n_docs - n_near - n_exact - n_html
    # Interleave by kind so a prefix of the build has the same mix (and copies have sources).
    plan = ["original"] * n_orig + ["near"] * n_near + ["exact"] * n_exact + ["html"] * n_html
    rng = random.Random(f"plan:{seed}:{n_docs}")
    rng.shuffle(plan)
    first = plan.index("original")
    plan.insert(0, plan.pop(first))  # copies need an original to copy
    for kind in plan:
        getattr(b, kind)()
    return b.manifest


def grow_corpus(
    raw: Path, manifest: Manifest, n_new: int, n_changed: int, n_deleted: int, round_no: int
) -> dict[str, int]:
    """A day's arrivals: `n_new` new files (the usual mix; originals are fresh events, copies may
    copy earlier files), `n_changed` text files edited (a correction appended), `n_deleted` removed.
    Updates `manifest` in place; deterministic for a given round number."""
    rng = random.Random(f"grow:{manifest.seed}:{round_no}")
    b = Builder(raw, manifest.seed + 7919 * (round_no + 1), manifest)
    # earlier originals (replica 0, any kind of text) can be copied too
    for e in manifest.entries:
        if e.kind == "original" and (raw / e.path).exists():
            text = (raw / e.path).read_text(encoding="utf-8")
            b.base.append((_Doc(e.family, e.event, None, text, None, e.path.split("/")[0]), e.path))
    # fresh originals come from replicas not used yet
    b._orig_iter = b._originals(manifest.replicas + 100 * (round_no + 1))
    texts = [e for e in manifest.entries if e.path.endswith(".txt") and (raw / e.path).exists()]
    victims = rng.sample(texts, min(len(texts), n_changed + n_deleted))
    for e in victims[:n_changed]:
        path = raw / e.path
        path.write_bytes(path.read_bytes().rstrip(b"\n") + b"\n\nCorrection: this story was updated.\n")
    gone = {e.path for e in victims[n_changed:]}
    for rel in gone:
        (raw / rel).unlink()
    manifest.entries = [e for e in manifest.entries if e.path not in gone]
    b.original()
    kinds = ["original"] * round(n_new * 0.6) + ["near"] * round(n_new * 0.2) + ["exact"] * round(n_new * 0.1)
    kinds += ["html"] * (n_new - 1 - len(kinds))
    rng.shuffle(kinds)
    b._page_variant = rng.randrange(10_000)
    for kind in kinds:
        getattr(b, kind)()
    return {"new": n_new, "changed": n_changed, "deleted": len(gone)}


def main(argv: list[str] | None = None) -> int:
    """Build a corpus by hand: ``python bench/perf_corpus.py --docs 1000 --out /tmp/c``."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--mix", choices=MIXES, default="mixed", help="file kinds (default: mixed)")
    parser.add_argument("--out", type=Path, required=True, help="folder to create (raw/ and manifest.json)")
    args = parser.parse_args(argv)
    manifest = build_corpus(args.out / "raw", args.docs, args.seed, mix=args.mix)
    manifest.save(args.out / "manifest.json")
    print(
        f"{len(manifest.entries)} files, {manifest.bytes / 1e6:.1f} MB, {manifest.replicas} replicas: "
        f"{manifest.kinds()}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
