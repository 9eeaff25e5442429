"""devices remember their enrollment token; public keys are indexed

An enrollment sent again (its answer lost) with the same key and token is answered with
the device it made, found by its public key.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-24 05:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("enrollment_token_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_devices_enrollment_token_id"), ["enrollment_token_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_devices_public_key"), ["public_key"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_devices_enrollment_token_id_enrollment_tokens"),
            "enrollment_tokens",
            ["enrollment_token_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_devices_enrollment_token_id_enrollment_tokens"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_devices_public_key"))
        batch_op.drop_index(batch_op.f("ix_devices_enrollment_token_id"))
        batch_op.drop_column("enrollment_token_id")
