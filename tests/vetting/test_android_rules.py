"""Every Android rule in rules.toml, triggered by an APK built here, with its exact evidence.

Each built APK goes through ``Vetter.assess_bytes``, and every assessment is also checked
for the score invariants (findings, total and breakdown agree; caps hold).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from appwarden.vetting.assess import Vetter
from appwarden.vetting.model import Assessment
from appwarden.vetting.rules import load_rules
from builders import (
    Element,
    apk_bytes,
    certificate,
    component,
    dex,
    manifest,
    sign_v1,
)

VETTER = Vetter()
P = "android.permission."
MAIN, LAUNCHER = "android.intent.action.MAIN", "android.intent.category.LAUNCHER"
DEBUG_CERT = certificate("Android Debug", "Android", weak=True)
RELEASE_CERT = certificate("Example Release", "Example")
DEBUG_SHA256 = hashlib.sha256(DEBUG_CERT[0].public_bytes(Encoding.DER)).hexdigest()
PAYLOAD = dex(["com.loader.Stage2"])


def check_score(assessment: Assessment) -> None:
    score = assessment.score
    assert sum(f.points for f in assessment.findings) == score.total
    assert sum(c.points for c in score.breakdown) == score.total
    assert 0 <= score.total <= 100
    caps = load_rules().caps
    assert {c.category for c in score.breakdown} == set(caps)
    for category in score.breakdown:
        assert category.cap == caps[category.category]
        assert 0 <= category.points <= category.cap
        assert category.points == min(category.raw, category.cap)
        members = [f for f in assessment.findings if f.category == category.category]
        assert sum(f.points for f in members) == category.points
        assert sum(f.weight for f in members) == category.raw
    assert all(0 <= f.points <= f.weight for f in assessment.findings)


def assess(
    *,
    classes: tuple[str, ...] = ("com.example.app.Main",),
    strings: tuple[str, ...] = (),
    extra: dict[str, bytes] | None = None,
    signer: tuple[Any, Any] | None = None,
    root: Element | None = None,
    **manifest_args: Any,
) -> Assessment:
    """Build an APK from a manifest and one DEX file, assess it, check its score."""
    data = apk_bytes(
        root or manifest(**manifest_args),
        dex_files={"classes.dex": dex(list(classes), strings)},
        extra=extra,
    )
    if signer is not None:
        data = sign_v1(data, *signer)
    assessment = VETTER.assess_bytes(data, name="app.apk", kind="apk")
    assert assessment.warnings == []
    check_score(assessment)
    return assessment


def evidence(assessment: Assessment, rule_id: str) -> list[str] | None:
    found = [f for f in assessment.findings if f.rule_id == rule_id]
    assert len(found) <= 1
    return found[0].evidence if found else None


# ---------------------------------------------------------------- one case per rule


@dataclass
class Case:
    rule_id: str
    evidence: list[str]
    build: dict[str, Any] = field(default_factory=dict)


EXPORTED = [
    component("activity", ".MainActivity", actions=[MAIN], categories=[LAUNCHER]),
    component("activity", ".ShareActivity", actions=["android.intent.action.SEND"]),
    component("activity", ".Guarded", actions=["x.y.OPEN"], permission="com.example.app.P"),
    component("activity", ".Private", actions=["x.y.OPEN"], exported=False),
    component("activity", "com.example.app.Internal"),  # no filter: not exported
    component("receiver", "BootReceiver", exported=True),
    component("provider", ".Files", authorities="com.example.files", exported=True),
]
A11Y = component(
    "service",
    ".A11yService",
    permission=P + "BIND_ACCESSIBILITY_SERVICE",
    actions=["android.accessibilityservice.AccessibilityService"],
)


def perms(*names: str) -> dict[str, Any]:
    return {"permissions": [P + name for name in names]}


def app_attrs(**attrs: Any) -> dict[str, Any]:
    return {"application_attrs": {f"android:{k}": v for k, v in attrs.items()}}


def code(*classes: str) -> dict[str, Any]:
    return {"classes": classes}


CASES = [
    Case("AW-SIGN-001", ["no v1, v2, v3 or v3.1 signer certificate"]),
    Case(
        "AW-SIGN-002",
        [f"C=US, O=Android, CN=Android Debug (sha256 {DEBUG_SHA256})"],
        {"signer": DEBUG_CERT},
    ),
    Case("AW-SIGN-003", ["signature schemes: v1 only; minSdkVersion 21"], {"signer": RELEASE_CERT}),
    Case(
        "AW-SIGN-004",
        ["C=US, O=Android, CN=Android Debug: sha1-rsassa_pkcs1v15"],
        {"signer": DEBUG_CERT},
    ),
    Case("AW-CFG-001", ['android:debuggable="true"'], app_attrs(debuggable=True)),
    Case("AW-CFG-002", ["android:allowBackup is true (explicitly or by default)"]),
    Case(
        "AW-CFG-003",
        ["usesCleartextTraffic not set; targetSdkVersion 25 allows it"],
        {"target_sdk": 25},
    ),
    Case("AW-CFG-004", ['android:testOnly="true"'], app_attrs(testOnly=True)),
    Case(
        "AW-CFG-005",
        [
            "activity com.example.app.ShareActivity",
            "receiver com.example.app.BootReceiver",
            "provider com.example.app.Files",
        ],
        {"components": EXPORTED},
    ),
    Case("AW-CFG-006", ["targetSdkVersion 25"], {"target_sdk": 25}),
    Case("AW-PERM-001", [P + "READ_SMS", P + "SEND_SMS"], perms("SEND_SMS", "READ_SMS", "VIBRATE")),
    Case("AW-PERM-002", [P + "READ_CALL_LOG"], perms("READ_CALL_LOG")),
    Case(
        "AW-PERM-003",
        [P + "ACCESS_BACKGROUND_LOCATION", P + "ACCESS_FINE_LOCATION"],
        perms("ACCESS_FINE_LOCATION", "ACCESS_BACKGROUND_LOCATION"),
    ),
    Case("AW-PERM-004", [P + "CAMERA", P + "RECORD_AUDIO"], perms("RECORD_AUDIO", "CAMERA")),
    Case(
        "AW-PERM-005",
        [P + "READ_CALENDAR", P + "READ_CONTACTS"],
        perms("READ_CONTACTS", "READ_CALENDAR"),
    ),
    Case("AW-PERM-006", [P + "READ_PHONE_STATE"], perms("READ_PHONE_STATE")),
    Case("AW-PERM-007", [P + "REQUEST_INSTALL_PACKAGES"], perms("REQUEST_INSTALL_PACKAGES")),
    Case("AW-PERM-008", [P + "QUERY_ALL_PACKAGES"], perms("QUERY_ALL_PACKAGES")),
    Case(
        "AW-PERM-009",
        [P + "SYSTEM_ALERT_WINDOW", P + "WRITE_SETTINGS"],
        perms("WRITE_SETTINGS", "SYSTEM_ALERT_WINDOW"),
    ),
    Case("AW-PERM-010", [P + "READ_LOGS (privileged)"], perms("READ_LOGS")),
    Case(
        "AW-PERM-011", ["accessibility service com.example.app.A11yService"], {"components": [A11Y]}
    ),
    Case("AW-PERM-012", [P + "BODY_SENSORS"], perms("BODY_SENSORS")),
    Case("AW-TRK-001", ["Facebook Audience Network (code)"], code("com.facebook.ads.AdView")),
    Case(
        "AW-TRK-002",
        ["Facebook App Events (code)"],
        code("com.facebook.appevents.AppEventsLogger"),
    ),
    Case("AW-TRK-003", ["Facebook Places (code)"], code("com.facebook.places.Places")),
    Case("AW-TRK-004", ["Facebook Share (code)"], code("com.facebook.share.ShareApi")),
    Case(
        "AW-NET-001",
        ["8.8.8.8", "api.example-cdn.net"],
        {
            "strings": (
                "http://api.example-cdn.net/v1",
                "http://8.8.8.8/x",
                "https://s.example.net/",
            )
        },
    ),
    Case("AW-NET-002", ["8.8.8.8"], {"strings": ("http://8.8.8.8/x",)}),
    Case(
        "AW-CODE-001",
        [f"assets/payload.dex (dex, {len(PAYLOAD)} bytes)"],
        {"extra": {"assets/payload.dex": PAYLOAD}},
    ),
    Case("AW-CODE-002", ["arm64-v8a/libx.so"], {"extra": {"lib/arm64-v8a/libx.so": b"\x7fELF"}}),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{c.rule_id}" for c in CASES])
def test_rule_is_triggered_with_exact_evidence(case: Case) -> None:
    assert evidence(assess(**case.build), case.rule_id) == case.evidence


def test_every_android_rule_has_a_case() -> None:
    android = {r.id for r in load_rules().rules if "android" in r.platforms}
    assert android == {c.rule_id for c in CASES}


def test_no_ios_rule_fires_on_an_apk() -> None:
    ios_only = {r.id for r in load_rules().rules if "android" not in r.platforms}
    assessment = assess(target_sdk=25, application_attrs={"android:debuggable": True})
    assert not ios_only & {f.rule_id for f in assessment.findings}


# ---------------------------------------------------------------- conditions


def test_a_clean_app_has_no_findings() -> None:
    assessment = assess(
        min_sdk=24, application_attrs={"android:allowBackup": False}, signer=RELEASE_CERT
    )
    assert assessment.findings == []  # signed, so not AW-SIGN-001 either
    assert [(s.schemes, s.debug) for s in assessment.signers] == [(["v1"], False)]
    assert (assessment.score.total, assessment.score.grade, assessment.verdict) == (0, "A", "pass")


def test_cleartext_explicitly_true_on_a_new_target() -> None:
    assessment = assess(application_attrs={"android:usesCleartextTraffic": True})
    assert evidence(assessment, "AW-CFG-003") == ['android:usesCleartextTraffic="true"']


@pytest.mark.parametrize(
    "attrs",
    [
        {"android:usesCleartextTraffic": False},
        {"android:networkSecurityConfig": "@7f0f0001"},
    ],
    ids=["cleartext-false", "network-security-config"],
)
def test_no_cleartext_finding_when_the_app_decides(attrs: dict[str, Any]) -> None:
    assessment = assess(target_sdk=25, application_attrs=attrs)
    assert evidence(assessment, "AW-CFG-003") is None
    assert evidence(assessment, "AW-CFG-006") == ["targetSdkVersion 25"]


def test_new_target_has_no_old_target_or_cleartext_findings() -> None:
    assessment = assess(target_sdk=30)
    assert evidence(assessment, "AW-CFG-006") is None
    assert evidence(assessment, "AW-CFG-003") is None


def test_missing_target_sdk_is_an_old_target() -> None:
    root = manifest()
    root.children = [child for child in root.children if child.tag != "uses-sdk"]
    assessment = assess(root=root)
    assert "None" not in str(evidence(assessment, "AW-CFG-003"))
    assert evidence(assessment, "AW-CFG-006") is not None


def test_main_action_does_not_hide_an_exported_service() -> None:
    service = component("service", ".Backdoor", actions=[MAIN, "com.example.app.RUN"])
    assessment = assess(components=[service])
    assert evidence(assessment, "AW-CFG-005") == ["service com.example.app.Backdoor"]


def test_application_permission_guards_its_components() -> None:
    assessment = assess(
        components=[component("activity", ".ShareActivity", actions=["x.SEND"])],
        application_attrs={"android:permission": "com.example.app.GUARD"},
    )
    assert evidence(assessment, "AW-CFG-005") is None


def test_exported_components_are_listed_with_their_guard() -> None:
    details = assess(components=EXPORTED).android
    assert details is not None
    listed = {c.name: c for c in details.components}
    assert set(listed) == {
        "com.example.app.MainActivity",
        "com.example.app.ShareActivity",
        "com.example.app.Guarded",
        "com.example.app.BootReceiver",
        "com.example.app.Files",
    }
    assert listed["com.example.app.Guarded"].permission == "com.example.app.P"
    assert listed["com.example.app.MainActivity"].intent_actions == [MAIN]


def test_native_library_weighs_nothing() -> None:
    assessment = assess(extra={"lib/arm64-v8a/libx.so": b"\x7fELF"})
    (finding,) = [f for f in assessment.findings if f.rule_id == "AW-CODE-002"]
    assert (finding.weight, finding.points) == (0, 0)
    assert assessment.android is not None
    assert assessment.android.native_libraries == ["arm64-v8a/libx.so"]


def test_nested_dex_classes_are_matched() -> None:
    nested = dex(["com.facebook.ads.InterstitialAd"])
    assessment = assess(extra={"assets/payload.dex": nested})
    assert assessment.android is not None
    assert assessment.android.dex_files == ["classes.dex", "assets/payload.dex"]
    assert evidence(assessment, "AW-TRK-001") == ["Facebook Audience Network (code)"]


def test_advertising_tracker_from_code() -> None:
    assessment = assess(classes=("com.example.app.Main", "com.facebook.ads.AdView"))
    (tracker,) = [t for t in assessment.trackers if t.name == "Facebook Audience Network"]
    assert tracker.matched_by == "code"
    assert tracker.evidence.classes == ["com.facebook.ads.AdView"]
    assert tracker.evidence.class_count == 1
    assert "advertising" in tracker.categories


def test_host_in_code_strings_reaches_network_domains() -> None:
    assessment = assess(strings=("https://graph.facebook.com/v1",))
    assert "graph.facebook.com" in assessment.network.domains
    assert "https://graph.facebook.com/v1" in assessment.network.urls
    assert evidence(assessment, "AW-NET-001") is None  # https


@pytest.mark.parametrize(
    "url",
    ["http://203.0.113.5/x", "http://10.0.0.2/x", "http://127.0.0.1:8080/", "http://localhost/"],
)
def test_non_global_addresses_are_not_flagged(url: str) -> None:
    assessment = assess(strings=(url,))
    assert evidence(assessment, "AW-NET-002") is None
    assert evidence(assessment, "AW-NET-001") is None


def test_everything_at_once_stays_within_the_caps() -> None:
    permissions = [case.build["permissions"] for case in CASES if "permissions" in case.build]
    assessment = assess(
        target_sdk=25,
        permissions=sorted({p for group in permissions for p in group}),
        components=[*EXPORTED, A11Y],
        application_attrs={"android:debuggable": True, "android:testOnly": True},
        classes=("com.facebook.ads.AdView", "com.facebook.places.Places", "com.facebook.share.S"),
        strings=("http://8.8.8.8/x", "http://a.example-cdn.net/", "http://b.example-cdn.net/"),
        extra={"assets/payload.dex": PAYLOAD, "lib/x86/liby.so": b"\x7fELF"},
        signer=DEBUG_CERT,
    )
    by_category = {c.category: c for c in assessment.score.breakdown}
    assert by_category["permissions"].raw > by_category["permissions"].cap
    assert by_category["permissions"].points == by_category["permissions"].cap
    assert assessment.score.total <= 100
    assert assessment.verdict == "fail"


# ---------------------------------------------------------------- labels and the builder


def test_label_is_kept_verbatim() -> None:
    label = "<script>alert(1)</script>"
    assessment = assess(application_attrs={"android:label": label})
    assert assessment.app.label == label


def test_manifest_facts_read_back() -> None:
    assessment = assess(package="org.example.demo", version_code=42, version_name="4.2", min_sdk=23)
    app = assessment.app
    assert (app.id, app.version_code, app.version_name) == ("org.example.demo", "42", "4.2")
    assert (app.min_sdk, app.target_sdk) == (23, 34)
