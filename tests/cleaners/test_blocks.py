"""Block steps: the body among page chrome, tail headings, nearby copies (outlet lines: test_corpus)."""

from __future__ import annotations

from newsclean.cleaners import Metadata, clean_text
from newsclean.cleaners.blocks import (
    body_span,
    comment_thread_start,
    duplicate_lines,
    is_prose,
    tail_cut,
)
from newsclean.cleaners.lines import rejoin_split_parentheses
from newsclean.cleaners.rules import dateline_shape, is_menu_line

PARAGRAPHS = [
    "The council voted on Monday to keep the library open on weekends through the summer.",
    "Members said the decision followed months of complaints from parents and students alike.",
    "The budget for the extra hours, about $40,000, will come from the parks reserve fund.",
]
MENU = ["Home", "News", "Sport", "Weather", "Contact Us", "About Us"]


def test_prose_is_sentences_not_headlines_or_links() -> None:
    assert is_prose(PARAGRAPHS[0])
    assert not is_prose("Council votes to keep the library open on weekends this summer")
    assert not is_prose("https://example.com/news/2019/11/council-votes-to-keep-the-library-open")


def test_body_span_cuts_menus_with_chrome_evidence() -> None:
    lines = MENU + PARAGRAPHS + MENU
    evidence = [True] + [False] * (len(lines) - 1)
    evidence[-1] = True
    assert body_span(lines, evidence) == (len(MENU), len(MENU) + len(PARAGRAPHS))


def test_body_span_keeps_short_edges_and_tables_of_the_article() -> None:
    # A dateline and a sign-off are the article's; so is a results table that ends it.
    lines = ["BAAR, SWITZERLAND", *PARAGRAPHS, "(Reporting by Dana Whitfield)"]
    assert body_span(lines, [False] * len(lines)) == (0, len(lines))
    table = [f"{i} Kyle Busch 50{i}0 5 1 17" for i in range(1, 8)]
    lines = [*PARAGRAPHS, *table, "Copyright 2019"]
    assert body_span(lines, [False] * (len(lines) - 1) + [True]) == (0, len(lines))


def test_tail_heading_cuts_the_comment_section_only_below_a_body() -> None:
    comments = ["34 responses to “Council keeps library open”", "joe says:", "Great news for the kids."]
    lines = PARAGRAPHS * 2 + comments
    assert tail_cut(lines) == len(PARAGRAPHS) * 2
    assert tail_cut(["Related stories", *PARAGRAPHS]) is None  # at the top: a menu, not a tail
    assert tail_cut([*PARAGRAPHS, "Related stories are filed under budget news every week."]) is None


def test_nearby_copies_go_far_repeats_stay() -> None:
    caption = "The council chamber on Monday evening"
    assert duplicate_lines([caption, caption, *PARAGRAPHS]) == [1]
    far = ["What did you learn?", *PARAGRAPHS, "Another answer here.", "What did you learn?"]
    assert duplicate_lines(far) == []


def test_an_opening_paragraph_is_not_taken_for_a_title() -> None:
    text = (
        "Chelsea have this morning paid the £71.6million fee to the Spanish league this morning to "
        "secure the world record signing of Athletic Bilbao keeper Kepa Arrizabalaga\n\n"
        + "\n\n".join(PARAGRAPHS)
    )
    result = clean_text(text)
    assert result.text.startswith("Chelsea have this morning") and result.metadata.title is None


def test_table_rows_are_not_menus() -> None:
    assert not is_menu_line("| 1 | Kyle Busch | 5040 |", at_edge=True)
    assert is_menu_line("News | Politics | Business", at_edge=False)


def test_comment_thread_is_cut_from_its_first_header() -> None:
    lines = [
        *PARAGRAPHS,
        "Comments",
        "• Jane Roe on September 12, 2018 at 4:47 pm said:",
        "Any update on the library hours?",
        "• Tom Doe on September 13, 2018 at 5:23 pm said:",
        "Hi Jane, not yet.",
    ]
    assert comment_thread_start(lines) == 3
    # A quote introduced by "said:" is not a comment header: it has no time stamp.
    quoted = [*PARAGRAPHS, "The mayor said:", "We will keep it open.", "Then she said:", "Thank you."]
    assert comment_thread_start(quoted) is None


def test_a_repeated_dateline_is_not_a_comment_thread() -> None:
    lines = [
        *PARAGRAPHS,
        "Riverside Press November 19, 2019, 9:02 AM",
        "Riverside Press November 19, 2019, 9:02 AM",
    ]
    assert comment_thread_start(lines) is None
    # Name-and-time headers count when reply buttons sit between them.
    thread = [
        *PARAGRAPHS,
        "Jane Roe August 17, 2019 - 2:19 pm",
        "Lovely.",
        "Reply",
        "Tom Doe August 19, 2019 - 5:48 pm",
    ]
    assert comment_thread_start(thread) == 3


def test_dateline_shapes() -> None:
    assert dateline_shape("Published 11:11 PM EST Nov 19, 2019") == ""
    assert dateline_shape("Updated at 1:23 p.m.") == ""
    assert dateline_shape("Jane Roe - Nov 19, 2019, 10:31 pm CST") == "Jane Roe"
    assert dateline_shape("Monday November 18, 2019 7:45 am PST by Tom Doe") == "Tom Doe"
    assert dateline_shape("By Dana Whitfield - 11/19/19 06:56 AM EST") == "Dana Whitfield"
    assert dateline_shape("On November 18, 2019 the council met") is None
    assert dateline_shape("2 days ago at 07:52 am") is None


def test_a_line_split_at_a_link_is_joined_again() -> None:
    lines = ["© Riverside Media (", "www.example.com", "), all rights reserved", "next"]
    assert rejoin_split_parentheses(lines) == [
        "© Riverside Media (www.example.com), all rights reserved",
        "next",
    ]
    prose = ["He said (", "and then", "left"]
    assert rejoin_split_parentheses(prose) == prose


def test_a_bare_by_line_takes_the_name_below_it() -> None:
    text = "By\n\nDana Whitfield\n\n" + "\n\n".join(PARAGRAPHS)
    result = clean_text(text, known=Metadata(title="Known"))
    assert "Dana Whitfield" not in result.text
    assert result.metadata.author == "Dana Whitfield"
