"""devices imported from the inventories of other MDMs

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23 16:31:01.109667
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import appwarden.db

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "device_inventories",
        sa.Column("device_id", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("external_id", sa.String(length=300), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("taken_at", appwarden.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("imported_at", appwarden.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("imported_by", sa.String(length=64), nullable=False),
        sa.Column("unresolved", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_device_inventories_device_id_devices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_device_inventories")),
        sa.UniqueConstraint("source", "external_id", name=op.f("uq_device_inventories_source")),
    )


def downgrade() -> None:
    op.drop_table("device_inventories")
