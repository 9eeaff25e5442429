"""pulls of inventories through the APIs of other MDMs

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-23 20:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import appwarden.db

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inventory_pulls",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("slot", sa.BigInteger(), nullable=True),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("started_at", appwarden.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", appwarden.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("devices", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inventory_pulls")),
        sa.UniqueConstraint("source", "slot", name=op.f("uq_inventory_pulls_source")),
    )
    op.create_index(op.f("ix_inventory_pulls_source"), "inventory_pulls", ["source"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_inventory_pulls_source"), table_name="inventory_pulls")
    op.drop_table("inventory_pulls")
