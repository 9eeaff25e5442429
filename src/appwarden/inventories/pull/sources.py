"""The MDMs AppWarden pulls inventories from: a TOML file named by
``APPWARDEN_INVENTORY_SOURCES``, one ``[[source]]`` table each (docs/inventories.md).

Secrets are never in this file nor in the database: each source names the file that holds
its secret (a client secret, a service-account key, an API key), read at each pull, so a
rotated secret is used at the next pull without a restart.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, TypeAdapter, ValidationError

from appwarden.errors import Invalid

_NAME = r"^[a-z0-9][a-z0-9-]{0,62}$"


class _Source(BaseModel):
    """What every source has: its name, how often it is pulled, and the defaults the
    import applies to devices whose MDM does not say (as ``appwarden inventory import``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=_NAME, description="Names the source in the CLI, API and audit.")
    every_minutes: int = Field(
        default=0, ge=0, le=7 * 24 * 60, description="0: pulled only on demand."
    )
    group: str | None = Field(default=None, min_length=1, max_length=100)
    ownership: Literal["corporate", "byod", "contractor"] = "corporate"
    supervised: bool = False
    timeout_s: float = Field(default=30.0, gt=0, le=600, description="Per HTTP request.")


class IntuneSource(_Source):
    """Microsoft Intune through Microsoft Graph, as an Entra ID application with the
    ``DeviceManagementManagedDevices.Read.All`` application permission (client credentials)."""

    kind: Literal["intune"]
    tenant_id: str = Field(min_length=1, max_length=200)
    client_id: str = Field(min_length=1, max_length=200)
    client_secret_file: Path
    authority: HttpUrl = HttpUrl("https://login.microsoftonline.com")
    graph: HttpUrl = HttpUrl("https://graph.microsoft.com")
    graph_version: Literal["beta", "v1.0"] = Field(
        default="beta",
        description="The version whose managedDevice has the detectedApps relationship.",
    )


class AmapiSource(_Source):
    """The Android Management API, as a Google Cloud service account with the
    ``androidmanagement`` scope (a JSON key file, signed JWT grant)."""

    kind: Literal["amapi"]
    enterprise: str = Field(pattern=r"^enterprises/[A-Za-z0-9_-]{1,100}$")
    service_account_file: Path
    api: HttpUrl = HttpUrl("https://androidmanagement.googleapis.com")
    page_size: int = Field(default=100, ge=1, le=1000)


class AppleMdmSource(_Source):
    """An Apple MDM server with MicroMDM's API (MicroMDM, or NanoMDM): a pull enqueues the
    ``InstalledApplicationList`` command for its devices; their answers come back through
    the server's webhook (``POST /api/v1/inventories/sources/{name}/webhook``)."""

    kind: Literal["apple-mdm"]
    server: HttpUrl = Field(description="The MDM server's base URL (its API).")
    flavor: Literal["micromdm", "nanomdm"]
    api_key_file: Path
    webhook_secret_file: Path
    devices_file: Path | None = Field(
        default=None,
        description="UDIDs or enrollment ids, one a line (NanoMDM cannot list its devices).",
    )


Source = Annotated[IntuneSource | AmapiSource | AppleMdmSource, Field(discriminator="kind")]
_SOURCES: TypeAdapter[list[Source]] = TypeAdapter(list[Source])


def load(path: Path | None) -> dict[str, Source]:
    """The sources of ``path`` by name (none when no file is set). Refused whole, naming
    the source and field, on any mistake: a pull must never run half-configured."""
    if path is None:
        return {}
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise Invalid(f"cannot read inventory sources {path}: {error.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise Invalid(f"inventory sources {path}: not valid TOML: {error}") from None
    unknown = set(raw) - {"source"}
    if unknown:
        raise Invalid(f"inventory sources {path}: unknown tables {sorted(unknown)}; use [[source]]")
    try:
        sources = _SOURCES.validate_python(raw.get("source", []))
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise Invalid(
            f"inventory sources {path}: source[{where}]: {first['msg']}"
            f" ({error.error_count()} problems)"
        ) from None
    by_name: dict[str, Source] = {}
    for source in sources:
        if source.name in by_name:
            raise Invalid(f"inventory sources {path}: the name {source.name!r} is used twice")
        by_name[source.name] = source
    return by_name


def text_file(path: Path, what: str) -> str:
    """A file an operator names (a secret, a list of devices), as UTF-8 text, or a clear
    error naming it."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise Invalid(f"cannot read the {what} file {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise Invalid(f"the {what} file {path} is not UTF-8 text") from None


def secret(path: Path, what: str) -> str:
    """A secret read from its file (trailing whitespace dropped), or a clear error."""
    text = text_file(path, what).strip()
    if not text:
        raise Invalid(f"the {what} file {path} is empty")
    return text
