"""Split bundles (``.xapk``, ``.apks``): every APK inside is vetted as one app."""

from __future__ import annotations

import re
from dataclasses import replace

from appwarden.vetting.android import AndroidFacts, read_apk
from appwarden.vetting.archive import SafeZip
from appwarden.vetting.errors import NotAnAndroidApp
from appwarden.vetting.limits import ArchiveLimits

_APK_ENTRY = re.compile(r"\.apk$", re.IGNORECASE)


def read_bundle(data: bytes, *, limits: ArchiveLimits, what: str) -> tuple[AndroidFacts, list[str]]:
    """Facts of the base APK with the code, libraries and warnings of every split, and the
    names of the splits."""
    archive = SafeZip(data, limits=limits, what=what)
    names = sorted(n for n in archive.names() if _APK_ENTRY.search(n) and not n.endswith("/"))
    if not names:
        raise NotAnAndroidApp(f"the {what} holds no APK files")
    parts = [
        (name, read_apk(archive.read(name), limits=limits, what=f"APK {name}")) for name in names
    ]
    bases = [(name, facts) for name, facts in parts if facts.split is None]
    if len(bases) != 1:
        listed = ", ".join(name for name, _ in bases) or "none"
        raise NotAnAndroidApp(f"the {what} must hold exactly one base APK (found: {listed})")
    base_name, base = bases[0]
    base_signers = {s.sha256 for s in base.signers}
    warnings = list(base.warnings)
    splits: list[str] = []
    for name, split in parts:
        if name == base_name:
            continue
        if split.app.id != base.app.id:
            raise NotAnAndroidApp(
                f"the {what} mixes apps: {name} is {split.app.id}, the base is {base.app.id}"
            )
        if {s.sha256 for s in split.signers} != base_signers:
            warnings.append(f"split {name} is not signed by the base APK's certificates")
        splits.append(f"{split.split} ({name})")
        base.code.classes.extend(split.code.classes)
        base.code.string_blobs.extend(split.code.string_blobs)
        base.code.dex_files.extend(f"{name}!/{d}" for d in split.code.dex_files)
        warnings.extend(f"{name}: {w}" for w in split.warnings)
        base.native_libraries.extend(split.native_libraries)
        base.nested_code.extend(split.nested_code)
    merged = replace(base, warnings=warnings, native_libraries=sorted(set(base.native_libraries)))
    return merged, splits
