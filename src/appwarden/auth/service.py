"""Passwords (argon2id), TOTP second factor, API tokens (stored as SHA-256), sign-in limits."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from appwarden.audit.refusals import SIGN_IN_REFUSED, Refusal
from appwarden.auth.models import ApiToken, SignInFailure, User
from appwarden.auth.roles import SECOND_FACTOR, Role
from appwarden.clock import Clock
from appwarden.errors import (
    Conflict,
    DomainError,
    Invalid,
    NotFound,
    RateLimited,
    Unauthenticated,
)

_HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters
TOKEN_PREFIX = "aw_"  # noqa: S105 (a marker that makes leaked tokens easy to find)
_LIMIT_WINDOW = timedelta(minutes=15)
_MIN_PASSWORD = 12


@dataclass(frozen=True)
class Principal:
    """Who is acting: a signed-in user (API token) or the system itself."""

    user_id: int | None
    username: str
    role: Role
    display_name: str = ""

    @property
    def actor(self) -> str:
        return self.username

    @property
    def name(self) -> str:
        """How the user is shown to people: the display name, else the user name."""
        return self.display_name or self.username


SYSTEM = Principal(user_id=None, username="system", role=Role.admin)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(
    session: Session,
    *,
    clock: Clock,
    username: str,
    display_name: str,
    role: Role,
    password: str,
) -> tuple[User, str | None]:
    """A new user; returns it and, for roles that need one, its new TOTP secret."""
    if len(password) < _MIN_PASSWORD:
        raise Invalid(f"the password must have at least {_MIN_PASSWORD} characters")
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise Conflict(f"a user named {username!r} already exists")
    secret = pyotp.random_base32() if role in SECOND_FACTOR else None
    user = User(
        username=username,
        display_name=display_name,
        role=role.value,
        password_hash=_HASHER.hash(password),
        totp_secret=secret,
        active=True,
        created_at=clock.now(),
    )
    session.add(user)
    session.flush()
    return user, secret


def _recent_failures(session: Session, username: str, clock: Clock) -> int:
    since = clock.now() - _LIMIT_WINDOW
    query = select(func.count()).where(
        SignInFailure.username == username, SignInFailure.at >= since
    )
    return int(session.scalar(query) or 0)


def check_credentials(
    session: Session, *, clock: Clock, username: str, password: str, totp: str | None, limit: int
) -> User:
    """The user, if the password (and, for approvers and admins, the TOTP code) is right.

    Failures are recorded; past ``limit`` in 15 minutes the user name is refused with 429
    whatever the password, so guessing cannot go on. The caller records each failure in a
    transaction of its own, so it counts although the request fails (see the sign-in view)."""
    if _recent_failures(session, username, clock) >= limit:
        raise RateLimited(f"too many failed sign-ins for {username!r}; wait 15 minutes")
    user = session.scalar(select(User).where(User.username == username))
    ok = False
    if user is not None and user.active:
        try:
            ok = _HASHER.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            ok = False
        if ok and Role(user.role) in SECOND_FACTOR:
            ok = bool(
                totp
                and user.totp_secret
                and pyotp.TOTP(user.totp_secret).verify(totp, for_time=clock.now(), valid_window=1)
            )
    if not ok or user is None:
        raise Unauthenticated("wrong user name, password or second-factor code")
    session.execute(delete(SignInFailure).where(SignInFailure.username == username))
    return user


def record_failure(session: Session, *, clock: Clock, username: str) -> None:
    """Count one failed sign-in against ``username`` (in a transaction of its own, so it
    holds although the sign-in fails)."""
    session.add(SignInFailure(username=username, at=clock.now()))


def sign_in_refusal(*, username: str, error: DomainError, address: str, via: str) -> Refusal:
    """The audit record of a refused sign-in (wrong credentials or too many failures)."""
    name = username[:64] or "(empty)"
    reason = "too many failed sign-ins" if isinstance(error, RateLimited) else "wrong credentials"
    return Refusal(
        actor=name,
        action=SIGN_IN_REFUSED,
        object_type="user",
        object_id=name,
        reason=reason,
        details={"address": address, "via": via},
    )


def issue_token(
    session: Session,
    *,
    clock: Clock,
    user: User,
    name: str,
    days: int,
    lifetime: timedelta | None = None,
) -> tuple[ApiToken, str]:
    """A new API token, valid ``days`` (or ``lifetime`` when given); the clear value is
    returned once and never stored."""
    clear = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = clock.now()
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_sha256=hash_token(clear),
        created_at=now,
        expires_at=now + (lifetime if lifetime is not None else timedelta(days=days)),
        revoked_at=None,
        last_used_at=None,
    )
    session.add(token)
    session.flush()
    return token, clear


def principal_for_token(session: Session, *, clock: Clock, clear: str) -> Principal:
    """The principal a bearer token stands for; 401 if unknown, expired or revoked."""
    token = session.scalar(select(ApiToken).where(ApiToken.token_sha256 == hash_token(clear)))
    now = clock.now()
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        raise Unauthenticated("the token is unknown, expired or revoked")
    user = token.user
    if not user.active:
        raise Unauthenticated("the token's user is deactivated")
    token.last_used_at = now
    return Principal(
        user_id=user.id,
        username=user.username,
        role=Role(user.role),
        display_name=user.display_name,
    )


def revoke_by_value(session: Session, *, clock: Clock, clear: str) -> ApiToken | None:
    """Revoke the token with this clear value (a console sign-out); None if unknown."""
    token = session.scalar(select(ApiToken).where(ApiToken.token_sha256 == hash_token(clear)))
    if token is not None and token.revoked_at is None:
        token.revoked_at = clock.now()
    return token


def revoke_token(session: Session, *, clock: Clock, token_id: int, owner: Principal) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None or (owner.role != Role.admin and token.user_id != owner.user_id):
        raise NotFound(f"no token {token_id}")
    if token.revoked_at is None:
        token.revoked_at = clock.now()
    return token


def totp_now(secret: str, clock: Clock) -> str:
    """The current code for a TOTP secret (for tests and the demo)."""
    return str(pyotp.TOTP(secret).at(clock.now()))
