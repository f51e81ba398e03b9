"""Limits: per-owner quota counters (backfilled from the files), scoped and expiring API keys.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from backend.db.tables import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "owner_usage",
        sa.Column(
            "owner_id",
            sa.Uuid(),
            sa.ForeignKey("owners.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("bytes_used", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("files_used", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("bytes_reserved", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("files_reserved", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("bytes_limit", sa.BigInteger(), nullable=True),
        sa.Column("files_limit", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "bytes_used >= 0 AND files_used >= 0 AND bytes_reserved >= 0 AND files_reserved >= 0",
            name="ck_owner_usage_nonnegative",
        ),
    )
    # Every existing owner starts from what their files hold now: pending files are
    # reservations, ready files usage (the same rule the application keeps afterwards).
    op.execute(
        """
        INSERT INTO owner_usage
            (owner_id, bytes_used, files_used, bytes_reserved, files_reserved)
        SELECT owners.id,
               COALESCE(SUM(CASE WHEN files.status = 'ready' THEN files.size END), 0),
               COUNT(CASE WHEN files.status = 'ready' THEN 1 END),
               COALESCE(SUM(CASE WHEN files.status = 'pending' THEN files.size END), 0),
               COUNT(CASE WHEN files.status = 'pending' THEN 1 END)
        FROM owners LEFT JOIN files ON files.owner_id = owners.id
        GROUP BY owners.id
        """
    )
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(
            sa.Column("scope", sa.String(16), nullable=False, server_default="read-write")
        )
        batch.add_column(sa.Column("label", sa.String(200), nullable=True))
        batch.add_column(sa.Column("expires_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("last_used_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("last_used_at")
        batch.drop_column("expires_at")
        batch.drop_column("label")
        batch.drop_column("scope")
    op.drop_table("owner_usage")
