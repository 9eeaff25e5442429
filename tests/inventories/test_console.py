"""An imported device in the console: its source and its inventory's age on its page, and
the devices list filtered by source (the same devices as its JSON twin), in French too."""

from __future__ import annotations

import re

from tests.console.support import HTML, sign_in
from tests.decisions.support import get, ok
from tests.inventories.test_documents import sample
from tests.inventories.test_imports import banned, send
from tests.server import Env

_DEVICE_LINK = re.compile(r'<a href="/devices/([A-Za-z0-9_-]+)"><code>')


def test_imported_devices_show_their_source_and_age(env: Env) -> None:
    who = banned(env)
    imported = ok(send(env, who.olu, "intune", sample("intune_managed_devices.json")))
    android, iphone = (d["device_id"] for d in imported["devices"])
    sign_in(env, "aude")
    page = env.client.get(f"/devices/{iphone}", headers=HTML)
    assert page.status_code == 200, page.text
    assert "Microsoft Intune" in page.text and "Inventory from its MDM" in page.text
    assert "2027-01-10 07:30 UTC" in page.text  # when Intune took it
    assert "2027-01-10 09:00 UTC by olu" in page.text  # when it was imported, by whom
    assert "Microsoft Outlook" in page.text  # a name that matched no app
    listed = _DEVICE_LINK.findall(env.client.get("/devices?source=intune", headers=HTML).text)
    twin = [d["id"] for d in ok(get(env, who.aude, "/devices?source=intune"))["items"]]
    assert sorted(listed) == sorted(twin) == sorted([android, iphone])
    assert _DEVICE_LINK.findall(env.client.get("/devices?source=agent", headers=HTML).text) == []
    assert env.client.get("/devices?source=sccm", headers=HTML).status_code == 422
    french = env.client.get(f"/devices/{iphone}", headers=HTML | {"Accept-Language": "fr"})
    assert "Inventaire venu de sa GAM" in french.text
