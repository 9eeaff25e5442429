"""enrollment attempts counted per address and minute

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 09:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import appwarden.db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Attempts in flight are dropped with the old table: at most 15 minutes of counting.
    with op.batch_alter_table("enrollment_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_enrollment_attempts_address_at")
    op.drop_table("enrollment_attempts")
    op.create_table(
        "enrollment_counts",
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("minute", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("address", "minute", name=op.f("pk_enrollment_counts")),
    )


def downgrade() -> None:
    op.drop_table("enrollment_counts")
    op.create_table(
        "enrollment_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("at", appwarden.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrollment_attempts")),
    )
    with op.batch_alter_table("enrollment_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_enrollment_attempts_address_at", ["address", "at"], unique=False)
