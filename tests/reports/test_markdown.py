"""Tests for appwarden.reports.markdown: real assessments, read back with a CommonMark parser."""

from __future__ import annotations

import re
from functools import cache

import lxml.html
import pytest
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from appwarden.reports import render_markdown
from appwarden.reports.markdown import code, md_escape
from appwarden.vetting.assess import Vetter
from appwarden.vetting.model import Assessment
from tests.conftest import APPS, require

SAMPLES = ["instapaper.apk", "diva.apk", "helloworld.ipa", "com.fake.IpaApp_1000000000001.ipa"]
HOSTILE = "<script>alert(1)</script>"
# CommonMark with GFM tables; raw HTML is allowed, so any that slips through shows up.
PARSER = MarkdownIt("commonmark").enable(["table", "strikethrough"])
# Text made of what Markdown cares about: punctuation, digits, spaces, line breaks.
MARKUP_TEXT = st.text(
    alphabet=st.sampled_from(list("abc 019.-+=*_`~[]()<>!#|\\&;$:/\"'\n\t")), max_size=40
)


@cache
def _vetter() -> Vetter:
    return Vetter()


def assess(name: str) -> Assessment:
    require(APPS)
    return _assess(name)


@cache
def _assess(name: str) -> Assessment:
    return _vetter().assess_file(APPS / name)


def rendered(markdown: str) -> lxml.html.HtmlElement:
    return lxml.html.fragment_fromstring(PARSER.render(markdown), create_parent="div")


def squash(text: str) -> str:
    return " ".join(text.split())


def hostile(assessment: Assessment, label: str) -> Assessment:
    finding = assessment.findings[0]
    evidence = [*finding.evidence, HOSTILE, "- [x](javascript:alert(1)) | **b** # 1. \\|"]
    return assessment.model_copy(
        update={
            "app": assessment.app.model_copy(update={"label": label}),
            "findings": [finding.model_copy(update={"evidence": evidence})],
        }
    )


@pytest.mark.parametrize("name", SAMPLES)
def test_sections_findings_and_evidence_are_present(name: str) -> None:
    assessment = assess(name)
    markdown = render_markdown(assessment)
    assert markdown.startswith(f"# {md_escape(assessment.app.label or assessment.app.id)}\n")
    headings = re.findall(r"^## (.+)$", markdown, flags=re.MULTILINE)
    expected = [
        "What static analysis cannot establish",
        "Score",
        f"Findings ({len(assessment.findings)})",
        f"Trackers ({len(assessment.trackers)})",
        "Identity and signing",
        "Network",
    ]
    if assessment.android:
        expected += [f"Permissions by privacy group ({len(assessment.permissions)})", "Code"]
    else:
        expected += ["iOS configuration"]
    assert set(expected) <= set(headings)
    doc = rendered(markdown)
    for finding in assessment.findings:
        assert f"### {finding.rule_id}" not in markdown  # numbered, with severity
        assert code(finding.rule_id) in markdown
        for item in finding.evidence:
            assert f"- {code(item)}\n" in markdown
    text = squash(doc.text_content())
    for sentence in assessment.limitations:
        assert sentence in text


def test_trackers_and_score_table() -> None:
    assessment = assess("instapaper.apk")
    doc = rendered(render_markdown(assessment))
    text = doc.text_content()
    for tracker in assessment.trackers:
        assert tracker.name in text
        assert all(name in text for name in tracker.evidence.classes)
    score = next(t for t in doc.xpath("//table") if t.xpath("thead/tr/th")[0].text == "Category")
    rows = [[squash(td.text_content()) for td in tr.xpath("td")] for tr in score.xpath("tbody/tr")]
    assert rows[-1][0] == "Total" and rows[-1][3] == str(assessment.score.total)
    assert sum(int(row[3]) for row in rows[:-1]) == assessment.score.total


@pytest.mark.parametrize(
    "label", [HOSTILE, "a | b | c", "x\\|y|z", "# Title\n- item\n| c | d |", "`code` <b>*</b>"]
)
def test_hostile_text_cannot_break_out(label: str) -> None:
    markdown = render_markdown(hostile(assess("instapaper.apk"), label))
    assert "<script" not in markdown and "<b>" not in markdown
    assert not re.search(r"(?<!\\)\]\(", markdown)
    html = PARSER.render(markdown)
    assert "<script" not in html and "javascript:" not in re.sub(r">[^<]*<", "><", html)
    doc = rendered(markdown)
    assert squash(doc.xpath("//h1")[0].text_content()) == squash(label)
    for table in doc.xpath("//table"):
        width = len(table.xpath("thead/tr/th"))
        assert all(len(tr.xpath("td")) == width for tr in table.xpath("tbody/tr"))
    facts = doc.xpath("//table")[0]
    label_row = [squash(td.text_content()) for td in facts.xpath("tbody/tr")[0].xpath("td")]
    assert label_row == ["App label", squash(label)]
    (items,) = doc.xpath("//p[starts-with(strong, 'Evidence')]/following-sibling::ul[1]")
    evidence = [squash(li.text_content()) for li in items.xpath("li")]
    assert evidence[-2:] == [HOSTILE, "- [x](javascript:alert(1)) | **b** # 1. \\|"]


@given(MARKUP_TEXT)
def test_escaped_text_renders_as_itself(text: str) -> None:
    escaped = md_escape(text)
    assert "<" not in escaped and ">" not in escaped and "\n" not in escaped
    plain = "self::div or self::p or self::ul or self::li or self::table or self::thead"
    plain += " or self::tbody or self::tr or self::th or self::td"
    for markdown, where, expected in (
        (f"- {escaped}", "//li", text),
        (f"| h |\n| --- |\n| {escaped} |", "//tbody//td", text),
        (f"x\n{escaped}", "/div", f"x {text}"),  # a continuation line: block markers
    ):
        doc = rendered(markdown)
        assert not doc.xpath(f"//*[not({plain})]"), "markup other than the frame"
        (element,) = doc.xpath(where)
        assert squash(element.text_content()) == squash(expected)


@given(MARKUP_TEXT)
def test_code_renders_as_itself(text: str) -> None:
    doc = rendered(f"| h |\n| --- |\n| {code(text)} |")
    assert len(doc.xpath("//tbody/tr/td")) == 1
    assert squash(doc.xpath("//tbody/tr/td")[0].text_content()) == squash(text)
