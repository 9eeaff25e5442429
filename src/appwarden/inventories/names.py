"""App ids for what an inventory lists: ids as they are, names looked up in the catalog.

Intune's ``detectedApp`` names an app only by its display name; a name names an app when
exactly one catalog app of the device's platform has it, ignoring case. Other names stay
unresolved: listed, never guessed.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from appwarden.catalog.models import App
from appwarden.db import chunked
from appwarden.inventories.documents import Seen

#: Per device: its app ids, and the names that matched no app (or more than one).
Resolved = dict[str, tuple[list[str], list[str]]]


def app_ids(session: Session, devices: list[Seen]) -> Resolved:
    """For each device: its app ids, and the app names that matched no catalog app (a name
    names an app when exactly one app of the device's platform has it, ignoring case)."""
    names = {(d.platform, n.lower()) for d in devices for n in d.app_names}
    known: dict[tuple[str, str], set[str]] = {}
    for part in chunked(sorted({n for _p, n in names})):
        query = select(App.platform, func.lower(App.name), App.app_id)
        for platform, name, app_id in session.execute(query.where(func.lower(App.name).in_(part))):
            known.setdefault((platform, name), set()).add(app_id)
    resolved: dict[str, tuple[list[str], list[str]]] = {}
    for device in devices:
        ids, unresolved = list(device.app_ids), []
        for name in device.app_names:
            matches = known.get((device.platform or "", name.lower()), set())
            if len(matches) == 1:
                ids.append(next(iter(matches)))
            else:
                unresolved.append(name)
        resolved[device.external_id] = (sorted(set(ids)), unresolved)
    return resolved
