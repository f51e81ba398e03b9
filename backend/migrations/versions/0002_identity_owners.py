"""Owners for identity providers' users: (issuer, subject) instead of a name.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ONE_KIND = (
    "(name IS NOT NULL AND issuer IS NULL AND subject IS NULL)"
    " OR (name IS NULL AND issuer IS NOT NULL AND subject IS NOT NULL)"
)


def upgrade() -> None:
    with _foreign_keys_off_on_sqlite(), op.batch_alter_table("owners") as batch:
        batch.add_column(sa.Column("issuer", sa.String(1024), nullable=True))
        batch.add_column(sa.Column("subject", sa.String(255), nullable=True))
        batch.alter_column("name", existing_type=sa.String(200), nullable=True)
        batch.create_check_constraint("ck_owners_named_or_identified", _ONE_KIND)
    op.create_index("ix_owners_issuer_subject", "owners", ["issuer", "subject"], unique=True)


def downgrade() -> None:
    # Users' owners have no name to go back to: downgrading with any of them left fails on
    # the NOT NULL, rather than silently deleting their files' owner.
    op.drop_index("ix_owners_issuer_subject", table_name="owners")
    with _foreign_keys_off_on_sqlite(), op.batch_alter_table("owners") as batch:
        batch.drop_constraint("ck_owners_named_or_identified", type_="check")
        batch.alter_column("name", existing_type=sa.String(200), nullable=False)
        batch.drop_column("subject")
        batch.drop_column("issuer")


@contextmanager
def _foreign_keys_off_on_sqlite() -> Iterator[None]:
    """SQLite changes a table by rebuilding it; dropping the old one must not trip the keys
    api_keys and files hold on it (they point at the rebuilt table by name)."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        if sqlite:
            op.execute("PRAGMA foreign_keys=ON")
