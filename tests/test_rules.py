"""Every boilerplate rule fires on its artifact and not on the prose that resembles it."""

from __future__ import annotations

import pytest

from cleaners.rules import LINE_RULES, LineRule, byline_author, is_menu_line, site_header_domain

# rule name -> (lines it must remove, lines it must keep); positions: (in_head, in_tail)
CASES: dict[str, tuple[list[str], list[str]]] = {
    "browser-unsupported": (
        ["Your browser doesn’t support HTML5", "Your browser does not support the video tag."],
        ["Your browser history is private, the company said in a statement on Monday."],
    ),
    "enable-javascript": (
        ["Please enable JavaScript to view the comments powered by Disqus."],
        ["Developers enable JavaScript features by default in the new release."],
    ),
    "javascript-required": (
        ["JavaScript is required to play this content"],
        ["JavaScript developers met in Berlin."],
    ),
    "media-unavailable": (
        ["This video is not available in your region."],
        ["The content of the report is not available to the public, the court heard."],
    ),
    "media-loading": (["Video player loading"], ["Video loading times improved, engineers said."]),
    "play-media": (["Watch the video"], ["Watch the video of the debate, she urged voters."]),
    "to-view-video": (
        ["To view this video please enable JavaScript, and consider upgrading"],
        ["To view this year's eclipse, astronomers travelled to Chile."],
    ),
    "ad-label": (
        ["Advertisement", "ADVERTISEMENT", "Sponsored content"],
        ["Advertisement spending rose 4% in the quarter."],
    ),
    "continues-below-ad": (["Story continues below advertisement"], ["The story continues below the fold."]),
    "scroll-to-continue": (["Scroll to continue with content"], ["Scroll down the list to find your town."]),
    "empty-byline-label": (
        ["Published by", "Updated"],
        ["Published by Penguin in 2019, the book sold well."],
    ),
    "topics-label": (
        ["Topics:", "Tags: Japan, United States, Defense"],
        ["Topics: the council discussed budgets, roads and schools at length."],
    ),
    "bare-topics-label": (["Topics"], ["Topics"]),  # negative is tested outside the edges below
    "share-label": (
        ["Share", "Share this article", "Share on Facebook", "1.2k shares"],
        ["Share prices fell sharply on Tuesday."],
    ),
    "social-buttons": (
        ["Facebook Twitter Email", "Share Tweet Print Email"],
        ["Facebook and Twitter were fined by the regulator."],
    ),
    "comment-count": (["12 comments"], ["12 comments were made by the judge."]),
    "follow-us": (["Follow us on Twitter and Facebook"], ["They follow us on the road every summer."]),
    "subscribe-prompt": (
        ["Sign up for our daily newsletter", "Subscribe to our newsletter for updates"],
        ["Sign up rates for the trial were higher than expected this year in every region of the country."],
    ),
    "account-prompt": (
        ["Already a subscriber? Log in", "Subscribe"],
        ["Readers who subscribe to the service said they were satisfied."],
    ),
    "cookie-notice": (
        ["We use cookies to improve your experience on our site."],
        ["The bakery uses cookies from a family recipe."],
    ),
    "cookie-buttons": (
        ["Accept all cookies", "Manage cookies Accept"],
        ["Accept the outcome, the judge said."],
    ),
    "read-more": (
        ["Read more: Japan and US sign defence pact", "Read the full story"],
        ["Read more carefully and you will see the flaw."],
    ),
    "related-label": (
        ["Related:", "You may also like", "Most read"],
        ["Related charges were filed against two other men."],
    ),
    "copyright-sign": (
        ["© 2024 Riverside Gazette", "Copyright 2021 The Associated Press."],
        [
            "Copyright law was the subject of the hearing, and three witnesses spoke before the "
            "committee adjourned for the day, leaving fair use for the courts to decide."
        ],
    ),
    "all-rights-reserved": (["All rights reserved."], []),
    "no-republish": (["This material may not be published, broadcast, rewritten or redistributed."], []),
    "photo-label": (
        ["Photo By: Jim Garamone, DOD", "Photo: Reuters", "Image credit: NASA"],
        ["Photo sharing apps were banned in the country."],
    ),
    "photo-by": (["Photo by Sam Ortiz"], ["Photos by the victim's family were shown in court."]),
    "source-credit": (
        ["SOURCE: KAZUHIRO NOGI/AP VIA NPR", "Credit: Getty Images"],
        ["Source of the leak remains unknown, officials said on Monday."],
    ),
    "virin": (["VIRIN: 210313-D-FN314-001"], ["Virin said nothing."]),
    "agency-credit-end": (
        ["Antony Blinken and Lloyd Austin with Japanese Prime Minister Fumio KishidaShuji Kajiyama / AFP"],
        ["The ratio was 3 / 4 of the vote, the AP reported."],
    ),
    "parenthesised-credit-end": (
        ["Rescue workers search the rubble in Antakya. (Photo: Reuters)"],
        ["The minister (who spoke to Reuters) denied the report."],
    ),
    "lone-agency": (["Getty Images", "AFP"], ["AFP reported the figure first."]),
    "nav-words": (["Skip to main content", "Menu"], ["Menu prices rose 5% this spring."]),
}


def _matches(rule: LineRule, line: str, *, head: bool = True, tail: bool = False) -> bool:
    squashed = " ".join(line.split())
    return rule.matches(squashed, len(squashed.split()), in_head=head, in_tail=tail)


def test_every_rule_has_cases() -> None:
    assert {r.name for r in LINE_RULES} == set(CASES)


@pytest.mark.parametrize("rule", LINE_RULES, ids=lambda r: r.name)
def test_rule_positive_and_negative(rule: LineRule) -> None:
    positives, negatives = CASES[rule.name]
    for line in positives:
        assert _matches(rule, line), f"{rule.name} should remove {line!r}"
    if rule.zone in ("head", "tail", "edge"):
        for line in positives:
            assert not _matches(rule, line, head=False, tail=False), f"{rule.name} fired mid-article"
    for line in negatives:
        if rule.name == "bare-topics-label":
            continue
        assert not _matches(rule, line), f"{rule.name} should keep {line!r}"


def test_menu_lines() -> None:
    assert is_menu_line("News   Partnerships", at_edge=True)
    assert is_menu_line("Home > World > Asia", at_edge=False)
    assert is_menu_line("News | Politics | Business", at_edge=False)
    assert not is_menu_line("News   Partnerships", at_edge=False)  # spacing alone only at the edges
    assert not is_menu_line("Japan Visit Aims to Cement Cornerstone Alliance", at_edge=True)
    assert not is_menu_line("Profits rose > 5% in Asia", at_edge=False)


def test_site_header_domain() -> None:
    assert site_header_domain("Voz media US Voz.us") == "Voz.us"
    assert site_header_domain("Read the full report at example.com for details.") is None
    assert site_header_domain("Japan Visit Aims to Cement Cornerstone Alliance") is None


def test_byline_author() -> None:
    assert byline_author("BY Jim Garamone , DOD News") == ("Jim Garamone", "DOD News")
    assert byline_author("By Dana Whitfield and Lee Chan") == ("Dana Whitfield and Lee Chan", None)
    assert byline_author("By the end of the week, prices had doubled") is None
