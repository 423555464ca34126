"""Lists that are not prose: a ticker or link list dwarfing the story, other stories' teasers."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsclean.cleaners import clean_text
from newsclean.cleaners.blocks import list_blocks, teaser_blocks
from newsclean.flows.cli import main
from newsclean.settings import CleaningOptions

STORY = [
    "The euro rose against the dollar on Monday after figures showed German factory orders grew"
    " faster than economists had expected in the last quarter of the year.",
    "Traders said the single currency had been held back for weeks by worries about growth, and"
    " that the new figures gave buyers a reason to return before the central bank meets on Thursday.",
    "The dollar also slipped against the yen, while sterling was little changed after a quiet day"
    " in London, where dealers were waiting for inflation figures due later in the week.",
    "Analysts at several banks said they expected the euro to hold its gains unless the central"
    " bank signals that it is ready to cut interest rates again before the summer.",
]
CURRENCIES = ["USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "NZD", "SEK", "NOK", "DKK", "PLN"]


def ticker(rows: int) -> list[str]:
    """Rows of a currency ticker: a pair, its rate and its change."""
    pairs = [f"{a}/{b}" for a in CURRENCIES for b in CURRENCIES if a != b]
    return [
        f"{pairs[i % len(pairs)]} {1 + i / 1000:.4f} {(-1) ** i * (i % 7) / 100:+.2f} {i % 5}.{i % 9}%"
        for i in range(rows)
    ]


def test_a_ticker_list_after_the_article_is_dropped() -> None:
    text = "\n\n".join(STORY) + "\n\nCurrency rates\n" + "\n".join(ticker(120))
    cleaned = clean_text(text)
    assert cleaned.text.split("\n\n") == STORY
    rules = {(r.kind, r.rule) for r in cleaned.removals}
    assert ("page_chrome", "non-prose-list") in rules  # what `newsclean explain` prints
    kept = clean_text(text, CleaningOptions(list_blocks=False, body_span=False))
    assert "USD/EUR" in kept.text


def test_a_list_the_size_of_the_story_and_a_page_that_is_only_a_list_stay() -> None:
    results = ticker(12)  # a short table under the story: the story's own
    lines = [*STORY, *results]
    assert list_blocks(lines) == []
    assert list_blocks(ticker(200)) == []  # no story beside it: the list is the page's content
    assert list_blocks([*STORY, *ticker(200)]) == [(len(STORY), len(STORY) + 200)]


def test_other_stories_teasers_ending_in_full_story_are_dropped() -> None:
    lines = [
        *STORY,
        "Rams set to land Robert",
        "Struggling Derby County are poised to sign a former French international winger.",
        "Full Story",
        "Draw ups pressure on manager",
        "Newcastle United have been held to a 0-0 draw by Stoke City in the FA Cup third round.",
        "Full Story",
    ]
    assert teaser_blocks(lines) == list(range(len(STORY), len(lines)))
    cleaned = clean_text("\n\n".join(lines))
    assert cleaned.text.split("\n\n") == STORY
    assert ("read_more", "teaser-list") in {(r.kind, r.rule) for r in cleaned.removals}


def test_one_read_more_under_a_story_is_not_a_teaser_list() -> None:
    lines = [*STORY, "Read more"]
    assert teaser_blocks(lines) == []


def test_newsclean_explain_names_the_list_rule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "currency.txt"
    path.write_text("\n\n".join(STORY) + "\n\nCurrency rates\n" + "\n".join(ticker(120)), encoding="utf-8")
    assert main(["explain", str(path)]) == 0
    shown = capsys.readouterr().out
    assert "[page_chrome / non-prose-list] 'USD/EUR" in shown
    assert "USD/EUR" not in shown.split("--- removed")[0]


def test_event_promos_ending_in_register_now_are_dropped_a_deals_posts_products_stay() -> None:
    """A call to register ends each event promo beside a story: a teaser list. "Buy now" under
    each product of a deals post is not: the products are the post."""
    events = [
        "Cloud Day for the Gaming Industry",
        "This session will use real world case studies to show how gaming companies can use the"
        " cloud to stay flexible, with a customer panel after it.",
        "Register Now",
        "Choosing your Web App Architecture",
        "Seven questions will show you which services are right for your website or application.",
        "Register Now",
    ]
    lines = [*STORY, *events]
    assert teaser_blocks(lines) == list(range(len(STORY), len(lines)))
    cleaned = clean_text("\n\n".join(lines))
    assert cleaned.text.split("\n\n") == STORY
    deals = [
        "Apple AirPods Pro",
        "The noise-cancelling earbuds are down to their lowest price yet for the holiday sale.",
        "Buy Now",
        "Instant Pot Duo",
        "The seven-in-one cooker is half price today, the best deal we have seen on it this year.",
        "Buy Now",
    ]
    assert teaser_blocks([*STORY, *deals]) == []
