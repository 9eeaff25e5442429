"""Builders that let tests make their own app files instead of hunting for real ones.

* :func:`axml` encodes an Android binary XML document (what ``AndroidManifest.xml`` is
  inside an APK) from a small :class:`Element` tree; :func:`manifest` and
  :func:`component` build the usual trees (``axml.py``).
* :func:`dex` writes a minimal DEX file that defines the given classes and strings
  (``dex.py``).
* :func:`arsc` writes a ``resources.arsc`` holding string resources (the app label)
  (``resources.py``).
* :func:`apk` / :func:`apk_bytes` make an unsigned APK from a manifest, DEX files and
  extra entries (``archives.py``); :func:`sign_v1` adds a v1 (JAR) signature by a
  :func:`certificate` (``signing.py``).
* :func:`zip_bytes` writes a ZIP in memory, duplicate entry names allowed;
  :func:`zeros_zip` writes a zip bomb to disk in a fraction of a second (``archives.py``).
* :func:`mutations` is a hypothesis strategy of damaged copies of some bytes
  (``strategies.py``).

The encoders follow ``ResourceTypes.h`` (AXML, ARSC) and the "Dalvik executable format"
reference (DEX). ``tests/vetting/test_dex.py``, ``test_arsc.py`` and
``test_android_rules.py`` check their output against androguard's parsers.
"""

from __future__ import annotations

from builders.archives import apk, apk_bytes, zeros_zip, zip_bytes
from builders.axml import ANDROID_NS, NO_INDEX, Element, axml, component, manifest
from builders.dex import descriptor, dex
from builders.resources import NO_ENTRY, arsc
from builders.signing import certificate, sign_v1
from builders.strategies import mutations

__all__ = [
    "ANDROID_NS",
    "NO_ENTRY",
    "NO_INDEX",
    "Element",
    "apk",
    "apk_bytes",
    "arsc",
    "axml",
    "certificate",
    "component",
    "descriptor",
    "dex",
    "manifest",
    "mutations",
    "sign_v1",
    "zeros_zip",
    "zip_bytes",
]
