"""Helpers for partner-list tests: a catalog with and without assessments, posting files."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import insert

from appwarden.models import Base
from tests.decisions.support import API, Catalog, seed_catalog
from tests.server import START, Env

CSV_HEADER = "jurisdiction,source_title,source_url,date,app_id,platform,publisher,action,name\n"
SOURCE = "CA,Statement on TikTok,https://example.org/s,2023-02-27"


def csv_list(*targets: str) -> bytes:
    """A CSV list: each target ``app_id,platform,publisher,action,name``."""
    return (CSV_HEADER + "".join(f"{SOURCE},{t}\n" for t in targets)).encode("utf-8")


def seed(env: Env) -> Catalog:
    """The decisions tests' catalog (ByteDance, TikTok with assessments) plus WeChat
    (in the catalog, never assessed) under Tencent."""
    catalog = seed_catalog(env)
    t = Base.metadata.tables
    with env.session() as session, session.begin():
        tencent = session.execute(
            insert(t["publishers"]).values(name="Tencent", jurisdiction="CN", created_at=START)
        ).inserted_primary_key[0]
        session.execute(
            insert(t["apps"]).values(
                platform="android",
                app_id="com.tencent.mm",
                name="WeChat",
                publisher_id=tencent,
                created_at=START,
            )  # fmt: skip
        )
    return catalog


def send(
    env: Env, token: str, path: str, data: bytes, content_type: str = "text/csv", **params: Any
) -> httpx.Response:
    headers = {**env.headers(token), "Content-Type": content_type}
    return env.client.post(f"{API}/partner-lists/{path}", content=data, headers=headers,
                           params=params)  # fmt: skip
