"""The assessment: what vetting one file establishes, as plain data.

This is the versioned JSON schema documented in docs/assessment-schema.md. Bump
``SCHEMA_VERSION`` on any change a consumer could notice; add fields in a minor version,
rename or remove only in a major one.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = "1.0"

Platform = Literal["android", "ios"]
FileKind = Literal["apk", "apks", "xapk", "ipa"]
Protection = Literal["dangerous", "normal", "signature", "privileged", "custom", "unknown"]
Severity = Literal["info", "low", "medium", "high", "critical"]
Verdict = Literal["pass", "warn", "fail"]
MatchedBy = Literal["code", "network", "both"]
ComponentKind = Literal["activity", "activity-alias", "service", "receiver", "provider"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FileInfo(_Model):
    name: str = Field(description="Base name of the vetted file.")
    sha256: str = Field(description="SHA-256 of the whole file, lower-case hex.")
    size: int = Field(description="Size in bytes.")
    kind: FileKind


class AppInfo(_Model):
    platform: Platform
    id: str = Field(description="Android package name or iOS bundle identifier.")
    version_code: str | None = Field(description="Android versionCode / iOS CFBundleVersion.")
    version_name: str | None = Field(
        description="Android versionName / iOS CFBundleShortVersionString."
    )
    label: str | None = Field(description="The name shown to the user, where it can be read.")
    min_sdk: int | None = Field(default=None, description="Android minSdkVersion.")
    target_sdk: int | None = Field(
        default=None, description="Android targetSdkVersion; minSdkVersion (or 1) when absent."
    )
    min_os: str | None = Field(default=None, description="iOS MinimumOSVersion.")
    team_id: str | None = Field(default=None, description="iOS developer team identifier.")


class Signer(_Model):
    schemes: list[str] = Field(
        description="Signature schemes carrying this certificate: v1, v2, v3, v3.1, ios."
    )
    subject: str
    issuer: str
    serial: str = Field(description="Serial number, hex.")
    not_before: str = Field(description="ISO 8601, UTC.")
    not_after: str = Field(description="ISO 8601, UTC.")
    sha256: str = Field(description="SHA-256 of the DER certificate, lower-case hex.")
    sha1: str = Field(description="SHA-1 of the DER certificate, lower-case hex.")
    signature_algorithm: str
    debug: bool = Field(description="The well-known Android debug certificate.")
    self_signed: bool


class Permission(_Model):
    name: str
    protection: Protection = Field(
        description="AOSP protection class; custom = declared by this app; unknown = neither."
    )
    group: str | None = Field(description="Privacy group, e.g. location, sms, camera.")
    max_sdk: int | None = Field(default=None, description="android:maxSdkVersion, if any.")


class Component(_Model):
    kind: ComponentKind
    name: str
    exported: bool
    permission: str | None = Field(description="The permission that guards it, if any.")
    intent_actions: list[str] = Field(default_factory=list)
    intent_categories: list[str] = Field(default_factory=list)


class ManifestFlags(_Model):
    debuggable: bool
    allow_backup: bool
    uses_cleartext_traffic: bool = Field(
        description="Effective value: the attribute, else the platform default for targetSdk."
    )
    cleartext_declared: bool | None = Field(description="The attribute as written, if written.")
    network_security_config: str | None
    test_only: bool


class NestedCode(_Model):
    path: str = Field(description="Entry name inside the archive.")
    kind: Literal["apk", "dex", "jar"]
    size: int


class Network(_Model):
    domains: list[str] = Field(description="Host names found in code strings, sorted.")
    urls: list[str] = Field(description="URLs found in code strings, sorted, at most 500.")
    urls_truncated: bool = False


class TrackerEvidence(_Model):
    classes: list[str] = Field(description="Matched class names (at most 20 listed).")
    class_count: int = Field(description="How many class names matched in all.")
    domains: list[str] = Field(description="Matched host names.")
    frameworks: list[str] = Field(default_factory=list, description="Matched iOS frameworks.")


class TrackerMatch(_Model):
    id: str
    name: str
    categories: list[str]
    website: str | None
    matched_by: MatchedBy
    evidence: TrackerEvidence


class UsageDescription(_Model):
    key: str
    text: str
    group: str | None


class AtsSettings(_Model):
    allows_arbitrary_loads: bool
    allows_arbitrary_loads_in_web_content: bool
    insecure_exception_domains: list[str] = Field(
        description="Domains allowed plain HTTP or weak TLS by NSExceptionDomains."
    )


class IosDetails(_Model):
    usage_descriptions: list[UsageDescription]
    ats: AtsSettings
    url_schemes: list[str]
    background_modes: list[str]
    entitlements: dict[str, object] = Field(
        description="From the code signature, else the provisioning profile."
    )
    provisioning: dict[str, object] | None = Field(
        description="Summary of embedded.mobileprovision: name, team, expiry, devices."
    )
    privacy_manifest: dict[str, object] | None = Field(description="PrivacyInfo.xcprivacy.")
    frameworks: list[str]


class AndroidDetails(_Model):
    flags: ManifestFlags
    components: list[Component] = Field(description="Exported components only.")
    native_libraries: list[str]
    nested_code: list[NestedCode]
    dex_files: list[str]
    class_count: int
    splits: list[str] = Field(default_factory=list, description="Split APKs vetted with the base.")


class Finding(_Model):
    rule_id: str
    title: str
    severity: Severity
    category: str
    weight: int = Field(description="Points the rule asks for.")
    points: int = Field(description="Points counted after the category cap.")
    masvs: list[str]
    maswe: list[str]
    cwe: list[str]
    description: str
    remediation: str
    evidence: list[str] = Field(description="The exact items that triggered the rule.")


class CategoryScore(_Model):
    category: str
    raw: int = Field(description="Sum of the weights of the category's findings.")
    cap: int
    points: int = Field(description="min(raw, cap): what counts toward the total.")


class Contributor(_Model):
    rule_id: str
    title: str
    points: int


class Score(_Model):
    total: int = Field(description="Sum of breakdown[].points; 0 (no risk found) to 100.")
    grade: Literal["A", "B", "C", "D", "E", "F"]
    breakdown: list[CategoryScore]
    top: list[Contributor] = Field(description="The five findings that count the most.")


class DefinitionsInfo(_Model):
    name: str
    count: int
    sha256: str = Field(description="Digest of the definitions used, for reproducibility.")


class Assessment(_Model):
    schema_version: str = SCHEMA_VERSION
    tool: str = Field(description="appwarden and its version.")
    file: FileInfo
    app: AppInfo
    signers: list[Signer]
    permissions: list[Permission]
    trackers: list[TrackerMatch]
    findings: list[Finding]
    score: Score
    verdict: Verdict
    network: Network
    android: AndroidDetails | None = None
    ios: IosDetails | None = None
    definitions: DefinitionsInfo
    warnings: list[str] = Field(
        description="Parts that could not be read; the rest of the assessment stands."
    )
    limitations: list[str] = Field(description="What static analysis cannot establish.")


def json_schema() -> dict[str, object]:
    """The JSON Schema of :class:`Assessment` (published as docs/assessment.schema.json)."""
    schema = Assessment.model_json_schema()
    schema["title"] = f"AppWarden assessment, schema {SCHEMA_VERSION}"
    return schema
