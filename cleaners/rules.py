"""The boilerplate line rules: one precise, anchored pattern per artifact, applied to short lines.

Every rule is a full match of a whole line (after whitespace is collapsed), never a substring
search, and only lines of at most `max_words` words are tried: "Share" alone is a widget, while
"Share prices fell" or a sentence quoting "Topics:" is text. Some rules only apply near the top or
bottom of a document ("zones"), where menus and headers live.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal

Zone = Literal["any", "head", "tail", "edge"]

_AGENCIES = (
    r"afp|ap|reuters|getty(?: images)?|epa(?:-efe)?|efe|anadolu(?: agency)?|xinhua|ansa|dpa|"
    r"bloomberg|nurphoto|sopa images|shutterstock|pool|ap photo|alamy|zuma(?: press)?|imago|"
    r"abaca(?:press)?|upi|tass|kyodo|yonhap|jiji press|sipa|afp via getty images|"
    r"getty images via afp|ap images|pa(?: wire| images)?|aap|istock(?:photo)?|dod|navy|army|"
    r"u\.s\. (?:army|navy|air force|marine corps)|associated press|the associated press"
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
    # Lower-case strings one of which every line the pattern matches contains (see NEEDLES).
    needles: tuple[str, ...] = ()

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
          r"|paid (?:content|post|partner(?:ship)? content)|partner (?:content|news)|promoted(?: content)?"
          r"|реклама|iklan|anzeige|werbung|publicidad|publicidade|publicité|pubblicità|広告|광고)\W*",
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
    _rule("topics", "bare-topics-label", r"(?:topics|tags|keywords|categories|теги|etiquetas|schlagworte|categorias)\W*", max_words=1, zone="edge"),
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
          r".{0,200}\b(?:we|this (?:web)?site|our (?:web)?site|our partners|this website)\s+(?:use|uses|is using|are using|store|stores|set|sets)\s+cookies\b.{0,400}"
          r"|.{0,200}\bif you continue (?:to use|using|browsing)\b.{0,100}\b(?:cookies|agree|accept|happy)\b.{0,200}",
          max_words=80),
    _rule("cookie", "consent-by-choosing",
          r"by (?:choosing|clicking|continuing|using|subscribing|signing up)\b.{0,150}\b(?:i accept|i agree|you (?:accept|agree|consent)|you are agreeing)\b.{0,200}",
          max_words=45),
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
    # Video players' own chrome: time read-outs and status labels, alone on their lines.
    _rule("video_notice", "media-playback-unsupported",
          r"media playback is (?:unsupported|not supported)(?: on your device)?\W*", max_words=8),
    _rule("video_notice", "player-readout",
          r"(?:current time|duration(?: time)?|remaining time|stream type|loaded)\s*:?\s*(?:-?\d{1,2}:\d{2}(?::\d{2})?|\d{1,3}(?:\.\d+)?\s*%|live)?",
          max_words=4),
    _rule("video_notice", "player-label",
          r"(?:video|videos|live|watch live|watch now|now playing|autoplay|playing next|\d(?:\.\d+)?x)\W*", max_words=2),
    _rule("video_notice", "media-caption", r"media caption(?-i:(?![a-z]))\s*\S.{0,300}", max_words=60),
    _rule("video_notice", "requires-javascript",
          r"(?:this|the) (?:slideshow|gallery|video|content|player|feature|interactive)(?: \w+)? requires (?:javascript|flash|js)\b.{0,80}",
          max_words=15),
    # Photo galleries: counters and buttons.
    _rule("photo_credit", "gallery-counter",
          r"(?:(?:image|photo|picture|slide)s?\s+)?\d{1,3}\s*(?:of|/)\s*/?\s*\d{1,3}", max_words=5),
    _rule("photo_credit", "gallery-button",
          r"(?:caption|hide caption|toggle caption|show caption|enlarge(?: this)?(?: image| photo)?|expand(?: image)?"
          r"|view (?:all|gallery|photos?|slideshow|images?)(?: \(\d+\))?|see (?:all )?(?:the )?(?:photos|images|gallery)"
          r"|(?:photo|image) gallery|main (?:article )?image|full ?screen|close|open gallery)\W*",
          max_words=4),
    _rule("photo_credit", "credit-ellipsis", r"credit\s*(?:\.{2,}|…)\s*\S.{0,120}", max_words=15),
    _rule("photo_credit", "image-copyright-caption",
          r"(?:image|photo|picture) (?:copyright|caption|credit|courtesy)\b.{0,300}", max_words=60),
    _rule("photo_credit", "agency-after-comma",
          rf"(?-i:[A-Z])[\w.'’-]*(?:\s+[\w.'’-]+){{0,3}},\s*(?:{_AGENCIES})(?:\s*/\s*[\w .]{{1,30}})?",
          max_words=7, allow_final_period=False),
    _rule("photo_credit", "submitted-photo", r".{0,80}\b(?:submitted|contributed|handout|file) (?:photo|image|picture)\W*",
          max_words=10, allow_final_period=False),
    _rule("photo_credit", "courtesy-of", r"courtesy(?: of)?\s+(?-i:[A-Z]).{0,80}", max_words=8, allow_final_period=False),
    _rule("photo_credit", "glued-credit",
          r".{0,400}(?-i:[a-z.)\]])(?:(?-i:Credit|Photo|Image|Picture)s?\s*:|©)\s*(?-i:[A-Z]).{0,80}",
          max_words=60),
    # Bylines and authors' notes in shapes the dateline parser does not see.
    _rule("byline", "byline-labels",
          r"(?:by|(?:first |last )?(?:published|posted|written|updated|modified)(?: (?:by|on|at))?)\s*[:|-]?"
          r"(?:\s*[|•·/-]\s*(?:by|(?:first |last )?(?:published|posted|written|updated|modified)(?: (?:by|on|at))?)?\s*:?)*\s*"
          r"(?:[|•·-]\s*(?:special to|for) (?:the )?[\w .'’-]{1,40})?",
          max_words=8),
    _rule("byline", "role-line",
          r"(?:(?-i:[A-Z])[\w.'’-]+(?:\s+(?-i:[A-Z])[\w.'’-]+){0,3},\s*)?(?:(?:the |an? )?[\w.'’-]+\s+){0,3}"
          r"(?:staff |senior |chief |contributing |freelance )?(?:writer|reporter|correspondent|columnist|editor|contributor)s?",
          max_words=8, allow_final_period=False),
    _rule("byline", "author-bio",
          r"(?-i:[A-Z])[\w.'’-]+(?:\s+(?-i:[A-Z])[\w.'’-]+){1,3} is an? (?:[\w-]+ ){0,4}"
          r"(?:reporter|writer|correspondent|editor|columnist|contributor|journalist|producer)s?"
          r"(?:\s+(?:for|at|with|based in|living in|covering|who covers)\b[^.!?]{1,100})?\.?",
          max_words=40, zone="edge"),
    _rule("byline", "contributed-reporting",
          r"(?:additional )?(?:reporting|writing|research) (?:by|from) (?-i:[A-Z])[^()]{1,120}"
          r"|[^()]{1,100}\b(?:contributed|also contributed) (?:reporting|to this (?:report|article|story))\b[^()]{0,100}",
          max_words=25),
    _rule("byline", "about-author", r"about the authors?\W*", max_words=3),
    # Prompts to share, follow, subscribe or get an app.
    _rule("share", "share-glued",
          r"(?:share (?:on|via|to|with) [\w.+-]{1,20}\s*){2,}\W*|sharing is caring\W*|(?:bookmark|like) and share\W*"
          r"|get (?:short|shortened) ur[li]\W*|share via (?:shortlink|email|e-mail)\W*"
          r"|like this (?:story|article|post)\?.{0,60}",
          max_words=16),
    _rule("share", "widget-words",
          r"(?:newsletters?(?: sign[- ]?up)?|submit|feedback|get it|send|pin it|print this(?: page| article)?"
          r"|(?:[\w'’]+ ){1,3}newsletter)\W*",
          max_words=5),
    _rule("subscribe", "click-here-promo",
          r"(?:click|tap) here (?:to|and) (?:subscribe|sign up|register|get (?:the|our) .{1,40}app|download (?:the|our) .{0,40}app"
          r"|turn on .{0,40}notifications|get (?:breaking|the latest|our)|follow|join)\b.{0,120}|.{1,120}\bby clicking here\W*", max_words=25),
    _rule("subscribe", "inbox-promo",
          r"(?:.{0,80}[.!?:] )?(?:get|receive|sign up for|subscribe to|have)\b.{0,120}"
          r"\b(?:newsletters?|(?:delivered )?(?:straight |right )?(?:to|in) your inbox|breaking news alerts)\b.{0,200}",
          max_words=45),
    _rule("subscribe", "teaser-then-signup",
          r".{1,100}[.!?] (?:sign up|subscribe|register|join)\b.{0,80}"
          r"\b(?:newsletters?|inbox|e-?mails?|alerts|digest|briefings?|podcast|membership|free trial)\b.{0,80}",
          max_words=30),
    _rule("share", "contact-author",
          r"(?:have a (?:news )?tip\?.{0,120}|(?:e-?mail|contact|reach) (?-i:[A-Z])[\w.'’-]+(?:\s+(?-i:[A-Z])[\w.'’-]+){0,3} at \S+@\S+.{0,160}"
          r"|.{0,80}\b(?:can|may) be (?:reached|contacted|emailed) at \S+@\S+.{0,160}"
          r"|follow (?:him|her|them|me|us|(?-i:[A-Z])[\w.'’-]+(?:\s+(?-i:[A-Z])[\w.'’-]+){0,3}) (?:on|at) (?:twitter|facebook|instagram|linkedin|x|@).{0,160})",
          max_words=45),
    # Pointers to other stories, in brackets or naming the site.
    _rule("read_more", "bracketed-related",
          r"[\[(]\s*(?:related|read more|read also|see also|also read|more)\s*:.{1,200}[\])]", max_words=30),
    _rule("read_more", "also-on-site", r"also on [\w-]+\.(?:com|org|net|co\.uk|tv|news)\b.{0,200}", max_words=30,
          allow_final_period=False),
    _rule("read_more", "more-in-section",
          r"(?:more in|more great [\w ]{1,20}stories|must read(?: [\w &]{1,30})?|explore further|материалы по теме|читайте также|leia também|lesen sie auch|lire aussi|lea también"
          r"|関連記事|관련기사)\W*(?:[\w'’&.-]+\W*){0,5}",
          max_words=8, allow_final_period=False),
    # Rights lines in other shapes.
    _rule("copyright", "copyright-holder-year",
          r"copyright\s*(?:@|©)?\s*(?-i:[A-Z])[\w.&'’-]*(?:\s+[\w.&'’-]+){0,4}\s+(?:19|20)\d\d\b.{0,200}"
          r"|.{0,120}[©ⓒ]\s*(?:19|20)\d\d\b.{0,200}|copyright\s*@\s*(?:19|20)\d\d\b.{0,200}",
          max_words=40),
    _rule("copyright", "subject-to-copyright",
          r"this (?:document|article|material|content|site|work) is (?:subject to|protected by) copyright\b.{0,300}",
          max_words=60),
    _rule("copyright", "rights-reserved-other",
          r".{0,200}(?:alle rechte vorbehalten|tous droits réservés|todos los derechos reservados"
          r"|все права защищены|版权所有|無断転載|無断複製).{0,100}",
          max_words=40),
    _rule("copyright", "citation-retrieved",
          r"citation\s*:.{1,300}\bretrieved\b.{1,80}\bfrom\s+https?://\S+", max_words=60),
    # Captions that carry their credit after the agency ("... REUTERS/Jane Roe"), and file photos.
    _rule("photo_credit", "agency-slash-name-end",
          r".{0,400}\b(?-i:REUTERS|AFP|AP|EPA|XINHUA|UPI|Reuters|Getty Images)\s*/\s*(?-i:[A-Z])[\w.'’-]+(?:\s+(?-i:[A-Z])[\w.'’-]+){0,3}(?:\s*/\s*[\w .]{1,30})?(?: file(?: photo)?)?\W*",
          max_words=70),
    _rule("photo_credit", "file-photo-caption", r"file photo\s*:.{1,600}", max_words=90),
    _rule("photo_credit", "agency-file-end",
          rf".{{0,400}}?[\w.'’-]+\s*/\s*(?:{_AGENCIES})\s+(?:file|photo|file photo|images?)\W{{0,3}}", max_words=60),
    _rule("photo_caption", "in-this-photo",
          r"in this (?:\w+ )?(?:photo|image|picture|photograph|frame grab|video grab|screenshot|handout)\b.{0,600}",
          max_words=100),
    _rule("read_more", "follow-coverage",
          r"follow (?:[\w'’.]+ ){1,4}(?:full |complete |live |latest )?(?:coverage|updates|stories)\b.{0,160}",
          max_words=30),
    # Leftovers of the page's code: file names, CSS class names, shortcodes.
    _rule("markup", "file-name",
          r"(?=.*(?-i:[a-z]))(?:[•*-]\s*)?(?:[\w.&-]*_[\w.&-]*|[\w.&()-]+\.(?:jpe?g|png|gif|webp|svg|tiff?)|[a-z0-9]+(?:-[a-z0-9]+){2,})",
          max_words=2),
    _rule("markup", "shortcode", r"\[(?P<shortcode>\w+)\b[^\]]{0,300}\].{0,200}\[/(?P=shortcode)\]\W*", max_words=40),
    # Reading aids and link lists.
    _rule("read_more", "reading-time", r"\d{1,3}\s*min(?:ute)?s?\.? read\W*", max_words=4),
    _rule("read_more", "tagged-link", r".{3,300}\[(?-i:[A-Z]{3,12})\]\W*", max_words=60),
    _rule("read_more", "link-label-url",
          r"(?:listen|download|subscribe|watch|itunes|apple podcasts|spotify|google podcasts|stitcher|rss|more info|website)"
          r"\s*:\s*https?://\S+", max_words=6),
    _rule("read_more", "via-site", r"via [\w-]+\.(?:com|info|net|org|co\.uk)\W*", max_words=3),
    # Membership pitches and comment-section rules.
    _rule("subscribe", "if-you-enjoyed",
          r"if you (?:enjoyed|liked|value|appreciate|like) (?:this|our|reading)\b.{0,250}"
          r"\b(?:join|subscribe|support|donate|become|membership|proposition|sign up)\b.{0,200}", max_words=50),
    _rule("comments_related", "comment-policy",
          r"comments? (?:are|is) (?:subject to|moderated|closed|reviewed|pre-?moderated)\b.{0,150}", max_words=30),
    # Site chrome.
    _rule("navigation", "nav-words",
          r"(?:skip to (?:main )?(?:content|navigation)|toggle navigation|main menu|menu|search|home|back to top|close|open menu|navigation|go to (?:top|content)|sections|more|open|subscribe|log ?in|sign ?in)\W*",
          max_words=4, zone="edge"),
)  # fmt: skip

# Rules whose pattern may match anywhere along a line ("... / AFP" at its end) cost a regex scan
# of every line; a string each match must contain lets most lines skip them.
NEEDLES: dict[str, tuple[str, ...]] = {
    "cookie-notice": ("cookie", "if you continue"),
    "all-rights-reserved": ("rights reserved",),
    "agency-credit-end": ("/",),
    "agency-file-end": ("/",),
    "agency-slash-name-end": ("/",),
    "parenthesised-credit-end": (")",),
    "submitted-photo": ("photo", "image", "picture"),
    "glued-credit": ("credit", "photo", "image", "picture", "©"),
    "inbox-promo": ("newsletter", "inbox", "news alerts"),
    "teaser-then-signup": ("sign up", "subscribe", "register", "join"),
    "rights-reserved-other": ("rechte", "droits", "derechos", "права", "版权", "無断"),
    "tagged-link": ("]",),
    "copyright-holder-year": ("copyright", "©", "ⓒ"),
    "contact-author": ("@", "tip", "follow"),
    "click-here-promo": ("click", "tap here"),
    "contributed-reporting": ("contributed", "reporting", "writing", "research"),
    "subscribe-prompt": ("subscribe", "sign up", "signup", "register", "join"),
}
LINE_RULES = tuple(replace(rule, needles=NEEDLES.get(rule.name, ())) for rule in LINE_RULES)
# Lines are prefiltered by the rules that allow their length: a 40-word paragraph line can only
# be taken by the dozen rules allowing 40 words, and trying all 79 at once cost a fifth of
# cleaning a text. A band holds every rule allowing its shortest line; `matches` still checks
# each rule's own limit. Few bands, because each compiles two alternations (~30 ms).
_BAND_STARTS = (1, 5, 13, 26, 41, 61)


@dataclass(frozen=True, slots=True)
class _Band:
    """The rules that may take a line of a word-count band, and two prefilters over them: any
    needle one must contain, and one alternation of the anchored rules (which fail fast), so
    a line none can take costs two regex calls."""

    rules: tuple[LineRule, ...]
    any_needle: re.Pattern[str]
    any_anchored: re.Pattern[str]


@lru_cache(maxsize=len(_BAND_STARTS))
def _band(start: int) -> _Band:
    rules = tuple(rule for rule in LINE_RULES if rule.max_words >= start)
    needles = [re.escape(n) for rule in rules for n in rule.needles] or ["(?!)"]
    anchored = [f"(?:{rule.pattern.pattern})" for rule in rules if not rule.needles] or ["(?!)"]
    return _Band(rules, re.compile("|".join(needles)), re.compile("|".join(anchored), re.I))


def first_rule(line: str, words: int, *, in_head: bool, in_tail: bool) -> LineRule | None:
    """The first rule in LINE_RULES that removes this (squashed) line, if any."""
    band = _band(_BAND_STARTS[bisect_right(_BAND_STARTS, max(words, 1)) - 1])
    lower = line.lower()
    anchored = band.any_anchored.fullmatch(line) is not None
    if not anchored and band.any_needle.search(lower) is None:
        return None
    for rule in band.rules:
        if rule.needles:
            if not any(n in lower for n in rule.needles):
                continue
        elif not anchored:
            continue
        if rule.matches(line, words, in_head=in_head, in_tail=in_tail):
            return rule
    return None


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


# Datelines: every word a date word, a time, a label or a separator, plus at most one name.
_MONTH_WORD = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_WEEKDAY_WORD = r"(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?"
_NUMERIC_DATE = re.compile(r"\b(?:\d{4}[/.-]\d{1,2}[/.-]\d{1,2}|\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2}))\b")
_CLOCK = re.compile(r"\b\d{1,2}(?:[:.]\d{2}){1,2}\s*(?:[ap]\.?\s?m\b\.?)?|\b\d{1,2}\s*[ap]\.?m\b\.?", re.I)
_MONTH_DAY = re.compile(
    rf"\b(?:{_MONTH_WORD})\b\.?,?\s*\d{{1,2}}(?:st|nd|rd|th)?\b|\b\d{{1,2}}(?:st|nd|rd|th)?\.?\s+(?:{_MONTH_WORD})\b\.?",
    re.I,
)
_DATE_LABELS = re.compile(
    r"\b(?:(?:first |last )?(?:published|posted|updated|modified|created)|date|last|first)\b\s*:?", re.I
)
_DATE_FILLER = re.compile(
    rf"\b(?:{_MONTH_WORD}|{_WEEKDAY_WORD})\b\.?|\b(?:on|at|am|pm|gmt|utc|ist|bst|cet|cest|[ecmp][sd]t|[ecmp]t|hkt|jst|sgt|aest|amt|today|yesterday)\b"
    r"|\b(?:19|20)\d\d\b|\b\d{1,2}(?:st|nd|rd|th)?\b|(?-i:\b[A-Z]{2,4}\b)",
    re.I,
)
_DATE_SEPARATORS = re.compile(r"[|•·/,()\[\]:;–—-]|\s-\s")
_BY_NAME = re.compile(r"(?:^|\s)[Bb][Yy]:?\s+(?P<name>[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){0,3})(?=[\s,|]|$)")
_LEADING_NAME = re.compile(
    r"^(?P<name>[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){1,3})\s*[-–—|,·]\s"
    rf"|^(?P<name2>[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){{0,3}}?)\s+(?=(?i:{_MONTH_WORD})\.?\s+\d)"
)


def dateline_shape(line: str) -> str | None:
    """Is this line a dateline, and whose: the empty string for dates, times and labels only
    ("Published 11:11 PM EST Nov 19, 2019", "Updated at 1:23 p.m."); the name for a line that
    also names its author ("Chris Davies - Nov 19, 2019", "November 18, 2019 7:45 am PST by Joe
    Rossignol", "By Tess Bonn - 11/19/19 06:56 AM EST"); None for anything else. A date (a month and a day, or a numeric date), or a time with a label,
    must be there; any other word (a verb, a lower-case noun) makes the line a sentence.
    """
    if len(line.split()) > 18 or line.endswith(("?", "!")):
        return None
    has_date = bool(_NUMERIC_DATE.search(line) or _MONTH_DAY.search(line))
    has_time = bool(_CLOCK.search(line))
    has_label = bool(_DATE_LABELS.search(line))
    if not (has_date or (has_time and has_label)):
        return None
    name = ""
    rest = line
    by = _BY_NAME.search(rest)
    if by and by.group("name").split()[0].lower() not in _MONTH_NAMES_DAYS:
        name = _name_prefix(by.group("name"))
        rest = rest[: by.start()] + " " + rest[by.start("name") + len(name) :]
    else:
        lead = _LEADING_NAME.match(rest)
        lead_name = (lead.group("name") or lead.group("name2")) if lead else ""
        if lead and lead_name.split()[0].lower().rstrip(".,") not in _MONTH_NAMES_DAYS:
            name = lead_name
            rest = rest[lead.end() :]
    rest = re.sub(r"^\s*by\b", " ", rest, flags=re.I)
    for pattern in (_NUMERIC_DATE, _CLOCK, _MONTH_DAY, _DATE_LABELS, _DATE_FILLER, _DATE_SEPARATORS):
        rest = pattern.sub(" ", rest)
    if re.search(r"\w", rest):
        return None
    return name


_MONTH_NAMES_DAYS = frozenset(
    re.findall(
        r"\w+",
        "jan january feb february mar march apr april may jun june jul july aug august sep sept "
        "september oct october nov november dec december mon monday tue tues tuesday wed wednesday "
        "thu thurs thursday fri friday sat saturday sun sunday updated published posted",
    )
)


def _name_prefix(words: str) -> str:
    """The name at the start of "Joe Rossignol Nov" (capitalised words before a date word)."""
    kept = []
    for word in words.split():
        if word.lower().rstrip(".,") in _MONTH_NAMES_DAYS:
            break
        kept.append(word)
    return " ".join(kept)
