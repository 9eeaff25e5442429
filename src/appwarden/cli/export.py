"""``appwarden export KIND --scope GROUP``: an export of the determinations in force for a
device group, as a signed-in user (the same service and permission as the API).

Warnings (targets the format cannot express) go to stderr; the file goes to ``--out`` or
stdout. On any error nothing is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from appwarden.auth.roles import Permission
from appwarden.cli.acting import acting_as, unit_of_work
from appwarden.cli.files import deliver
from appwarden.errors import Invalid
from appwarden.exports import service


def _read(path: Path | None, what: str) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError as error:
        raise Invalid(f"cannot read the signing {what} {path}: {error.strerror}") from None


def export(
    kind: Annotated[str, typer.Argument(help="mobileconfig, amapi, intune, rpz, hosts, domains")],
    scope: Annotated[str, typer.Option(help="A device group's name, or * for every device.")],
    out: Annotated[Path | None, typer.Option(help="Write here instead of stdout.")] = None,
    sign_cert: Annotated[
        Path | None, typer.Option(help="PEM certificate to sign a mobileconfig (CMS).")
    ] = None,
    sign_key: Annotated[Path | None, typer.Option(help="PEM private key of --sign-cert.")] = None,
) -> None:
    """Export the determinations in force for a device group to an MDM or DNS format."""
    with unit_of_work() as context:
        acting_as(context, Permission.read)
        result = service.export(
            context.session,
            kind,
            scope,
            now=context.clock.now(),
            certificate_pem=_read(sign_cert, "certificate"),
            key_pem=_read(sign_key, "key"),
        )
    deliver(result.content, out, what=f"{result.kind}, ", warnings=result.warnings)
