"""What static analysis of one file cannot establish, said plainly in every report."""

from __future__ import annotations

from appwarden.vetting.model import Platform

COMMON = (
    "This assessment reads the file; it does not run the app. It cannot show what the app "
    "sends, to whom, or when: code paths found here may never run, and code downloaded or "
    "generated at run time is not seen.",
    "A tracker found in the code is present, not proven active; a tracker not found may be "
    "renamed, obfuscated, loaded at run time or missing from the definitions used.",
    "Host names and URLs are strings found in the code. Servers chosen at run time (from "
    "configuration, remote settings or the user) are not listed, and listed ones may be unused.",
    "The score weighs what was found against this project's rules; it is not a measure of "
    "intent, of the publisher's trustworthiness, or of the law or policy of its jurisdiction.",
    "Server-side behaviour, data retention, and the publisher's legal obligations to share "
    "data with any government cannot be established from an app file.",
)
ANDROID = (
    "Signer certificates are read and reported; the signatures are not cryptographically "
    "verified against the file's contents.",
    "Native libraries (.so) are listed, not inspected. Resources and assets are not scanned "
    "for code or secrets.",
)
IOS = (
    "App Store binaries are encrypted (FairPlay): strings and URLs inside an encrypted "
    "executable cannot be read, and frameworks are identified by name only.",
    "Entitlements and profile fields are read as declared; the code signature is not verified.",
)


def limitations_for(platform: Platform) -> list[str]:
    return list(COMMON + (ANDROID if platform == "android" else IOS))
