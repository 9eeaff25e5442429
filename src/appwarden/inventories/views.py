"""``POST /inventories/{kind}``: import an MDM's inventory file, sent as the request body
(JSON for ``intune`` and ``amapi``, a property list for ``apple-mdm``). Needs ``fleet``;
capped at ``inventory_max_bytes``; all or nothing."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from appwarden.api.deps import ContextDep, PrincipalDep, SessionDep, guarded
from appwarden.api.problems import problems
from appwarden.audit.service import Acting
from appwarden.auth.roles import Permission
from appwarden.catalog.http import CappedUploadRoute
from appwarden.fleet.schemas import Ownership
from appwarden.inventories.schemas import InventoryImported
from appwarden.inventories.service import Defaults, import_inventory


class CappedInventoryRoute(CappedUploadRoute):
    """The upload cap, at ``inventory_max_bytes`` (the body is the file, no form)."""

    limit_setting = "inventory_max_bytes"
    overhead = 0


router = APIRouter(tags=["inventories"], route_class=CappedInventoryRoute)


async def _file(request: Request) -> bytes:
    return await request.body()


_ROUTE = guarded(Permission.fleet)
_ROUTE["openapi_extra"] |= {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "application/xml": {"schema": {"type": "string"}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


@router.post("/inventories/{kind}", responses=problems(404, 409, 413, 422), **_ROUTE)
def import_file(
    kind: str,
    session: SessionDep,
    context: ContextDep,
    principal: PrincipalDep,
    data: Annotated[bytes, Depends(_file)],
    group: Annotated[
        str | None,
        Query(min_length=1, max_length=100, description="Make every device a member."),
    ] = None,
    ownership: Annotated[
        Ownership, Query(description="For devices whose document does not say.")
    ] = "corporate",
    supervised: Annotated[
        bool, Query(description="For devices whose document does not say.")
    ] = False,
    taken_at: Annotated[
        datetime | None,
        Query(description="When the inventory was taken, if the document does not say."),
    ] = None,
) -> InventoryImported:
    """Import an inventory file of one kind (intune, amapi, apple-mdm): devices new to
    AppWarden are created with that source, known ones updated, and each inventory is
    judged as an agent's state report is. See docs/inventories.md."""
    result = import_inventory(
        session,
        clock=context.clock,
        acting=Acting(actor=principal.actor, audit_key=context.audit_key),
        settings=context.settings,
        kind=kind,
        data=data,
        group=group,
        defaults=Defaults(ownership=ownership, supervised=supervised, taken_at=taken_at),
    )
    return InventoryImported.of(result)
