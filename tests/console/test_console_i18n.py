"""English and French: every text through the catalogue, every message translated."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from appwarden.auth.roles import Role
from appwarden.console import i18n
from appwarden.console.rendering import TEMPLATES
from tests.console.support import HTML, make_user, post_sign_in, sign_in
from tests.server import Env

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = ROOT / "src" / "appwarden" / "console"
#: Literal words a template may show untranslated: the product's name.
NAMES = {"AppWarden"}
_ATTRIBUTE = re.compile(r'\b(?:aria-label|title|alt|placeholder)="([^"{]*)"')


def _extracted() -> set[str]:
    with (ROOT / "babel.cfg").open(encoding="utf-8") as stream:
        method_map, options_map = parse_mapping_cfg(stream)
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(CONSOLE), method_map, options_map
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def _french() -> dict[str, str]:
    with i18n.catalogue_path("fr").open("rb") as stream:
        catalog = read_po(stream, locale="fr")
    return {str(m.id): str(m.string) for m in catalog if m.id}


def test_every_message_has_a_french_translation() -> None:
    french = _french()
    assert len(french) > 50
    empty = sorted(msgid for msgid, text in french.items() if not text.strip())
    assert empty == [], "untranslated: run `make messages` and translate these"


def test_the_catalogue_holds_exactly_the_extracted_text() -> None:
    extracted, french = _extracted(), set(_french())
    assert extracted - french == set(), "new text: run `make messages` and translate it"
    assert french - extracted == set(), "obsolete entries: run `make messages`"


def test_placeholders_survive_translation() -> None:
    for msgid, text in _french().items():
        assert sorted(re.findall(r"%\(\w+\)s", msgid)) == sorted(re.findall(r"%\(\w+\)s", text))
        assert sorted(re.findall(r"</?\w+>", msgid)) == sorted(re.findall(r"</?\w+>", text))


_TRANS = re.compile(r"{%-?\s*trans\b.*?{%-?\s*endtrans\s*-?%}", re.S)
_JINJA = re.compile(r"{{.*?}}|{%.*?%}|{#.*?#}", re.S)


def literal_text(source: str) -> list[str]:
    """Words in template markup that no translation wraps: text between tags, and the
    values of attributes people read (aria-label, title, alt, placeholder)."""
    source = _JINJA.sub(" ", _TRANS.sub(" ", source))
    found = [value for value in _ATTRIBUTE.findall(source) if value.strip()]
    text = re.sub(r"<[^>]*>", " ", source)
    text = re.sub(r"&[a-z]+;|&#\d+;", " ", text)
    return found + [w for w in re.findall(r"[^\W\d_]{2,}", text) if w not in NAMES]


@pytest.mark.parametrize("template", sorted(p.name for p in TEMPLATES.glob("*.html")))
def test_templates_have_no_untranslated_text(template: str) -> None:
    assert literal_text((TEMPLATES / template).read_text(encoding="utf-8")) == []


def test_the_check_finds_literal_text() -> None:
    source = (
        '<p title="Hello">Plain words {{ _("fine") }}</p>'
        '<input aria-label="{{ _(\'ok\') }}" value="{{ x }}">'
        "{% trans n=1 %}Counted {{ n }}{% endtrans %}<b>Bold</b>"
    )
    assert literal_text(source) == ["Hello", "Plain", "words", "Bold"]


def test_french_pages(page_env: Env) -> None:
    make_user(page_env, "aude", Role.auditor)
    switched = page_env.client.get(
        "/language/fr?next=%2Fsign-in", headers=HTML, follow_redirects=False
    )
    assert switched.status_code == 303 and switched.headers["location"] == "/sign-in"
    page = page_env.client.get("/sign-in", headers=HTML)
    assert '<html lang="fr">' in page.text and "Nom d’utilisateur" in page.text
    refused = post_sign_in(page_env.client, "aude", "wrong password!!")
    assert "Nom d’utilisateur, mot de passe ou code erroné." in refused.text
    sign_in(page_env, "aude")
    audit = page_env.client.get("/audit", headers=HTML).text
    assert "Connecté en tant que <strong>Aude</strong> (vérificateur)" in audit
    assert "Journal de vérification" in audit and "Vérifier la chaîne" in audit


def test_browser_language_is_the_default(page_env: Env) -> None:
    page = page_env.client.get("/sign-in", headers={**HTML, "Accept-Language": "fr-CA,fr;q=0.9"})
    assert '<html lang="fr">' in page.text
    page = page_env.client.get("/sign-in", headers={**HTML, "Accept-Language": "de, en;q=0.5"})
    assert '<html lang="en">' in page.text
    unknown = page_env.client.get("/language/xx", headers=HTML)
    assert unknown.status_code == 404 and "This language is not available." in unknown.text


def test_catalogue_compiles_in_memory() -> None:
    catalogues = i18n.load_catalogues()
    assert catalogues["fr"].gettext("Sign in") == "Se connecter"
    assert catalogues["en"].gettext("Sign in") == "Sign in"
    assert not list(CONSOLE.rglob("*.mo")), "compiled catalogues are never committed"
