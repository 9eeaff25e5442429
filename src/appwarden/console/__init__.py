"""The web console: server-rendered pages (Jinja2, htmx) over the same services as the
REST API. See docs/console.md.

Pages live at plain paths (``/``, ``/sign-in``, ``/audit``, …) beside ``/api/v1`` and the
device protocol's ``/v1``; static files at ``/static/console/`` (ours) and
``/static/vendor/`` (installed from npm). No page appears in the OpenAPI document.
"""

from __future__ import annotations

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from appwarden.console import errors, i18n
from appwarden.console.assets import STATIC, find_assets
from appwarden.console.csrf import check_csrf
from appwarden.console.pages import NAVIGATION, ROUTERS
from appwarden.console.rendering import make_environment


def mount(app: FastAPI) -> None:
    """Add the console to ``app``: its pages, static files, catalogues and error pages."""
    app.state.console_catalogues = i18n.load_catalogues()
    app.state.console_templates = make_environment()
    app.state.console_assets = find_assets()
    app.state.console_nav = NAVIGATION
    for router in ROUTERS:
        # Every console route checks the CSRF token of state-changing requests.
        app.include_router(router, include_in_schema=False, dependencies=[Depends(check_csrf)])
    app.mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static")
    errors.install(app)
