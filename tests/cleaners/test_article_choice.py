"""Never lose the article: among a page's extractions, the one that reads as the article is kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsclean.cleaners import clean_html, clean_text
from newsclean.cleaners.article import Candidate, choose_article, cohesion, title_affinity
from newsclean.cleaners.html_page import Extraction, missed_article
from newsclean.cleaners.types import Metadata
from newsclean.flows.cli import main
from newsclean.settings import CleaningOptions

PAGES = Path(__file__).resolve().parents[1] / "fixtures" / "pages"
TITLE = "Harbour council approves pier budget"
STORY = [
    "The harbour council voted on Tuesday night to approve a budget of four million pounds for the"
    " new pier, ending a dispute over the pier that has run for three years.",
    "Councillors said the old harbour pier, built in 1902, had been closed since a storm tore away"
    " its seaward end, and that the harbour's fishermen had been landing their catch on a beach.",
    "The new pier will be built of concrete and steel and will stand two metres higher than the"
    " old pier, the harbour council's engineer told the meeting that approved the budget.",
]
TEASERS = [
    "Police in the capital have arrested two men after a jewellery shop was robbed in daylight on"
    " Saturday morning, officers said.",
    "The national rugby side named three new caps for the autumn series, with the coach saying"
    " youth would get its chance against the champions.",
]


def test_a_page_with_a_promo_box_above_the_article_keeps_the_article() -> None:
    """trafilatura's precision pass keeps only the 117-word mortgage promo; its balanced pass
    holds the story under the title. Without the comparison the article is lost."""
    page = (PAGES / "promo_above_article.html").read_text(encoding="utf-8")
    cleaned = clean_html(page)
    assert "harbour council voted on Tuesday night" in cleaned.text
    assert "mortgage" not in cleaned.text
    choice = [r for r in cleaned.removals if r.kind == "lost_article"]
    assert [r.rule for r in choice] == ["article-choice"]  # what `newsclean explain` prints
    assert choice[0].text.startswith("trafilatura set aside")
    without = clean_html(page, CleaningOptions(html_compare_passes=False))
    assert "harbour council voted" not in without.text and "mortgage" in without.text


def test_more_of_the_same_story_replaces_a_part_of_it() -> None:
    part = Candidate("precision", STORY[0])
    whole = Candidate("balanced", "\n\n".join(STORY))
    chosen, reason = choose_article(part, [whole], TITLE)
    assert chosen is whole and reason is not None and "balanced holds" in reason


def test_other_stories_teasers_added_to_the_article_do_not_replace_it() -> None:
    """A longer extraction whose extra lines are other stories (their words are not the kept
    story's nor the title's) is not the article continued."""
    article = Candidate("precision", STORY[0])
    with_teasers = Candidate("balanced", "\n\n".join([STORY[0], *TEASERS]))
    assert cohesion(article.text, with_teasers.text, TITLE) < 0.2
    chosen, reason = choose_article(article, [with_teasers], TITLE)
    assert chosen is article and reason is None


def test_teasers_kept_instead_of_the_story_under_the_title_are_replaced() -> None:
    teasers = Candidate("precision", "\n\n".join(TEASERS))
    story = Candidate("balanced", "\n\n".join(STORY[:2]))
    affinity = title_affinity(story.text, TITLE)
    assert affinity is not None and affinity >= 0.75
    assert title_affinity(teasers.text, TITLE) == 0
    chosen, reason = choose_article(teasers, [story], TITLE)
    assert chosen is story and reason is not None and "title" in reason


def test_a_lede_that_repeats_the_title_never_replaces_the_whole_story() -> None:
    """The title test never takes a part of the kept extraction: a shorter text most of whose
    words the kept one holds."""
    whole = Candidate(
        "fallbacks", "Menu\n\n" + " ".join(["Other words here."] * 30) + "\n\n" + "\n\n".join(STORY)
    )
    lede = Candidate("precision", f"{TITLE}\n\n{STORY[0]}")
    chosen, _ = choose_article(whole, [lede], TITLE)
    assert chosen is whole


def test_newsclean_explain_names_the_article_choice(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", str(PAGES / "promo_above_article.html")]) == 0
    shown = capsys.readouterr().out
    assert '[lost_article / article-choice] "trafilatura set aside' in shown
    assert "harbour council voted on Tuesday night" in shown.split("--- removed")[0]


def test_a_short_post_that_opens_on_the_title_keeps_its_place() -> None:
    """A 36-word blog post under its title, beside a sidebar (an about blurb, link and archive
    lists) and reader comments: trafilatura keeps the post. It holds less prose than
    `html_min_prose_words`, but it opens on the title's story, so the page without its chrome
    (twice its prose, sidebar and all) does not replace it. Under a title that is only the
    blog's name, the same post is not known as the story and the page is rendered."""
    page = (PAGES / "short_post_with_sidebar.html").read_text(encoding="utf-8")
    cleaned = clean_html(page)
    assert cleaned.text.startswith("Hello everyone! We wanted to share the interview")
    assert "two sisters who love boats" not in cleaned.text and "2011 (43)" not in cleaned.text
    assert cleaned.removals[0].rule.startswith("trafilatura")
    blog_title = page.replace("Harbour Notes: Ferry Timetable Interview", "Sea Notebook")
    rendered = clean_html(blog_title)
    assert rendered.removals[0].rule == "beautifulsoup"
    assert "two sisters who love boats" in rendered.text


def _extraction(name: str, text: str) -> Extraction:
    result = clean_text(text, known=Metadata(title="Amazon Web Services Blog"))
    return Extraction(Candidate(name, result.text), result, ())


def test_the_page_is_rendered_only_when_every_extraction_missed_the_article() -> None:
    """trafilatura's fallbacks pass (kept first: its fast pass found under 100 words) took a
    sidebar of event promos, which the cleaner drops as a teaser list; its fast pass holds the
    post. The page is not rendered: one extraction holds the article, and the choice finds it."""
    promos = _extraction(
        "trafilatura-fallbacks",
        "\n".join(
            [
                "Gaming Industry Day",
                "[London]",
                "This session uses real case studies to show how gaming companies can use the"
                " cloud to stay flexible, with customer speakers and a panel discussion after it.",
                "Register Now",
                "Choosing your Web App Architecture in 7 Steps",
                "[Online]",
                "You want to run your web app in the cloud, but you do not know which services"
                " will best meet your needs; seven questions will show you which ones to use.",
                "Register Now",
            ]
        ),
    )
    post = _extraction(
        "trafilatura",
        "For this episode of the weekly report, I interviewed the principal database engineer"
        " on the Amazon database team, to learn more about the new provisioned storage feature.\n"
        "We discussed use cases and scalability, and the fact that you can add capacity to a"
        " running database while it is running if your needs change. Watch it and let me know"
        " what you think!",
    )
    assert promos.candidate.prose_words == 0
    assert post.candidate.prose_words >= 50
    assert missed_article([promos], 50)
    assert not missed_article([promos, post], 50)
    chosen, reason = choose_article(promos.candidate, [post.candidate], "Amazon Web Services Blog")
    assert chosen is post.candidate and reason is not None
