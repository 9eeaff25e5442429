"""The test builders make files that androguard itself reads back as built."""

from __future__ import annotations

from typing import Any

from builders import ANDROID_NS, Element, apk_bytes, axml, component, manifest

P = "android.permission."
A11Y = component(
    "service",
    ".Watcher",
    permission=P + "BIND_ACCESSIBILITY_SERVICE",
    actions=["android.accessibilityservice.AccessibilityService"],
)


def test_axml_round_trips_through_androguard() -> None:
    from androguard.core.axml import AXMLPrinter

    root = manifest(
        permissions=[P + "CAMERA"],
        application_attrs={"android:label": "@7f010000", "android:debuggable": True},
        components=[A11Y, component("receiver", ".R", exported=False, priority=-5)],
    )
    parsed = AXMLPrinter(axml(root)).get_xml_obj()

    def attrs(element: Element) -> dict[str, str]:
        out = {}
        for name, value in element.attrs.items():
            key = f"{{{ANDROID_NS}}}{name[8:]}" if name.startswith("android:") else name
            out[key] = str(value).lower() if isinstance(value, bool) else str(value)
        return out

    def compare(ours: Element, theirs: Any) -> None:
        assert theirs.tag == ours.tag
        got = {k: (v.lower() if v.startswith("@") else v) for k, v in theirs.attrib.items()}
        assert got == attrs(ours)
        assert len(theirs) == len(ours.children)
        for mine, other in zip(ours.children, theirs, strict=True):
            compare(mine, other)

    compare(root, parsed)


def test_built_apk_is_read_by_androguard() -> None:
    from androguard.core.apk import APK

    root = manifest("org.example.x", version_code=7, permissions=[P + "CAMERA", P + "READ_SMS"])
    apk = APK(apk_bytes(root), raw=True)
    assert apk.get_package() == "org.example.x"
    assert apk.get_androidversion_code() == "7"
    assert sorted(apk.get_permissions()) == [P + "CAMERA", P + "READ_SMS"]
