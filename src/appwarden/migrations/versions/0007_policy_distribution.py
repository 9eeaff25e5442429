"""policy distribution

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 06:48:32.967495
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import appwarden.db

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "policy_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=True),
        sa.Column("created_at", appwarden.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("processed_at", appwarden.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_changes")),
    )
    with op.batch_alter_table("policy_changes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_policy_changes_processed_at_id", ["processed_at", "id"], unique=False
        )

    op.create_table(
        "policy_documents",
        sa.Column("etag", sa.String(length=64), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("created_at", appwarden.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("etag", name=op.f("pk_policy_documents")),
    )
    op.create_table(
        "policy_generation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_generation")),
    )
    op.execute("INSERT INTO policy_generation (id, value) VALUES (1, 0)")
    op.create_table(
        "device_policy_history",
        sa.Column("device_id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("etag", sa.String(length=64), nullable=False),
        sa.Column("issued_at", appwarden.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_device_policy_history_device_id_devices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("device_id", "version", name=op.f("pk_device_policy_history")),
    )
    with op.batch_alter_table("device_policies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column("next_change_at", appwarden.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            batch_op.f("ix_device_policies_next_change_at"), ["next_change_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_device_policies_seq"), ["seq"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("device_policies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_policies_seq"))
        batch_op.drop_index(batch_op.f("ix_device_policies_next_change_at"))
        batch_op.drop_column("next_change_at")
        batch_op.drop_column("seq")

    op.drop_table("device_policy_history")
    op.drop_table("policy_generation")
    op.drop_table("policy_documents")
    with op.batch_alter_table("policy_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_policy_changes_processed_at_id")

    op.drop_table("policy_changes")
