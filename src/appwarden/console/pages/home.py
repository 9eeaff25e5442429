"""The landing page: who is signed in, and the pages their role may open."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from appwarden.console.access import SignedIn
from appwarden.console.i18n import N_
from appwarden.console.nav import NavItem
from appwarden.console.rendering import render

router = APIRouter()
NAV = NavItem("/", N_("Home"))


@router.get("/")
def home(request: Request, principal: SignedIn) -> Response:
    return render(request, "home.html", principal=principal)
