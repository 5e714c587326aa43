"""delivery receipts, one per client: a second client of the organisation adds its own

Revision ID: 0009_delivery_receipts
Revises: 0008_signin_sessions
Create Date: 2026-12-01 09:00:00.000000
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

import hdab.core.db

revision: str = "0009_delivery_receipts"
down_revision: str | None = "0008_signin_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# the tables as this migration knows them, for moving the receipts across
_deliveries = sa.table(
    "deliveries",
    sa.column("id", sa.String()),
    sa.column("recipient_organisation", sa.String()),
    sa.column("receipt", sa.JSON()),
    sa.column("receipt_mismatch", sa.Boolean()),
)
_receipts = sa.table(
    "delivery_receipts",
    sa.column("delivery_id", sa.String()),
    sa.column("client", sa.String()),
    sa.column("organisation", sa.String()),
    sa.column("checksums", sa.JSON()),
    sa.column("mismatched", sa.JSON()),
    sa.column("unknown", sa.JSON()),
    sa.column("mismatch", sa.Boolean()),
    sa.column("at", hdab.core.db.UTCDateTime()),
)


def upgrade() -> None:
    op.create_table(
        "delivery_receipts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.String(length=36), nullable=False),
        sa.Column("client", sa.String(length=500), nullable=False),
        sa.Column("organisation", sa.String(length=9), nullable=True),
        sa.Column("checksums", sa.JSON(), nullable=False),
        sa.Column("mismatched", sa.JSON(), nullable=False),
        sa.Column("unknown", sa.JSON(), nullable=False),
        sa.Column("mismatch", sa.Boolean(), nullable=False),
        sa.Column("at", hdab.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
            name=op.f("fk_delivery_receipts_delivery_id_deliveries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_receipts")),
        sa.UniqueConstraint("delivery_id", "client", name=op.f("uq_delivery_receipts_delivery_id")),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(_deliveries.c.id, _deliveries.c.recipient_organisation, _deliveries.c.receipt).where(
            _deliveries.c.receipt.is_not(None)
        )
    ).all()
    for delivery_id, organisation, receipt in rows:
        if not isinstance(receipt, dict):
            continue
        mismatched, unknown = list(receipt.get("mismatched", [])), list(receipt.get("unknown", []))
        connection.execute(
            _receipts.insert().values(
                delivery_id=delivery_id,
                client=str(receipt.get("by", "")),
                organisation=organisation,
                checksums=dict(receipt.get("checksums", {})),
                mismatched=mismatched,
                unknown=unknown,
                mismatch=bool(mismatched or unknown),
                at=datetime.fromisoformat(str(receipt["at"])),
            )
        )
    # SQLite drops a plain column in place (3.35+): no rebuild of a table others refer to
    op.drop_column("deliveries", "receipt_mismatch")
    op.drop_column("deliveries", "receipt")


def downgrade() -> None:
    op.add_column("deliveries", sa.Column("receipt", sa.JSON(), nullable=True))
    op.add_column(
        "deliveries",
        sa.Column("receipt_mismatch", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(_receipts).order_by(_receipts.c.at)).all()
    for row in rows:  # one receipt per delivery fits there: the latest
        receipt = {
            "by": row.client,
            "at": row.at.isoformat(),
            "checksums": row.checksums,
            "mismatched": row.mismatched,
            "unknown": row.unknown,
        }
        connection.execute(
            _deliveries.update()
            .where(_deliveries.c.id == row.delivery_id)
            .values(receipt=receipt, receipt_mismatch=row.mismatch)
        )
    op.drop_table("delivery_receipts")
