"""Listing: newest first, keyset pages with an opaque cursor, filters, and the index behind it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from backend.db import files as queries
from backend.db.tables import File
from backend.domain.keys import KeyService
from backend.domain.records import FileStatus
from tests.integration.api import Api

BASE = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def seed(engine: sa.Engine, api: Api) -> Callable[..., list[File]]:
    """Insert files for alice directly (listing reads only the database)."""
    owner_id = KeyService(engine).authenticate(api.key)

    def insert(
        names: list[str],
        *,
        status: str = "ready",
        same_time: bool = False,
        start: timedelta = timedelta(0),
    ) -> list[File]:
        rows = []
        with Session(engine, expire_on_commit=False) as session:
            for index, name in enumerate(names):
                file_id = uuid.uuid4()
                created = BASE + start + (timedelta(0) if same_time else timedelta(seconds=index))
                row = File(
                    id=file_id,
                    owner_id=owner_id,
                    object_key=f"uploads/{owner_id}/{file_id}",
                    filename=name,
                    search_name=name.casefold(),
                    content_type="text/plain",
                    size=1,
                    status=status,
                    created_at=created,
                    upload_expires_at=created + timedelta(minutes=10),
                )
                session.add(row)
                rows.append(row)
            session.commit()
        return rows

    return insert


def _walk(api: Api, **params: object) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        body = api.request("GET", "/files", params=query).json()
        pages.append([item["file_id"] for item in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


def test_pages_are_newest_first_without_gaps_or_repeats(
    api: Api, seed: Callable[..., list[File]]
) -> None:
    rows = seed([f"file-{i}.txt" for i in range(7)])
    pages = _walk(api, limit=3)
    expected = [str(row.id) for row in sorted(rows, key=lambda r: r.created_at, reverse=True)]
    assert [len(page) for page in pages] == [3, 3, 1]
    assert [file_id for page in pages for file_id in page] == expected


def test_pages_follow_the_cursor_while_files_come_and_go_between_requests(
    api: Api, seed: Callable[..., list[File]]
) -> None:
    t0, t1, t2, t3, t4, t5 = seed([f"old-{i}.txt" for i in range(6)])
    first = api.request("GET", "/files", params={"limit": 3}).json()
    assert [item["file_id"] for item in first["items"]] == [str(t5.id), str(t4.id), str(t3.id)]

    # Between the two requests: two newer uploads, one older one, a seen and an unseen delete.
    seed(["new-1.txt", "new-2.txt"], start=timedelta(hours=1))
    (older,) = seed(["older.txt"], start=timedelta(seconds=2.5))
    for gone in (t4, t1):
        assert api.request("DELETE", f"/files/{gone.id}").status_code == 204

    second = api.request(
        "GET", "/files", params={"limit": 3, "cursor": first["next_cursor"]}
    ).json()
    # Exactly what is older than the last file seen, as it stands now. A position-based
    # (OFFSET) page would repeat t3 here, because two files arrived ahead of it.
    assert [item["file_id"] for item in second["items"]] == [
        str(older.id),
        str(t2.id),
        str(t0.id),
    ]
    assert second["next_cursor"] is None


def test_files_created_in_the_same_instant_are_ordered_by_id_across_pages(
    api: Api, seed: Callable[..., list[File]]
) -> None:
    rows = seed([f"tie-{i}.txt" for i in range(5)], same_time=True)
    pages = _walk(api, limit=2)
    flat = [file_id for page in pages for file_id in page]
    assert flat == sorted((str(row.id) for row in rows), key=uuid.UUID, reverse=True)


def test_a_page_of_exactly_limit_items_has_no_next_cursor(
    api: Api, seed: Callable[..., list[File]]
) -> None:
    seed(["a.txt", "b.txt"])
    body = api.request("GET", "/files", params={"limit": 2}).json()
    assert len(body["items"]) == 2
    assert body["next_cursor"] is None


def test_default_limit_is_50(api: Api, seed: Callable[..., list[File]]) -> None:
    seed([f"n{i}.txt" for i in range(51)])
    body = api.request("GET", "/files").json()
    assert len(body["items"]) == 50
    assert body["next_cursor"] is not None


def test_status_filter_defaults_to_ready(api: Api, seed: Callable[..., list[File]]) -> None:
    ready = seed(["ready.txt"])
    pending = seed(["pending.txt"], status=FileStatus.PENDING)

    def listed(**params: str) -> list[str]:
        items = api.request("GET", "/files", params=params).json()["items"]
        return [item["file_id"] for item in items]

    assert listed() == [str(ready[0].id)]
    assert listed(status="pending") == [str(pending[0].id)]
    assert listed(status="rejected") == []


@pytest.mark.parametrize(
    ("q", "matches"),
    [
        ("REPORT", {"Annual Report.pdf", "report_2024.txt", "report-2024.txt"}),
        ("_2024", {"report_2024.txt"}),  # _ is a literal, not a wildcard
        ("100%", {"100% done.txt"}),  # so is %
        ("ü", {"Grüße.txt"}),
        ("u\u0308", {"Grüße.txt"}),  # typed decomposed (NFD), stored composed (NFC)
        ("nothing", set()),
    ],
)
def test_q_is_a_case_insensitive_literal_substring(
    api: Api, seed: Callable[..., list[File]], q: str, matches: set[str]
) -> None:
    seed(["Annual Report.pdf", "report_2024.txt", "report-2024.txt", "100% done.txt", "Grüße.txt"])
    items = api.request("GET", "/files", params={"q": q}).json()["items"]
    assert {item["filename"] for item in items} == matches


def test_the_listing_query_is_served_by_its_index(engine: sa.Engine) -> None:
    query, parameters = queries.page_query(
        uuid.uuid4(),
        status="ready",
        limit=51,
        after=(BASE, uuid.uuid4()),
        name_contains=None,
    )
    compiled = query.params(parameters).compile(
        dialect=engine.dialect, compile_kwargs={"literal_binds": True}
    )
    with engine.connect() as connection:
        connection.execute(sa.text("SET enable_seqscan = off"))
        plan = "\n".join(row[0] for row in connection.execute(sa.text(f"EXPLAIN {compiled}")))
    assert "ix_files_owner_status_created" in plan
    assert "Sort" not in plan  # the index order is the answer's order


def test_a_rare_q_is_found_through_the_trigram_index_not_by_reading_every_file(
    engine: sa.Engine, make_key: Callable[[str], str]
) -> None:
    owner_id = KeyService(engine).authenticate(make_key("alice"))
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO files (id, owner_id, object_key, filename, search_name, content_type,"
                " size, status, created_at, upload_expires_at)"
                " SELECT gen_random_uuid(), :owner, 'k/' || n, name, name, 'image/jpeg', 1,"
                " 'ready', now() - make_interval(secs => n), now()"
                " FROM generate_series(1, 20000) AS n, LATERAL (SELECT 'photo-' || n AS name) AS f"
            ),
            {"owner": owner_id},
        )
        connection.execute(sa.text("ANALYZE files"))
    query, parameters = queries.page_query(
        owner_id, status="ready", limit=51, after=None, name_contains="needle"
    )
    compiled = query.params(parameters).compile(
        dialect=engine.dialect, compile_kwargs={"literal_binds": True}
    )
    with engine.connect() as connection:
        plan = "\n".join(row[0] for row in connection.execute(sa.text(f"EXPLAIN {compiled}")))
    assert "ix_files_search_name_trgm" in plan
