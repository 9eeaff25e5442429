"""Each export validates against the reference it implements and round-trips."""

from __future__ import annotations

import json
import plistlib
import subprocess
from pathlib import Path
from shutil import which
from typing import Any

import dns.rdatatype
import dns.zone
import pytest

from appwarden.errors import Invalid
from appwarden.exports.kinds import BUILDERS, builder
from appwarden.exports.signing import sign
from appwarden.policy import RuleInput
from tests.exports.reference.schema import validate
from tests.exports.support import (
    GROUP,
    LEMON8,
    PATTERN,
    SIGNER,
    TIKTOK,
    TRILL,
    allow,
    certificate_pair,
    lists,
)


def _profile(extra: list[RuleInput] | None = None) -> dict[str, Any]:
    profile: dict[str, Any] = plistlib.loads(builder("mobileconfig")(lists(extra or [])).content)
    assert validate(profile, "apple_applicationaccess.json") == []
    return profile


def test_profile_blocks_the_ios_apps_in_scope() -> None:
    payload = _profile()["PayloadContent"][0]
    assert payload["PayloadType"] == "com.apple.applicationaccess"
    assert payload["blockedAppBundleIDs"] == [LEMON8, "com.block", TIKTOK]
    assert "allowListedAppBundleIDs" not in payload


def test_profile_allow_list_mode() -> None:
    payload = _profile(allow("com.allowed", TIKTOK))["PayloadContent"][0]
    assert payload["allowListedAppBundleIDs"] == ["com.allowed"]  # the ban wins
    assert "blockedAppBundleIDs" not in payload


def test_profile_is_stable_and_changes_with_its_content() -> None:
    build = builder("mobileconfig")
    assert build(lists()).content == build(lists()).content
    other = _profile(allow("com.allowed"))
    assert other["PayloadUUID"] != _profile()["PayloadUUID"]


def test_amapi_policy_blocks_and_allow_lists() -> None:
    result = builder("amapi")(lists())
    policy = json.loads(result.content)
    assert validate(policy, "amapi_policy.json") == []
    assert policy["playStoreMode"] == "BLACKLIST"
    assert policy["applications"] == [
        {"installType": "BLOCKED", "packageName": p} for p in ("com.block", TRILL, TIKTOK)
    ]
    assert any("com.block" in w and "uninstalls" in w for w in result.warnings)
    allowing = json.loads(builder("amapi")(lists(allow("com.allowed"))).content)
    assert validate(allowing, "amapi_policy.json") == []
    assert allowing["playStoreMode"] == "WHITELIST"
    assert {"packageName": "com.allowed", "installType": "AVAILABLE"} in allowing["applications"]


def test_intune_batch_restricts_ios_and_blocks_android() -> None:
    batch = json.loads(builder("intune")(lists()).content)
    assert validate(batch, "graph_intune.json") == []
    ios, android = (r["body"] for r in batch["requests"])
    assert [a["appId"] for a in ios["restrictedApps"]] == [LEMON8, "com.block", TIKTOK]
    assert ios["restrictedApps"][2]["name"] == "TikTok"
    assert android["compliantAppListType"] == "appsNotInListCompliant"
    assert [a["appId"] for a in android["compliantAppsList"]] == ["com.block", TRILL, TIKTOK]


def test_intune_splits_more_than_100_restricted_apps_and_drops_none() -> None:
    many = [
        RuleInput(id=200 + n, action="ban", target_kind="app", target_value=f"com.x{n:03}",
                  scope=[GROUP], platform="ios")
        for n in range(150)
    ]  # fmt: skip
    batch = json.loads(builder("intune")(lists(many)).content)
    assert validate(batch, "graph_intune.json") == []
    policies = [r["body"] for r in batch["requests"][:-1]]
    assert [len(p["restrictedApps"]) for p in policies] == [100, 53]
    assert len({a["appId"] for p in policies for a in p["restrictedApps"]}) == 153


def test_references_reject_what_the_formats_do_not_allow() -> None:
    """The validator can fail: a wrong enum, an unknown key, a missing key."""
    policy = {"applications": [{"packageName": "a", "installType": "BANNED"}], "extra": 1}
    problems = validate(policy, "amapi_policy.json")
    assert any("BANNED" in p for p in problems) and any("extra" in p for p in problems)
    profile = _profile()
    del profile["PayloadContent"][0]["PayloadUUID"]
    profile["PayloadContent"][0]["blacklistedAppBundleIDs"] = []
    assert len(validate(profile, "apple_applicationaccess.json")) == 2


def test_rpz_zone_parses_and_blocks_domains_and_subdomains() -> None:
    text = builder("rpz")(lists()).content.decode()
    zone = dns.zone.from_text(text, origin="rpz.appwarden.", relativize=False)
    names = {
        str(name) for name, node in zone.nodes.items() if node.get_rdataset(1, dns.rdatatype.CNAME)
    }
    assert "bytedance.com.rpz.appwarden." in names
    assert "*.tiktokv.com.rpz.appwarden." in names
    assert not any("amazonaws" in n or "googleapis" in n for n in names)
    assert len(names) == 2 * len(lists().domains)


def test_hosts_and_domain_list() -> None:
    hosts = builder("hosts")(lists()).content.decode().splitlines()
    entries = [line.split() for line in hosts if not line.startswith("#")]
    assert entries == [["0.0.0.0", d] for d in lists().domains]  # noqa: S104 (a sinkhole)
    assert builder("domains")(lists()).content.decode().split() == list(lists().domains)


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_every_export_carries_the_unexpressible_targets(kind: str) -> None:
    warnings = "\n".join(builder(kind)(lists()).warnings)
    assert PATTERN in warnings and SIGNER in warnings


def test_a_hostile_scope_name_cannot_break_a_comment_line() -> None:
    hostile = lists(scope="a\n$INCLUDE /etc/passwd\x00")
    text = builder("rpz")(hostile).content.decode()
    assert dns.zone.from_text(text, origin="rpz.appwarden.")
    assert (
        builder("mobileconfig")(hostile).filename == "appwarden-a-include-etc-passwd.mobileconfig"
    )


def test_unknown_kind_is_a_clear_error() -> None:
    with pytest.raises(Invalid, match="unknown export kind 'pdf'.*mobileconfig"):
        builder("pdf")


def test_signed_profile_verifies_and_carries_the_profile(tmp_path: Path) -> None:
    cert, key = certificate_pair()
    content = builder("mobileconfig")(lists()).content
    signed = sign(content, cert, key)
    assert content in signed  # embedded, not detached
    if which("openssl") is None:
        pytest.skip("openssl is not installed")
    (tmp_path / "p.der").write_bytes(signed)
    (tmp_path / "c.pem").write_bytes(cert)
    out = subprocess.run(
        ["openssl", "cms", "-verify", "-inform", "DER", "-in", str(tmp_path / "p.der"),
         "-CAfile", str(tmp_path / "c.pem"), "-purpose", "any"],
        capture_output=True, check=True,
    )  # fmt: skip
    assert out.stdout == content


def test_bad_signing_material_is_refused() -> None:
    cert, key = certificate_pair()
    _other_cert, other_key = certificate_pair()
    with pytest.raises(Invalid, match="not a PEM X.509 certificate"):
        sign(b"x", b"-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n", key)
    with pytest.raises(Invalid, match="not an unencrypted PEM private key"):
        sign(b"x", cert, b"garbage")
    with pytest.raises(Invalid, match="does not belong"):
        sign(b"x", cert, other_key)
