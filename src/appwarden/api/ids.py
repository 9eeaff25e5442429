"""Row ids as the API accepts them: positive and within the columns' range.

Ids are INTEGER columns (32-bit on PostgreSQL, 64-bit on SQLite): a larger number in a
path, query or body would make the database driver fail (a 500) instead of finding no row,
so it is refused up front as invalid (422)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import Field

MAX_ID = 2**31 - 1

#: A row id in a route's path.
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
#: A row id in a request body or query.
BodyId = Annotated[int, Field(ge=1, le=MAX_ID)]
#: A row id as a query filter.
QueryId = Annotated[int, Query(ge=1, le=MAX_ID)]
