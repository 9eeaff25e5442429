"""The MDMs configured for pulls, their pulls, and a pull on demand:

- ``GET /inventories/sources`` (read): each source (never its secrets) and its last pull;
- ``GET /inventories/sources/{name}/pulls`` (read): its latest pulls, newest first;
- ``POST /inventories/sources/{name}/pulls`` (fleet): begin a pull now; 202 with the
  running record, which ``GET /inventories/pulls/{id}`` shows until it is done;
- ``GET /inventories/pulls/{id}`` (read): one pull.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Response

from appwarden.api.deps import ContextDep, PrincipalDep, guarded
from appwarden.api.problems import problems
from appwarden.auth.roles import Permission
from appwarden.errors import NotFound
from appwarden.inventories.models import InventoryPull
from appwarden.inventories.pull.runner import Pulling, begin, history, last, run, source_named
from appwarden.inventories.pull.sources import load
from appwarden.inventories.schemas import PullRecord, SourceStatus

router = APIRouter(tags=["inventories"])


@router.get("/inventories/sources", responses=problems(422), **guarded(Permission.read))
def list_sources(context: ContextDep) -> list[SourceStatus]:
    """The MDMs configured for pulls (``APPWARDEN_INVENTORY_SOURCES``), each with its last
    pull. Secrets are never shown: only the files that hold them are configured."""
    sources = load(context.settings.inventory_sources)
    return [SourceStatus.of(s, last(context.reading, s.name)) for s in sources.values()]


@router.get(
    "/inventories/sources/{name}/pulls", responses=problems(404), **guarded(Permission.read)
)
def list_pulls(
    name: str,
    context: ContextDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[PullRecord]:
    """The latest pulls of one source, newest first."""
    source = source_named(context.settings, name)
    return [PullRecord.of(p) for p in history(context.reading, source.name, limit)]


@router.post(
    "/inventories/sources/{name}/pulls",
    status_code=202,
    responses=problems(404, 409, 422),
    **guarded(Permission.fleet),
)
def pull_now(
    name: str,
    context: ContextDep,
    principal: PrincipalDep,
    background: BackgroundTasks,
    response: Response,
) -> PullRecord:
    """Begin a pull of one source now, as the signed-in user; it runs after the answer.
    409 while another pull of it runs. Follow ``Location`` to see it finish."""
    source = source_named(context.settings, name)
    pulling = Pulling.of(context)
    pull_id = begin(pulling, source, actor=principal.actor)
    background.add_task(run, pulling, source, pull_id, actor=principal.actor)
    response.headers["Location"] = f"/api/v1/inventories/pulls/{pull_id}"
    return _one(context, pull_id)


@router.get("/inventories/pulls/{pull_id}", responses=problems(404), **guarded(Permission.read))
def get_pull(pull_id: str, context: ContextDep) -> PullRecord:
    """One pull: running, ok (with the import's counts) or failed (with why)."""
    return _one(context, pull_id)


def _one(context: ContextDep, pull_id: str) -> PullRecord:
    with context.reading() as session:
        found = session.get(InventoryPull, pull_id)
        if found is None:
            raise NotFound(f"no inventory pull {pull_id!r}")
        return PullRecord.of(found)
