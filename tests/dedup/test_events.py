"""An event is a specific happening: who, what, where, when. Templates, recurring notices and
chains of short links must not make one event of many."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from newsclean.cleaners import clean_text
from newsclean.dedup import DedupDoc, group_documents
from newsclean.dedup.explain import why
from newsclean.dedup.linkage import CANNOT_LINK, Edges, attach_lone_items, average_linkage
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


def _crop_estimate(doc_id: str, day: str, month: str, boxes: str, gallons: str) -> DedupDoc:
    text = (
        f"WASHINGTON, {month} - The U.S. Agriculture Department projected the 1986/87 Florida "
        f"orange crop at {boxes} mln boxes, unchanged from last month's estimate. The department "
        "estimated frozen concentrated orange juice yield from the 1986/87 Florida crop at "
        f"{gallons} gallons per box, at 42.0 degree brix equivalent, the same as last month. "
        "The department said the estimate is based on the maturity tests conducted in the "
        "major producing areas of the state during the past month, and on the yields of "
        "juice from fruit processed to date, as reported by the Florida Citrus Processors "
        "Association and the Florida Department of Citrus in its weekly summary."
    )
    return DedupDoc(doc_id, text, "USDA ORANGE JUICE YIELD ESTIMATE", day, "Reuters")


def test_a_monthly_notice_in_the_same_words_is_no_copy_of_last_months() -> None:
    """Near copies (a few figures changed) a month apart are two events; the same pair ten days
    apart is a copy, and an exact copy stays one whatever its date."""
    march = _crop_estimate("march", "1987-03-09", "March 9", "118.0", "1.46")
    april = _crop_estimate("april", "1987-04-09", "April 9", "118.5", "1.48")
    grouping = group_documents([march, april])
    assert grouping.assignments["march"].cluster_id != grouping.assignments["april"].cluster_id
    close = DedupDoc("close", april.text, april.title, "1987-03-19", "Reuters")
    grouping = group_documents([march, close])
    assert grouping.assignments["close"].cluster_id == grouping.assignments["march"].cluster_id
    assert grouping.assignments["close"].relation == "near_duplicate"
    later = DedupDoc("later", march.text, march.title, "1987-06-09", "Reuters")
    grouping = group_documents([march, later])
    assert grouping.assignments["later"].relation == "exact_duplicate"


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


def _prime(doc_id: str, bank: str, ticker: str, rate: str) -> DedupDoc:
    text = (
        f"{bank} said it is raising its prime rate to {rate} pct from 7-1/2 pct, effective "
        "immediately. The move follows increases announced earlier today by several major "
        "money center banks, which cited higher costs of funds in the credit markets."
    )
    return DedupDoc(doc_id, text, f"{bank.upper()} <{ticker}> RAISES PRIME RATE", "1987-04-01", "Reuters")


def test_same_day_same_wording_about_different_subjects_is_a_cannot_link() -> None:
    docs = [
        _prime("chemical", "Chemical Bank", "CHL", "7-3/4"),
        _prime("mercantile", "Mercantile Bank", "MTRC", "7-3/4"),
        _prime("boatmen", "Boatmen's National Bank", "BOAT", "7-3/4"),
    ]
    clusters = group_documents(docs).clusters()
    assert sorted(clusters.values()) == [["boatmen"], ["chemical"], ["mercantile"]]
    parts = why(docs, "chemical", "mercantile")
    assert parts["different_subjects"] and not parts["same_cluster"]
    assert parts["subjects"]["chemical"] in {"chemical", "<chl>"}  # equally rare here: either
    assert parts["subjects"]["mercantile"] in {"mercantile", "<mtrc>"}
    assert parts["date_gap_days"] == 0  # the same day lifts nothing here
    # The same bank's story told twice (its subject in both) is one event.
    again = DedupDoc(
        "chemical-2", docs[0].text.replace("effective immediately", "starting today"),
        "CHEMICAL <CHL> LIFTS PRIME RATE TO 7-3/4 PCT", "1987-04-01", "Wire",
    )  # fmt: skip
    grouped = group_documents([docs[0], again]).assignments
    assert grouped["chemical"].cluster_id == grouped["chemical-2"].cluster_id
    assert not why([docs[0], again], "chemical", "chemical-2")["different_subjects"]


def test_wire_headlines_marking_different_company_codes_are_different_events() -> None:
    # A bid's two sides, the same day: each text names the other company with its code and
    # tells the same deal; the headlines mark different codes, so two events.
    bidder = DedupDoc(
        "bp",
        "British Petroleum Co PLC <BP> may have to raise its 70 dlr a share tender offer for the "
        "45 pct of Standard Oil Co <SRD> it does not already own, analysts said, as Standard "
        "Oil shares traded above the offer price on Wall Street today.",
        "BP <BP> MAY HAVE TO RAISE BID - ANALYSTS", "1987-03-26", "Reuters",
    )  # fmt: skip
    target = DedupDoc(
        "srd",
        "Standard Oil Co <SRD> said its cash flow will rise in 1987 on higher crude prices. "
        "The company, in which British Petroleum Co PLC <BP> holds 55 pct and whose 70 dlr a "
        "share tender offer for the rest began this week, gave no forecast of earnings.",
        "STANDARD OIL <SRD> SEES BOOST IN 1987 CASH FLOW", "1987-03-26", "Reuters",
    )  # fmt: skip
    both = DedupDoc(
        "bid",
        "British Petroleum Co PLC <BP> started its 70 dlr a share tender offer for the 45 pct "
        "of Standard Oil Co <SRD> it does not already own, the company said in New York.",
        "BP <BP> STARTS BID FOR STANDARD OIL <SRD> SHARES", "1987-03-26", "Reuters",
    )  # fmt: skip
    docs = [bidder, target, both]
    parts = why(docs, "bp", "srd")
    assert parts["different_subjects"] and not parts["same_cluster"]
    assert parts["subjects"]["bp"] == "<bp>" and parts["subjects"]["srd"] in {"srd", "<srd>"}
    # A headline that marks a code of each side shares one with either: no cannot-link.
    assert not why(docs, "bp", "bid")["different_subjects"]
    assert not why(docs, "srd", "bid")["different_subjects"]


def test_a_company_code_is_not_the_word_it_spells() -> None:
    # Two results tables: CTS Corp's code is the "cts" (cents) of every other table, and AT&T's
    # the letter T; a code counts only where a text marks it in angle brackets.
    table = "Oper shr profit 62 cts vs profit seven cts\n\nOper net profit 3,492,000 vs profit 401,000"
    docs = [
        DedupDoc("cts", table, "CTS CORP <CTS> 3RD QTR OPER NET", "1987-10-19", "Reuters"),
        DedupDoc(
            "mtrm", table.replace("62", "12"), "MONITERM CORP <MTRM.O> 3RD QTR OPER NET", "1987-10-19", None
        ),
        DedupDoc("t", table.replace("62", "71"), "AT AND T <T> 3RD QTR NET", "1987-10-19", "Reuters"),
    ]
    assert sorted(group_documents(docs).clusters().values()) == [["cts"], ["mtrm"], ["t"]]
    for a, b in (("cts", "mtrm"), ("cts", "t"), ("mtrm", "t")):
        assert why(docs, a, b)["different_subjects"], (a, b)


def test_a_full_headline_speaks_for_its_story_against_an_untitled_one() -> None:
    climb = DedupDoc(
        "climb",
        "An Australian climber who watched his brother fall to his death on New Zealand's "
        "highest peak, Aoraki Mount Cook, said he expected to die that night on the mountain. "
        "Rescuers reached him after a storm cleared, police in Christchurch said.",
    )
    tender = DedupDoc(
        "tender",
        "The Reserve Bank of New Zealand said it cancelled this week's Treasury bill tender "
        "because the government's cash position in Wellington was strong. The tender would "
        "have offered 150 mln dlrs of bills.",
        "NEW ZEALAND TREASURY BILL TENDER CANCELLED", "1987-03-29", "Reuters",
    )  # fmt: skip
    # The headline names four specifics; the climber's story has one of them (New Zealand).
    parts = why([climb, tender], "climb", "tender")
    assert parts["conflict"] > 0.5 and not parts["same_cluster"]
    # Without its headline the tender story states nothing for the climber's story to miss.
    bare = DedupDoc("tender", tender.text, None, "1987-03-29", "Reuters")
    assert why([climb, bare], "climb", "tender")["conflict"] == 0.0
    # A headline of one specific ("Tokyo") is too little to judge an untitled account by: the
    # seeds' 2021 accounts that say "Japan" stay with it (tests/test_run.py::test_seeds_match_gold).


def test_a_cannot_link_holds_against_chains_and_lone_joins() -> None:
    # 0-1 and 1-2 are strong, 0-2 a cannot-link: 0 and 2 never share a cluster.
    edges = Edges.of({(0, 1): 0.9, (1, 2): 0.9, (0, 2): CANNOT_LINK, (3, 4): 0.5})
    labels = average_linkage(5, edges, 0.1)
    assert labels[0] != labels[2] and labels[3] == labels[4]
    without = average_linkage(5, Edges.of({(0, 1): 0.9, (1, 2): 0.9, (0, 2): 0.0, (3, 4): 0.5}), 0.1)
    assert without[0] == without[2]  # the same graph without it: one cluster of three
    # A lone item whose best cluster holds an item it cannot link with stays alone.
    lone = Edges.of({(0, 1): 0.9, (2, 0): 0.8, (2, 1): CANNOT_LINK})
    clustered = average_linkage(3, lone, 0.85)
    assert clustered[0] == clustered[1] != clustered[2]
    assert attach_lone_items(clustered, lone, 0.85, 0.1) == clustered
    free = Edges.of({(0, 1): 0.9, (2, 0): 0.8, (2, 1): 0.8})
    assert len(set(attach_lone_items(average_linkage(3, free, 0.85), free, 0.85, 0.1))) == 1
