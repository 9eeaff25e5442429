"""Tests for appwarden.reports.html: reports of real app files, read as a reader would."""

from __future__ import annotations

import re
from functools import cache
from html.parser import HTMLParser
from urllib.parse import quote

import lxml.html
import pytest
from lxml.html import HtmlElement
from markupsafe import escape

from appwarden.reports import render_html, render_index_html
from appwarden.vetting.assess import Vetter
from appwarden.vetting.model import Assessment
from tests.conftest import APPS, require

SAMPLES = [
    "instapaper.apk",
    "diva.apk",
    "apk.embedded_1.apk",
    "helloworld.ipa",
    "com.fake.IpaApp_1000000000001.ipa",
]
HOSTILE = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
STRUCTURAL = {
    "html", "head", "body", "header", "main", "footer", "nav", "section", "article",
    "table", "thead", "tbody", "tfoot", "tr", "th", "td", "ul", "li", "dl", "svg", "g", "pre",
}  # fmt: skip
VOID = {"meta", "br", "rect", "wbr"}


@cache
def _vetter() -> Vetter:
    return Vetter()


def assess(name: str) -> Assessment:
    require(APPS)
    return _assess(name)


@cache
def _assess(name: str) -> Assessment:
    return _vetter().assess_file(APPS / name)


def page(html: str) -> HtmlElement:
    return lxml.html.document_fromstring(html)


def texts(elements: list[HtmlElement]) -> list[str]:
    return [" ".join(e.text_content().split()) for e in elements]


def hostile(assessment: Assessment) -> Assessment:
    """The assessment with attacker-chosen text where the app file supplies text."""
    finding = assessment.findings[0]
    findings = [
        finding.model_copy(update={"evidence": [*finding.evidence, HOSTILE, "a | b"]}),
        *assessment.findings[1:],
    ]
    network = assessment.network.model_copy(
        update={"urls": ['javascript:alert(1)"><img src=x onerror=alert(1)>']}
    )
    return assessment.model_copy(
        update={
            "app": assessment.app.model_copy(update={"label": HOSTILE}),
            "findings": findings,
            "network": network,
        }
    )


@pytest.mark.parametrize("name", SAMPLES)
def test_every_finding_shows_its_rule_and_exact_evidence(name: str) -> None:
    assessment = assess(name)
    html = render_html(assessment)
    doc = page(html)
    articles = doc.xpath("//article[contains(@class, 'finding')]")
    assert len(articles) == len(assessment.findings)
    for finding, article in zip(assessment.findings, articles, strict=True):
        text = " ".join(article.text_content().split())
        assert finding.rule_id in text
        assert " ".join(finding.title.split()) in text
        assert f"{finding.points} counted of {finding.weight} asked" in text
        for ref in [*finding.masvs, *finding.maswe, *finding.cwe, finding.category]:
            assert ref in text
        assert texts(article.xpath(".//ul[@class='values']/li")) == finding.evidence
        for item in finding.evidence:
            assert str(escape(item)) in html


@pytest.mark.parametrize("name", SAMPLES)
def test_breakdown_table_adds_up_to_the_score(name: str) -> None:
    assessment = assess(name)
    doc = page(render_html(assessment))
    (table,) = doc.xpath("//table[caption='Breakdown by category']")
    rows = [texts(tr.xpath("th|td")) for tr in table.xpath("tbody/tr")]
    expected = [
        [c.category, str(c.raw), str(c.cap), str(c.points)] for c in assessment.score.breakdown
    ]
    assert rows == expected
    (total,) = table.xpath("tfoot/tr/td[@data-total]")
    assert total.text_content() == str(assessment.score.total)
    assert sum(int(row[3]) for row in rows) == assessment.score.total
    chart = doc.xpath("//svg")[0]
    labels = texts(chart.xpath(".//text"))
    for item in assessment.score.breakdown:
        assert item.category in labels
        assert any(label.startswith(f"{item.points} of {item.cap} points") for label in labels)


@pytest.mark.parametrize("name", SAMPLES)
def test_limitations_are_stated_in_full_before_the_findings(name: str) -> None:
    assessment = assess(name)
    doc = page(render_html(assessment))
    (section,) = doc.xpath("//section[@id='limitations']")
    assert texts(section.xpath(".//li")) == assessment.limitations
    assert section.xpath("h2")[0].text_content() == "What static analysis cannot establish"
    order = [s.get("id") for s in doc.xpath("//section")]
    assert order.index("limitations") < order.index("score") < order.index("findings")


def test_trackers_show_names_classes_and_what_is_not_listed() -> None:
    assessment = assess("instapaper.apk")
    assert assessment.trackers
    doc = page(render_html(assessment))
    articles = doc.xpath("//article[@class='tracker']")
    assert len(articles) == len(assessment.trackers)
    for tracker, article in zip(assessment.trackers, articles, strict=True):
        text = " ".join(article.text_content().split())
        assert article.xpath("h3")[0].text_content() == tracker.name
        assert tracker.matched_by in text
        for name in [*tracker.categories, *tracker.evidence.domains]:
            assert name in text
        listed = texts(article.xpath(".//ul[@class='values']/li"))
        assert listed[: len(tracker.evidence.classes)] == tracker.evidence.classes
        unlisted = tracker.evidence.class_count - len(tracker.evidence.classes)
        assert (f"and {unlisted} more" in text) == (unlisted > 0)
        if tracker.website:
            assert tracker.website in text
    assert not doc.xpath("//a[starts-with(@href, 'http')]")


@pytest.mark.parametrize("name", SAMPLES)
def test_page_is_self_contained(name: str) -> None:
    html = render_html(assess(name))
    assert "<script" not in html.lower()
    assert not re.search(r"""\b(?:src|href|action|srcset)\s*=\s*["']?\s*(?:[a-z]+:|//)""", html)
    assert "@import" not in html and "url(" not in html
    doc = page(html)
    assert not doc.xpath("//link|//img|//iframe|//object|//embed|//script")
    assert all(href.startswith("#") for href in doc.xpath("//a/@href"))
    style = doc.xpath("//style")[0].text_content()
    assert "@media print" in style and "A4" in style
    assert doc.xpath("//meta[@name='viewport']")


class _Structure(HTMLParser):
    """Checks that structural elements open and close in order, and collects headings."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.headings: list[int] = []
        self.errors: list[str] = []
        self.th_without_scope = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in STRUCTURAL:
            self.stack.append(tag)
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        if tag == "th" and "scope" not in dict(attrs):
            self.th_without_scope += 1

    def handle_endtag(self, tag: str) -> None:
        if tag not in STRUCTURAL:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


@pytest.mark.parametrize("name", SAMPLES)
def test_markup_is_balanced_and_accessible(name: str) -> None:
    html = render_html(assess(name))
    assert html.startswith("<!DOCTYPE html>")
    parser = _Structure()
    parser.feed(html)
    parser.close()
    assert parser.errors == [] and parser.stack == []
    assert parser.th_without_scope == 0
    assert parser.headings.count(1) == 1 and parser.headings[0] == 1
    for before, after in zip(parser.headings, parser.headings[1:], strict=False):
        assert after <= before + 1, "a heading level is skipped"
    doc = page(html)
    assert doc.get("lang") == "en"
    assert doc.xpath("//svg[@role='img']/title")


def test_android_details() -> None:
    diva = assess("diva.apk")
    assert diva.android is not None and diva.android.flags.debuggable
    doc = page(render_html(diva))
    (flags,) = doc.xpath("//table[caption='Manifest flags']")
    assert ["debuggable", "yes"] in [texts(tr.xpath("th|td")) for tr in flags.xpath(".//tr")]
    code = " ".join(doc.xpath("//section[@id='code']")[0].text_content().split())
    for library in [*diva.android.native_libraries, *diva.android.dex_files]:
        assert library in code
    groups = texts(doc.xpath("//section[@id='permissions']//th[@scope='rowgroup']"))
    names = [g.rsplit(" (", 1)[0] for g in groups]
    expected = sorted({p.group for p in diva.permissions if p.group})
    assert names[: len(expected)] == expected
    if any(p.group is None for p in diva.permissions):
        assert names[-1] == "Not in a privacy group"
    permissions = " ".join(doc.xpath("//section[@id='permissions']")[0].text_content().split())
    for permission in diva.permissions:
        assert permission.name in permissions

    instapaper = assess("instapaper.apk")
    assert instapaper.android is not None
    components = page(render_html(instapaper)).xpath("//section[@id='manifest']//tbody/tr/th")
    assert texts(components)[-len(instapaper.android.components) :] == [
        c.name for c in instapaper.android.components
    ]

    embedded = assess("apk.embedded_1.apk")
    assert embedded.android is not None and embedded.android.nested_code
    text = page(render_html(embedded)).text_content()
    assert all(n.path in text for n in embedded.android.nested_code)


def test_ios_details() -> None:
    signed = assess("helloworld.ipa")
    assert signed.ios is not None and signed.ios.provisioning is not None
    doc = page(render_html(signed))
    config = " ".join(doc.xpath("//section[@id='ios-config']")[0].text_content().split())
    assert all(key in config for key in signed.ios.entitlements)
    assert str(signed.ios.provisioning["Name"]) in config
    signer = doc.xpath("//section[@id='identity']//table")[0]
    assert signed.signers[0].sha256 in signer.text_content()
    assert signed.signers[0].subject in signer.text_content()
    assert not doc.xpath("//section[@id='permissions']")

    described = assess("com.fake.IpaApp_1000000000001.ipa")
    assert described.ios is not None and described.warnings
    doc = page(render_html(described))
    usage = " ".join(doc.xpath("//section[@id='usage']")[0].text_content().split())
    for item in described.ios.usage_descriptions:
        assert item.key in usage and item.text in usage
    assert all(s in doc.text_content() for s in described.ios.url_schemes)
    assert texts(doc.xpath("//section[@id='warnings']//li")) == described.warnings


def test_app_supplied_text_is_escaped() -> None:
    assessment = hostile(assess("instapaper.apk"))
    html = render_html(assessment)
    assert HOSTILE not in html
    assert "<script" not in html.lower() and "<img" not in html.lower()
    assert html.count(ESCAPED) >= 3  # title, heading, facts, evidence
    doc = page(html)
    assert doc.xpath("//title")[0].text_content().endswith(HOSTILE)
    assert doc.xpath("//h1")[0].text_content() == HOSTILE
    evidence = texts(doc.xpath("//article[@id='finding-1']//ul[@class='values']/li"))
    assert evidence[-2:] == [HOSTILE, "a | b"]
    assert not doc.xpath("//a[contains(@href, 'javascript')]|//*[@onerror]")


def test_index_links_each_report_and_summarises_it() -> None:
    names = ["instapaper.apk", "helloworld.ipa", "diva.apk"]
    assessments = [assess(name) for name in names]
    entries = [(f"{name}.html", a) for name, a in zip(names, assessments, strict=True)]
    entries.append(("javascript:alert(1) #x.html", hostile(assessments[0])))
    html = render_index_html(entries)
    assert HOSTILE not in html and "<script" not in html.lower()
    doc = page(html)
    rows = doc.xpath("//tbody/tr")
    assert len(rows) == len(entries)
    for (href, assessment), row in zip(entries, rows, strict=True):
        (link,) = row.xpath(".//a")
        assert link.get("href") == "./" + quote(href)
        assert link.text_content() == (assessment.app.label or assessment.app.id)
        cells = texts(row.xpath("td"))
        assert cells[2] == assessment.verdict.upper()
        assert cells[3] == f"{assessment.score.total}/100"
        assert cells[4] == assessment.score.grade
        assert cells[5:] == [str(len(assessment.trackers)), str(len(assessment.findings))]
        assert assessment.app.id in row.text_content()
    assert not any(h.startswith("javascript") for h in doc.xpath("//a/@href"))
    assert doc.get("lang") == "en" and "@media print" in html
    fails = sum(1 for _, a in entries if a.verdict == "fail")
    assert f"{fails} fail" in doc.xpath("//header")[0].text_content()


def test_index_of_nothing_still_renders() -> None:
    doc = page(render_index_html([]))
    assert "No file was vetted" in doc.text_content()
