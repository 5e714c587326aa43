"""extract jobs keep what they froze at their first step: data dictionary, recipients, delivery number

Revision ID: 0010_frozen_jobs
Revises: 0009_delivery_receipts
Create Date: 2026-12-01 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_frozen_jobs"
down_revision: str | None = "0009_delivery_receipts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # null for jobs started before: their next step freezes them (runner.frozen_context)
    with op.batch_alter_table("extract_jobs") as batch:
        batch.add_column(sa.Column("frozen", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("extract_jobs") as batch:
        batch.drop_column("frozen")
