"""Request and response bodies of the catalog API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from appwarden.api.ids import BodyId

Platform = Literal["android", "ios"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PublisherCreate(_Body):
    name: str = Field(min_length=1, max_length=200)
    jurisdiction: str = Field(
        min_length=2, max_length=2, description="ISO 3166-1 alpha-2 country code, e.g. CN."
    )
    parent_id: BodyId | None = Field(default=None, description="The publisher this is part of.")
    domains: list[str] = Field(default_factory=list, max_length=100)


class PublisherUpdate(_Body):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    jurisdiction: str | None = Field(default=None, min_length=2, max_length=2)


class ParentSet(_Body):
    parent_id: BodyId | None = Field(description="The new parent; null makes it independent.")


class DomainAdd(_Body):
    domain: str = Field(min_length=1, max_length=253, examples=["bytedance.com"])


class PublisherRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str


class PublisherRead(BaseModel):
    id: int
    name: str
    jurisdiction: str
    parent_id: int | None
    domains: list[str]
    created_at: datetime


class PublisherDetail(PublisherRead):
    parent: PublisherRef | None
    affiliates: list[PublisherRef] = Field(description="Direct affiliates (children).")
    family_ids: list[int] = Field(
        description="This publisher and all its affiliates, transitively: what a ban on it covers."
    )


class AppCreate(_Body):
    platform: Platform
    app_id: str = Field(min_length=1, max_length=255, description="Package name or bundle id.")
    name: str = Field(min_length=1, max_length=200)
    publisher_id: BodyId | None = None


class AppUpdate(_Body):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    publisher_id: BodyId | None = Field(default=None, description="null unsets the publisher.")


class AppRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    platform: Platform
    app_id: str
    name: str
    publisher_id: int | None
    created_at: datetime


class SignerRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    sha256: str
    subject: str
    issuer: str
    first_seen: datetime


class AssessmentSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    app_id: int
    blob_sha256: str
    file_name: str
    version_name: str | None
    verdict: Literal["pass", "warn", "fail"]
    score_total: int
    grade: str
    uploaded_by: str
    created_at: datetime


class AppDetail(AppRead):
    publisher: PublisherRef | None
    signers: list[SignerRead]
    latest_assessment: AssessmentSummary | None
    assessment_count: int


class BlobRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    sha256: str
    size: int
    kind: str
    stored_at: datetime


class UploadRead(BaseModel):
    assessment: AssessmentSummary
    app: AppRead
    app_created: bool = Field(description="The upload created the app.")
    blob: BlobRead
    blob_new: bool = Field(description="False when the same file had been uploaded before.")
    signers: list[SignerRead]
