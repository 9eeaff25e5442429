"""The core of the API fuzzer: schemathesis cases for every operation of the OpenAPI
document, sent in-process to a running app as each role, each response checked.

Cases are drawn valid (positive) and invalid (negative) alike. Checks: no 5xx
(``not_a_server_error``) and the response conforms to the document: its status is
declared (``status_code_conformance``), its content type too
(``content_type_conformance``), and its body matches the declared schema
(``response_schema_conformance``). A token the fuzzer revoked itself (``DELETE
/api/v1/auth/tokens/{id}`` may draw the role's own token) is replaced before the next case.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.testclient import TestClient

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
METHODS = ("get", "post", "put", "patch", "delete")


@dataclass
class Finding:
    """One distinct failure: which operation, as whom, what the check said, one example."""

    operation: str
    role: str
    check: str
    message: str
    example: str
    count: int = 0


@dataclass
class RoleStats:
    operations: int = 0
    cases: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    findings: int = 0
    token_renewals: int = 0


@dataclass
class Run:
    roles: dict[str, RoleStats] = field(default_factory=dict)
    findings: dict[tuple[str, str, str], Finding] = field(default_factory=dict)

    @property
    def cases(self) -> int:
        return sum(stats.cases for stats in self.roles.values())


def load_schema(client: TestClient) -> Any:
    """The app's own OpenAPI document, as served at /api/v1/openapi.json."""
    document = client.get("/api/v1/openapi.json")
    document.raise_for_status()
    return schemathesis.openapi.from_dict(document.json())


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return (text.splitlines() or [type(error).__name__])[0][:300]


def _failures(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for sub in error.exceptions for leaf in _failures(sub)]
    return [error]


def _check_name(failure: BaseException) -> str:
    title = getattr(failure, "title", None)
    return str(title) if title else type(failure).__name__


def fuzz_operation(
    *,
    client: TestClient,
    operation: Any,
    role: str,
    token: Callable[[bool], str],
    run: Run,
    examples: int,
    seed: int,
) -> None:
    """Send ``examples`` generated cases of one operation as ``role``; record what fails.

    ``token(renew)`` gives the role's bearer token (a new one when ``renew`` is true)."""
    stats = run.roles.setdefault(role, RoleStats())
    stats.operations += 1
    label = f"{operation.method.upper()} {operation.path}"

    def one(case: Any) -> None:
        headers = {"Authorization": f"Bearer {token(False)}"}
        kwargs = case.as_transport_kwargs(headers=headers)
        kwargs.pop("base_url", None)
        url = kwargs.pop("url")
        path = url.split("://", 1)[-1]
        path = path[path.find("/") :] if "://" in url else url
        response = client.request(url=path, **_httpx_kwargs(kwargs))
        if response.status_code == 401:
            # Our own token revoked by an earlier case: a new one, and this case again.
            stats.token_renewals += 1
            headers = {"Authorization": f"Bearer {token(True)}"}
            kwargs = case.as_transport_kwargs(headers=headers)
            kwargs.pop("base_url", None)
            kwargs.pop("url")
            response = client.request(url=path, **_httpx_kwargs(kwargs))
        _readable(response.request)
        stats.cases += 1
        stats.statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (Exception, BaseExceptionGroup) as error:  # noqa: BLE001 - each is a finding
            stats.findings += 1
            example = (
                f"{case.method} {path} query={case.query!r} body={str(case.body)[:200]!r} "
                f"-> {response.status_code} {response.text[:300]!r}"
            )
            for failure in _failures(error):
                key = (label, role, _check_name(failure))
                finding = run.findings.get(key)
                if finding is None:
                    finding = run.findings[key] = Finding(
                        operation=label,
                        role=role,
                        check=key[2],
                        message=_first_line(failure),
                        example=example,
                    )
                finding.count += 1

    # Valid inputs and invalid ones (wrong types, out of range, missing fields) alike.
    strategy = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )
    test = given(case=strategy)(one)
    test = hsettings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=False,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        verbosity=hypothesis.Verbosity.quiet,
    )(test)
    test = hypothesis.seed(seed)(test)
    test()


def _readable(request: Any) -> None:
    """Let the checks read the request body again (a multipart body is a one-off stream;
    one drawn with a non-file part cannot be rendered twice: the checks get it empty)."""
    try:
        request.read()
    except (AttributeError, TypeError, ValueError):
        request._content = b""


def _httpx_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Transport arguments schemathesis builds for requests, as httpx takes them."""
    headers = dict(kwargs.get("headers") or {})
    out: dict[str, Any] = {"method": kwargs["method"], "headers": headers}
    for name in ("params", "json", "content", "files"):
        if kwargs.get(name) is not None:
            out[name] = kwargs[name]
    data = kwargs.get("data")
    if isinstance(data, str | bytes):
        out["content"] = data  # raw bodies are content to httpx; data= is for forms
    elif data is not None:
        out["data"] = data
    cookies = kwargs.get("cookies")
    if cookies:
        # As a header: per-request cookies= is deprecated by httpx and the test client.
        drawn = "; ".join(f"{name}={value}" for name, value in cookies.items())
        headers["Cookie"] = f"{headers['Cookie']}; {drawn}" if "Cookie" in headers else drawn
    return out


def operations(schema: Any) -> list[Any]:
    """Every operation of the document, in a stable order."""
    found = []
    for result in schema.get_all_operations():
        operation = result.ok()
        found.append(operation)
    return sorted(found, key=lambda op: (op.path, METHODS.index(op.method.lower())))


def fuzz(
    *,
    client: TestClient,
    tokens: dict[str, Callable[[bool], str]],
    examples: int,
    seed: int = 0,
    only: Callable[[Any], bool] | None = None,
) -> Run:
    """Every operation (or those ``only`` keeps) as every role in ``tokens``."""
    schema = load_schema(client)
    run = Run()
    for operation in operations(schema):
        if only is not None and not only(operation):
            continue
        for role, token in tokens.items():
            fuzz_operation(
                client=client,
                operation=operation,
                role=role,
                token=token,
                run=run,
                examples=examples,
                seed=seed,
            )
    return run
