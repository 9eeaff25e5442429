"""Reports: an assessment as a self-contained HTML page or as GitHub-flavoured Markdown."""

from appwarden.reports.html import render_html, render_index_html
from appwarden.reports.markdown import render_markdown

__all__ = ["render_html", "render_index_html", "render_markdown"]
