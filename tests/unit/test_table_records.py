"""`record_of`: the cheap way to build a File for the hot paths holds what File(...) holds."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from backend.db.tables import File, record_of, utcnow


def _values() -> dict[str, object]:
    now = utcnow()
    return {
        "id": uuid.uuid4(),
        "owner_id": uuid.uuid4(),
        "object_key": "uploads/o/f",
        "filename": "Report.PDF",
        "search_name": "report.pdf",
        "content_type": "application/pdf",
        "size": 1234,
        "sha256": "ab" * 32,
        "status": "pending",
        "created_at": now,
        "upload_expires_at": now + timedelta(minutes=15),
        "part_size": 8 << 20,
    }


def test_a_record_holds_every_column_as_the_model_would() -> None:
    values = _values()
    built, constructed = record_of(File, values), File(**values)  # type: ignore[arg-type]
    assert built.model_dump() == constructed.model_dump()
    assert built.etag is None and built.part_size == 8 << 20


def test_a_record_refuses_an_unknown_column() -> None:
    with pytest.raises(TypeError, match="unknown columns \\['sizes'\\]"):
        record_of(File, {**_values(), "sizes": 1})


def test_a_record_refuses_to_leave_out_a_column_a_row_needs() -> None:
    values = _values()
    del values["upload_expires_at"]
    with pytest.raises(TypeError, match="missing \\['upload_expires_at'\\]"):
        record_of(File, values)
