"""Response bodies of the partner-lists API, built from the service's results."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from appwarden.partners.compare import Comparison, Ours
from appwarden.partners.format import PartnerList, Target
from appwarden.partners.service import Compared, ImportResult


class TargetRead(BaseModel):
    kind: str = Field(description="app or publisher")
    app_id: str | None
    platform: str | None = Field(description="android, ios, or null: both (apps only).")
    publisher: str | None
    action: str
    name: str | None
    reference: str | None

    @classmethod
    def of(cls, target: Target) -> TargetRead:
        return cls(
            kind=target.kind,
            app_id=target.app_id,
            platform=target.platform,
            publisher=target.publisher,
            action=target.action,
            name=target.name,
            reference=target.reference,
        )


class ListRead(BaseModel):
    jurisdiction: str
    source_title: str
    source_url: str | None
    date: dt.date
    targets: int

    @classmethod
    def of(cls, pl: PartnerList) -> ListRead:
        return cls(
            jurisdiction=pl.jurisdiction,
            source_title=pl.source_title,
            source_url=pl.source_url,
            date=pl.date,
            targets=len(pl.targets),
        )


class OutcomeRead(BaseModel):
    target: TargetRead
    result: str = Field(description="proposed, draft, existing or unmatched")
    determination_id: int | None
    reason: str | None


class ImportRead(BaseModel):
    partner_list: ListRead
    sha256: str = Field(description="SHA-256 of the file, as recorded in the audit log.")
    proposed: int
    draft: int
    existing: int
    unmatched: int
    outcomes: list[OutcomeRead]

    @classmethod
    def of(cls, result: ImportResult) -> ImportRead:
        return cls(
            partner_list=ListRead.of(result.partner_list),
            sha256=result.sha256,
            proposed=result.count("proposed"),
            draft=result.count("draft"),
            existing=result.count("existing"),
            unmatched=result.count("unmatched"),
            outcomes=[
                OutcomeRead(
                    target=TargetRead.of(o.target),
                    result=o.result,
                    determination_id=o.determination_id,
                    reason=o.reason,
                )
                for o in result.outcomes
            ],
        )


class OurRead(BaseModel):
    target: TargetRead
    determination_id: int
    status: str

    @classmethod
    def of(cls, ours: Ours) -> OurRead:
        return cls(
            target=TargetRead.of(ours.target),
            determination_id=ours.determination_id,
            status=ours.status,
        )


class PairRead(BaseModel):
    ours: OurRead
    theirs: TargetRead
    same_action: bool


class ComparisonRead(BaseModel):
    partner_list: ListRead
    both: list[PairRead]
    only_ours: list[OurRead]
    only_theirs: list[TargetRead]
    warnings: list[str] = Field(description="Our determinations the format cannot express.")

    @classmethod
    def of(cls, compared: Compared) -> ComparisonRead:
        c: Comparison = compared.comparison
        return cls(
            partner_list=ListRead.of(compared.partner_list),
            both=[
                PairRead(
                    ours=OurRead.of(p.ours),
                    theirs=TargetRead.of(p.theirs),
                    same_action=p.same_action,
                )
                for p in c.both
            ],
            only_ours=[OurRead.of(o) for o in c.only_ours],
            only_theirs=[TargetRead.of(t) for t in c.only_theirs],
            warnings=list(compared.warnings),
        )
