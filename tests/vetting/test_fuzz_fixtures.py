"""Damaged copies of the real fixture apps: each ends in an assessment or a VettingError.

A short run of the mutations ``bench/fuzz_vet.py`` uses for long runs (byte flips,
truncations, ZIP header and name edits, AXML string-pool, binary plist and DEX header
edits), on the small fixtures, in this process. The long run and its figures are in
docs/reliability.md; the crashes it found have their own tests in test_fuzz_regressions.py.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _fuzz_inputs import inputs
from _mutations import KINDS, Mutation, apply
from appwarden.vetting.assess import Vetter
from appwarden.vetting.errors import VettingError
from tests.conftest import APPS

#: Fixtures under 64 KiB (vetting each takes milliseconds), both platforms.
SMALL = (
    "com.fake.IpaApp_1000000000001.ipa",
    "helloworld.ipa",
    "apk.embedded_1.apk",
    "com.politedroid_3.apk",
    "duplicate.permisssions_9999999.apk",
    "issue-1128-poc1.apk",
    "minimal_targetsdk_30_unsigned.apk",
    "urzip-release.apk",
    "v2.only.sig_2.apk",
    "org.sajeg.fallingblocks_3.apk",
)
FIXTURES = {name: (APPS / name).read_bytes() for name in SMALL if (APPS / name).exists()}
VETTER = Vetter()


def vet(data: bytes, name: str) -> str:
    """``"assessed"`` or the error's code; fails the test on anything else."""
    kind = "ipa" if name.endswith(".ipa") else "apk"
    try:
        assessment = VETTER.assess_bytes(data, name=name, kind=kind)
    except VettingError as err:
        message = str(err)
        assert message and "\n" not in message, repr(message)
        return err.code
    assert assessment.app.id
    assert assessment.model_dump_json()
    return "assessed"


def test_the_small_fixtures_are_there() -> None:
    assert APPS.is_dir(), f"{APPS} is missing"
    assert sorted(FIXTURES) == sorted(SMALL)


def test_an_unchanged_fixture_is_assessed() -> None:
    for name, data in FIXTURES.items():
        assert vet(apply(data, Mutation("flip", ())), name) == "assessed", name


def _cases() -> Any:
    if not FIXTURES:
        return st.nothing()
    return st.sampled_from(KINDS).flatmap(lambda kind: inputs(FIXTURES, kind))


@settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(_cases())
def test_mutated_fixture_is_assessed_or_refused(case: tuple[str, Mutation]) -> None:
    name, mutation = case
    try:
        data = apply(FIXTURES[name], mutation)
    except Exception:  # an edit that does not fit this fixture: nothing to vet
        return
    assert vet(data, name)
