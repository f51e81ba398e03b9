"""The upload's life: announce a file, sign the form for its bytes, verify what arrived."""

from __future__ import annotations

import contextlib
import hashlib
import json
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Literal

import sqlalchemy as sa

from backend.db import files as queries
from backend.db import idempotency
from backend.db.engine import one_step, transaction
from backend.db.tables import File, record_of, utcnow
from backend.domain import quotas
from backend.domain.content_types import normalize_content_type, require_allowed
from backend.domain.events import UNHEARD, UploadEvents
from backend.domain.filenames import normalize_filename
from backend.domain.files import FileService
from backend.domain.multipart import MultipartService, plan_of
from backend.domain.part_sizes import PartPlan
from backend.domain.records import (
    FileStatus,
    Integrity,
    Mismatch,
    find_file,
    recorded_mismatches,
)
from backend.errors import (
    IdempotencyKeyReused,
    IdempotencyKeyUsed,
    InvalidInput,
    NotFound,
    ObjectMissing,
    TooLarge,
    UploadExpired,
    UploadGone,
)
from backend.settings import Settings
from backend.storage import ObjectFacts, PresignedPost, PresignedPut, Storage, sha256_b64_to_hex

# How long an Idempotency-Key keeps answering with the same file.
IDEMPOTENCY_WINDOW = timedelta(days=1)


@dataclass(frozen=True)
class UploadTicket:
    """A pending file and the presigned request that lets its owner send the bytes.

    POST: send `fields` and then the file as a form to `url`. PUT: send the file as the body
    to `url` with exactly `headers`.
    """

    file: File
    method: Literal["POST", "PUT"]
    url: str
    fields: dict[str, str]
    headers: dict[str, str]
    expires_at: datetime
    # Multipart: how to cut the file (parts are signed later, with /files/{id}/parts).
    plan: PartPlan | None = None


@dataclass(frozen=True)
class Verdict:
    """The outcome of a confirm: the file as it now stands, and what differed if it was rejected."""

    file: File
    mismatches: list[Mismatch]

    @property
    def rejected(self) -> bool:
        """True when the object did not match its declaration."""
        return self.file.status == FileStatus.REJECTED


class UploadService:
    """Announcing and confirming uploads, over the database and the bucket.

    Each step is its own short transaction (backend.db.engine's `transaction` or
    `core_transaction`), or a single statement (`single_statement`), so no database
    connection is held while S3 answers.
    """

    def __init__(
        self,
        engine: sa.Engine,
        storage: Storage,
        settings: Settings,
        events: UploadEvents = UNHEARD,
    ) -> None:
        self.engine = engine
        self.storage = storage
        self.settings = settings
        self.events = events
        # The services this one hands work to, made once rather than per call.
        self.files = FileService(engine, storage, settings)
        self.multipart = MultipartService(engine, storage, settings)

    def request_upload(
        self,
        owner_id: uuid.UUID,
        *,
        filename: str,
        content_type: str,
        size: int,
        sha256: str | None,
        method: Literal["POST", "PUT"] = "POST",
        multipart: bool | None = None,
        idempotency_key: str | None = None,
    ) -> UploadTicket:
        """Announce a file (see `_announce`); with an idempotency key, at most once a day.

        A retry with the same key and the same request gets the same file back with a fresh
        form; the same key with another request is refused. Concurrent retries race on the
        key's row: the loser's file is discarded and the winner's is answered.
        """

        def announce() -> UploadTicket:
            return self._announce(owner_id, filename=filename, content_type=content_type,
                                  size=size, sha256=sha256, method=method,
                                  multipart=multipart)  # fmt: skip

        if idempotency_key is None:
            return announce()
        digest = _digest([filename, content_type, size, sha256, method, multipart])
        replayed = self._replay(owner_id, idempotency_key, digest, method)
        if replayed is not None:
            return replayed
        ticket = announce()
        now = utcnow()
        with transaction(self.engine) as session:
            won = idempotency.claim(session, owner_id, idempotency_key, digest=digest,
                                    file_id=ticket.file.id, now=now,
                                    stale_before=now - IDEMPOTENCY_WINDOW)  # fmt: skip
        if won:
            return ticket
        self._discard_duplicate(ticket.file)
        replayed = self._replay(owner_id, idempotency_key, digest, method)
        if replayed is None:  # the winner's file was deleted meanwhile
            raise IdempotencyKeyUsed("The upload made with this Idempotency-Key is gone.")
        return replayed

    def _discard_duplicate(self, file: File) -> None:
        """Undo an announcement that lost the race for its idempotency key (and its reservation)."""
        self.files.delete(file.owner_id, file.id)

    def _replay(
        self, owner_id: uuid.UUID, key: str, digest: str, method: Literal["POST", "PUT"]
    ) -> UploadTicket | None:
        """The ticket of the key's earlier request, re-signed; None when the key is unused."""
        with transaction(self.engine) as session:
            used = idempotency.find(session, owner_id, key, since=utcnow() - IDEMPOTENCY_WINDOW)
            if used is None:
                return None
            if used.request_digest != digest:
                raise IdempotencyKeyReused(
                    "This Idempotency-Key was used with a different request; use a new key."
                )
            file = queries.get(session, owner_id, used.file_id)
            if file is None:
                return None
            if file.status != FileStatus.PENDING:
                raise IdempotencyKeyUsed(
                    f"The upload made with this Idempotency-Key is {file.status} already."
                )
            plan = plan_of(file)
            if plan is None:
                # A fresh form, and a later expiry to match: the first answer never arrived.
                file.upload_expires_at = utcnow() + timedelta(
                    seconds=self.settings.uploads.upload_url_ttl_seconds
                )
            session.add(file)
        if plan is not None:
            return UploadTicket(file=file, method="PUT", url="", fields={}, headers={},
                                expires_at=file.upload_expires_at, plan=plan)  # fmt: skip
        return self._signed(file, method)

    def _announce(
        self,
        owner_id: uuid.UUID,
        *,
        filename: str,
        content_type: str,
        size: int,
        sha256: str | None,
        method: Literal["POST", "PUT"] = "POST",
        multipart: bool | None = None,
    ) -> UploadTicket:
        """Record a pending file and sign a request that accepts exactly the declared object.

        POST is a form for browsers; PUT sends the file as the body, as native apps' background
        transfers do. Both bind the same key, size, type, checksum and expiry. Above the
        multipart threshold (or when asked) the file goes multipart instead.
        """
        rules = self.settings.uploads
        name = normalize_filename(filename)
        kind = normalize_content_type(content_type)
        if size > rules.max_upload_bytes:
            raise TooLarge(f"{size} bytes is over the limit of {rules.max_upload_bytes} bytes.")
        if multipart is None:
            multipart = size > rules.multipart_threshold_bytes
        if not multipart and size > rules.max_single_upload_bytes:
            raise TooLarge(
                f"{size} bytes is over the single-request limit of "
                f"{rules.max_single_upload_bytes} bytes; upload it in parts (multipart)."
            )
        require_allowed(kind, rules.allowed_content_types)
        if multipart:
            ticket = self._start_multipart(owner_id, name, kind, size, sha256)
            self.events.initiated("multipart")
            return ticket
        file_id = uuid.uuid4()
        now = utcnow()
        ttl = rules.upload_url_ttl_seconds
        # Nothing from the filename ever reaches the key: no traversal, no collisions.
        key = f"{self.settings.storage.key_prefix}{owner_id}/{file_id}"
        file = record_of(
            File,
            {
                "id": file_id,
                "owner_id": owner_id,
                "object_key": key,
                "filename": name,
                "search_name": name.casefold(),
                "content_type": kind,
                "size": size,
                "sha256": sha256.lower() if sha256 else None,
                "status": FileStatus.PENDING,
                "created_at": now,
                "upload_expires_at": now + timedelta(seconds=ttl),
            },
        )
        # Signed before the row exists, so a signing failure leaves nothing behind.
        ticket = self._signed(file, method)
        quotas.record_reserving(self.engine, file, self.settings.limits)
        self.events.initiated(method)
        return ticket

    def _signed(self, file: File, method: Literal["POST", "PUT"]) -> UploadTicket:
        """The file's ticket: a request for exactly its key, size, type and checksum."""
        sign = self.storage.presign_put if method == "PUT" else self.storage.presign_post
        signed = sign(
            file.object_key,
            size=file.size,
            content_type=file.content_type,
            sha256_hex=file.sha256,
            expires_in=self.settings.uploads.upload_url_ttl_seconds,
        )
        return UploadTicket(
            file=file,
            method=method,
            url=signed.url,
            fields=signed.fields if isinstance(signed, PresignedPost) else {},
            headers=signed.headers if isinstance(signed, PresignedPut) else {},
            expires_at=file.upload_expires_at,
        )

    def _start_multipart(
        self, owner_id: uuid.UUID, name: str, kind: str, size: int, sha256: str | None
    ) -> UploadTicket:
        file, plan = self.multipart.start(
            owner_id, filename=name, content_type=kind, size=size, sha256=sha256
        )
        return UploadTicket(
            file=file,
            method="PUT",
            url="",
            fields={},
            headers={},
            expires_at=file.upload_expires_at,
            plan=plan,
        )

    def confirm(self, owner_id: uuid.UUID, file_id: uuid.UUID) -> Verdict:
        """Check the object against its declaration; commit it as ready or reject it.

        HEAD happens before the UPDATE so a row only becomes ready for bytes that were seen;
        the UPDATE is conditional on `pending`, so concurrent confirms make one transition.
        A multipart file is first assembled from S3's own part list.
        """
        file = _not_expired(find_file(self.engine, owner_id, file_id))
        if file.status == FileStatus.REJECTED:
            # Recorded before its bytes were destroyed: finish that if an outage or a crash
            # stopped it, so asking again leaves nothing behind.
            self.storage.purge(file.object_key)
        if file.status != FileStatus.PENDING:
            return Verdict(file, recorded_mismatches(file))
        plan = plan_of(file)
        composite = None
        if plan is not None:
            composite = self.multipart.assemble(file, plan)
        facts = self.storage.head(file.object_key)
        if facts is None:
            now = _not_expired(find_file(self.engine, owner_id, file_id))
            if now.status != FileStatus.PENDING:  # a concurrent confirm decided meanwhile
                return Verdict(now, recorded_mismatches(now))
            if plan is not None:
                raise UploadGone(
                    "S3 no longer has this upload (aborted or expired); announce the file again."
                )
            hint = (
                " The upload form has expired; request a new upload."
                if utcnow() >= file.upload_expires_at
                else " Send the bytes with the upload form first."
            )
            raise ObjectMissing("No object has arrived for this file." + hint)
        with one_step(self.engine) as connection:
            moved = queries.transition(
                connection,
                owner_id,
                file_id,
                from_status=FileStatus.PENDING,
                values=_outcome(file, facts, composite),
            )
            current = moved if moved is not None else queries.read(connection, owner_id, file_id)
        if moved is not None:
            self._tell(moved)
        if current is None or current.status == FileStatus.DELETING:  # deleted meanwhile
            # The delete may have purged before these bytes landed: leave nothing behind.
            self.storage.purge(file.object_key)
            raise NotFound("No such file.")
        # The UPDATE waited on a sweeper's lock and found the file decided: its answer stands.
        _not_expired(current)
        if current.status == FileStatus.REJECTED:
            # The object is not what was promised: destroy every version, only now that the
            # rejection is recorded, so a crash in between cannot lose it.
            self.storage.purge(file.object_key)
        return Verdict(current, recorded_mismatches(current))

    def _tell(self, decided: File) -> None:
        """Report the transition this call made."""
        if decided.status == FileStatus.READY:
            self.events.confirmed(decided.size)
        elif decided.status == FileStatus.REJECTED:
            first = (decided.mismatches or [{}])[0]
            self.events.rejected(first.get("field", "unknown"))


def _digest(fields: list[object]) -> str:
    """A SHA-256 of an upload request's fields, the same for the same request."""
    return hashlib.sha256(json.dumps(fields).encode()).hexdigest()


def _not_expired(file: File) -> File:
    """The file, unless the sweeper found its form expired with nothing sent."""
    if file.status == FileStatus.EXPIRED:
        raise UploadExpired(
            "The upload form expired before any bytes arrived; request a new upload."
        )
    return file


def decide(
    file: File, facts: ObjectFacts | None, composite: str | None = None
) -> dict[str, object]:
    """A pending file's new values once its form has expired: as confirm would, or expired.

    `composite`: for a multipart file, the checksum S3 must report for its signed parts.
    """
    if facts is None:
        return {"status": FileStatus.EXPIRED}
    return _outcome(file, facts, composite)


def _outcome(file: File, facts: ObjectFacts, composite: str | None) -> dict[str, object]:
    """The row's new values: ready with what was verified, or rejected with what differed.

    `composite`: for a multipart file, the checksum S3 must report for its signed parts.
    """
    mismatches = _compare(file, facts)
    if file.multipart_upload_id is not None and facts.sha256_b64 != composite:
        mismatches.append(
            Mismatch("composite_sha256", composite or "none", facts.sha256_b64 or "none")
        )
    if mismatches:
        return {"status": FileStatus.REJECTED, "mismatches": [asdict(m) for m in mismatches]}
    if file.multipart_upload_id is not None:
        checked = {"integrity": Integrity.PART_SHA256, "composite_sha256": facts.sha256_b64}
    else:
        # Without a declared checksum, keep the one S3 computed, when it has one.
        checked = {
            "integrity": Integrity.SHA256 if file.sha256 else Integrity.SIZE,
            "sha256": file.sha256 or _sha256_hex(facts),
        }
    return {
        "status": FileStatus.READY,
        "etag": facts.etag,
        "version_id": facts.version_id,
        "confirmed_at": utcnow(),
        **checked,
    }


def _compare(file: File, facts: ObjectFacts) -> list[Mismatch]:
    """Each way the object differs from the declaration."""
    mismatches = []
    if facts.size != file.size:
        mismatches.append(Mismatch("size", f"{file.size} bytes", f"{facts.size} bytes"))
    received_type = facts.content_type or ""
    with contextlib.suppress(InvalidInput):  # a malformed stored type simply will not match
        received_type = normalize_content_type(received_type)
    if received_type != file.content_type:
        mismatches.append(Mismatch("content_type", file.content_type, received_type or "none"))
    received_sha256 = _sha256_hex(facts)
    if file.sha256 is not None and received_sha256 != file.sha256:
        mismatches.append(Mismatch("sha256", file.sha256, received_sha256 or "none"))
    # Downloads would repeat these (a gzip encoding makes clients receive other bytes than
    # the verified ones), and no request we sign sets them: only a lenient S3 server lets an
    # unsigned form field or PUT header through.
    mismatches.extend(Mismatch(name, "none", value) for name, value in facts.unsigned.items())
    return mismatches


def _sha256_hex(facts: ObjectFacts) -> str | None:
    return sha256_b64_to_hex(facts.sha256_b64) if facts.sha256_b64 else None
