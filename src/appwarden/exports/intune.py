"""Microsoft Intune, as a Microsoft Graph JSON batch (``POST /$batch``, v1.0):

- an ``iosCompliancePolicy`` whose ``restrictedApps`` (``appListItem``, at most 100 per
  policy, so more apps make more policies) are the iOS apps banned or blocked in the scope;
- an ``androidGeneralDeviceConfiguration`` (device restrictions) whose
  ``compliantAppsList`` is the Android block list (``compliantAppListType``
  ``appsNotInListCompliant``), or the allow list in allow-list mode
  (``appsInListCompliant``).

Assign the created policies to the Azure AD group that matches the scope.
"""

from __future__ import annotations

from typing import Any

from appwarden.exports.model import Export, ScopeLists, json_export

MAX_RESTRICTED_APPS = 100
MAX_COMPLIANT_APPS = 10000
_HEADERS = {"Content-Type": "application/json"}


def _items(lists: ScopeLists, app_ids: tuple[str, ...]) -> list[dict[str, Any]]:
    return [
        {
            "@odata.type": "#microsoft.graph.appListItem",
            "name": lists.label(app_id).name,
            "publisher": lists.label(app_id).publisher or None,
            "appStoreUrl": None,
            "appId": app_id,
        }
        for app_id in app_ids
    ]


def _ios_policies(lists: ScopeLists) -> list[dict[str, Any]]:
    refused = lists.ios.refused
    chunks = [
        refused[start : start + MAX_RESTRICTED_APPS]
        for start in range(0, len(refused), MAX_RESTRICTED_APPS)
    ] or [()]
    return [
        {
            "@odata.type": "#microsoft.graph.iosCompliancePolicy",
            "displayName": f"AppWarden: restricted apps in {lists.scope}"
            + (f" ({number}/{len(chunks)})" if len(chunks) > 1 else ""),
            "description": f"Apps banned or blocked by the determinations in force for "
            f"{lists.scope}: a device holding one is not compliant.",
            "restrictedApps": _items(lists, chunk),
            "scheduledActionsForRule": [
                {
                    "ruleName": "PasswordRequired",
                    "scheduledActionConfigurations": [
                        {"actionType": "block", "gracePeriodHours": 0}
                    ],
                }
            ],
        }
        for number, chunk in enumerate(chunks, start=1)
    ]


def _android_configuration(lists: ScopeLists) -> dict[str, Any]:
    android = lists.android
    app_ids, list_type = (
        (android.allowed, "appsInListCompliant")
        if android.allow_list
        else (android.refused, "appsNotInListCompliant")
    )
    return {
        "@odata.type": "#microsoft.graph.androidGeneralDeviceConfiguration",
        "displayName": f"AppWarden: restricted apps in {lists.scope}",
        "description": f"Apps restricted by the determinations in force for {lists.scope}.",
        "compliantAppsList": _items(lists, app_ids),
        "compliantAppListType": list_type,
    }


def batch_document(lists: ScopeLists) -> tuple[dict[str, Any], list[str]]:
    bodies = [("/deviceManagement/deviceCompliancePolicies", p) for p in _ios_policies(lists)]
    bodies.append(("/deviceManagement/deviceConfigurations", _android_configuration(lists)))
    requests = [
        {"id": str(number), "method": "POST", "url": url, "headers": _HEADERS, "body": body}
        for number, (url, body) in enumerate(bodies, start=1)
    ]
    warnings: list[str] = []
    if lists.ios.allow_list:
        warnings.append(
            "iOS allow-list mode has no compliance-policy form: the iOS compliance policy "
            "carries the banned and blocked apps only; allowed apps: "
            + (", ".join(lists.ios.allowed) or "(none)")
        )
    if len(_android_configuration(lists)["compliantAppsList"]) > MAX_COMPLIANT_APPS:
        warnings.append(f"the Android list exceeds Graph's {MAX_COMPLIANT_APPS} elements")
    return {"requests": requests}, warnings


def build_batch(lists: ScopeLists) -> Export:
    return json_export("intune", lists, *batch_document(lists))
