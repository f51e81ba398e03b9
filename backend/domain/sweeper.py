"""The sweeper: finishes what uploads and deletes left half-done, so nothing is left behind.

One pass does four things, each in batches of SWEEP_BATCH_SIZE rows claimed with row locks
(FOR UPDATE SKIP LOCKED), so sweepers on several instances take different rows and each row is
handled once. A batch's S3 calls happen while its locks are held: a confirm racing the sweeper
waits, then sees the sweeper's verdict.

1. Pending files whose form expired more than SWEEP_GRACE_SECONDS ago are decided as confirm
   would decide them (ready or rejected), or `expired` when nothing arrived.
2. Files left `deleting` for over a minute (a crash or an outage mid-delete) are deleted.
3. Decided files whose forms can no longer add versions are settled: a ready file keeps only
   its verified version (which makes it current again if a reused form overwrote it); a
   rejected or expired file loses every version. Step 1 commits before this step destroys
   anything, so a crash in between leaves a row that says what to destroy.
4. Objects under the prefix that no row holds (a form reused after its file was deleted) are
   destroyed once no form can still write to them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

import sqlalchemy as sa

from backend.db import files as queries
from backend.db import idempotency, sweeps
from backend.db.engine import transaction
from backend.db.tables import File, utcnow
from backend.domain.bucket import walk
from backend.domain.files import FileService
from backend.domain.multipart import MultipartService, plan_of
from backend.domain.records import FileStatus
from backend.domain.uploads import IDEMPOTENCY_WINDOW, decide
from backend.errors import PartsInvalid, PartsMissing
from backend.settings import Settings
from backend.storage import ObjectFacts, Storage

logger = logging.getLogger("backend.sweeper")

# A delete normally finishes within seconds; one still `deleting` after this was interrupted.
STALLED_DELETE = timedelta(minutes=1)

_SETTLED_STATES = (FileStatus.READY, FileStatus.REJECTED, FileStatus.EXPIRED)


@dataclass
class SweepReport:
    """What one pass did, per kind of work."""

    confirmed: int = 0
    rejected: int = 0
    expired: int = 0
    deletes_finished: int = 0
    ready_settled: int = 0
    versions_pruned: int = 0
    bytes_discarded: int = 0
    orphans_deleted: int = 0
    idempotency_keys_forgotten: int = 0

    def lines(self) -> list[str]:
        """One human line per kind of work."""
        return [
            f"{self.confirmed} expired upload(s) confirmed: their bytes had arrived",
            f"{self.rejected} expired upload(s) rejected: their bytes differed",
            f"{self.expired} upload(s) expired with nothing sent",
            f"{self.deletes_finished} interrupted delete(s) finished",
            f"{self.ready_settled} ready file(s) settled, {self.versions_pruned} extra "
            "version(s) pruned",
            f"{self.bytes_discarded} rejected or expired file(s) had their bytes destroyed",
            f"{self.orphans_deleted} object(s) without a file deleted",
            f"{self.idempotency_keys_forgotten} idempotency key(s) older than a day forgotten",
        ]

    @property
    def total(self) -> int:
        """How many things the pass changed."""
        return sum(getattr(self, f.name) for f in fields(self))


class Sweeper:
    """One sweep over the database and the bucket; safe to run on several instances at once."""

    def __init__(self, engine: sa.Engine, storage: Storage, settings: Settings) -> None:
        self.engine = engine
        self.storage = storage
        self.settings = settings
        self.files = FileService(engine, storage, settings)
        self.multipart = MultipartService(engine, storage, settings)

    def sweep(self) -> SweepReport:
        """Run every step once, in bounded batches, and say what was done."""
        report = SweepReport()
        now = utcnow()
        cutoff = now - timedelta(seconds=self.settings.sweep.grace_seconds)
        self._decide_pending(report, cutoff)
        self._finish_deletes(report, now - STALLED_DELETE)
        self._settle(report, cutoff)
        form_lifetime = self.settings.uploads.upload_url_ttl_seconds
        self._delete_orphans(report, cutoff - timedelta(seconds=form_lifetime))
        self._forget_idempotency_keys(report, now - IDEMPOTENCY_WINDOW)
        return report

    def _forget_idempotency_keys(self, report: SweepReport, cutoff: datetime) -> None:
        limit = self.settings.sweep.batch_size
        while True:
            with transaction(self.engine) as session:
                forgotten = idempotency.forget_before(session, cutoff, limit=limit)
            report.idempotency_keys_forgotten += forgotten
            if forgotten < limit:
                return

    def _decide_pending(self, report: SweepReport, cutoff: datetime) -> None:
        limit = self.settings.sweep.batch_size
        while True:
            decided = {FileStatus.READY: 0, FileStatus.REJECTED: 0, FileStatus.EXPIRED: 0}
            with transaction(self.engine) as session:
                batch = sweeps.claim_unsettled(
                    session, [FileStatus.PENDING], expired_before=cutoff, limit=limit
                )
                for file in batch:
                    values = decide(file, *self._arrived(file))
                    moved = queries.transition(
                        session, file.owner_id, file.id,
                        from_status=FileStatus.PENDING, values=values,
                    )  # fmt: skip
                    decided[FileStatus(str(values["status"]))] += moved is not None
            # Committed: the rejections and expiries are recorded before step 3 destroys bytes.
            report.confirmed += decided[FileStatus.READY]
            report.rejected += decided[FileStatus.REJECTED]
            report.expired += decided[FileStatus.EXPIRED]
            if batch:
                logger.info(
                    "sweep: decided %d expired upload(s): %d ready, %d rejected, %d expired",
                    len(batch), decided[FileStatus.READY], decided[FileStatus.REJECTED],
                    decided[FileStatus.EXPIRED],
                )  # fmt: skip
            if len(batch) < limit:
                return

    def _arrived(self, file: File) -> tuple[ObjectFacts | None, str | None]:
        """What the bucket holds for a pending file, and the composite checksum to expect.

        A multipart upload whose parts all arrived is assembled, as confirm would; one that
        lacks parts (or that S3 already dropped) counts as nothing arrived: it expires, and
        discarding it aborts the upload.
        """
        plan = plan_of(file)
        if plan is None:
            return self.storage.head(file.object_key), None
        try:
            composite = self.multipart.assemble(file, plan)
        except (PartsMissing, PartsInvalid):
            return None, None
        return self.storage.head(file.object_key), composite

    def _finish_deletes(self, report: SweepReport, since_before: datetime) -> None:
        limit = self.settings.sweep.batch_size
        while True:
            with transaction(self.engine) as session:
                batch = sweeps.claim_deleting(session, since_before=since_before, limit=limit)
                for file in batch:
                    self.files.discard_object(file)
                    queries.delete(session, file.owner_id, file.id)
            report.deletes_finished += len(batch)
            if batch:
                logger.info("sweep: finished %d interrupted delete(s)", len(batch))
            if len(batch) < limit:
                return

    def _settle(self, report: SweepReport, cutoff: datetime) -> None:
        limit = self.settings.sweep.batch_size
        while True:
            ready = pruned = discarded = 0
            with transaction(self.engine) as session:
                batch = sweeps.claim_unsettled(
                    session, _SETTLED_STATES, expired_before=cutoff, limit=limit
                )
                for file in batch:
                    if file.status != FileStatus.READY:
                        self.files.discard_object(file)
                        discarded += 1
                    else:
                        ready += 1
                        # Without a recorded version (an unversioned bucket) there is no way
                        # to tell the verified bytes from later ones: leave them.
                        if file.version_id:
                            pruned += self.storage.prune(file.object_key, file.version_id)
                    sweeps.settle(session, file.id, utcnow())
            report.ready_settled += ready
            report.versions_pruned += pruned
            report.bytes_discarded += discarded
            if batch:
                logger.info(
                    "sweep: settled %d file(s): %d ready (%d extra version(s) pruned), "
                    "%d rejected or expired (bytes destroyed)",
                    len(batch), ready, pruned, discarded,
                )  # fmt: skip
            if len(batch) < limit:
                return

    def _delete_orphans(self, report: SweepReport, written_before: datetime) -> None:
        prefix = self.settings.storage.key_prefix
        for objects in walk(self.storage, prefix, self.settings.sweep.page_size):
            with transaction(self.engine) as session:
                held = sweeps.keys_with_rows(session, [o.key for o in objects])
            # Keys are never reused (each holds a fresh file id), so a key without a row now
            # never gets one; waiting out the longest form lifetime means no form still
            # writes to it.
            doomed = [o for o in objects if o.key not in held and o.newest < written_before]
            for orphan in doomed:
                self.storage.purge(orphan.key)
            report.orphans_deleted += len(doomed)
            if doomed:
                logger.info(
                    "sweep: deleted %d object(s) without a file, of %d listed",
                    len(doomed), len(objects),
                )  # fmt: skip
