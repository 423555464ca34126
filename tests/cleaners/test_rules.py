"""Every boilerplate rule fires on its artifact and not on the prose that resembles it."""

from __future__ import annotations

import pytest

from newsclean.cleaners.rules import (
    LINE_RULES,
    LineRule,
    byline_author,
    first_rule,
    is_menu_line,
    site_header_domain,
)

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
    "media-playback-unsupported": (
        ["Media playback is unsupported on your device"],
        ["Media playback is unsupported on older phones, the company said in a statement."],
    ),
    "player-readout": (
        ["Current Time 0:00", "Duration 0:00", "Loaded: 0%", "Stream Type LIVE", "Remaining Time -0:00"],
        ["Duration of the contract is five years."],
    ),
    "player-label": (["Video", "VIDEO", "Live", "1x"], ["Video shows the suspect fleeing."]),
    "media-caption": (
        ["Media captionWho is the new minister?", "Media caption The minister spoke on Monday"],
        ["Media captions were added to the archive in 2019, the library said."],
    ),
    "requires-javascript": (
        ["This slideshow requires JavaScript."],
        ["This gallery requires a ticket, and visitors queue for hours to see it."],
    ),
    "gallery-counter": (
        ["Image 1 of 5", "Image 1 of / 23", "1 of 6", "Slide 3/12"],
        ["1 of 6 voters said no."],
    ),
    "gallery-button": (
        ["Caption", "Close", "Enlarge this image", "View all (23)", "Main article image", "Hide caption"],
        ["Close to 40 people were injured."],
    ),
    "credit-ellipsis": (["Credit...Jane Roe/The Daily Courier"], ["Credit card debt rose again."]),
    "image-copyright-caption": (
        ["Image copyright Getty Images", "Image caption The minister arrives at the summit"],
        ["Image rights are a matter for the courts, the judge said."],
    ),
    "agency-after-comma": (
        ["Jane Roe, Associated Press", "John Doe, AP", "ITV, ASSOCIATED PRESS"],
        ["The report was confirmed by sources, AP.", "prices rose, Reuters"],
    ),
    "submitted-photo": (
        ["Jane Roe Submitted photo"],
        ["The submitted photo was later withdrawn by the agency, police said."],
    ),
    "courtesy-of": (
        ["Courtesy of Jane Roe", "Courtesy Riverside Museum"],
        ["Courtesy of the hosts, we ate well."],
    ),
    "glued-credit": (
        ["The hospital where patients were treatedCredit: EPA", "A person sitting on a bench© Amazon"],
        ["Credit: the lender said rates would rise.", "The article credits Photo: none at all in its notes."],
    ),
    "byline-labels": (
        ["By", "by", "PUBLISHED: | UPDATED:", "By | Special to the Riverside Gazette", "Posted: |"],
        ["By the end of the week, prices had doubled."],
    ),
    "role-line": (
        ["Opinion Columnist", "Jane Roe, news reporter", "Tom Doe, AP Auto Writer", "Staff Writer"],
        [
            "The editor resigned on Monday.",
            "Jane Roe, a reporter for the paper, was injured while covering the protest.",
        ],
    ),
    "author-bio": (
        ["Jane Roe is a reporter for Riverside News.", "Dana Whitfield is a freelance writer living in Oslo"],
        ["Jane Roe is a reporter who covered the war, and she told the court what she saw that day."],
    ),
    "contributed-reporting": (
        [
            "Additional reporting by Jane Roe",
            "Jane Roe contributed reporting from Hong Kong.",
            "Riverside News’ Dana Whitfield contributed to this report.",
        ],
        [
            "(Reporting by Jane Roe; Editing by Tom Doe)",
            "Volunteers contributed to the fund, which raised $2 million.",
        ],
    ),
    "about-author": (["About the Author"], ["About the author of the letter, little is known."]),
    "share-glued": (
        [
            "Share on FacebookShare on TwitterShare on Linkedin",
            "Sharing is caring!",
            "Bookmark and Share",
            "Get short URL",
            "Like this story? Share it with a friend!",
        ],
        ["Sharing is caring, the coach told his players before the final."],
    ),
    "widget-words": (
        ["Newsletter", "NEWSLETTERS", "Submit", "Feedback", "Newsletter sign up", "Pick Six Newsletter"],
        ["Submit your entries by Friday, organisers said."],
    ),
    "click-here-promo": (
        ["CLICK HERE TO GET THE RIVERSIDE NEWS APP", "GET RIVERSIDE BUSINESS ON THE GO BY CLICKING HERE"],
        [
            "Click here to get more information or download this game.",
            "Voters who click here and there on the site were counted twice.",
        ],
    ),
    "inbox-promo": (
        [
            "Get our daily Entertainment newsletter",
            "Get the day’s top headlines delivered to your inbox every morning",
            "Get the latest updates right in your inbox. Subscribe to our newsletters.",
        ],
        ["Residents get alerts on their phones when the river rises, officials said."],
    ),
    "teaser-then-signup": (
        ["There's plenty more where that came from. Sign up for The Weekly Digest."],
        [
            "The event is free. Register at the library by Friday.",
            "The plan failed. Sign up rates for the trial were lower than expected in every region "
            "of the country and officials blamed the weather, the timing, the cost and the lack of "
            "publicity for the poor result.",
        ],
    ),
    "contact-author": (
        [
            "Have a tip? Jane Roe may be reached at jroe@example.com.",
            "Email Jane Roe at jroe@example.com or follow her @jroe.",
            "Follow Newsbeat on Instagram, Facebook, Twitter and YouTube.",
            "Follow me on Twitter or LinkedIn.",
        ],
        ["Police said the suspect would follow her on foot for hours before the attack took place."],
    ),
    "bracketed-related": (["[Related: Ten things to know about the summit]"], ["[Laughter]"]),
    "also-on-site": (["Also on example.com Ministers meet in Oslo"], ["Also on the agenda were taxes."]),
    "more-in-section": (
        ["More in Amsterdam", "Explore further", "Must Read"],
        ["More in the north voted no."],
    ),
    "copyright-holder-year": (
        [
            "copyright Inexhibit 2019 - ISSN: 2283-5474",
            "The contents of this site are ©2019 Riverside Publishing Corp.",
            "Copyright @ 2019 The Riverside Gazette.",
        ],
        ["Copyright infringement cases rose in 2019, the report found."],
    ),
    "subject-to-copyright": (
        ["This document is subject to copyright. Apart from any fair dealing no part may be reproduced."],
        ["The document is subject to review by the board."],
    ),
    "rights-reserved-other": (
        ["Alle Rechte vorbehalten.", "© Zeitung, alle Rechte vorbehalten"],
        ["Die Rechte der Mieter."],
    ),
    "citation-retrieved": (
        [
            "Citation: Moons of Jupiter (2019, November 18) retrieved 20 November 2019 from https://example.com/news/x.html"
        ],
        ["Citation: the court cited a 2019 ruling."],
    ),
    "in-this-photo": (
        ["In this photo issued by ITV, the two leaders shake hands before the debate. (ITV via AP)"],
        ["In this photography contest, entries came from 40 countries."],
    ),
    "follow-coverage": (
        ["Follow AP's full coverage of the election at https://example.com/election"],
        ["Follow the money, the investigators were told by their chief on the first day."],
    ),
    "agency-slash-name-end": (
        ["The logo is displayed outside an office in New York City, January 8, 2019. REUTERS/Jane Roe"],
        ["The ratio of AP/ Reuters subscribers was not disclosed."],
    ),
    "file-photo-caption": (
        ["FILE PHOTO: Traders work on the floor of the exchange in New York, U.S., November 18, 2019."],
        ["File photos of the suspect were shown to the jury on Monday."],
    ),
    "agency-file-end": (
        ["Rep. Jane Roe speaks at the Capitol on July 25, 2019.John Doe / AP file"],
        ["The file was sent to AP, the agency said."],
    ),
    "file-name": (
        ["airpods-pro-2.jpg", "Bike-&-Style-book__MG_2953", "• narrow-browser-and-phone"],
        ["02-751-1500", "___", "Well-to-do families"],
    ),
    "shortcode": (
        ['[button link="http://example.com/submit/" type="big"] Send us your review[/button]'],
        ["[Laughter] The crowd cheered."],
    ),
    "reading-time": (["5 Min Read", "3 min read"], ["5 min reading of the bill was allowed."]),
    "tagged-link": (
        ["Holidaymakers die after eating marmot [INSIGHT]", "Plane passengers quarantined [NEWS]"],
        ["The minister [who resigned] spoke on Monday."],
    ),
    "link-label-url": (
        ["Listen: http://po.st/TP_615", "iTunes: https://example.com/pod"],
        ["Listen: it works."],
    ),
    "via-site": (["Via SyndiGate.info"], ["Via Rome, the pilgrims walked to Assisi."]),
    "if-you-enjoyed": (
        ["If you enjoyed this article, we have a proposition for you: Join our membership program."],
        ["If you enjoyed the film, the sequel will not disappoint, critics said."],
    ),
    "comment-policy": (
        ["Comments are subject to our community guidelines, which can be viewed here."],
        ["Comments by the minister were criticised."],
    ),
    "consent-by-choosing": (
        [
            "By choosing I Accept, you consent to our use of cookies and other tracking technologies.",
            "By subscribing I accept the terms of use",
        ],
        ["By choosing to accept the deal, the union ended the strike."],
    ),
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


def test_first_rule_agrees_with_trying_every_rule() -> None:
    """The one-pass screen (anchored alternation, needles) never hides a rule that matches."""
    lines = [line for positives, negatives in CASES.values() for line in (*positives, *negatives)]
    for line in lines:
        squashed = " ".join(line.split())
        words = len(squashed.split())
        for head, tail in ((True, False), (False, True), (False, False)):
            expected = next(
                (r for r in LINE_RULES if r.matches(squashed, words, in_head=head, in_tail=tail)), None
            )
            assert first_rule(squashed, words, in_head=head, in_tail=tail) == expected, line
    for rule in LINE_RULES:
        for line in CASES[rule.name][0]:
            if rule.needles:
                assert any(n in line.lower() for n in rule.needles), (rule.name, line)
