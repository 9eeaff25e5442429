"""Print the role × route table for docs/permissions.md from the app's declared permissions.

Run it after adding a route, review the output, and paste it into docs/permissions.md:
    .venv/bin/python tools/permissions_matrix.py
The test suite then holds the app to the document.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from appwarden.app import create_app
from appwarden.auth.roles import GRANTS, Permission, Role
from appwarden.config import Settings


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        schema = create_app(Settings(data_dir=Path(folder), audit_key="k")).openapi()
    roles = [role.value for role in Role]
    print("| route | permission | " + " | ".join(roles) + " |")
    print("|---|---|" + "---|" * len(roles))
    for path, item in sorted(schema["paths"].items()):
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            permission = operation.get("x-permission")
            if operation.get("x-device") is True:
                print(f"| `{method.upper()} {path}` | device |")
                continue
            if permission is None:
                print(f"| `{method.upper()} {path}` | public |")
                continue
            cells = ["yes" if Permission(permission) in GRANTS[role] else "no" for role in Role]
            print(f"| `{method.upper()} {path}` | {permission} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
