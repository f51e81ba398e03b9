"""The table lists object keys in S3's order (binary), whatever the database's collation."""

from __future__ import annotations

import uuid
from datetime import timedelta

import sqlalchemy as sa

from backend.db import sweeps
from backend.db.engine import transaction
from backend.db.tables import File, Owner, utcnow

# Case, punctuation and accents: a linguistic collation orders these differently from bytes.
KEYS = ["u/B", "u/a", "u/a-b", "u/a/b", "u/aB", "u/ab", "u/A", "u/é", "u/e", "u/Z", "u/_", "u/~"]
# Keys under neighbouring prefixes, which a listing of "u/" must leave out.
OTHERS = ["t/z", "u", "u.", "u0", "v/a"]


def test_rows_come_in_binary_key_order_page_after_page(engine: sa.Engine) -> None:
    now = utcnow()
    owner = Owner(name="alice")
    with transaction(engine) as session:
        session.add(owner)
        session.flush()
        for key in KEYS + OTHERS:
            session.add(
                File(
                    owner_id=owner.id, object_key=key, filename="f", search_name="f",
                    content_type="text/plain", size=1, status="ready", id=uuid.uuid4(),
                    upload_expires_at=now + timedelta(minutes=5),
                )
            )  # fmt: skip

    listed: list[str] = []
    after = None
    while True:
        with transaction(engine) as session:
            page = sweeps.rows_after(session, "u/", after, 5)
        listed += [file.object_key for file in page]
        if len(page) < 5:
            break
        after = page[-1].object_key

    assert listed == sorted(KEYS, key=lambda key: key.encode())
    with transaction(engine) as session:
        assert [f.object_key for f in sweeps.rows_after(session, "v/", None, 5)] == ["v/a"]
