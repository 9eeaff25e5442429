"""The console's pages: one module per page, each with a ``router`` and, if it belongs in
the main navigation, a ``NAV`` entry (its path, label and required permission).

To add a page: write ``pages/NAME.py`` (a router whose routes take ``allowed(permission)``
or ``SignedIn``, and ``NAV``), its template extending ``base.html``, add the module below,
and visit it in a browser test with ``tests/console/browser.py``'s ``visit``."""

from __future__ import annotations

from fastapi import APIRouter

from appwarden.console.nav import NavItem
from appwarden.console.pages import (
    apps,
    assessment,
    audit,
    decide,
    determinations,
    devices,
    draft,
    exports,
    groups,
    home,
    partners,
    reply,
    reports,
    sign_in,
    waivers,
)

#: Pages in the navigation, in its order.
NAVIGATION: list[NavItem] = [
    home.NAV,
    apps.NAV,
    determinations.NAV,
    devices.NAV,
    groups.NAV,
    reports.NAV,
    exports.NAV,
    audit.NAV,
]

ROUTERS: list[APIRouter] = [
    sign_in.router,
    home.router,
    apps.router,
    apps.upload_router,
    assessment.router,
    draft.router,
    determinations.router,
    partners.router,
    partners.compare_router,
    # Before decide's /determinations/{id}/{action}: their paths would match it.
    waivers.router,
    reply.router,
    decide.router,
    devices.router,
    groups.router,
    reports.router,
    exports.router,
    audit.router,
]
