"""An event is a specific happening: who, what, where, when. Templates, recurring notices and
chains of short links must not make one event of many."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from newsclean.cleaners import clean_text
from newsclean.dedup import DedupDoc, group_documents
from newsclean.dedup.explain import why
from newsclean.dedup.linkage import Edges, attach_lone_items, average_linkage
from newsclean.settings import DedupSettings
from support import seed_text

SEEDS = Path(__file__).resolve().parents[1] / "fixtures" / "seeds"
GOLD = Path(__file__).resolve().parents[1] / "fixtures" / "seeds_gold.json"


def _earnings(doc_id: str, company: str, ticker: str, figures: tuple[str, str, str, str]) -> DedupDoc:
    shr, shr_prior, net, net_prior = figures
    text = (
        f"Shr {shr} cts vs {shr_prior} cts\n"
        f"Net {net} mln vs {net_prior} mln\n"
        f"Revs 120.3 mln vs 101.2 mln\n"
        f"Nine mths\nShr 1.52 dlrs vs 1.41 dlrs\nNet 30.5 mln vs 27.7 mln\n"
        f"NOTE: {company} said results include a gain from the sale of a unit."
    )
    return DedupDoc(doc_id, text, f"{company.upper()} <{ticker}> 3RD QTR NET", "1987-10-20", "Reuters")


def test_template_items_about_different_companies_are_not_grouped() -> None:
    docs = [
        _earnings("belo", "A.H. Belo Corp", "BLC", ("52", "41", "10.1", "8.2")),
        _earnings("squibb", "Squibb Corp", "SQB", ("87", "73", "95.4", "80.6")),
        _earnings("musicland", "Musicland Group", "MLG", ("33", "29", "4.8", "4.1")),
    ]
    clusters = group_documents(docs).clusters()
    assert sorted(clusters.values()) == [["belo"], ["musicland"], ["squibb"]]


def _notice(doc_id: str, day: str, amount: str, bills: str, rate: str) -> DedupDoc:
    text = (
        f"The Bank of England said it had provided the money market with {amount} mln stg "
        f"assistance in the afternoon session. This brings the bank's total help so far today "
        f"to {amount} mln stg and compares with its revised shortage forecast of {bills} mln stg. "
        f"The central bank bought bills in band two at {rate} pct, unchanged from earlier."
    )
    return DedupDoc(doc_id, text, "U.K. MONEY MARKET GIVEN FURTHER HELP", day, "Reuters")


def test_dated_stories_months_apart_with_one_recurring_wording_are_not_grouped() -> None:
    docs = [
        _notice("march", "1987-03-02", "215", "400", "10-7/8"),
        _notice("june", "1987-06-15", "180", "350", "8-7/8"),
    ]
    grouping = group_documents(docs)
    assert grouping.assignments["march"].cluster_id != grouping.assignments["june"].cluster_id


def test_a_chain_of_short_links_cannot_span_months() -> None:
    # Items a week apart, each strongly linked to the next: 12 items over 77 days.
    n = 12
    days = np.arange(n, dtype=np.int64) * 7 + 725_000
    links = {(i, i + 1): 0.9 for i in range(n - 1)} | {(i, i + 2): 0.8 for i in range(n - 2)}
    edges = Edges.of(links | {(i, i + 3): 0.7 for i in range(n - 3)})
    cut = 0.1
    chained = average_linkage(n, edges, cut)
    assert len(set(chained)) == 1  # without a limit, one cluster over 77 days
    for span in (14, 30):
        labels = average_linkage(n, edges, cut, days, span)
        for label in set(labels):
            members = days[np.asarray(labels) == label]
            assert members.max() - members.min() <= span
        attached = attach_lone_items(labels, edges, cut, 0.1, days, span)
        for label in set(attached):
            members = days[np.asarray(attached) == label]
            assert members.max() - members.min() <= span
    # Undated items are held by content alone.
    undated = np.full(n, -1, dtype=np.int64)
    assert average_linkage(n, edges, cut, undated, 14) == chained


def _seed_docs() -> list[DedupDoc]:
    out = []
    for path in sorted(SEEDS.iterdir()):
        cleaned = clean_text(seed_text(path.name))
        m = cleaned.metadata
        out.append(DedupDoc(path.name, cleaned.text, m.title, m.published, m.outlet))
    return out


def test_why_names_shared_and_conflicting_specifics_on_the_seeds() -> None:
    docs = _seed_docs()
    gold = json.loads(GOLD.read_text(encoding="utf-8"))
    tokyo_2021, washington_2023 = gold["events"][0]["members"], gold["events"][1]["members"][0]
    settings = DedupSettings()
    same = why(docs, tokyo_2021[0], tokyo_2021[2], settings)
    assert same["same_cluster"]
    assert {"blinken", "austin", "lloyd"} <= set(same["shared_specifics"])
    assert same["edge_weight"] is not None and same["edge_weight"] >= same["threshold"] * 0.5
    for key in ("cosine", "overlap", "conflict", "date_gap_days", "threshold"):
        assert key in same
    other = why(docs, tokyo_2021[0], washington_2023, settings)
    assert not other["same_cluster"]
    assert set(other["conflicting_specifics"]) == {tokyo_2021[0], washington_2023}
    unmatched = other["unmatched_specifics"]
    assert {"motegi", "kishi"} & set(unmatched[tokyo_2021[0]])  # 2021's Japanese ministers
    assert unmatched[washington_2023]
    assert other["date_gap_days"] is None  # the 2023 story carries no date: content alone
