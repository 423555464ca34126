"""Dates as news text writes them, turned into ISO 8601.

Only whole date expressions are recognised ("March 15, 2021", "15 March 2021", "2021-03-15",
"Mar. 15, 2021 10:30 AM"): a year alone or a number in a sentence is not a publication date.
"""

from __future__ import annotations

import re
from datetime import date, datetime

_MONTHS = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4, "april": 4,
    "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8, "sep": 9,
    "sept": 9, "september": 9, "oct": 10, "october": 10, "nov": 11, "november": 11, "dec": 12,
    "december": 12,
}  # fmt: skip

_MONTH = r"(?P<month>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
_WEEKDAY = r"(?:(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?\.?,?\s+)?"
_TIME = r"(?:,?\s*(?:at\s+)?\d{1,2}[:.]\d{2}(?::\d{2})?\s*(?:[ap]\.?m\.?)?(?:\s*[A-Z]{2,4}T?)?)?"

DATE_PATTERNS: tuple[re.Pattern[str], ...] = (
    # March 15, 2021 / Mar. 15 2021 / Monday, March 15, 2021 10:30 AM
    re.compile(_WEEKDAY + _MONTH + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year>(?:19|20)\d\d)" + _TIME, re.I),
    # 15 March 2021 / Monday 15 March 2021
    re.compile(_WEEKDAY + r"(?P<day>\d{1,2})(?:st|nd|rd|th)?\s+" + _MONTH + r",?\s+(?P<year>(?:19|20)\d\d)" + _TIME, re.I),
    # 2021-03-15 / 2021/03/15 (optionally with a time)
    re.compile(r"(?P<year>(?:19|20)\d\d)[-/](?P<mnum>\d{1,2})[-/](?P<day>\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)?"),
)  # fmt: skip


def _build(year: int, month: int, day: int) -> str | None:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def _from_match(match: re.Match[str]) -> str | None:
    groups = match.groupdict()
    month = int(groups["mnum"]) if groups.get("mnum") else _MONTHS[groups["month"].lower().rstrip(".")]
    return _build(int(groups["year"]), month, int(groups["day"]))


def parse_date(text: str, *, whole: bool = False) -> str | None:
    """The first full date in `text` as YYYY-MM-DD; with `whole`, only if the date is all there is."""
    for pattern in DATE_PATTERNS:
        match = pattern.fullmatch(text.strip()) if whole else pattern.search(text)
        if match:
            return _from_match(match)
    return None


def normalise_date(value: str | None) -> str | None:
    """A metadata date (ISO, RFC 2822-ish, or prose) as YYYY-MM-DD; unparseable gives None."""
    if not value:
        return None
    text = value.strip()
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        pass
    return parse_date(text)
