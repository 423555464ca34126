"""The text cleaner on the five samples' artifacts, and its metadata, whitespace and date steps."""

from __future__ import annotations

import json

import pytest

from newsclean.cleaners import CleanedText, Metadata, clean_text
from newsclean.cleaners.dates import normalise_date, parse_date
from newsclean.cleaners.whitespace import normalise_whitespace
from newsclean.settings import CleaningOptions
from support import GOLD, seed_text

GOLD_DOCS = json.loads(GOLD.read_text(encoding="utf-8"))["documents"]


def squashed(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("name", sorted(GOLD_DOCS))
def test_seed_gold_cleaning(name: str) -> None:
    expected = GOLD_DOCS[name]
    result = clean_text(seed_text(name))
    body = squashed(result.text)
    for dropped in expected["must_drop"]:
        assert dropped not in result.text and dropped not in body, f"{name}: {dropped!r} survived"
    for kept in expected["must_keep"]:
        assert squashed(kept) in body, f"{name}: {kept!r} lost"
    assert result.metadata.title == expected["title"]
    assert result.metadata.published == expected["date"]


def test_seed_removals_are_counted_by_kind() -> None:
    counts = clean_text(seed_text("000_cd16a20b02b0c67d.txt")).removed_counts()
    assert counts == {"byline": 1, "navigation": 1, "photo_caption": 6, "photo_credit": 4, "title": 1}
    counts = clean_text(seed_text("004_9bb03da469b49762.txt")).removed_counts()
    assert counts == {
        "byline": 1,
        "photo_credit": 1,
        "site_header": 1,
        "title": 1,
        "topics": 1,
        "trailing_fragment": 1,
    }


def test_byline_and_site_header_become_metadata() -> None:
    meta = clean_text(seed_text("000_cd16a20b02b0c67d.txt")).metadata
    assert (meta.author, meta.published) == ("Jim Garamone", "2021-03-15")
    assert clean_text(seed_text("004_9bb03da469b49762.txt")).metadata.outlet == "Voz.us"


def test_article_sentences_with_trigger_words_survive() -> None:
    text = (
        "Council Votes on Budget\n\n"
        "Share prices of the utility fell after the council vote on Monday.\n\n"
        'The mayor said the word "Topics:" appeared on the agenda by mistake.\n\n'
        "Photo sharing was banned in the chamber during the debate, officials said.\n\n"
        "Advertisement revenue at the city paper fell by a third last year."
    )
    result = clean_text(text)
    assert result.metadata.title == "Council Votes on Budget"
    assert result.text.count("\n\n") == 3
    assert [r.kind for r in result.removals] == ["title"]


def test_known_title_is_removed_from_the_body() -> None:
    result = clean_text(
        "Drought Limits Water\n\nThe towns will limit watering.", known=Metadata(title="Drought Limits Water")
    )
    assert result.text == "The towns will limit watering."
    assert result.metadata.title == "Drought Limits Water"


def test_steps_can_be_switched_off() -> None:
    text = seed_text("004_9bb03da469b49762.txt")
    off = clean_text(text, CleaningOptions(boilerplate_lines=False, photo_blocks=False))
    assert "Topics:" in off.text and "tracking" in off.text
    assert isinstance(off, CleanedText)


def test_whitespace_paragraphs_and_no_break_spaces() -> None:
    assert normalise_whitespace("A\u00a0 b  c \n\n\n\nD\t e") == "A b c\n\nD e"
    assert normalise_whitespace("One line.\nTwo line.") == "One line.\n\nTwo line."
    wrapped = (
        "The council met on Monday evening to discuss the new budget and\n"
        "the members agreed after a long debate that the library should\n"
        "stay open on weekends during the summer months this year and\n"
        "next year as well."
    )
    assert "\n" not in normalise_whitespace(wrapped)


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("March 15, 2021", "2021-03-15"),
        ("Mon, Mar. 15, 2021 10:30 AM EST", "2021-03-15"),
        ("15 March 2021", "2021-03-15"),
        ("2021-03-15T09:00:00Z", "2021-03-15"),
        ("February 30, 2021", None),
    ],
)
def test_dates(text: str, iso: str | None) -> None:
    assert parse_date(text, whole=True) == iso
    assert normalise_date(text) == iso


def test_a_year_in_a_sentence_is_not_a_date() -> None:
    assert parse_date("abandon a 2018 inter-Korean military peace pact", whole=True) is None


def test_headline_with_an_abbreviation_and_a_kicker_above_it() -> None:
    body = (
        "The council voted on Monday to keep the library open on weekends through the summer, "
        "members said after a long debate."
    )
    result = clean_text(
        f"BREAKING NEWS\n\nMan charged over threats to Rep. Dana Whitfield\n\n{body}\n\n{body}"
    )
    assert result.metadata.title == "Man charged over threats to Rep. Dana Whitfield"
    assert result.text.startswith("The council voted")
    # A first line with a sentence in it is text, not a title.
    lede = f"Opinions are mine alone. All prices were checked in May.\n\n{body}"
    assert clean_text(lede).text.startswith("Opinions are mine alone.")


def test_a_credit_ending_a_short_article_takes_no_paragraph_with_it() -> None:
    # An extractor's output: a paragraph a line, no blank lines; the credit is the lead photo's.
    story = [
        "The company has sold through all of its launch day pre-order stock of the new tablet, "
        "according to a report published on Tuesday by an industry website.",
        "Early adopters were angry at the announcement because it came only months after the last "
        "model, and the older one will no longer be sold.",
        "But clearly, the company is not getting hurt by releasing a new version of a product.",
        "As for its other new product, orders are scheduled to ship two weeks after pre-orders.",
    ]
    result = clean_text("\n".join([*story, "Photo by Dean Takahashi/VentureBeat"]))
    assert [line for line in result.text.split("\n") if line] == story
    assert [r.rule for r in result.removals] == ["photo-by"]


def test_a_photo_block_between_paragraphs_still_loses_its_caption() -> None:
    story = (
        "The council met on Monday to vote on the new budget, which passed by a narrow margin after "
        "a long debate about the library.\n\n"
        "The mayor arrives at the council chamber on Monday evening\n"
        "Photo by Jane Smith\n\n"
        "Members said the vote would be revisited next year, when the figures for the library are known."
    )
    result = clean_text(story)
    assert "The mayor arrives" not in result.text
    assert "caption-above-credit" in [r.rule for r in result.removals]
