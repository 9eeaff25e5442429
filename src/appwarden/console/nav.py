"""The navigation: each page module declares its entry; a role sees only what it may open."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from appwarden.auth.roles import Permission, Role, allows
from appwarden.auth.service import Principal
from appwarden.console.i18n import N_


@dataclass(frozen=True)
class NavItem:
    """A link in the main navigation. ``label`` is a message id, translated when shown;
    ``permission`` is what the page requires (None: any signed-in user)."""

    path: str
    label: str
    permission: Permission | None = None

    def visible_to(self, principal: Principal) -> bool:
        return self.permission is None or allows(principal.role, self.permission)


#: How each role is named on pages ("signed in as … (role)").
ROLE_LABELS: dict[Role, str] = {
    Role.analyst: N_("analyst"),
    Role.approver: N_("approver"),
    Role.operator: N_("operator"),
    Role.auditor: N_("auditor"),
    Role.admin: N_("administrator"),
}


def visible(items: Iterable[NavItem], principal: Principal | None) -> list[NavItem]:
    if principal is None:
        return []
    return [item for item in items if item.visible_to(principal)]
