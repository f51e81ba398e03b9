"""Walking the bucket: whole objects in key order, a page at a time, even across pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

from backend.domain.bucket import walk
from backend.storage import Storage, StoredVersion, VersionPage

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def _version(key: str, age: int, *, marker: bool = False) -> StoredVersion:
    return StoredVersion(key, f"{key}-{age}", 5, T0 - timedelta(seconds=age), delete_marker=marker)


class PagedBucket:
    """A bucket whose versions listing is cut into pages of `size` entries, as S3 cuts it."""

    def __init__(self, versions: list[StoredVersion], size: int) -> None:
        self.pages = [versions[i : i + size] for i in range(0, len(versions), size)]
        self.calls: list[tuple[str | None, str | None]] = []

    def list_versions(self, prefix: str, **kwargs: Any) -> VersionPage:
        self.calls.append((kwargs["key_marker"], kwargs["version_marker"]))
        index = len(self.calls) - 1
        page = self.pages[index]
        last = index == len(self.pages) - 1
        return VersionPage(
            page, None if last else page[-1].key, None if last else page[-1].version_id
        )


def test_a_key_whose_versions_span_pages_comes_out_whole_and_in_order() -> None:
    versions = [
        _version("p/a", 0, marker=True), _version("p/a", 1), _version("p/a", 2),
        _version("p/b", 0),
        _version("p/c", 3), _version("p/c", 4),
    ]  # fmt: skip
    bucket = PagedBucket(versions, size=2)

    pages = list(walk(cast(Storage, bucket), "p/", 2))

    objects = [obj for page in pages for obj in page]
    assert [(o.key, len(o.versions)) for o in objects] == [("p/a", 3), ("p/b", 1), ("p/c", 2)]
    assert objects[0].current is None  # its newest entry is a delete marker
    assert objects[0].version("p/a-2") is not None and objects[0].newest == T0
    assert bucket.calls == [(None, None), ("p/a", "p/a-1"), ("p/b", "p/b-0")]
    assert len(pages) == 2  # p/a waited for its last version on the second page


def test_an_empty_bucket_yields_nothing() -> None:
    bucket = PagedBucket([], size=2)
    bucket.pages = [[]]

    assert list(walk(cast(Storage, bucket), "p/", 2)) == []
