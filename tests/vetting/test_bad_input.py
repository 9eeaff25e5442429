"""Hostile and broken inputs through the public API: each fails with one clear error.

Every case goes through ``Vetter.assess_bytes`` or ``Vetter.assess_file`` and expects a
specific :class:`VettingError` subclass whose message is one line naming the problem.
"""

from __future__ import annotations

import os
import re
import struct
import time
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from appwarden.vetting.assess import Vetter
from appwarden.vetting.errors import (
    MalformedDex,
    NotAnAndroidApp,
    NotAnIosApp,
    UnreadableFile,
    UnsafeArchive,
    UnsupportedInput,
    VettingError,
)
from appwarden.vetting.limits import ArchiveLimits
from builders import (
    apk_bytes,
    arsc,
    axml,
    component,
    dex,
    manifest,
    mutations,
    zeros_zip,
    zip_bytes,
)
from tests.conftest import APPS, require

VETTER = Vetter()
SMALL_APK = apk_bytes(
    manifest(permissions=["android.permission.INTERNET"]),
    dex_files={"classes.dex": dex(["com.example.Main"], ["https://example.org/x"])},
)


def _fails(
    error: type[VettingError],
    pattern: str,
    data: bytes,
    *,
    kind: str = "apk",
    vetter: Vetter = VETTER,
) -> VettingError:
    """Assess ``data`` and check it raises exactly ``error`` with a one-line message."""
    with pytest.raises(VettingError) as caught:
        vetter.assess_bytes(data, name=f"input.{kind}", kind=kind)  # type: ignore[arg-type]
    assert type(caught.value) is error, repr(caught.value)
    message = str(caught.value)
    assert message and "\n" not in message and len(message) < 300, message
    assert re.search(pattern, message), message
    return caught.value


def _bad_dex() -> bytes:
    data = dex(["com.example.Main"])
    return data[:60] + struct.pack("<I", len(data) + 64) + data[64:]  # string_ids past end


# ---------------------------------------------------------------- not an archive


def test_empty_file() -> None:
    _fails(UnreadableFile, r"empty \(0 bytes\)", b"")


def test_empty_file_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "empty.apk"
    path.write_bytes(b"")
    with pytest.raises(UnreadableFile, match="empty"):
        VETTER.assess_file(path)


def test_not_a_zip() -> None:
    _fails(UnreadableFile, r"not a ZIP archive", b"%PDF-1.7\n" + os.urandom(2000))


def test_truncated_real_apk() -> None:
    data = require(APPS / "hello-world.apk").read_bytes()
    _fails(UnreadableFile, r"truncated ZIP", data[: len(data) // 2])


def test_truncated_built_apk() -> None:
    _fails(UnreadableFile, r"truncated ZIP", SMALL_APK[: len(SMALL_APK) // 2])


def test_file_over_the_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.apk"
    path.write_bytes(SMALL_APK)
    vetter = Vetter(limits=ArchiveLimits(max_file_bytes=100))
    with pytest.raises(UnreadableFile, match=r"over the limit of 100"):
        vetter.assess_file(path)


def test_unknown_extension(tmp_path: Path) -> None:
    for name in ("app.zip", "app", "app.apk.txt"):
        path = tmp_path / name
        path.write_bytes(SMALL_APK)
        with pytest.raises(UnsupportedInput, match=r"not an app file") as caught:
            VETTER.assess_file(path)
        assert "\n" not in str(caught.value) and name in str(caught.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFile, match="cannot be read"):
        VETTER.assess_file(tmp_path / "gone.apk")


# ---------------------------------------------------------------- hostile archives


def test_zip_bomb(tmp_path: Path) -> None:
    started = time.monotonic()
    path = zeros_zip(tmp_path / "bomb.apk", "classes.dex", 300 * 2**20)
    assert path.stat().st_size < 2**20
    with pytest.raises(UnsafeArchive, match=r"'classes.dex' expands \d+:1 .*zip bomb") as caught:
        VETTER.assess_file(path)
    assert "\n" not in str(caught.value)
    assert time.monotonic() - started < 2


def test_over_total_uncompressed_limit() -> None:
    vetter = Vetter(limits=ArchiveLimits(max_uncompressed_bytes=1000))
    data = apk_bytes(manifest(), extra={"assets/a.bin": bytes(600), "assets/b.bin": bytes(600)})
    _fails(UnsafeArchive, r"expands to more than 1000 bytes", data, vetter=vetter)


def test_too_many_entries() -> None:
    vetter = Vetter(limits=ArchiveLimits(max_entries=3))
    data = apk_bytes(manifest(), extra={f"assets/{i}": b"x" for i in range(5)})
    _fails(UnsafeArchive, r"has 7 entries \(limit 3\)", data, vetter=vetter)


@pytest.mark.parametrize(
    ("name", "pattern"),
    [
        ("../evil", r"climbs out of its folder: '\.\./evil'"),
        ("a/../../b", r"climbs out of its folder"),
        ("assets/..\\..\\evil", r"climbs out of its folder"),
        ("/abs/path", r"absolute path: '/abs/path'"),
        ("C:\\evil", r"absolute path"),
    ],
)
def test_path_traversal(name: str, pattern: str) -> None:
    data = zip_bytes([("AndroidManifest.xml", axml(manifest())), (name, b"x")])
    _fails(UnsafeArchive, pattern, data)


def test_duplicate_manifest() -> None:
    data = zip_bytes(
        [
            ("AndroidManifest.xml", axml(manifest("com.good.app"))),
            ("AndroidManifest.xml", axml(manifest("com.evil.app"))),
        ]
    )
    _fails(UnsafeArchive, r"two entries named 'AndroidManifest.xml'", data)


# ---------------------------------------------------------------- broken apps


def test_missing_manifest() -> None:
    data = zip_bytes([("classes.dex", dex(["a.B"])), ("res/x.xml", b"x")])
    _fails(NotAnAndroidApp, r"no AndroidManifest\.xml", data)


def _real_manifest() -> bytes:
    with zipfile.ZipFile(require(APPS / "hello-world.apk")) as archive:
        return archive.read("AndroidManifest.xml")


@pytest.mark.parametrize(
    "content",
    ["random", "truncated real", "truncated built", "plain xml", "no package", "wrong root"],
)
def test_garbled_manifest(content: str) -> None:
    built = axml(manifest())
    if content == "random":
        data = zip_bytes([("AndroidManifest.xml", bytes(range(256)) * 4 + os.urandom(512))])
    elif content == "truncated real":
        real = _real_manifest()
        data = zip_bytes([("AndroidManifest.xml", real[: len(real) // 2])])
    elif content == "truncated built":
        data = zip_bytes([("AndroidManifest.xml", built[: len(built) // 2])])
    elif content == "plain xml":
        data = zip_bytes([("AndroidManifest.xml", b'<manifest package="com.a"/>')])
    elif content == "no package":
        data = zip_bytes([("AndroidManifest.xml", axml(manifest(package="")))])
    else:
        root = manifest()
        root.tag = "application"
        data = zip_bytes([("AndroidManifest.xml", axml(root))])
    _fails(NotAnAndroidApp, r"AndroidManifest\.xml (is garbled|could not be parsed)", data)


@pytest.mark.parametrize("entry", ["classes.dex", "classes2.dex"])
def test_dex_with_offsets_past_its_end(entry: str) -> None:
    dex_files = {"classes.dex": dex(["a.B"]), entry: _bad_dex()}
    data = apk_bytes(manifest(), dex_files=dex_files)
    _fails(MalformedDex, rf"^{entry}: the DEX string_ids table .* past its end", data)


@pytest.mark.parametrize(
    ("entry", "content"),
    [
        ("assets/inner.apk", b"garbage"),
        ("assets/payload.dex", b"garbage"),
        ("assets/inner.apk", zip_bytes([("classes.dex", b"dex\n035\x00")])),
    ],
)
def test_garbage_nested_code_is_a_warning(entry: str, content: bytes) -> None:
    assessment = VETTER.assess_bytes(
        apk_bytes(manifest(), extra={entry: content}), name="app.apk", kind="apk"
    )
    assert any(entry in warning for warning in assessment.warnings), assessment.warnings
    assert all("\n" not in warning for warning in assessment.warnings)
    assert assessment.android is not None
    assert [n.path for n in assessment.android.nested_code] == [entry]


def test_nested_apk_code_is_read() -> None:
    inner = apk_bytes(manifest("com.inner"), dex_files={"classes.dex": dex(["com.inner.X"])})
    assessment = VETTER.assess_bytes(
        apk_bytes(manifest(), extra={"assets/inner.apk": inner}), name="app.apk", kind="apk"
    )
    assert assessment.warnings == []
    assert assessment.android is not None
    assert assessment.android.dex_files == ["classes.dex", "assets/inner.apk!/classes.dex"]
    assert assessment.android.class_count == 1


def test_damaged_resources_arsc_is_a_warning() -> None:
    table = arsc({0: "Hello"})
    entry = table.index(struct.pack("<HHIHBB", 8, 0, 0, 8, 0, 0x03))
    table = table[:entry] + struct.pack("<H", 0xFFF0) + table[entry + 2 :]  # entry size
    app = manifest(application_attrs={"android:label": "@7f010000"})
    data = apk_bytes(app, extra={"resources.arsc": table})
    assessment = VETTER.assess_bytes(data, name="app.apk", kind="apk")
    assert assessment.app.label is None
    assert any("label" in warning for warning in assessment.warnings)


def test_ipa_without_info_plist() -> None:
    data = zip_bytes([("Payload/Demo.app/Demo", b"\xcf\xfa\xed\xfe"), ("iTunes.plist", b"")])
    _fails(NotAnIosApp, r"no Payload/\*\.app/Info\.plist", data, kind="ipa")


# ---------------------------------------------------------------- split bundles


BASE = apk_bytes(manifest(), dex_files={"classes.dex": dex(["com.example.Main"])})
SPLIT = apk_bytes(
    manifest(manifest_attrs={"split": "config.arm64_v8a"}),
    dex_files={"classes.dex": dex(["com.facebook.ads.AdView"])},
    extra={"lib/arm64-v8a/libx.so": b"\x7fELF"},
)


@pytest.mark.parametrize("kind", ["xapk", "apks"])
def test_bundle_with_a_split(tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"app.{kind}"
    path.write_bytes(
        zip_bytes([("manifest.json", b"{}"), ("base.apk", BASE), ("config.arm64_v8a.apk", SPLIT)])
    )
    assessment = VETTER.assess_file(path)
    assert assessment.file.kind == kind
    assert assessment.app.id == "com.example.app"
    details = assessment.android
    assert details is not None
    assert details.splits == ["config.arm64_v8a (config.arm64_v8a.apk)"]
    assert details.dex_files == ["classes.dex", "config.arm64_v8a.apk!/classes.dex"]
    assert details.class_count == 2
    assert details.native_libraries == ["arm64-v8a/libx.so"]
    assert "Facebook Audience Network" in {t.name for t in assessment.trackers}


def test_bundle_with_two_base_apks() -> None:
    other = apk_bytes(manifest("com.other.app"))
    data = zip_bytes([("a.apk", BASE), ("b.apk", other)])
    _fails(NotAnAndroidApp, r"exactly one base APK \(found: a\.apk, b\.apk\)", data, kind="xapk")


def test_bundle_split_of_another_app() -> None:
    split = apk_bytes(manifest("com.other.app", manifest_attrs={"split": "config.en"}))
    data = zip_bytes([("base.apk", BASE), ("split.apk", split)])
    _fails(NotAnAndroidApp, r"mixes apps: split\.apk is com\.other\.app", data, kind="apks")


def test_bundle_without_apk() -> None:
    data = zip_bytes([("manifest.json", b"{}"), ("icon.png", b"\x89PNG")])
    _fails(NotAnAndroidApp, r"holds no APK files", data, kind="xapk")


def test_bundle_with_only_splits() -> None:
    _fails(NotAnAndroidApp, r"found: none", zip_bytes([("s.apk", SPLIT)]), kind="apks")


def test_bundle_with_garbage_apk() -> None:
    data = zip_bytes([("base.apk", BASE), ("broken.apk", b"not a zip")])
    _fails(UnreadableFile, r"APK broken\.apk is not a ZIP", data, kind="xapk")


# ---------------------------------------------------------------- fuzzing


@settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(mutations(SMALL_APK, hot=len(SMALL_APK)))
def test_mutated_apk_raises_only_vetting_errors(data: bytes) -> None:
    try:
        assessment = VETTER.assess_bytes(data, name="fuzz.apk", kind="apk")
    except VettingError as err:
        assert str(err) and "\n" not in str(err)
        return
    assert assessment.app.id


MANIFEST = axml(
    manifest(
        permissions=["android.permission.READ_SMS"],
        application_attrs={"android:label": "Demo", "android:debuggable": True},
        components=[component("activity", ".Main", actions=["android.intent.action.MAIN"])],
    )
)


@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(mutations(MANIFEST, hot=len(MANIFEST)))
def test_mutated_manifest_raises_only_vetting_errors(content: bytes) -> None:
    """Damage inside a well-formed ZIP reaches androguard and the manifest readers."""
    data = zip_bytes([("AndroidManifest.xml", content), ("classes.dex", dex(["a.B"]))])
    try:
        VETTER.assess_bytes(data, name="fuzz.apk", kind="apk")
    except VettingError as err:
        assert str(err) and "\n" not in str(err)
