"""Corpus-learned boilerplate: an outlet's furniture goes, quotes shared by one event's coverage stay."""

from __future__ import annotations

from newsclean.corpus import remove_repeated_lines
from newsclean.records import CleanedDocument, Quarantined
from newsclean.settings import CleaningOptions

FOOTER = "Sign up for the Harbour Times morning briefing"
QUOTE = "“We will rebuild the pier before summer,” the mayor said."


def doc(i: int, outlet: str, body: str) -> CleanedDocument:
    return CleanedDocument(
        id=f"d{i:02d}",
        source_path=f"{outlet}/{i}.txt",
        record_id=None,
        outlet=outlet,
        url=None,
        title=None,
        published=None,
        author=None,
        text=body,
        content_sha256="",
        removed={"title": 1},
    )


def corpus() -> tuple[list[CleanedDocument], dict[str, str]]:
    docs, clusters = [], {}
    for i in range(6):  # six different stories from one outlet, all with the same footer
        docs.append(doc(i, "harbour-times", f"Story number {i} about the harbour budget.\n\n{FOOTER}"))
        clusters[f"d{i:02d}"] = f"c{i}"
    for i in range(6, 12):  # six outlets' copies of one event share a quotation
        docs.append(doc(i, "wire", f"The storm hit the coast on night {i}.\n\n{QUOTE}"))
        clusters[f"d{i:02d}"] = "storm"
    return docs, clusters


def test_outlet_furniture_is_removed_and_counted() -> None:
    docs, clusters = corpus()
    kept, emptied = remove_repeated_lines(docs, clusters, CleaningOptions())
    assert emptied == []
    harbour = [d for d in kept if d.outlet == "harbour-times"]
    assert all(FOOTER not in d.text for d in harbour)
    assert harbour[0].text == "Story number 0 about the harbour budget."
    assert harbour[0].removed == {"repeated_line": 1, "title": 1}
    assert len(harbour[0].content_sha256) == 64


def test_a_quote_repeated_within_one_event_is_text() -> None:
    docs, clusters = corpus()
    kept, _ = remove_repeated_lines(docs, clusters, CleaningOptions())
    assert all(QUOTE in d.text for d in kept if d.outlet == "wire")


def test_below_the_threshold_nothing_is_learned() -> None:
    docs, clusters = corpus()
    kept, _ = remove_repeated_lines(docs[:4], clusters, CleaningOptions())
    assert all(FOOTER in d.text for d in kept)
    off, _ = remove_repeated_lines(docs, clusters, CleaningOptions(repeated_lines=False))
    assert off == docs


def test_a_document_of_only_furniture_is_quarantined() -> None:
    docs, clusters = corpus()
    docs.append(doc(20, "harbour-times", FOOTER))
    clusters["d20"] = "c20"
    kept, emptied = remove_repeated_lines(docs, clusters, CleaningOptions())
    assert "d20" not in {d.id for d in kept}
    assert emptied[0].source_path == "harbour-times/20.txt"
    assert emptied[0].reason == "no article text"


def test_line_keys_are_the_short_lines_keys_and_survive_the_state() -> None:
    """A document's stored keys: every line of 1..max_words words with a non-empty key, by its
    index in the text; the same line spelt with other spacing or case has the same key."""
    from newsclean.cleaners.blocks import line_key
    from newsclean.corpus import LineKeys

    text = f"{FOOTER}\n\n--\nA long line " + "word " * 30 + f"\n  {FOOTER.upper()}  \nShort line."
    keys = LineKeys.of(text, max_words=20)
    assert keys.positions.tolist() == [0, 4, 5]
    assert keys.hashes[0] == keys.hashes[1] != keys.hashes[2]
    assert line_key(FOOTER) == line_key(f"  {FOOTER.upper()}  ")
    back = LineKeys.from_text(keys.to_text())
    assert back.positions.tolist() == keys.positions.tolist()
    assert back.hashes.tolist() == keys.hashes.tolist()
    assert len(LineKeys.from_text(LineKeys.of("", 20).to_text()).hashes) == 0


def test_stored_line_keys_give_what_keys_made_from_the_texts_give() -> None:
    """The pipeline passes the keys its workers stored; a document without stored keys is keyed
    from its text; either way the removals are the same."""
    from newsclean.corpus import LineKeys

    docs, clusters = corpus()
    docs.append(doc(20, "harbour-times", FOOTER))
    clusters["d20"] = "c20"
    options = CleaningOptions()
    stored = {d.id: LineKeys.of(d.text, options.repeated_line_max_words) for d in docs[1:]}
    made_here = remove_repeated_lines(docs, clusters, options)
    assert remove_repeated_lines(docs, clusters, options, stored) == made_here
    wrong = {d.id: LineKeys.of("", options.repeated_line_max_words) for d in docs}
    kept, _ = remove_repeated_lines(docs, clusters, options, wrong)  # the stored keys are what counts
    assert kept == docs


def test_frequent_outlet_lines_equal_their_set_definition() -> None:
    """Lines counted per outlet in distinct clusters, against plain sets: random documents with
    repeated lines, no outlet, no cluster (a cluster of its own) and no lines at all."""
    import random

    import numpy as np

    from newsclean.corpus import LineKeys, frequent_outlet_lines

    rng = random.Random(4)
    documents, clusters, keys = [], {}, {}
    for i in range(300):
        doc_id = f"d{i}"
        documents.append({"id": doc_id, "outlet": rng.choice(["a", "b", "c", None, ""])})
        if rng.random() < 0.8:
            clusters[doc_id] = f"c{rng.randrange(40)}"
        hashes = [rng.choice([1, 2, 3, 2**63 + 5, rng.randrange(2**64)]) for _ in range(rng.randrange(8))]
        keys[doc_id] = LineKeys(np.arange(len(hashes), dtype=np.uint32), np.array(hashes, dtype=np.uint64))
    for min_clusters in (1, 2, 5, 30):
        seen: dict[str, dict[int, set[str]]] = {}
        for d in documents:
            if d["outlet"]:
                cluster = clusters.get(d["id"], d["id"])
                for key in keys[d["id"]].hashes.tolist():
                    seen.setdefault(d["outlet"], {}).setdefault(key, set()).add(cluster)
        expected = {
            outlet: {key for key, found in lines.items() if len(found) >= min_clusters}
            for outlet, lines in seen.items()
        }
        expected = {outlet: found for outlet, found in expected.items() if found}
        outlets = {d["id"]: d["outlet"] for d in documents}
        assert frequent_outlet_lines(outlets, clusters, keys, min_clusters) == expected
    assert frequent_outlet_lines({}, {}, {}, 2) == {}


def test_learn_names_exactly_the_documents_the_removal_empties() -> None:
    """The group stage must know which documents leave the clustering before it reads the texts
    again: `learn` looks only at documents whose every non-blank line is keyed, and must still
    name each document `strip` empties. Random documents of furniture, blank and whitespace-only
    lines, punctuation-only lines (no key) and paragraphs; stored keys that are not the text's."""
    import random

    from newsclean.corpus import LineKeys, RepeatedLines

    pool = [FOOTER, "Follow us on Harbour Radio", "", "   ", "***", "— —", QUOTE]
    paragraph = "The council met on Tuesday and voted " + "again and again " * 12 + "to close the pier."
    rng = random.Random(11)
    options = CleaningOptions(repeated_line_min_docs=3)
    seen_emptied = seen_kept = 0
    for _ in range(40):
        docs, clusters, keys = [], {}, {}
        for i in range(30):
            lines = [rng.choice(pool) for _ in range(rng.randrange(1, 5))]
            if rng.random() < 0.3:
                lines.append(paragraph)
            if not "".join(lines).strip():
                lines.append(FOOTER)
            d = doc(i, rng.choice(["harbour-times", "harbour-times", "wire", ""]), "\n".join(lines))
            docs.append(d)
            clusters[d.id] = f"c{rng.randrange(12)}"
            if rng.random() < 0.1:  # stored keys are what count, even when they are not the text's
                keys[d.id] = LineKeys.of(rng.choice(pool[:2]), options.repeated_line_max_words)
        repeated = RepeatedLines(options)
        for d in docs:
            repeated.add(d, keys.get(d.id))
        named = repeated.learn(clusters)
        emptied = sorted(d.id for d in docs if isinstance(repeated.strip(d), Quarantined))
        assert named == emptied
        records = [repeated.strip(d) for d in docs if d.id in emptied]
        assert remove_repeated_lines(docs, clusters, options, keys)[1] == records
        seen_emptied += len(emptied)
        seen_kept += len(docs) - len(emptied)
    assert seen_emptied > 50 and seen_kept > 500  # both outcomes are exercised
