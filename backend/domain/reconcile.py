"""Reconcile: the bucket and the files table compared both ways, streaming, and repaired.

Both sides are read in binary key order, a page at a time (the bucket's versions listing, and
the table along its "C"-collated key index), and merge-joined, so memory holds a page of each
whatever their size. Each difference is re-checked against the bucket and the row before it
is reported, so an upload or a delete that raced the walk is not taken for one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from backend.db import files as queries
from backend.db import sweeps, usage
from backend.db.engine import transaction
from backend.db.tables import File, utcnow
from backend.domain.bucket import StoredObject, walk
from backend.domain.files import FileService
from backend.domain.records import FileStatus, Mismatch
from backend.settings import Settings
from backend.storage import Storage

ORPHAN = "orphan"
MISSING_OBJECT = "missing object"
MISSING_VERSION = "missing version"
SIZE_DIFFERS = "size differs"
LEFTOVER = "leftover bytes"
USAGE_DIFFERS = "usage differs"
KINDS = (ORPHAN, MISSING_OBJECT, MISSING_VERSION, SIZE_DIFFERS, LEFTOVER, USAGE_DIFFERS)


@dataclass(frozen=True)
class Finding:
    """One difference between bucket and table, and what --fix did about it."""

    kind: str
    key: str
    detail: str
    fixed: bool = False
    outcome: str = ""

    def __str__(self) -> str:
        line = f"{self.kind}: {self.key}: {self.detail}"
        return f"{line}; {self.outcome}" if self.outcome else line


@dataclass
class ReconcileReport:
    """How much was compared and what differed, per kind."""

    objects: int = 0
    rows: int = 0
    owners: int = 0
    found: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    fixed: int = 0

    @property
    def differences(self) -> int:
        """Every difference found, fixed or not."""
        return sum(self.found.values())

    @property
    def clean(self) -> bool:
        """Nothing differs any more: nothing was found, or all of it was fixed."""
        return self.fixed == self.differences

    def summary(self) -> str:
        """The totals, in one line."""
        kinds = ", ".join(f"{count} {kind}" for kind, count in self.found.items())
        return (
            f"compared {self.objects} object(s) with {self.rows} file row(s), and "
            f"{self.owners} owner(s)' quota counters with their files: "
            f"{self.differences} difference(s) ({kinds}); {self.fixed} fixed, "
            f"{self.differences - self.fixed} not fixed"
        )


class Reconciler:
    """Compares the bucket under the key prefix with the files table, and repairs with `fix`.

    Repairs: an orphan object older than any form's lifetime plus the grace is destroyed; a
    ready file whose object, verified version or size is wrong becomes `rejected`, with a
    mismatch saying what (`object`, `version` or `size`), and the sweeper destroys what is left
    under its key; a rejected or expired file's leftover bytes are destroyed; quota counters
    that differ from what the owner's files hold are set to it.
    """

    def __init__(self, engine: sa.Engine, storage: Storage, settings: Settings) -> None:
        self.engine = engine
        self.storage = storage
        self.settings = settings
        self.files = FileService(engine, storage, settings)

    def run(self, *, fix: bool, report: Callable[[Finding], None]) -> ReconcileReport:
        """Walk both sides once; hand each finding to `report` as soon as it is known."""
        totals = ReconcileReport()
        grace = self.settings.sweep.grace_seconds + self.settings.uploads.upload_url_ttl_seconds
        written_before = utcnow() - timedelta(seconds=grace)
        objects, rows = self._objects(), self._rows()
        obj, row = next(objects, None), next(rows, None)
        while obj is not None or row is not None:
            finding: Finding | None = None
            if obj is not None and (row is None or obj.key < row.object_key):
                totals.objects += 1
                finding = self._orphan(obj, written_before, fix=fix)
                obj = next(objects, None)
            elif row is not None and (obj is None or row.object_key < obj.key):
                totals.rows += 1
                finding = self._check_row(row, None, fix=fix)
                row = next(rows, None)
            elif obj is not None and row is not None:  # the same key on both sides
                totals.objects += 1
                totals.rows += 1
                finding = self._check_row(row, obj, fix=fix)
                obj, row = next(objects, None), next(rows, None)
            if finding is not None:
                totals.found[finding.kind] += 1
                totals.fixed += finding.fixed
                report(finding)
        for finding in self._check_usage(totals, fix=fix):
            totals.found[finding.kind] += 1
            totals.fixed += finding.fixed
            report(finding)
        return totals

    def _check_usage(self, totals: ReconcileReport, *, fix: bool) -> Iterator[Finding]:
        """Each owner's quota counters against their files (every prefix), one owner at a time.

        The counters' row is locked first: a transaction changing a file's status changes the
        counters in the same transaction, so while the lock is held the files' sums cannot
        move, and what differs really differs.
        """
        with transaction(self.engine) as session:
            owners = usage.owner_ids(session)
        for owner_id in owners:
            totals.owners += 1
            with transaction(self.engine) as session:
                usage.ensure(session, owner_id)
                row = usage.read(session, owner_id, lock=True)
                counted = usage.count_files(session, owner_id)
                recorded = usage.counts_of(row) if row is not None else None
                if recorded == counted:
                    continue
                detail = f"counters say {_figures(recorded)}, files hold {_figures(counted)}"
                if fix:
                    usage.overwrite(session, owner_id, counted)
            yield Finding(
                USAGE_DIFFERS, f"owner {owner_id}", detail, fixed=fix,
                outcome="counters set from the files" if fix else "",
            )  # fmt: skip

    def _objects(self) -> Iterator[StoredObject]:
        for page in walk(self.storage, self._prefix, self._page):
            yield from page

    def _rows(self) -> Iterator[File]:
        after: str | None = None
        while True:
            with transaction(self.engine) as session:
                page = sweeps.rows_after(session, self._prefix, after, self._page)
            yield from page
            if len(page) < self._page:
                return
            after = page[-1].object_key

    @property
    def _prefix(self) -> str:
        # Files stored under another prefix (before S3_KEY_PREFIX changed) are not compared:
        # their objects are not listed, and they would all look missing.
        return self.settings.storage.key_prefix

    @property
    def _page(self) -> int:
        return self.settings.sweep.page_size

    def _orphan(self, obj: StoredObject, written_before: datetime, *, fix: bool) -> Finding | None:
        with transaction(self.engine) as session:
            if sweeps.keys_with_rows(session, [obj.key]):
                return None  # announced while the walk went on
        detail = f"no file holds this object ({len(obj.versions)} version(s))"
        if not fix:
            return Finding(ORPHAN, obj.key, detail)
        if obj.newest >= written_before:
            return Finding(ORPHAN, obj.key, detail, outcome="kept: a form may still write to it")
        self.storage.purge(obj.key)
        return Finding(ORPHAN, obj.key, detail, fixed=True, outcome="deleted")

    def _check_row(self, row: File, obj: StoredObject | None, *, fix: bool) -> Finding | None:
        problem = _problem(row, obj)
        if problem is None:
            return None
        # Re-read both sides: the walk may have passed this key before an upload landed.
        obj = self._recheck(row.object_key)
        with transaction(self.engine) as session:
            fresh = queries.get(session, row.owner_id, row.id)
        problem = _problem(fresh, obj) if fresh is not None else None
        if problem is None or fresh is None:
            return None
        kind, mismatch = problem
        if not fix:
            return Finding(kind, fresh.object_key, str(mismatch))
        if kind == LEFTOVER:
            self.files.discard_object(fresh)
            return Finding(kind, fresh.object_key, str(mismatch), fixed=True, outcome="deleted")
        with transaction(self.engine) as session:
            marked = queries.transition(
                session, fresh.owner_id, fresh.id, from_status=FileStatus.READY,
                values={
                    "status": FileStatus.REJECTED,
                    "mismatches": [asdict(mismatch)],
                    # Unsettled: the sweeper destroys whatever is left under the key.
                    "settled_at": None,
                },
            )  # fmt: skip
        if marked is None:
            return Finding(kind, fresh.object_key, str(mismatch), outcome="changed meanwhile")
        return Finding(
            kind, fresh.object_key, str(mismatch), fixed=True, outcome="file marked rejected"
        )

    def _recheck(self, key: str) -> StoredObject | None:
        for page in walk(self.storage, key, 1000):
            for obj in page:
                if obj.key == key:
                    return obj
        return None


def _figures(counts: usage.Counts | None) -> str:
    if counts is None:
        return "nothing"
    return (
        f"{counts.bytes_used} bytes in {counts.files_used} file(s) used, "
        f"{counts.bytes_reserved} bytes in {counts.files_reserved} file(s) reserved"
    )


def _problem(row: File, obj: StoredObject | None) -> tuple[str, Mismatch] | None:
    """What is wrong between a row and its key's object, if anything."""
    if row.status in {FileStatus.REJECTED, FileStatus.EXPIRED}:
        return _leftover(row, obj)
    if row.status != FileStatus.READY:
        return None  # pending or deleting: in flight, or the sweeper's to finish
    verified = None
    if obj is not None:
        verified = obj.version(row.version_id) if row.version_id else obj.current
    if verified is None:
        if obj is not None and row.version_id:
            return MISSING_VERSION, Mismatch("version", row.version_id, "missing")
        return MISSING_OBJECT, Mismatch("object", "present", "missing")
    if verified.size != row.size:
        return SIZE_DIFFERS, Mismatch("size", f"{row.size} bytes", f"{verified.size} bytes")
    return None


def _leftover(row: File, obj: StoredObject | None) -> tuple[str, Mismatch] | None:
    """Bytes still under a rejected or expired file's key after the sweeper settled it."""
    if obj is None or row.settled_at is None:
        return None
    return LEFTOVER, Mismatch("object", "none", f"{len(obj.versions)} version(s)")
