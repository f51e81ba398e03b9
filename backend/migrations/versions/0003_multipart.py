"""Multipart uploads: the S3 UploadId, the part size, what was verified, per-part checksums.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("files") as batch:
        batch.add_column(sa.Column("multipart_upload_id", sa.String(1024), nullable=True))
        batch.add_column(sa.Column("part_size", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("integrity", sa.String(16), nullable=True))
        batch.add_column(sa.Column("composite_sha256", sa.String(100), nullable=True))
    op.create_table(
        "upload_parts",
        sa.Column(
            "file_id",
            sa.Uuid(),
            sa.ForeignKey("files.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("part_number", sa.Integer(), primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("upload_parts")
    with op.batch_alter_table("files") as batch:
        batch.drop_column("composite_sha256")
        batch.drop_column("integrity")
        batch.drop_column("part_size")
        batch.drop_column("multipart_upload_id")
