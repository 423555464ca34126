"""Grouping's pair steps on the cluster (`DaskGraphSteps`) equal the local steps at 1, 2 and 7
partitions: the same event graph (units, edges and weights to the bit, counts) and the same
grouping, on a corpus where every per-item cut bites (each story's best candidates, crowd
levels, strongest edges) and tied scores are common. The local steps are called here, at run
time: as the grouping rules change, the comparison follows them."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from distributed import Client

from newsclean.dedup.grouping import EventGraph, event_graph, use_steps
from newsclean.dedup.signing import DocSignature, Signer
from newsclean.dedup.types import DedupDoc
from newsclean.distributed.grouping import DaskGraphSteps
from newsclean.settings import DedupSettings

PARTITIONS = (1, 2, 7)
# Small per-story cuts, so that the choices per item decide much of the graph.
SETTINGS = DedupSettings(event_candidates_per_story=6, event_edges_per_story=3, lsh_bucket_cap=10)


def _word(rng: random.Random) -> str:
    return "".join(rng.choice("bdfgklmnprstvz") + rng.choice("aeiou") for _ in range(rng.randint(2, 4)))


def _corpus() -> list[tuple[DedupDoc, DocSignature]]:
    """~190 stories of 24 events: each event's names and words, shared topic words, dates near
    the event's day; some stories copied (exact or lightly edited), some undated."""
    rng = random.Random(31)
    common = [_word(rng) for _ in range(300)]
    topics = [[_word(rng) for _ in range(25)] for _ in range(4)]
    docs: list[DedupDoc] = []
    for event in range(24):
        names = [_word(rng).capitalize() for _ in range(4)]
        words = [_word(rng) for _ in range(12)]
        topic = topics[event % 4]
        day = 1 + event % 27
        for story in range(rng.randint(4, 10)):
            sentences = []
            for _ in range(rng.randint(5, 9)):
                pool = rng.choice((names, words, topic, common, common))
                sentence = [rng.choice(pool) for _ in range(rng.randint(6, 12))]
                sentences.append(" ".join(sentence).capitalize() + ".")
            text = " ".join(sentences)
            published = None if story == 3 else f"2024-03-{day + rng.randint(0, 2):02d}"
            title = f"{names[0]} {rng.choice(words)} {rng.choice(topic)}"
            doc = DedupDoc(f"e{event:02d}-{story}", text, title, published, f"outlet{story % 5}")
            docs.append(doc)
            if story % 4 == 0:  # a copy: exact, or with a line of its own
                extra = "" if story % 8 == 0 else " " + " ".join(rng.choice(common) for _ in range(8)) + "."
                docs.append(DedupDoc(doc.id + "-copy", text + extra, title, published, "wire"))
    for bank, ticker in (
        ("Chemical", "CHL"),
        ("Mercantile", "MTRC"),
        ("Boatmen's", "BOAT"),
        ("Irving", "IRV"),
    ):
        text = (  # one template filled in for several subjects on one day: cannot-links
            f"{bank} Bank said it is raising its prime rate to 7-3/4 pct from 7-1/2 pct, effective "
            "immediately. The move follows increases announced earlier today by several major "
            "money center banks, which cited higher costs of funds in the credit markets."
        )
        docs.append(
            DedupDoc(f"prime-{ticker}", text, f"{bank.upper()} <{ticker}> RAISES PRIME RATE", "1987-04-01")
        )
    signatures = Signer(SETTINGS).sign([d.text for d in docs], [d.title for d in docs])
    return [
        (DedupDoc(d.id, "", d.title, d.published, d.outlet), s) for d, s in zip(docs, signatures, strict=True)
    ]


@pytest.fixture(scope="module")
def local_graph() -> tuple[list[tuple[DedupDoc, DocSignature]], EventGraph]:
    signed = _corpus()
    return signed, event_graph(signed, SETTINGS)


def _assignments(graph: EventGraph, leave_out: list[str]) -> str:
    grouping = graph.grouping(leave_out=leave_out) if leave_out else graph.grouping()
    return json.dumps({k: v.as_dict() for k, v in sorted(grouping.assignments.items())})


@pytest.mark.parametrize("partitions", PARTITIONS)
def test_distributed_grouping_steps_equal_the_local_ones(
    client: Client, local_graph: tuple[list[tuple[DedupDoc, DocSignature]], EventGraph], partitions: int
) -> None:
    signed, local = local_graph
    stats = {k: v for k, v in local.stats.items() if not k.startswith("seconds")}
    # The case: copies, every per-item cut biting, cannot-links, clusters of several units.
    assert stats["near_groups"] < stats["exact_groups"] < stats["documents"]
    assert stats["cannot_links"] > 0
    assert stats["event_candidate_pairs"] < stats["event_lsh_pairs"]
    assert len(local.edges) < stats["event_candidate_pairs"]
    steps = DaskGraphSteps(client, partitions)
    with use_steps(steps):
        remote = event_graph(signed, SETTINGS)
        grouped = _assignments(remote, [])
        leave_out = sorted(remote.by_id)[::9]
        regrouped = _assignments(remote, leave_out)
    assert {k: v for k, v in remote.stats.items() if not k.startswith("seconds")} == stats
    assert remote.units == local.units and remote.members == local.members
    assert remote.unit_rep == local.unit_rep
    np.testing.assert_array_equal(remote.days, local.days)
    np.testing.assert_array_equal(remote.edges.pairs, local.edges.pairs)
    np.testing.assert_array_equal(remote.edges.weights, local.edges.weights)  # to the bit
    assert grouped == _assignments(local, [])
    assert regrouped == _assignments(local, leave_out)
    clusters = json.loads(grouped)
    assert len({a["cluster_id"] for a in clusters.values()}) < len(local.units) - 20
    # No task held every candidate pair once there are partitions to share them (an owner of
    # stories holds the pairs of either end: at 2 partitions most of them).
    every_pair = stats["event_lsh_pairs"] + stats["near_candidate_pairs"]
    assert 0 < steps.largest_block <= every_pair
    if partitions == 7:
        assert steps.largest_block < every_pair / 2
