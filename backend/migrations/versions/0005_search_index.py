"""A trigram index on files.search_name, so a filename search need not read every file.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        # SQLite has no trigram index: its search stays a scan of the owner's files. A plain
        # index of the same name keeps one schema for both databases.
        op.create_index("ix_files_search_name_trgm", "files", ["search_name"])
        return
    # pg_trgm ships with PostgreSQL (and is allowed on RDS); creating it needs the database
    # owner or rds_superuser, which the migrating user is.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_index(
        "ix_files_search_name_trgm",
        "files",
        ["search_name"],
        postgresql_using="gin",
        postgresql_ops={"search_name": "gin_trgm_ops"},
    )


def downgrade() -> None:
    # The extension stays: other schemas in the database may use it too.
    op.drop_index("ix_files_search_name_trgm", table_name="files")
