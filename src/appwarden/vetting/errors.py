"""Why a file could not be vetted, in words a user can act on."""

from __future__ import annotations


class VettingError(Exception):
    """A file could not be vetted. ``str(error)`` is one line meant for the user."""

    code = "unreadable"


class UnreadableFile(VettingError):
    """Empty, not the format its name claims, or truncated."""


class UnsafeArchive(VettingError):
    """The archive is built to harm the reader: a zip bomb, path traversal, duplicate names."""

    code = "unsafe_archive"


class NotAnAndroidApp(VettingError):
    """A ZIP without a usable AndroidManifest.xml."""

    code = "not_android_app"


class NotAnIosApp(VettingError):
    """A ZIP without Payload/*.app/Info.plist."""

    code = "not_ios_app"


class UnsupportedInput(VettingError):
    """A file whose name says it is none of the formats vetted."""

    code = "unsupported"


class MalformedDex(VettingError):
    """A DEX file whose header points outside the file."""

    code = "malformed_dex"
