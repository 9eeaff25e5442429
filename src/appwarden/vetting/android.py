"""Android: what an APK's manifest, signatures and code say about it.

Manifests and signatures are read with androguard; DEX type tables with :mod:`.dex`.
"""

from __future__ import annotations

import functools
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from loguru import logger

from appwarden.vetting.archive import SafeZip
from appwarden.vetting.arsc import ArscError, resolve_string
from appwarden.vetting.dex import read_dex
from appwarden.vetting.errors import MalformedDex, NotAnAndroidApp, VettingError
from appwarden.vetting.limits import ArchiveLimits
from appwarden.vetting.model import (
    AppInfo,
    Component,
    ComponentKind,
    ManifestFlags,
    NestedCode,
    Permission,
    Signer,
)
from appwarden.vetting.permissions import group_of, protection_of
from appwarden.vetting.signers import signer_from_der

logger.disable("androguard")

from androguard.core import androconf  # noqa: E402  (after silencing its logging)
from androguard.core.apk import APK  # noqa: E402

# androguard's APK re-reads two AOSP permission JSON files from disk for every APK it
# opens (about 2.5 ms); the files never change, so the loader is memoised. androguard
# only reads the dictionaries it gets back.
androconf.load_api_specific_resource_module = functools.lru_cache(maxsize=64)(
    androconf.load_api_specific_resource_module
)

_NS = "{http://schemas.android.com/apk/res/android}"
_MANIFEST = "AndroidManifest.xml"
_TOP_DEX = re.compile(r"^classes\d*\.dex$")
_NATIVE_LIB = re.compile(r"^lib/([^/]+)/([^/]+\.so)$")
_NESTED = re.compile(r"\.(apk|dex|jar)$", re.IGNORECASE)
_COMPONENT_TAGS: tuple[ComponentKind, ...] = (
    "activity",
    "activity-alias",
    "service",
    "receiver",
    "provider",
)


@dataclass
class CodeFacts:
    """Classes and strings gathered from every DEX file vetted (nested ones included)."""

    classes: list[str] = field(default_factory=list)
    string_blobs: list[bytes] = field(default_factory=list)
    dex_files: list[str] = field(default_factory=list)


@dataclass
class AndroidFacts:
    app: AppInfo
    split: str | None
    signers: list[Signer]
    permissions: list[Permission]
    flags: ManifestFlags
    components: list[Component]
    native_libraries: list[str]
    nested_code: list[NestedCode]
    code: CodeFacts
    warnings: list[str]


def _bool(value: str | None, default: bool) -> bool:
    if value is None:
        return default
    return value.strip().lower() == "true"


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _open_manifest(data: bytes) -> Any:
    try:
        apk = APK(data, raw=True)
    except Exception as err:  # androguard raises many types on garbled input
        raise NotAnAndroidApp(f"AndroidManifest.xml could not be parsed: {err}") from None
    if not apk.is_valid_APK() or not apk.get_package():
        raise NotAnAndroidApp("AndroidManifest.xml is garbled: no <manifest> with a package name")
    return apk


def _signers(apk: Any, warnings: list[str]) -> list[Signer]:
    by_digest: dict[bytes, list[str]] = {}
    order: list[bytes] = []
    sources = (
        ("v1", lambda: [cert.dump() for cert in apk.get_certificates_v1() if cert is not None]),
        ("v2", apk.get_certificates_der_v2),
        ("v3", apk.get_certificates_der_v3),
        ("v3.1", apk.get_certificates_der_v31),
    )
    for scheme, read in sources:
        try:
            ders = read()
        except Exception as err:  # a damaged signing block must not hide the rest
            warnings.append(f"{scheme} signature block could not be read: {err}")
            continue
        for der in ders:
            if der not in by_digest:
                by_digest[der] = []
                order.append(der)
            if scheme not in by_digest[der]:
                by_digest[der].append(scheme)
    signers = []
    for der in order:
        try:
            signers.append(signer_from_der(der, by_digest[der]))
        except ValueError as err:
            warnings.append(f"a signer certificate could not be parsed: {err}")
    return signers


def _permissions(apk: Any) -> list[Permission]:
    declared = frozenset(apk.get_declared_permissions())
    max_sdk = {name: _int(limit) for name, limit in apk.uses_permissions if name}
    names = set(apk.get_permissions())
    names.update(n for n in apk.get_all_attribute_value("uses-permission-sdk-23", "name") if n)
    return [
        Permission(
            name=name,
            protection=protection_of(name, declared),
            group=group_of(name),
            max_sdk=max_sdk.get(name),
        )
        for name in sorted(names)
    ]


def _full_name(package: str, name: str) -> str:
    if name.startswith("."):
        return package + name
    return name if "." in name else f"{package}.{name}"


def _components(apk: Any, package: str, target_sdk: int | None) -> list[Component]:
    application = apk.get_android_manifest_xml().find("application")
    if application is None:
        return []
    app_permission = application.get(_NS + "permission")
    exported: list[Component] = []
    for element in application:
        kind = element.tag
        if kind not in _COMPONENT_TAGS:
            continue
        actions = sorted({a.get(_NS + "name", "") for a in element.iter("action")} - {""})
        categories = sorted({c.get(_NS + "name", "") for c in element.iter("category")} - {""})
        has_filter = element.find("intent-filter") is not None
        default = has_filter or (kind == "provider" and (target_sdk or 0) < 17)
        if not _bool(element.get(_NS + "exported"), default):
            continue
        name = element.get(_NS + "name") or element.get(_NS + "targetActivity") or "?"
        permission = element.get(_NS + "permission") or (
            element.get(_NS + "readPermission") if kind == "provider" else None
        )
        if kind != "provider":
            permission = permission or app_permission
        exported.append(
            Component(
                kind=kind,
                name=_full_name(package, name),
                exported=True,
                permission=permission,
                intent_actions=actions,
                intent_categories=categories,
            )
        )
    return exported


def _flags(apk: Any, target_sdk: int | None) -> ManifestFlags:
    def attr(name: str) -> str | None:
        value = apk.get_attribute_value("application", name)
        return None if value is None else str(value)

    cleartext = attr("usesCleartextTraffic")
    return ManifestFlags(
        debuggable=_bool(attr("debuggable"), False),
        allow_backup=_bool(attr("allowBackup"), True),
        uses_cleartext_traffic=_bool(cleartext, (target_sdk or 1) < 28),
        cleartext_declared=None if cleartext is None else _bool(cleartext, False),
        network_security_config=attr("networkSecurityConfig"),
        test_only=_bool(attr("testOnly"), False),
    )


def _label(apk: Any, archive: SafeZip, warnings: list[str]) -> str | None:
    raw = apk.get_attribute_value("application", "label")
    if not raw or not str(raw).startswith("@"):
        return str(raw) if raw else None
    try:
        resource_id = int(str(raw)[1:], 16)
        if "resources.arsc" not in archive:
            raise ArscError("the APK has no resources.arsc")
        return resolve_string(archive.read("resources.arsc"), resource_id)
    except (ValueError, VettingError) as err:  # ArscError is a ValueError
        warnings.append(f"the app label {raw} could not be resolved: {err}")
        return None


def read_code(
    archive: SafeZip,
    *,
    limits: ArchiveLimits,
    depth: int = 0,
    prefix: str = "",
    inflated: dict[str, bytes] | None = None,
) -> tuple[CodeFacts, list[NestedCode], list[str]]:
    """Classes and strings of ``classes*.dex``, and of DEX/APK files nested inside.

    ``inflated`` holds DEX entries already decompressed (see :func:`read_apk`).
    """
    code = CodeFacts()
    nested: list[NestedCode] = []
    warnings: list[str] = []
    inflated = inflated or {}
    for name in archive.names():
        entry = archive.entries[name]
        if _TOP_DEX.match(name):
            try:
                dex = read_dex(inflated[name] if name in inflated else archive.read(name))
            except MalformedDex as err:
                if depth == 0:
                    raise MalformedDex(f"{prefix}{name}: {err}") from None
                warnings.append(f"{prefix}{name}: {err}")
                continue
            code.dex_files.append(prefix + name)
            code.classes.extend(dex.defined_classes)
            code.string_blobs.append(dex.string_data)
            continue
        kind = _NESTED.search(name)
        if kind is None or name.endswith("/"):
            continue
        nested.append(NestedCode(path=prefix + name, kind=kind.group(1).lower(), size=entry.size))  # type: ignore[arg-type]
        if depth >= limits.max_nesting:
            continue
        _read_nested(archive, name, kind.group(1).lower(), limits, depth, prefix, code, warnings)
    return code, nested, warnings


def _read_nested(
    archive: SafeZip,
    name: str,
    kind: str,
    limits: ArchiveLimits,
    depth: int,
    prefix: str,
    code: CodeFacts,
    warnings: list[str],
) -> None:
    try:
        data = archive.read(name)
        if kind == "dex":
            dex = read_dex(data)
            code.dex_files.append(prefix + name)
            code.classes.extend(dex.defined_classes)
            code.string_blobs.append(dex.string_data)
            return
        inner = SafeZip(data, limits=limits, what=f"nested archive {name}")
        inner_code, _inner_nested, inner_warnings = read_code(
            inner, limits=limits, depth=depth + 1, prefix=f"{prefix}{name}!/"
        )
    except VettingError as err:
        warnings.append(f"{prefix}{name} was listed but not read: {err}")
        return
    code.dex_files.extend(inner_code.dex_files)
    code.classes.extend(inner_code.classes)
    code.string_blobs.extend(inner_code.string_blobs)
    warnings.extend(inner_warnings)


def read_apk(data: bytes, *, limits: ArchiveLimits, what: str = "APK") -> AndroidFacts:
    """Everything vetting needs from one APK. Raises a :class:`VettingError` subclass."""
    archive = SafeZip(data, limits=limits, what=what)
    if _MANIFEST not in archive:
        raise NotAnAndroidApp(f"not an Android app: the {what} has no AndroidManifest.xml")
    dex_names = [name for name in archive.names() if _TOP_DEX.match(name)]
    with ThreadPoolExecutor(max_workers=1) as pool:
        # zlib releases the GIL, so inflating the DEX files overlaps with androguard's
        # manifest parsing instead of following it.
        inflating = pool.submit(lambda: {name: archive.read(name) for name in dex_names})
        apk = _open_manifest(data)
        inflated = inflating.result()
    warnings: list[str] = []
    package = str(apk.get_package())
    # Android treats a missing targetSdkVersion as minSdkVersion, and a missing minSdkVersion as 1.
    target_sdk = _int(apk.get_target_sdk_version()) or _int(apk.get_min_sdk_version()) or 1
    app = AppInfo(
        platform="android",
        id=package,
        version_code=apk.get_androidversion_code(),
        version_name=apk.get_androidversion_name(),
        label=_label(apk, archive, warnings),
        min_sdk=_int(apk.get_min_sdk_version()),
        target_sdk=target_sdk,
    )
    code, nested, code_warnings = read_code(archive, limits=limits, inflated=inflated)
    natives = sorted(
        f"{m.group(1)}/{m.group(2)}" for name in archive.names() if (m := _NATIVE_LIB.match(name))
    )
    return AndroidFacts(
        app=app,
        split=apk.get_attribute_value("manifest", "split"),
        signers=_signers(apk, warnings),
        permissions=_permissions(apk),
        flags=_flags(apk, target_sdk),
        components=_components(apk, package, target_sdk),
        native_libraries=natives,
        nested_code=nested,
        code=code,
        warnings=warnings + code_warnings,
    )
