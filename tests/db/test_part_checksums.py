"""Part checksums: signing a part again replaces its SHA-256; deleting the file drops them all."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from backend.db import files, migrate, parts
from backend.db.engine import create_engine, transaction
from backend.db.tables import File, Owner, utcnow
from tests.configuration import settings_from


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = create_engine(
        settings_from(database_url=f"sqlite:///{tmp_path / 'stowage.db'}", s3_bucket="b")
    )
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=["postgresql", "sqlite"])
def any_engine(request: pytest.FixtureRequest) -> sa.Engine:
    name = "engine" if request.param == "postgresql" else "sqlite_engine"
    found: sa.Engine = request.getfixturevalue(name)
    return found


def _file(engine: sa.Engine) -> tuple[uuid.UUID, uuid.UUID]:
    owner = Owner(name=f"o-{uuid.uuid4().hex[:8]}")
    file_id = uuid.uuid4()
    with transaction(engine) as session:
        session.add(owner)
        session.flush()
        session.add(
            File(id=file_id, owner_id=owner.id, object_key=f"k/{file_id}", filename="f",
                 search_name="f", content_type="text/plain", size=1, status="pending",
                 upload_expires_at=utcnow())
        )  # fmt: skip
    return owner.id, file_id


def test_signing_a_part_again_replaces_its_sha256(any_engine: sa.Engine) -> None:
    _owner, file_id = _file(any_engine)
    with transaction(any_engine) as session:
        parts.record(session, file_id, {1: "a" * 64, 2: "b" * 64})
    with transaction(any_engine) as session:
        parts.record(session, file_id, {2: "c" * 64, 3: "d" * 64})
    with transaction(any_engine) as session:
        assert parts.checksums(session, file_id) == {1: "a" * 64, 2: "c" * 64, 3: "d" * 64}


def test_deleting_the_file_drops_its_part_checksums(any_engine: sa.Engine) -> None:
    owner_id, file_id = _file(any_engine)
    _other_owner, other_id = _file(any_engine)
    with transaction(any_engine) as session:
        parts.record(session, file_id, {1: "a" * 64})
        parts.record(session, other_id, {1: "b" * 64})
    with transaction(any_engine) as session:
        assert not files.delete(session, owner_id, other_id)  # not this owner's file
        assert files.delete(session, owner_id, file_id)
    with transaction(any_engine) as session:
        assert parts.checksums(session, file_id) == {}
        assert parts.checksums(session, other_id) == {1: "b" * 64}
