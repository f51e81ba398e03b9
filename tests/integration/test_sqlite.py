"""The embedded default database: the same code and migrations run the whole flow on SQLite."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from mypy_boto3_s3 import S3Client

from backend.db import migrate
from backend.db.engine import create_engine
from backend.domain.keys import KeyService
from backend.settings import Settings
from tests.configuration import replace_settings
from tests.integration.api import Api, announce


@pytest.fixture
def sqlite_api(
    tmp_path: Path, settings: Settings, make_app: Callable[[Settings], Litestar]
) -> Iterator[Api]:
    sqlite = replace_settings(settings, database_url=f"sqlite:///{tmp_path / 'db.sqlite'}")
    engine = create_engine(sqlite)
    migrate.upgrade(engine)
    key = KeyService(engine).create("alice").key
    engine.dispose()
    with TestClient(make_app(sqlite)) as http:
        yield Api(http, key)


def test_upload_list_download_delete_on_sqlite(sqlite_api: Api) -> None:
    files = [sqlite_api.upload(f"body {i}".encode(), filename=f"Ünïcode {i}.txt") for i in range(3)]

    pages, cursor = [], None
    while True:
        params = {"limit": 2, "q": "ÜNÏCODE", **({"cursor": cursor} if cursor else {})}
        body = sqlite_api.request("GET", "/files", params=params).json()
        pages.append([item["file_id"] for item in body["items"]])
        if not (cursor := body["next_cursor"]):
            break
    assert [file_id for page in pages for file_id in page] == [
        f["file_id"] for f in reversed(files)
    ]

    url = sqlite_api.request("GET", f"/files/{files[0]['file_id']}/download").json()["url"]
    assert httpx.get(url).content == b"body 0"
    assert sqlite_api.request("DELETE", f"/files/{files[0]['file_id']}").status_code == 204
    assert sqlite_api.request("GET", f"/files/{files[0]['file_id']}").status_code == 404


def test_quota_counters_follow_each_decision_on_sqlite(
    sqlite_api: Api, settings: Settings, s3: S3Client
) -> None:
    """SQLite moves a file and its counters in two statements of one transaction."""

    def usage() -> tuple[int, int, int, int]:
        figures = sqlite_api.request("GET", "/me").json()["usage"]
        return (figures["bytes_used"], figures["files_used"],
                figures["bytes_reserved"], figures["files_reserved"])  # fmt: skip

    ready = sqlite_api.upload(b"12345")
    pending = announce(sqlite_api, b"0123456789")
    assert usage() == (5, 1, 10, 1)

    s3.put_object(Bucket=settings.storage.bucket, Key=pending["upload"]["fields"]["key"],
                  Body=b"9876543210", ContentType="text/plain")  # fmt: skip
    rejected = sqlite_api.request("POST", f"/files/{pending['file_id']}/confirm")
    assert rejected.json()["code"] == "upload_rejected"
    assert usage() == (5, 1, 0, 0)

    assert sqlite_api.request("DELETE", f"/files/{ready['file_id']}").status_code == 204
    assert usage() == (0, 0, 0, 0)
