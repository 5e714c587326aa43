"""reception of daily reports: submitters, streams, messages, record keys and versions, rejections, watermarks

Revision ID: 0011_reception
Revises: 0010_frozen_jobs
Create Date: 2026-12-01 17:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hdab.core.db import UTCDateTime

revision: str = "0011_reception"
down_revision: str | None = "0010_frozen_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "reception_submitters",
        sa.Column("organisation", sa.String(9), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("message_types", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("registered_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("organisation", name=op.f("pk_reception_submitters")),
    )
    op.create_table(
        "reception_streams",
        sa.Column("unit", sa.String(9), nullable=False),
        sa.Column("message_type", sa.String(60), nullable=False),
        sa.Column("last_sequence", BIGINT, nullable=False),
        sa.Column("last_extraction", sa.Date(), nullable=True),
        sa.Column("last_received_at", UTCDateTime(), nullable=True),
        sa.Column("messages", BIGINT, nullable=False),
        sa.Column("records", BIGINT, nullable=False),
        sa.Column("missing_days", sa.Integer(), nullable=False),
        sa.Column("lag_seconds", BIGINT, nullable=False),
        sa.PrimaryKeyConstraint("unit", "message_type", name=op.f("pk_reception_streams")),
    )
    op.create_table(
        "reception_messages",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("unit", sa.String(9), nullable=False),
        sa.Column("supplier", sa.String(9), nullable=True),
        sa.Column("client", sa.String(300), nullable=False),
        sa.Column("message_type", sa.String(60), nullable=False),
        sa.Column("message_version", sa.String(10), nullable=False),
        sa.Column("dataset", sa.String(100), nullable=False),
        sa.Column("sequence", BIGINT, nullable=False),
        sa.Column("msg_hash", sa.String(64), nullable=False),
        sa.Column("extraction_date", sa.Date(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("deletions", sa.Integer(), nullable=False),
        sa.Column("software", sa.JSON(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("compacted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reception_messages")),
        sa.UniqueConstraint("unit", "message_type", "sequence", name="uq_reception_messages_stream_sequence"),
    )
    op.create_index("ix_reception_messages_uncompacted", "reception_messages", ["compacted", "received_at"])
    op.create_table(
        "reception_record_keys",
        sa.Column("id", BIGINT, autoincrement=True, nullable=False),
        sa.Column("unit", sa.String(9), nullable=False),
        sa.Column("message_type", sa.String(60), nullable=False),
        sa.Column("local_id", sa.String(64), nullable=False),
        sa.Column("latest_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reception_record_keys")),
        sa.UniqueConstraint("unit", "message_type", "local_id", name="uq_reception_record_keys_local"),
    )
    op.create_table(
        "reception_versions",
        sa.Column("key_id", BIGINT, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(36), nullable=False),
        sa.Column("item", sa.Integer(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["key_id"],
            ["reception_record_keys.id"],
            name=op.f("fk_reception_versions_key_id_reception_record_keys"),
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["reception_messages.id"],
            name=op.f("fk_reception_versions_message_id_reception_messages"),
        ),
        sa.PrimaryKeyConstraint("key_id", "version", name=op.f("pk_reception_versions")),
    )
    op.create_index(op.f("ix_reception_versions_message_id"), "reception_versions", ["message_id"])
    op.create_table(
        "reception_rejections",
        sa.Column("id", BIGINT, autoincrement=True, nullable=False),
        sa.Column("unit", sa.String(9), nullable=False),
        sa.Column("message_type", sa.String(60), nullable=False),
        sa.Column("codes", sa.JSON(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reception_rejections")),
    )
    op.create_index(op.f("ix_reception_rejections_unit"), "reception_rejections", ["unit"])
    op.create_table(
        "reception_watermarks",
        sa.Column("dataset", sa.String(100), nullable=False),
        sa.Column("through", UTCDateTime(), nullable=False),
        sa.Column("compacted_at", UTCDateTime(), nullable=False),
        sa.Column("versions", BIGINT, nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("dataset", name=op.f("pk_reception_watermarks")),
    )


def downgrade() -> None:
    op.drop_table("reception_watermarks")
    op.drop_index(op.f("ix_reception_rejections_unit"), table_name="reception_rejections")
    op.drop_table("reception_rejections")
    op.drop_index(op.f("ix_reception_versions_message_id"), table_name="reception_versions")
    op.drop_table("reception_versions")
    op.drop_table("reception_record_keys")
    op.drop_index("ix_reception_messages_uncompacted", table_name="reception_messages")
    op.drop_table("reception_messages")
    op.drop_table("reception_streams")
    op.drop_table("reception_submitters")
