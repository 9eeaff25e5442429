"""``appwarden apps`` and ``appwarden publishers``: the catalog from the command line.

Acting as the user of ``APPWARDEN_TOKEN``, through the same services as the API, so the
same role checks and audit events apply. ``apps add`` vets between two short
transactions, as the upload endpoint does, and leaves nothing behind if it fails.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from appwarden.audit.service import Acting
from appwarden.auth.roles import Permission
from appwarden.catalog import service, uploads
from appwarden.catalog.blobs import BlobStore
from appwarden.catalog.schemas import AppRead, PublisherRead
from appwarden.cli.acting import acting_as, unit_of_work
from appwarden.config import get_settings
from appwarden.errors import DomainError
from appwarden.vetting.model import Assessment as Document

app = typer.Typer(help="Apps in the catalog: add (upload and vet) and list.")
publishers = typer.Typer(help="Publishers, their affiliates and domains.")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _fail(error: DomainError) -> typer.Exit:
    typer.echo(f"appwarden: error: {error.detail}", err=True)
    return typer.Exit(1)


def _vet(file: Path, publisher: int | None) -> tuple[Document, uploads.Upload]:
    """Check the token, vet outside any transaction, then record in one."""
    settings = get_settings()
    with unit_of_work() as context:
        acting_as(context, Permission.vet)
        if publisher is not None:
            service.get_publisher(context.session, publisher_id=publisher)
    store = BlobStore(settings.blobs_dir)
    try:
        kind = uploads.file_kind(file.name)
        with (
            file.open("rb") as stream,
            store.spool(stream, limit=settings.upload_max_bytes, name=file.name) as staged,
        ):
            document = uploads.vet(
                uploads.vetter_for(settings), staged.path, name=file.name, kind=kind
            )
            with unit_of_work() as context:
                principal = acting_as(context, Permission.vet)
                done = uploads.record_upload(
                    context.session,
                    clock=context.clock,
                    acting=Acting(principal.actor, context.audit_key),
                    store=store,
                    staged=staged,
                    document=document,
                    publisher_id=publisher,
                )
    except DomainError as error:
        raise _fail(error) from None
    return document, done


@app.command("add")
def add(
    file: Annotated[
        Path,
        typer.Argument(exists=True, dir_okay=False, readable=True, help=".apk/.apks/.xapk/.ipa"),
    ],
    publisher: Annotated[int | None, typer.Option(help="The app's publisher id.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Vet an app file and record it in the catalog (like POST /api/v1/apps/upload)."""
    document, done = _vet(file, publisher)
    if as_json:
        typer.echo(done.as_read().model_dump_json(indent=2))
        return
    created = "new" if done.app_created else "known"
    typer.echo(f"app {done.app.id}: {done.app.app_id} ({done.app.platform}, {created})")
    typer.echo(
        f"assessment {done.assessment.id}: {document.verdict}, "
        f"score {document.score.total}/100, grade {document.score.grade}"
    )
    stored = "stored" if done.blob_new else "already stored"
    typer.echo(f"file {done.blob.sha256} ({done.blob.size} bytes, {stored})")


@app.command("list")
def list_apps(
    q: Annotated[str | None, typer.Option(help="Part of an app id or name.")] = None,
    publisher: Annotated[int | None, typer.Option(help="Only this publisher's apps.")] = None,
    as_json: JsonOption = False,
) -> None:
    """List the apps in the catalog."""
    with unit_of_work() as context:
        acting_as(context, Permission.read)
        query = service.apps_query(context.session, q=q, publisher_id=publisher)
        rows = [AppRead.model_validate(a) for a in context.session.scalars(query)]
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in rows], indent=2))
        return
    for row in rows:
        owner = f"publisher {row.publisher_id}" if row.publisher_id else "no publisher"
        typer.echo(f"{row.id}\t{row.platform}\t{row.app_id}\t{row.name}\t{owner}")


@publishers.command("create")
def create_publisher(
    name: Annotated[str, typer.Argument(help="The publisher's legal name.")],
    jurisdiction: Annotated[str, typer.Option(help="ISO 3166-1 alpha-2 country code.")],
    parent: Annotated[int | None, typer.Option(help="Parent publisher id (affiliate).")] = None,
    domain: Annotated[
        list[str] | None, typer.Option(help="A domain it uses; repeat for more.")
    ] = None,
) -> None:
    """Add a publisher, optionally as an affiliate of another."""
    with unit_of_work() as context:
        principal = acting_as(context, Permission.vet)
        publisher = service.create_publisher(
            context.session,
            clock=context.clock,
            acting=Acting(principal.actor, context.audit_key),
            name=name,
            jurisdiction=jurisdiction,
            parent_id=parent,
            domains=domain or [],
        )
        line = f"created publisher {publisher.id}: {publisher.name} ({publisher.jurisdiction})"
    typer.echo(line)


@publishers.command("list")
def list_publishers(
    q: Annotated[str | None, typer.Option(help="Part of a name or domain.")] = None,
    as_json: JsonOption = False,
) -> None:
    """List publishers with their parents and domains."""
    with unit_of_work() as context:
        acting_as(context, Permission.read)
        rows = [
            PublisherRead(
                id=p.id,
                name=p.name,
                jurisdiction=p.jurisdiction,
                parent_id=p.parent_id,
                domains=sorted(d.domain for d in p.domains),
                created_at=p.created_at,
            )
            for p in context.session.scalars(service.publishers_query(q=q))
        ]
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in rows], indent=2))
        return
    for row in rows:
        parent = f"affiliate of {row.parent_id}" if row.parent_id else "-"
        domains = ", ".join(row.domains) or "-"
        typer.echo(f"{row.id}\t{row.name}\t{row.jurisdiction}\t{parent}\t{domains}")
