"""Uploading an app file: vet it, keep the file once, record the assessment.

Vetting takes seconds and needs no database, so callers vet first (:func:`vet`) and
only then open the short transaction that records the result (:func:`record_upload`);
on SQLite that transaction holds the write lock, which must not wait on a parser.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from appwarden.audit.service import Acting, record
from appwarden.catalog import service
from appwarden.catalog.blobs import BlobStore, Staged, discard_unless_committed
from appwarden.catalog.models import App, Assessment, Blob, Signer, app_signers
from appwarden.catalog.schemas import AppRead, AssessmentSummary, BlobRead, SignerRead, UploadRead
from appwarden.clock import Clock
from appwarden.config import Settings
from appwarden.errors import DomainError, Invalid
from appwarden.vetting.assess import Vetter, kind_of
from appwarden.vetting.errors import VettingError
from appwarden.vetting.model import Assessment as Document
from appwarden.vetting.model import FileKind
from appwarden.vetting.trackers import DefinitionsError, load_installed


class DefinitionsUnavailable(DomainError):
    """The tracker definitions installed on the server cannot be read (an operator fix)."""

    status, kind, title = 503, "definitions-unavailable", "Tracker definitions unavailable"


# ------------------------------------------------------------------- vetting

_VETTERS: dict[tuple[object, ...], Vetter] = {}
_LOCK = threading.Lock()


def _definitions_key(folder: Path) -> tuple[tuple[str, int, int], ...]:
    if not folder.is_dir():
        return ()
    files = sorted(folder.glob("*.json"))
    return tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in files)


def vetter_for(settings: Settings) -> Vetter:
    """A :class:`Vetter` for these settings, built once per process and rebuilt only when
    `appwarden trackers import` changed the installed definitions."""
    key = (
        str(settings.trackers_dir),
        _definitions_key(settings.trackers_dir),
        settings.archive_limits,
        settings.thresholds,
    )
    with _LOCK:
        vetter = _VETTERS.get(key)
        if vetter is None:
            try:
                definitions = load_installed(settings.trackers_dir)
            except DefinitionsError as error:
                raise DefinitionsUnavailable(str(error)) from None
            if len(_VETTERS) >= 8:
                _VETTERS.clear()
            vetter = _VETTERS[key] = Vetter(
                definitions, limits=settings.archive_limits, thresholds=settings.thresholds
            )
        return vetter


def base_name(filename: str | None) -> str:
    """The uploaded file's own name, without any folders a client sent along."""
    return (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip() or "unnamed"


def file_kind(name: str) -> FileKind:
    """The kind of app file, from its name; 422 if it names none (.apk, .apks, .xapk, .ipa)."""
    try:
        return kind_of(Path(name))
    except VettingError as error:
        raise Invalid(str(error), code=error.code) from None


def vet(vetter: Vetter, path: Path, *, name: str, kind: FileKind) -> Document:
    """Vet the file at ``path`` (named ``name`` by its uploader); 422 with the vetting
    engine's one-line reason if it cannot be vetted."""
    try:
        return vetter.assess_bytes(path.read_bytes(), name=name, kind=kind)
    except VettingError as error:
        message = str(error)
        if not message.startswith(f"{name}:"):
            message = f"{name}: {message}"
        raise Invalid(message, code=error.code) from None


# ----------------------------------------------------------------- recording


@dataclass(frozen=True)
class Upload:
    """What one upload recorded."""

    assessment: Assessment
    app: App
    app_created: bool
    blob: Blob
    blob_new: bool
    signers: list[Signer]

    def as_read(self) -> UploadRead:
        return UploadRead(
            assessment=AssessmentSummary.model_validate(self.assessment),
            app=AppRead.model_validate(self.app),
            app_created=self.app_created,
            blob=BlobRead.model_validate(self.blob),
            blob_new=self.blob_new,
            signers=[SignerRead.model_validate(s) for s in self.signers],
        )


def _insert_ignoring_duplicates(session: Session, table: object, **values: object) -> None:
    """INSERT, or nothing if the key exists: concurrent uploads of the same file or
    signer must both succeed, on SQLite and on PostgreSQL."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(insert(table).values(**values).on_conflict_do_nothing())  # type: ignore[arg-type]


def _app_for(
    session: Session, *, clock: Clock, acting: Acting, document: Document, publisher_id: int | None
) -> tuple[App, bool]:
    info = document.app
    app = service.find_app(session, platform=info.platform, app_id=info.id)
    if app is None:
        app = service.create_app(
            session,
            clock=clock,
            acting=acting,
            platform=info.platform,
            app_id=info.id,
            name=(info.label or info.id)[:200],
            publisher_id=publisher_id,
        )
        return app, True
    if publisher_id is not None and app.publisher_id != publisher_id:
        service.update_app(
            session, clock=clock, acting=acting, app_id=app.id, publisher_id=publisher_id
        )
    return app, False


def _signers_for(session: Session, *, clock: Clock, app: App, document: Document) -> list[Signer]:
    signers: list[Signer] = []
    for cert in document.signers:
        _insert_ignoring_duplicates(
            session,
            Signer.__table__,
            sha256=cert.sha256,
            subject=cert.subject,
            issuer=cert.issuer,
            first_seen=clock.now(),
        )
        _insert_ignoring_duplicates(session, app_signers, app_id=app.id, signer_sha256=cert.sha256)
        signer = session.get(Signer, cert.sha256)
        assert signer is not None  # noqa: S101 - inserted or found just above
        signers.append(signer)
    session.expire(app, ["signers"])
    return signers


def _blob_for(
    session: Session,
    *,
    clock: Clock,
    store: BlobStore,
    staged: Staged,
    document: Document,
) -> tuple[Blob, bool]:
    sha = document.file.sha256
    new_row = session.get(Blob, sha) is None
    if new_row:
        _insert_ignoring_duplicates(
            session,
            Blob.__table__,
            sha256=sha,
            size=document.file.size,
            kind=document.file.kind,
            stored_at=clock.now(),
        )
    if sha != staged.sha256:  # pragma: no cover - the document was made from this file
        raise ValueError("the assessment was not made from the staged file")
    if store.put(staged):
        discard_unless_committed(session, store.path_for(sha))
    blob = session.get(Blob, sha)
    assert blob is not None  # noqa: S101 - inserted or found just above
    return blob, new_row


def record_upload(
    session: Session,
    *,
    clock: Clock,
    acting: Acting,
    store: BlobStore,
    staged: Staged,
    document: Document,
    publisher_id: int | None = None,
) -> Upload:
    """Record a vetted file: its app (created on first sight), signers, the stored file
    (once per SHA-256) and a new assessment. Each upload is a new assessment, even of a
    file seen before: it records a vetting at this time with today's definitions."""
    if publisher_id is not None:
        service.get_publisher(session, publisher_id=publisher_id)
    app, app_created = _app_for(
        session, clock=clock, acting=acting, document=document, publisher_id=publisher_id
    )
    signers = _signers_for(session, clock=clock, app=app, document=document)
    blob, blob_new = _blob_for(session, clock=clock, store=store, staged=staged, document=document)
    assessment = Assessment(
        app_id=app.id,
        blob_sha256=blob.sha256,
        file_name=document.file.name[:255],
        version_name=(document.app.version_name or "")[:100] or None,
        verdict=document.verdict,
        score_total=document.score.total,
        grade=document.score.grade,
        document=document.model_dump(mode="json"),
        uploaded_by=acting.actor,
        created_at=clock.now(),
    )
    session.add(assessment)
    session.flush()
    record(
        session,
        clock=clock,
        acting=acting,
        action="app.upload",
        object_type="assessment",
        object_id=assessment.id,
        after=_upload_summary(assessment, blob_new),
    )
    return Upload(assessment, app, app_created, blob, blob_new, signers)


def _upload_summary(assessment: Assessment, blob_new: bool) -> dict[str, object]:
    return {
        "app_id": assessment.app_id,
        "sha256": assessment.blob_sha256,
        "file_name": assessment.file_name,
        "verdict": assessment.verdict,
        "score_total": assessment.score_total,
        "blob_new": blob_new,
    }
