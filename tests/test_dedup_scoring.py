"""The vectorised pair scorer agrees with the one-pair definition; copies name what they copy."""

from __future__ import annotations

from collections import Counter

from test_grouping import TOKYO_2021_A, TOKYO_2021_B, TOKYO_2021_C, WASHINGTON_2023, seed_doc, wire_copy

from dedup import DedupDoc, group_documents
from dedup.event_space import EventSpace
from dedup.features import event_terms


def test_batch_scores_equal_single_scores() -> None:
    docs = [seed_doc(str(i), name) for i, name in enumerate([TOKYO_2021_A, TOKYO_2021_B, WASHINGTON_2023])]
    docs.append(DedupDoc("empty", "", None))  # no words, no terms: scores 0, never fails
    bags: list[Counter[str]] = [event_terms(d.text, d.title) for d in docs]
    space = EventSpace.from_texts([d.text for d in docs], bags, overlap_offset=2.0, overlap_reference=0.3)
    pairs = [(0, 1), (1, 0), (0, 2), (2, 1), (0, 3), (3, 2), (1, 2)]
    batch = space.scores(pairs)
    for (a, b), value in zip(pairs, batch, strict=True):
        assert abs(value - space.score(a, b)) < 1e-12
    assert space.scores([]) == []
    assert batch[4] == 0.0


def test_copy_of_a_non_canonical_member_names_its_original() -> None:
    """A wire copy of a shorter article of the event sits under the event's canonical (a longer
    article), so relation-to-canonical says same_event; duplicate_of still names the copied text."""
    longest = seed_doc("long", TOKYO_2021_B)
    shorter = seed_doc("short", TOKYO_2021_C)
    copy = wire_copy(shorter, "copy")
    other = seed_doc("other", TOKYO_2021_A)
    a = group_documents([longest, shorter, copy, other]).assignments
    assert a["copy"].cluster_id == a["long"].cluster_id == a["short"].cluster_id
    assert a["long"].relation == "canonical" and a["long"].duplicate_of is None
    assert a["copy"].duplicate_of == "short"
    assert a["short"].duplicate_of is None  # the copy group's own canonical
    assert a["other"].duplicate_of is None


def test_exact_copy_is_a_duplicate_of_its_original() -> None:
    original = seed_doc("a", TOKYO_2021_B)
    copy = DedupDoc("b", original.text.upper(), None, None, "Mirror")
    a = group_documents([original, copy]).assignments
    assert a["b"].relation == "exact_duplicate" and a["b"].duplicate_of == "a"
    assert a["a"].duplicate_of is None
