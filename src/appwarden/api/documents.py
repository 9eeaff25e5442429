"""Responses that carry a whole document built from untrusted data (reports, notices).

Their content is escaped when rendered; the headers add a second wall: the browser may
run no script and fetch nothing, and may not guess another content type.
"""

from __future__ import annotations

from fastapi.responses import HTMLResponse

DOCUMENT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


def document_html(text: str) -> HTMLResponse:
    """A self-contained HTML document, served under a policy that allows only its styles."""
    return HTMLResponse(
        text,
        headers={"Content-Security-Policy": DOCUMENT_CSP, "X-Content-Type-Options": "nosniff"},
    )
