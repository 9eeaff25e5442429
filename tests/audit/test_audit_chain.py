"""The audit chain: edits, deletions, reordering and truncation are all caught."""

from __future__ import annotations

from sqlalchemy import delete, select, update

from appwarden.audit import service
from appwarden.audit.models import AuditEvent
from tests.server import Env

KEY = b"k" * 32


def _append(env: Env, count: int) -> None:
    with env.session() as session, session.begin():
        for i in range(count):
            service.append(
                session,
                key=KEY,
                clock=env.clock,
                actor="ana",
                action="thing.do",
                object_type="thing",
                object_id=i,
                after={"n": i},
            )


def _verify(env: Env) -> service.Verification:
    with env.session() as session:
        return service.verify(session, key=KEY)


def test_intact_chain_verifies(env: Env) -> None:
    _append(env, 5)
    result = _verify(env)
    assert result.ok and result.count == 5 and result.head_seq == 5


def test_an_edited_row_is_named(env: Env) -> None:
    _append(env, 5)
    with env.session() as session, session.begin():
        session.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(actor="mallory"))
    result = _verify(env)
    assert not result.ok and result.first_bad_seq == 3 and "edited" in (result.reason or "")


def test_a_deleted_row_is_named(env: Env) -> None:
    _append(env, 5)
    with env.session() as session, session.begin():
        session.execute(delete(AuditEvent).where(AuditEvent.seq == 2))
    result = _verify(env)
    assert not result.ok and result.first_bad_seq == 3 and "deleted" in (result.reason or "")


def test_reordered_rows_are_caught(env: Env) -> None:
    _append(env, 4)
    with env.session() as session, session.begin():
        rows = session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
        a, b = rows[1], rows[2]
        a_hash, b_hash = a.hash, b.hash
        a_fields = (a.action, a.object_id, a.after, a.prev_hash)
        a.action, a.object_id, a.after, a.prev_hash = b.action, b.object_id, b.after, b.prev_hash
        b.action, b.object_id, b.after, b.prev_hash = a_fields
        a.hash, b.hash = "x" * 64, "y" * 64
        session.flush()
        a.hash, b.hash = b_hash, a_hash
    result = _verify(env)
    assert not result.ok and result.first_bad_seq == 2


def test_truncation_shows_in_the_head(env: Env) -> None:
    _append(env, 5)
    before = _verify(env)
    with env.session() as session, session.begin():
        session.execute(delete(AuditEvent).where(AuditEvent.seq == 5))
    after = _verify(env)
    assert after.ok  # a cut at the end leaves a consistent chain ...
    assert (after.head_seq, after.head_hash) != (
        before.head_seq,
        before.head_hash,
    )  # ... but not the same head


def test_a_wrong_key_fails_the_first_event(env: Env) -> None:
    _append(env, 2)
    with env.session() as session:
        result = service.verify(session, key=b"other")
    assert not result.ok and result.first_bad_seq == 1


def test_concurrent_appenders_keep_one_chain(env: Env) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def work(worker: int) -> None:
        for i in range(10):
            with env.session() as session, session.begin():
                service.append(
                    session,
                    key=KEY,
                    clock=env.clock,
                    actor=f"w{worker}",
                    action="thing.do",
                    object_type="thing",
                    object_id=i,
                )

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(work, range(4)))
    result = _verify(env)
    assert result.ok and result.count == 40
