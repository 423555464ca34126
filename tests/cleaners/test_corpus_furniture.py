"""Corpus furniture: a short line many outlets print under stories about different events goes;
a quotation many outlets repeat about one event stays."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from newsclean.cleaners.blocks import furniture_key
from newsclean.corpus import RepeatedLines, remove_repeated_lines
from newsclean.flows.cli import main
from newsclean.flows.executors.direct import DirectExecutor
from newsclean.records import CleanedDocument
from newsclean.run import RunOptions, run_pipeline
from newsclean.settings import CleaningOptions, Settings

FURNITURE = "Northfield Media Network sites and partners"
QUOTE = "“We will rebuild the pier before summer,” the mayor said."
# Fourteen different events: who, where, what.
EVENTS = [
    ("Anna Kowalski", "Gdansk", "shipyard cranes", "a strike over pensions"),
    ("Tomas Berg", "Bergen", "salmon farms", "a parasite outbreak"),
    ("Leila Haddad", "Marseille", "ferry terminal", "a fire in the engine room"),
    ("Kwame Mensah", "Accra", "cocoa exports", "a drop in the harvest"),
    ("Hiro Tanaka", "Osaka", "bullet train", "a typhoon warning"),
    ("Maria Rossi", "Naples", "rubbish collection", "a dispute with contractors"),
    ("Diego Alvarez", "Valparaiso", "copper prices", "a landslide at the mine"),
    ("Sean Murphy", "Galway", "oyster festival", "a storm that flooded the quay"),
    ("Priya Nair", "Kochi", "spice auction", "a record bid for cardamom"),
    ("Ivan Petrov", "Murmansk", "icebreaker fleet", "a collision in the bay"),
    ("Chloe Martin", "Quebec", "maple syrup reserve", "a theft of barrels"),
    ("Ahmed Yilmaz", "Izmir", "olive oil exports", "a drought in the groves"),
    ("Sara Lind", "Uppsala", "university library", "a leak that damaged manuscripts"),
    ("Ben Carter", "Hobart", "antarctic research ship", "a delayed voyage south"),
]
OUTLETS = ["north-herald", "coast-times", "valley-post", "city-daily"]


def story(i: int) -> str:
    who, where, what, event = EVENTS[i]
    return (
        f"{who} said on Monday that the {what} in {where} had been hit by {event}.\n\n"
        f"Officials in {where} promised to publish a full account of {event} within a month, and"
        f" {who.split()[0]} said the {what} would need help from the national government.\n\n"
        f"{FURNITURE}"
    )


def doc(i: int, outlet: str, text: str) -> CleanedDocument:
    return CleanedDocument(
        id=f"d{i:02d}", source_path=f"{outlet}/{i}.txt", record_id=None, outlet=outlet, url=None,
        title=None, published=None, author=None, text=text, content_sha256="", removed={},
    )  # fmt: skip


def test_a_line_across_many_events_and_outlets_goes_a_quote_about_one_event_stays() -> None:
    docs = [doc(i, OUTLETS[i % 4], story(i)) for i in range(len(EVENTS))]
    clusters = {d.id: f"event-{i}" for i, d in enumerate(docs)}
    # Twelve outlets' stories about one event (one cluster), all quoting the mayor.
    for j in range(12):
        docs.append(doc(50 + j, f"outlet-{j}", f"The storm broke the pier on night {j}.\n\n{QUOTE}"))
        clusters[f"d{50 + j:02d}"] = "the-storm"
    kept, emptied = remove_repeated_lines(docs, clusters, CleaningOptions())
    assert emptied == []
    by_id = {d.id: d for d in kept}
    for i in range(len(EVENTS)):
        assert FURNITURE not in by_id[f"d{i:02d}"].text
        assert by_id[f"d{i:02d}"].removed == {"corpus_line": 1}  # three per outlet: no outlet rule
    assert all(QUOTE in by_id[f"d{50 + j:02d}"].text for j in range(12))
    # The same quote carried under twelve different events would be furniture: the clusters
    # are what keeps it.
    apart = {**clusters, **{f"d{50 + j:02d}": f"night-{j}" for j in range(12)}}
    kept, _ = remove_repeated_lines(docs, apart, CleaningOptions())
    assert not any(QUOTE in d.text for d in kept if d.id >= "d50")
    off, _ = remove_repeated_lines(docs, clusters, CleaningOptions(corpus_lines=False))
    assert all(FURNITURE in d.text for d in off if d.id < "d50")


def test_too_few_events_or_outlets_learn_nothing() -> None:
    docs = [doc(i, OUTLETS[i % 2], story(i)) for i in range(len(EVENTS))]
    clusters = {d.id: d.id for d in docs}
    options = CleaningOptions(repeated_line_min_docs=100)  # outlet furniture out of the way
    kept, _ = remove_repeated_lines(docs, clusters, options)  # two outlets only
    assert all(FURNITURE in d.text for d in kept)
    nine = [doc(i, OUTLETS[i % 4], story(i)) for i in range(9)]  # four outlets, nine events
    kept, _ = remove_repeated_lines(nine, clusters, options)
    assert all(FURNITURE in d.text for d in kept)


def test_dated_labels_are_one_line_and_sentences_keep_their_figures() -> None:
    assert furniture_key("Posted on 3 March 2008 by Admin") == furniture_key("Posted on 21 Nov 2011 by admin")
    assert furniture_key("12 comments") == furniture_key("3 comments")
    assert furniture_key("The council fell 12 votes short.") != furniture_key(
        "The council fell 3 votes short."
    )
    assert furniture_key("July 13, 2009") == ""  # figures and calendar words alone are not counted


def test_explain_names_the_rule() -> None:
    docs = [doc(i, OUTLETS[i % 4], story(i)) for i in range(len(EVENTS))]
    learned = RepeatedLines(CleaningOptions())
    for d in docs:
        learned.add(d)
    learned.learn({d.id: d.id for d in docs})
    text, removals = learned.explain(story(3), "another-outlet")
    assert FURNITURE not in text and text.startswith(EVENTS[3][0])
    assert [(r.kind, r.rule, r.text) for r in removals] == [("corpus_line", "corpus-furniture", FURNITURE)]


def test_newsclean_explain_with_a_finished_run_names_corpus_furniture(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    for i in range(len(EVENTS)):
        folder = raw / OUTLETS[i % 4]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"story{i:02d}.txt").write_text(story(i), encoding="utf-8")
    run_pipeline(RunOptions(raw, out, Settings()), DirectExecutor(1), logging.getLogger("test"))
    assert FURNITURE not in (out / "documents.jsonl").read_text(encoding="utf-8")
    assert main(["explain", str(raw / "coast-times" / "story01.txt"), "--run", str(out)]) == 0
    shown = capsys.readouterr().out
    assert f"[corpus_line / corpus-furniture] '{FURNITURE}'" in shown
    assert main(["explain", str(raw / "coast-times" / "story01.txt")]) == 0
    assert "corpus-furniture" not in capsys.readouterr().out
