"""The process's open-file limit, raised as far as it may go.

A server worker holds one open file per connection (a parked long-poll holds one for
minutes) and a simulator process one per agent's connection, so both raise their soft
limit to the hard one before they start.
"""

from __future__ import annotations


def raise_open_files() -> int | None:
    """Raise the soft open-file limit to the hard one where allowed; returns the soft
    limit now in effect, or None if there is none (unlimited, or not a Unix)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return None if soft == resource.RLIM_INFINITY else soft
