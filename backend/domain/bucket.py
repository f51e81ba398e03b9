"""The bucket as a stream of objects, each with all its versions, one listing page at a time.

Sweep and reconcile walk every key under the prefix; a million objects must never be held at
once, so each page is handed over as soon as it is complete and then forgotten.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from backend.storage import Storage, StoredVersion


@dataclass(frozen=True)
class StoredObject:
    """One key in the bucket and every version and delete marker it holds, newest first."""

    key: str
    versions: list[StoredVersion]

    @property
    def newest(self) -> datetime:
        """When the latest version or delete marker was written."""
        return max(v.last_modified for v in self.versions)

    @property
    def current(self) -> StoredVersion | None:
        """The version a plain GET returns, or None when the newest entry is a delete marker."""
        newest = self.versions[0]
        return None if newest.delete_marker else newest

    def version(self, version_id: str) -> StoredVersion | None:
        """The version with this id (not a delete marker), or None."""
        for version in self.versions:
            if version.version_id == version_id and not version.delete_marker:
                return version
        return None


def walk(storage: Storage, prefix: str, page_size: int) -> Iterator[list[StoredObject]]:
    """The objects under `prefix` in key (binary) order, one listing page's worth at a time.

    A key whose versions run on into the next page is held back until it is complete.
    """
    key_marker: str | None = None
    version_marker: str | None = None
    held: list[StoredVersion] = []
    while True:
        page = storage.list_versions(
            prefix, key_marker=key_marker, version_marker=version_marker, max_keys=page_size
        )
        entries = held + page.versions
        done = page.next_key_marker is None
        last_key = entries[-1].key if entries and not done else None
        held = [v for v in entries if v.key == last_key]
        objects = _group([v for v in entries if v.key != last_key])
        if objects:
            yield objects
        if done:
            return
        key_marker, version_marker = page.next_key_marker, page.next_version_marker


def _group(versions: list[StoredVersion]) -> list[StoredObject]:
    objects: list[StoredObject] = []
    for version in versions:
        if objects and objects[-1].key == version.key:
            objects[-1].versions.append(version)
        else:
            objects.append(StoredObject(version.key, [version]))
    return objects
