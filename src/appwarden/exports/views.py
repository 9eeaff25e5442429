"""The exports API: ``GET /exports/{kind}?scope=GROUP`` returns the file itself; what it
could not express is listed, as a JSON array of strings, in the ``AppWarden-Warnings``
header. Reads need ``read``. Signing is left to the command line, where the key stays."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from appwarden.api.deps import ContextDep, SessionDep, guarded
from appwarden.api.problems import problems
from appwarden.auth.roles import Permission
from appwarden.exports import service

router = APIRouter(tags=["exports"])
WARNINGS_HEADER = "AppWarden-Warnings"


@router.get(
    "/exports/{kind}",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}, **problems(404, 422)},
    **guarded(Permission.read),
)
def export(
    kind: str,
    session: SessionDep,
    context: ContextDep,
    scope: Annotated[
        str, Query(min_length=1, max_length=100, description="A device group's name, or *.")
    ],
) -> Response:
    """The determinations in force for a device group, as a file of one kind:
    mobileconfig, amapi, intune, rpz, hosts or domains."""
    result = service.export(session, kind, scope, now=context.clock.now())
    return Response(
        result.content,
        media_type=result.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{result.filename}"',
            WARNINGS_HEADER: json.dumps(list(result.warnings)),
        },
    )
