"""Domain errors: what went wrong, in words a user can act on.

Services raise these; the API maps each to an HTTP status and an RFC 9457 problem
document (see :mod:`appwarden.api.problems`); the CLI prints the message and exits 1.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base: ``status`` is the HTTP status, ``kind`` the problem type's last path segment."""

    status = 400
    kind = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(DomainError):
    status, kind, title = 404, "not-found", "Not found"


class Unauthenticated(DomainError):
    status, kind, title = 401, "unauthenticated", "Authentication required"


class Forbidden(DomainError):
    status, kind, title = 403, "forbidden", "Not allowed"


class Conflict(DomainError):
    status, kind, title = 409, "conflict", "Conflict"


class InvalidTransition(Conflict):
    kind, title = "invalid-transition", "Transition not allowed"


class SeparationOfDuties(Forbidden):
    kind, title = "separation-of-duties", "Separation of duties"


class Invalid(DomainError):
    status, kind, title = 422, "invalid", "Invalid request"


class TooLarge(DomainError):
    status, kind, title = 413, "too-large", "Payload too large"


class ClientClosed(DomainError):
    """The client closed its connection before its request's turn came: dropped unrecorded.
    The answer (nginx's 499) reaches no one; it is counted in the server's metrics."""

    status, kind, title = 499, "client-closed-request", "Client closed request"


class RateLimited(DomainError):
    status, kind, title = 429, "rate-limited", "Too many requests"


class StorageFull(DomainError):
    """The server's disk (or quota) is full: nothing was kept; send again later."""

    status, kind, title = 507, "storage-full", "Insufficient storage"


class UpstreamFailed(DomainError):
    """A service AppWarden calls (an MDM's API) failed or answered nonsense: nothing was
    kept; the detail says which call and what came back."""

    status, kind, title = 502, "upstream-failed", "Upstream service failed"
