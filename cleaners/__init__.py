"""Text cleaning for news articles: pure functions, composed in `cleaners.pipeline`."""

from cleaners.html_page import clean_html
from cleaners.pipeline import clean_text
from cleaners.types import CleanedText, Metadata, Removal

__all__ = ["CleanedText", "Metadata", "Removal", "clean_html", "clean_text"]
