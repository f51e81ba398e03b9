"""The sweeper: an `expired` status, when a file's bucket side was settled, when a delete began.

Object keys also take binary ("C") order on PostgreSQL, the order S3 lists them in, so that
reconcile can merge-join the bucket and the table along the unique index.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from backend.db.tables import UTCDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATUSES = "'pending', 'ready', 'rejected', 'expired', 'deleting'"
_OLD_STATUSES = "'pending', 'ready', 'rejected', 'deleting'"


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("files") as batch:
        batch.add_column(sa.Column("settled_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("deleting_since", UTCDateTime(), nullable=True))
        batch.drop_constraint("ck_files_status_known", type_="check")
        batch.create_check_constraint("ck_files_status_known", f"status IN ({_STATUSES})")
        if postgresql:
            batch.alter_column(
                "object_key",
                type_=sa.String(1024, collation="C"),
                existing_type=sa.String(1024),
                existing_nullable=False,
            )
    # Files decided before the sweeper existed: settle them anew, once their forms expire.
    where = sa.text("settled_at IS NULL")
    op.create_index(
        "ix_files_unsettled",
        "files",
        ["status", "upload_expires_at"],
        postgresql_where=where,
        sqlite_where=where,
    )
    deleting = sa.text("status = 'deleting'")
    op.create_index(
        "ix_files_deleting",
        "files",
        ["deleting_since"],
        postgresql_where=deleting,
        sqlite_where=deleting,
    )


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.drop_index("ix_files_deleting", table_name="files")
    op.drop_index("ix_files_unsettled", table_name="files")
    # The old schema has no `expired`: such files' bytes are gone, as a rejected file's are.
    op.execute("UPDATE files SET status = 'rejected' WHERE status = 'expired'")
    with op.batch_alter_table("files") as batch:
        if postgresql:
            batch.alter_column(
                "object_key",
                type_=sa.String(1024),
                existing_type=sa.String(1024, collation="C"),
                existing_nullable=False,
            )
        batch.drop_constraint("ck_files_status_known", type_="check")
        batch.create_check_constraint("ck_files_status_known", f"status IN ({_OLD_STATUSES})")
        batch.drop_column("deleting_since")
        batch.drop_column("settled_at")
