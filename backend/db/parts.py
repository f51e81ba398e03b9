"""Queries on upload_parts: the SHA-256 each part of a multipart file was signed with. None commits.

Callers reach these rows only through a file they already found by owner.
"""

from __future__ import annotations

import uuid

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from backend.db.tables import UploadPart


def record(session: Session, file_id: uuid.UUID, sha256_by_part: dict[int, str]) -> None:
    """Remember each part's SHA-256, replacing what an earlier signing recorded."""
    if not sha256_by_part:
        return
    rows = [
        {"file_id": file_id, "part_number": number, "sha256": digest}
        for number, digest in sha256_by_part.items()
    ]
    # An upsert, so two clients signing the same part at once cannot collide on the key.
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    insert = dialect.insert(UploadPart).values(rows)
    session.execute(
        insert.on_conflict_do_update(
            index_elements=["file_id", "part_number"], set_={"sha256": insert.excluded.sha256}
        )
    )


def checksums(session: Session, file_id: uuid.UUID) -> dict[int, str]:
    """Part number -> the SHA-256 it was last signed with."""
    rows = session.exec(select(UploadPart).where(UploadPart.file_id == file_id)).all()
    return {row.part_number: row.sha256 for row in rows}
