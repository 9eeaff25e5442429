"""The console's languages: English (the message ids themselves) and French.

Every word a page shows goes through the message catalogue: templates with Jinja2's i18n
extension (``{% trans %}``, ``_()``), Python with :func:`translator`. The French catalogue
is kept as ``locales/fr/LC_MESSAGES/messages.po`` and compiled in memory at start-up, so
no compiled binary is committed or needed. ``make messages`` extracts new text into it.
"""

from __future__ import annotations

import functools
import gettext
from collections.abc import Mapping
from contextvars import ContextVar
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from starlette.requests import Request

LOCALES = Path(__file__).parent / "locales"
DEFAULT = "en"
#: Each language, named in itself (so a reader finds their own whatever the page's language).
LANGUAGES: Mapping[str, str] = {"en": "English", "fr": "Français"}
LANGUAGE_COOKIE = "appwarden_lang"

Catalogues = Mapping[str, gettext.NullTranslations]

#: The translations of the page being rendered (set around each render, per thread).
current: ContextVar[gettext.NullTranslations | None] = ContextVar(
    "console_translations", default=None
)
_UNTRANSLATED = gettext.NullTranslations()


def N_(message: str) -> str:  # noqa: N802 - the conventional marker name
    """Mark text for extraction where it is defined; it is translated where it is shown."""
    return message


def catalogue_path(language: str) -> Path:
    return LOCALES / language / "LC_MESSAGES" / "messages.po"


@functools.cache
def load_catalogues() -> Catalogues:
    """Compile each language's .po file in memory, once per process (fuzzy entries are
    left out)."""
    catalogues: dict[str, gettext.NullTranslations] = {DEFAULT: gettext.NullTranslations()}
    for language in LANGUAGES:
        if language == DEFAULT:
            continue
        with catalogue_path(language).open("rb") as stream:
            catalog = read_po(stream, locale=language)
        compiled = BytesIO()
        write_mo(compiled, catalog)
        compiled.seek(0)
        catalogues[language] = gettext.GNUTranslations(compiled)
    return catalogues


def _from_header(header: str) -> str | None:
    """The first supported language of an Accept-Language header, by its q weights."""
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        weighted.append((-weight, position, tag.strip().lower().split("-")[0]))
    for negative, _position, language in sorted(weighted):
        if negative < 0 and language in LANGUAGES:
            return language
    return None


def language_of(request: Request) -> str:
    """The chosen language (the switch's cookie), else the browser's, else English."""
    chosen = request.cookies.get(LANGUAGE_COOKIE, "")
    if chosen in LANGUAGES:
        return chosen
    return _from_header(request.headers.get("accept-language", "")) or DEFAULT


def translator(request: Request) -> gettext.NullTranslations:
    """The translations for this request's language (``.gettext`` for text in Python)."""
    catalogues: Catalogues = request.app.state.console_catalogues
    return catalogues[language_of(request)]


def gettext_current(message: str) -> str:
    return (current.get() or _UNTRANSLATED).gettext(message)


def ngettext_current(singular: str, plural: str, count: int) -> str:
    return (current.get() or _UNTRANSLATED).ngettext(singular, plural, count)
