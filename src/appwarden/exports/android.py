"""An Android Management API ``Policy`` body for ``enterprises.policies.patch``:
``applications[]`` with ``installType: BLOCKED`` for the Android apps banned or blocked in
the scope; in allow-list mode ``playStoreMode: WHITELIST`` with the allowed apps
``AVAILABLE`` (apps not in the policy cannot be installed).
"""

from __future__ import annotations

from appwarden.exports.model import Export, ScopeLists, json_export

#: ApplicationPolicy: "The maximum number of applications that you can specify per
#: policy is 3,000."
MAX_APPLICATIONS = 3000


def policy_document(lists: ScopeLists) -> tuple[dict[str, object], list[str]]:
    android = lists.android
    applications = [{"packageName": a, "installType": "BLOCKED"} for a in android.refused]
    warnings: list[str] = []
    if android.blocked:
        warnings.append(
            "installType BLOCKED also uninstalls a copy already installed; these apps are "
            "only blocked from new installs by their determinations: " + ", ".join(android.blocked)
        )
    if android.allow_list:
        applications += [{"packageName": a, "installType": "AVAILABLE"} for a in android.allowed]
        mode = "WHITELIST"
    else:
        mode = "BLACKLIST"
    applications.sort(key=lambda app: app["packageName"])
    if len(applications) > MAX_APPLICATIONS:
        warnings.append(
            f"{len(applications)} applications exceed the API's {MAX_APPLICATIONS} per policy"
        )
    return {"applications": applications, "playStoreMode": mode}, warnings


def build_policy(lists: ScopeLists) -> Export:
    return json_export("amapi", lists, *policy_document(lists))
