"""Every fixture APK with a manifest: what we extract agrees with androguard's own API."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from androguard.core.apk import APK
from loguru import logger

from appwarden.vetting.assess import Vetter
from appwarden.vetting.errors import NotAnAndroidApp
from tests.conftest import APPS, fixture_apks, require

logger.disable("androguard")


def _has_manifest(path: Path) -> bool:
    import zipfile

    with zipfile.ZipFile(path) as archive:
        return "AndroidManifest.xml" in archive.namelist()


APKS = [p for p in fixture_apks() if _has_manifest(p)]


@pytest.fixture(scope="module")
def vetter() -> Vetter:
    return Vetter()


def test_fixtures_present() -> None:
    require(APPS)
    assert len(APKS) >= 15


@pytest.mark.parametrize("path", APKS, ids=lambda p: p.name)
def test_identity_permissions_and_signers_agree_with_androguard(vetter: Vetter, path: Path) -> None:
    assessment = vetter.assess_file(path)
    reference = APK(str(path))

    assert assessment.app.platform == "android"
    assert assessment.app.id == reference.get_package()
    assert assessment.app.version_code == reference.get_androidversion_code()
    assert assessment.app.version_name == reference.get_androidversion_name()
    assert assessment.app.label == (reference.get_app_name() or None)
    assert assessment.app.min_sdk == int(reference.get_min_sdk_version() or 0) or None

    expected_permissions = set(reference.get_permissions()) | set(
        reference.get_all_attribute_value("uses-permission-sdk-23", "name")
    )
    assert {p.name for p in assessment.permissions} == expected_permissions

    ders = [c.dump() for c in reference.get_certificates_v1() if c is not None]
    ders += reference.get_certificates_der_v2() + reference.get_certificates_der_v3()
    expected_signers = {hashlib.sha256(der).hexdigest() for der in ders}
    assert {s.sha256 for s in assessment.signers} == expected_signers

    data = path.read_bytes()
    assert assessment.file.sha256 == hashlib.sha256(data).hexdigest()
    assert assessment.file.size == len(data)


def test_schemes_follow_androguard(vetter: Vetter) -> None:
    path = require(APPS / "v2.only.sig_2.apk")
    assessment = vetter.assess_file(path)
    reference = APK(str(path))
    assert reference.is_signed_v2() and not reference.is_signed_v1()
    assert [s.schemes for s in assessment.signers] == [["v2"]]


def test_debug_certificate_flagged(vetter: Vetter) -> None:
    assessment = vetter.assess_file(require(APPS / "app-prod-debug.apk"))
    assert assessment.signers and all(s.debug for s in assessment.signers)
    assert "AW-SIGN-002" in {f.rule_id for f in assessment.findings}
    assert assessment.android is not None and assessment.android.flags.debuggable


def test_unsigned_flagged(vetter: Vetter) -> None:
    assessment = vetter.assess_file(require(APPS / "urzip-release-unsigned.apk"))
    assert assessment.signers == []
    finding = next(f for f in assessment.findings if f.rule_id == "AW-SIGN-001")
    assert finding.severity == "critical" and finding.points > 0


def test_apk_inside_apk_is_listed_and_read(vetter: Vetter) -> None:
    assessment = vetter.assess_file(require(APPS / "apk.embedded_1.apk"))
    assert assessment.android is not None
    nested = [n.path for n in assessment.android.nested_code]
    assert any(path.endswith(".apk") for path in nested)
    assert any("!/classes" in dex for dex in assessment.android.dex_files)


def test_archive_without_manifest_is_not_an_android_app(vetter: Vetter) -> None:
    with pytest.raises(NotAnAndroidApp, match="not an Android app"):
        vetter.assess_file(require(APPS / "CertChain.apk"))


def test_permission_protection_classes(vetter: Vetter) -> None:
    assessment = vetter.assess_file(require(APPS / "a2dp.Vol_137.apk"))
    by_name = {p.name: p for p in assessment.permissions}
    assert by_name["android.permission.RECEIVE_SMS"].protection == "dangerous"
    assert by_name["android.permission.RECEIVE_SMS"].group == "sms"
    assert by_name["android.permission.BLUETOOTH"].protection == "normal"
