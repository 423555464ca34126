"""Text cleaning for news articles: pure functions, composed in `newsclean.cleaners.pipeline`."""

from newsclean.cleaners.html_page import clean_html
from newsclean.cleaners.pipeline import clean_text
from newsclean.cleaners.types import CleanedText, Metadata, Removal

__all__ = ["CleanedText", "Metadata", "Removal", "clean_html", "clean_text"]
