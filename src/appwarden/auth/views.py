"""Sign-in (public on purpose), the signed-in user, tokens, and user administration."""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from sqlalchemy import select

from appwarden.api.deps import ContextDep, PrincipalDep, SessionDep, client_address, guarded
from appwarden.api.ids import PathId
from appwarden.api.pagination import Page, PageDep, paginate
from appwarden.api.problems import problems
from appwarden.audit import service as audit
from appwarden.auth import service
from appwarden.auth.models import ApiToken, User
from appwarden.auth.roles import Permission
from appwarden.auth.schemas import (
    SignIn,
    TokenIssued,
    TokenRead,
    UserCreate,
    UserCreated,
    UserRead,
)
from appwarden.errors import DomainError, NotFound

public = APIRouter(tags=["auth"])
router = APIRouter(tags=["auth"])


@public.post(
    "/auth/token",
    status_code=status.HTTP_201_CREATED,
    responses=problems(401, 422, 429),
    openapi_extra={"x-public": True},
)
def sign_in(body: SignIn, context: ContextDep, request: Request) -> TokenIssued:
    """Exchange a user name, password (and TOTP code) for an API token. Rate-limited."""
    settings, clock = context.settings, context.clock
    try:
        with context.sessions() as session, session.begin():
            user = service.check_credentials(
                session,
                clock=clock,
                username=body.username,
                password=body.password,
                totp=body.totp,
                limit=settings.sign_in_limit,
            )
            token, clear = service.issue_token(
                session,
                clock=clock,
                user=user,
                name=body.token_name,
                days=body.days or settings.token_days,
            )
            audit.append(
                session,
                key=context.audit_key,
                clock=clock,
                actor=user.username,
                action="token.issue",
                object_type="token",
                object_id=token.id,
                after={"name": token.name, "expires_at": token.expires_at.isoformat()},
            )
            return TokenIssued(
                token=clear,
                details=TokenRead.model_validate(token),
                user=UserRead.model_validate(user),
            )
    except DomainError as refused:
        # The failed attempt must be counted even though the request fails.
        with context.sessions() as session, session.begin():
            service.record_failure(session, clock=clock, username=body.username)
        context.refusals.record(
            service.sign_in_refusal(
                username=body.username, error=refused, address=client_address(request), via="api"
            )
        )
        raise


@router.get("/auth/me", **guarded(Permission.read))
def me(principal: PrincipalDep, session: SessionDep) -> UserRead:
    """The signed-in user."""
    return UserRead.model_validate(session.get(User, principal.user_id))


@router.get("/auth/tokens", **guarded(Permission.read))
def my_tokens(principal: PrincipalDep, session: SessionDep, page: PageDep) -> Page[TokenRead]:
    """The signed-in user's tokens (never their values)."""
    query = select(ApiToken).where(ApiToken.user_id == principal.user_id).order_by(ApiToken.id)
    rows, total = paginate(session, query, page)
    items = [TokenRead.model_validate(t) for t in rows]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.delete("/auth/tokens/{token_id}", responses=problems(404), **guarded(Permission.read))
def revoke(
    token_id: PathId, principal: PrincipalDep, session: SessionDep, context: ContextDep
) -> TokenRead:
    """Revoke a token: one's own, or anyone's for an admin."""
    token = service.revoke_token(session, clock=context.clock, token_id=token_id, owner=principal)
    audit.append(
        session,
        key=context.audit_key,
        clock=context.clock,
        actor=principal.actor,
        action="token.revoke",
        object_type="token",
        object_id=token.id,
    )
    return TokenRead.model_validate(token)


@router.get("/users", **guarded(Permission.admin))
def list_users(session: SessionDep, page: PageDep) -> Page[UserRead]:
    rows, total = paginate(session, select(User).order_by(User.id), page)
    items = [UserRead.model_validate(u) for u in rows]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post(
    "/users",
    status_code=status.HTTP_201_CREATED,
    responses=problems(409, 422),
    **guarded(Permission.admin),
)
def create_user(
    body: UserCreate, principal: PrincipalDep, session: SessionDep, context: ContextDep
) -> UserCreated:
    """Create a user. Approvers and admins get a TOTP secret, shown once."""
    user, secret = service.create_user(
        session,
        clock=context.clock,
        username=body.username,
        display_name=body.display_name,
        role=body.role,
        password=body.password,
    )
    audit.append(
        session,
        key=context.audit_key,
        clock=context.clock,
        actor=principal.actor,
        action="user.create",
        object_type="user",
        object_id=user.id,
        after={"username": user.username, "role": user.role},
    )
    return UserCreated(user=UserRead.model_validate(user), totp_secret=secret)


@router.get("/users/{user_id}", responses=problems(404), **guarded(Permission.admin))
def get_user(user_id: PathId, session: SessionDep) -> UserRead:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    return UserRead.model_validate(user)
