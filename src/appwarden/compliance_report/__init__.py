"""Compliance reports for a central authority: per determination or for all of them, as of
a date, replayed from the append-only compliance history; as CSV, JSON or a printable
HTML page with a chart. See docs/reports.md."""
