"""The boilerplate line rules: one precise, anchored pattern per artifact, applied to short lines.

Every rule is a full match of a whole line (after whitespace is collapsed), never a substring
search, and only lines of at most `max_words` words are tried: "Share" alone is a widget, while
"Share prices fell" or a sentence quoting "Topics:" is text. Some rules only apply near the top or
bottom of a document ("zones"), where menus and headers live.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Zone = Literal["any", "head", "tail", "edge"]

_AGENCIES = (
    r"afp|ap|reuters|getty(?: images)?|epa(?:-efe)?|efe|anadolu(?: agency)?|xinhua|ansa|dpa|"
    r"bloomberg|nurphoto|sopa images|shutterstock|pool|ap photo|alamy|zuma(?: press)?|imago|"
    r"abaca(?:press)?|upi|tass|kyodo|yonhap|jiji press|sipa|afp via getty images|"
    r"getty images via afp|ap images|pa(?: wire| images)?|aap|istock(?:photo)?|dod|navy|army|"
    r"u\.s\. (?:army|navy|air force|marine corps)"
)


@dataclass(frozen=True, slots=True)
class LineRule:
    """A whole-line pattern for one artifact kind, tried only on short lines in its zone."""

    kind: str
    name: str
    pattern: re.Pattern[str]
    max_words: int = 12
    zone: Zone = "any"
    allow_final_period: bool = True

    def matches(self, line: str, words: int, *, in_head: bool, in_tail: bool) -> bool:
        if words > self.max_words:
            return False
        if self.zone == "head" and not in_head:
            return False
        if self.zone == "tail" and not in_tail:
            return False
        if self.zone == "edge" and not (in_head or in_tail):
            return False
        if not self.allow_final_period and line.endswith(".") and not line.endswith("..."):
            return False
        return self.pattern.fullmatch(line) is not None


def _rule(
    kind: str,
    name: str,
    pattern: str,
    max_words: int = 12,
    zone: Zone = "any",
    allow_final_period: bool = True,
) -> LineRule:
    return LineRule(kind, name, re.compile(pattern, re.I), max_words, zone, allow_final_period)


APOS = "['’`´]"

LINE_RULES: tuple[LineRule, ...] = (
    # Video and script fallbacks.
    _rule("video_notice", "browser-unsupported",
          rf"your browser (?:does ?n{APOS}?t|does not|cannot|can{APOS}?t|is not able to) (?:support|play|display).*",
          max_words=25),
    _rule("video_notice", "enable-javascript",
          r"(?:please )?(?:enable|turn on|activate|allow) (?:javascript|js|cookies and javascript)\b.*",
          max_words=25),
    _rule("video_notice", "javascript-required",
          r"(?:javascript|js) (?:is )?(?:required|disabled|must be enabled|is not enabled)\b.*", max_words=25),
    _rule("video_notice", "media-unavailable",
          r"(?:sorry, )?(?:this|the) (?:video|audio|content|media|embed|player|clip)(?: content)? "
          r"(?:is (?:not|no longer|currently not) available|cannot be (?:displayed|played|loaded)"
          r"|requires javascript|is loading|failed to load|could not be loaded|has expired)\b.*",
          max_words=25),
    _rule("video_notice", "media-loading", r"(?:video|audio|media|player|content) (?:player )?(?:is )?loading\W*", max_words=4),
    _rule("video_notice", "play-media", r"(?:play|watch|listen(?: to)?)(?: the)? (?:video|audio|now|clip|podcast)\W*", max_words=4),
    _rule("video_notice", "to-view-video", r"to (?:view|watch|play) this (?:video|content|clip)\b.*", max_words=30),
    # Advertising slots.
    _rule("advertisement", "ad-label",
          r"(?:advertisement|advertising|advert|ads?|sponsored(?: (?:content|post|links?|stories))?"
          r"|paid (?:content|post|partner(?:ship)? content)|partner content|promoted(?: content)?)\W*",
          max_words=4),
    _rule("advertisement", "continues-below-ad",
          r"(?:the )?(?:story|article|text|content) continues (?:below|after)(?: (?:this|the))? (?:advertisement|ad|advert)\W*",
          max_words=8),
    _rule("advertisement", "scroll-to-continue",
          r"(?:scroll (?:down )?to continue(?: (?:with|reading) (?:the )?(?:content|article))?"
          r"|continue reading (?:below|the main story)|skip (?:this )?ad(?:vertisement)?)\W*", max_words=8),
    # Labels with nothing (or only a name/date) after them.
    _rule("byline", "empty-byline-label",
          r"(?:published|posted|written|updated|reported|edited|compiled|produced)(?: (?:by|on|at))?\W*",
          max_words=3),
    _rule("topics", "topics-label",
          r"(?:topics?|tags?|tagged(?: with| as| in)?|filed under|categor(?:y|ies)|related topics|keywords|subjects?|more about)\s*:.{0,200}",
          max_words=25, allow_final_period=False),
    _rule("topics", "bare-topics-label", r"(?:topics|tags|keywords|categories)\W*", max_words=1, zone="edge"),
    # Share and social widgets.
    _rule("share", "share-label",
          r"(?:share|share this|share (?:this |the )?(?:article|story|post|page|video|link)(?: on| via| with)?"
          r"|share (?:on|via|to|with) (?:facebook|twitter|x|linkedin|whatsapp|email|e-mail|reddit|telegram|pinterest|bluesky|threads)"
          r"|\d[\d,.]*k? shares?)\W*", max_words=8),
    _rule("share", "social-buttons",
          r"(?:(?:share|tweet|post|email|e-mail|print|facebook|twitter|x|linkedin|whatsapp|reddit|telegram|"
          r"pinterest|flipboard|bluesky|threads|mastodon|copy link|copy url|link copied|comments?|save|"
          r"bookmark|messenger|sms|gift(?: this)? article|listen|font size|text size)\W*){1,12}",
          max_words=14),
    _rule("share", "comment-count", r"\d[\d,.]*k?\s+(?:comments?|replies|reactions)\W*", max_words=3),
    _rule("share", "follow-us",
          r"(?:follow|like) (?:us|@\w+|\w+ news) on (?:facebook|twitter|x|instagram|linkedin|youtube|tiktok|threads|bluesky|google news)(?:[ ,]+(?:and |or )?(?:facebook|twitter|x|instagram|linkedin|youtube|tiktok|threads|bluesky))*\W*.{0,60}",
          max_words=20, allow_final_period=True),
    # Subscription, registration and cookie prompts.
    _rule("subscribe", "subscribe-prompt",
          r"(?:subscribe|sign up|signup|register|join)(?: now| today| here| for free| free)?(?: to| for)?(?: our| the| my)? "
          r".{0,80}(?:newsletters?|updates|alerts|digest|briefings?|subscription|inbox|podcast|channel|emails?)\b.{0,80}",
          max_words=30),
    _rule("subscribe", "account-prompt",
          r"(?:already (?:a subscriber|have an account|registered)\W*(?:(?:log|sign) in|subscribe)?|not a subscriber|become a (?:member|subscriber)"
          r"|(?:log|sign) in(?: to| or| with).{0,80}|create (?:a free |an |your )?account.{0,80}|subscribe(?: now| today)?"
          r"|unlimited (?:digital )?access.{0,80}|this (?:article|story|content) is (?:for|available to|reserved for) (?:subscribers|members).{0,80}"
          r"|(?:to continue reading|read the full story|get full access).{0,80}(?:subscribe|subscription|log in|sign in|register).{0,60})\W*",
          max_words=30),
    _rule("cookie", "cookie-notice",
          r".{0,200}\b(?:we|this (?:web)?site|our (?:web)?site|our partners|this website)\s+(?:use|uses|store|stores|set|sets)\s+cookies\b.{0,400}",
          max_words=80),
    _rule("cookie", "cookie-buttons",
          r"(?:(?:accept|reject|allow|manage|customi[sz]e|decline)(?: all)?(?: cookies)?|cookie (?:policy|settings|preferences|consent|notice)|privacy (?:policy|settings))(?:\W+(?:accept|reject|allow|manage|decline|ok|got it|agree)(?: all)?(?: cookies)?)*\W*",
          max_words=12),
    # Pointers to other stories.
    _rule("read_more", "read-more",
          r"(?:read|see|view|click|continue reading|watch)(?: (?:more|also|the full (?:story|article|report)|full (?:story|article|report)|next|here|on|related))\b.{0,160}",
          max_words=25, allow_final_period=False),
    _rule("read_more", "related-label",
          r"(?:related|recommended|more from|more on|more stories|more news|you (?:may|might) (?:also )?(?:like|be interested in|have missed)"
          r"|most (?:read|popular|viewed|shared)|trending(?: now)?|also read|don{APOS}t miss|editor{APOS}s picks?|top stories|latest news|further reading"
          r"|what to read next|up next|next (?:article|story)|previous (?:article|story)|recommended for you|in case you missed it)"
          r"(?: (?:stories|articles|news|content|coverage|links|reading|videos))?\s*:?.{0,160}".replace("{APOS}", APOS),
          max_words=25, allow_final_period=False),
    # Rights lines.
    # "© 2024 X", "Copyright 2021 The Associated Press", "Copyright © X": a sign or a year; never
    # a sentence about copyright ("Copyright law was ...").
    _rule("copyright", "copyright-sign",
          r"(?:©|\(c\)|&copy;).{0,250}|copyright\s*(?:©|\(c\)|&copy;)?\s*(?:(?:19|20)\d\d|by\b|©).{0,250}", max_words=40),
    _rule("copyright", "all-rights-reserved", r".{0,200}\ball rights reserved\b.{0,150}", max_words=40),
    _rule("copyright", "no-republish",
          r"this (?:material|article|story|content) may not be (?:published|reproduced|republished|redistributed).{0,250}",
          max_words=40),
    # Photo credits (the caption lines above a credit are removed by the photo-block step).
    _rule("photo_credit", "photo-label",
          r"(?:photo|photograph|photos|image|images|picture|pictures|video|graphic|illustration|file photo|main image|top image|header image|lead image|cover image|featured image)"
          r"\s*(?:by|credit|credits|courtesy(?: of)?|source)?\s*:\s*.{1,160}", max_words=18),
    _rule("photo_credit", "photo-by",
          r"(?:photos?|images?|pictures?|photograph(?:y|s)?)\s+(?:by|courtesy of|credit|©)\s+.{1,120}",
          max_words=12, allow_final_period=False),
    _rule("photo_credit", "source-credit", r"(?:source|credit|credits|courtesy)\s*:\s*.{1,120}", max_words=12),
    _rule("photo_credit", "virin", r"virin\s*:\s*\S+", max_words=3),
    _rule("photo_credit", "agency-credit-end",
          rf".{{0,400}}?[\w.'’-]+\s*/\s*(?:{_AGENCIES})(?:\s+(?:via|for)\s+[\w .]{{1,40}})?\W{{0,3}}", max_words=60),
    _rule("photo_credit", "parenthesised-credit-end",
          r".{0,400}\((?:photo|photos|image|picture|file photo|ap photo|credit|source|courtesy|reuters|afp|getty images|epa)\b[^()]{0,120}\)\W*",
          max_words=60),
    _rule("photo_credit", "lone-agency",
          rf"(?:{_AGENCIES})(?: photo)?(?:\s*/\s*[\w .]{{1,40}})?\W*", max_words=5),
    # Site chrome.
    _rule("navigation", "nav-words",
          r"(?:skip to (?:main )?(?:content|navigation)|toggle navigation|main menu|menu|search|home|back to top|close|open menu|navigation|go to (?:top|content)|sections|more|open|subscribe|log ?in|sign ?in)\W*",
          max_words=4, zone="edge"),
)  # fmt: skip

# "Home > World > Asia", "News | Politics", "Home / Business / Markets": short Title-case segments.
_EXPLICIT_SEPARATOR = re.compile(r"\s+(?:>|»|›|/|\||•|·|::|–)\s+|\s*(?:>|»|›|\||•|·)\s*")
_SPACE_SEPARATOR = re.compile(r"\s{2,}|\t+")
_SEGMENT = re.compile(
    r"(?:[A-Z0-9][\w'’&.-]*|&|and|of|the|in|for)(?:\s+(?:[A-Z0-9][\w'’&.-]*|&|and|of|the|in|for)){0,3}"
)

_FIGURE = re.compile(r"[\d.,:%+-]+")

# A site header near the top: a short line naming a web domain ("Voz media US Voz.us").
_DOMAIN = re.compile(
    r"\b([A-Za-z0-9][A-Za-z0-9-]{0,62}\.(?:com|org|net|us|uk|co\.uk|co|io|news|info|tv|de|fr|es|it|jp|cn|in|au|ca|eu|ru|br|nl|ch|se|no|dk|pl|pt|ie|nz|za|mx|ar|kr|tw|hk|sg|my|ph|id|ng|ke|gov|mil|edu))\b",
    re.I,
)


def is_menu_line(line: str, *, at_edge: bool) -> bool:
    """Breadcrumbs anywhere (explicit separators); space-separated menus only at the edges."""
    if line.endswith((".", ",", ";", ":", "?", "!", '"', "”")):
        return False
    words = len(line.split())
    if words > 16 or words < 2:
        return False
    separators = [_EXPLICIT_SEPARATOR]
    if at_edge:
        separators.append(_SPACE_SEPARATOR)
    for separator in separators:
        parts = [p.strip() for p in separator.split(line)]
        parts = [p for p in parts if p]
        # A cell that is only a figure makes the line a table row ("| 1 | Kyle Busch | 5040 |").
        if any(_FIGURE.fullmatch(p) for p in parts):
            return False
        if len(parts) >= 2 and all(_SEGMENT.fullmatch(p) for p in parts):
            return True
    return False


def site_header_domain(line: str) -> str | None:
    """The domain a short header line names, if it is a header line (no sentence, few words)."""
    if len(line.split()) > 8 or line.endswith((".", ",", ";", "?", "!", '"', "”")):
        return None
    match = _DOMAIN.search(line)
    return match.group(1) if match else None


_NAME_WORD = re.compile(
    r"[A-Z][\w'’.-]*|[A-Z]\.|(?:and|&|de|van|von|der|den|da|del|della|la|le|bin|al|el|y|di|du|st\.)"
)
_BYLINE = re.compile(
    r"(?:by|written by|words by|story by|reporting by|reported by|posted by|published by|compiled by|edited by|author)\s*:?\s+(?P<names>.{2,120})",
    re.I,
)


def byline_author(line: str) -> tuple[str, str | None] | None:
    """(author, organisation) from a byline such as "By Jim Garamone, DOD News"; None otherwise."""
    match = _BYLINE.fullmatch(line)
    if not match:
        return None
    names = match.group("names").strip(" ,")
    author_part, _, org = names.partition(",")
    author = author_part.strip()
    words = author.split()
    if not words or len(words) > 10 or not all(_NAME_WORD.fullmatch(w.strip(",")) for w in words):
        return None
    if not words[0][:1].isupper():
        return None
    org = org.strip(" ,")
    return author, (org or None)
