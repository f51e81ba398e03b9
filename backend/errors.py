"""The domain's errors: a small tree the HTTP layer maps to problem responses in one place."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the service reports to a caller on purpose.

    `code` is the stable machine-readable name clients may branch on; `detail` is one human
    sentence. Subclasses fix the code; the HTTP layer fixes the status.
    """

    code = "error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class MalformedBody(DomainError):
    """The request body is not JSON at all."""

    code = "malformed_json"


class InvalidInput(DomainError):
    """A request field breaks a rule; `field` names it."""

    code = "invalid_input"

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}")
        self.field = field
        self.reason = detail


class NotAuthenticated(DomainError):
    """No API key, an unknown one, or a revoked one."""

    code = "not_authenticated"


class NotFound(DomainError):
    """The resource does not exist for this caller (another owner's looks the same)."""

    code = "not_found"


class Conflict(DomainError):
    """The request clashes with the resource's current state."""

    code = "conflict"


class ObjectMissing(Conflict):
    """Confirm was called before the bytes reached the bucket."""

    code = "object_missing"


class UploadExpired(Conflict):
    """The upload form expired before any bytes arrived; request a new upload."""

    code = "upload_expired"


class FileNotReady(Conflict):
    """The file is not (or no longer) in a state that allows this."""

    code = "file_not_ready"


class IdempotencyKeyUsed(Conflict):
    """The upload made with this Idempotency-Key is over (ready, rejected or expired)."""

    code = "idempotency_key_used"


class IdempotencyKeyReused(DomainError):
    """This Idempotency-Key was used with a different request; each request needs its own."""

    code = "idempotency_key_reused"


class FileNotPending(Conflict):
    """The file's upload is over (it is ready or rejected): its parts cannot change."""

    code = "file_not_pending"


class NotMultipart(Conflict):
    """The file is a single-part upload: it has no parts."""

    code = "not_multipart"


class UploadGone(Conflict):
    """S3 no longer has the multipart upload (aborted or expired): announce the file again."""

    code = "upload_gone"


class PartsMissing(Conflict):
    """Confirm found parts S3 does not have yet; `missing_parts` names them."""

    code = "parts_missing"

    def __init__(self, detail: str, missing_parts: list[int]) -> None:
        super().__init__(detail)
        self.missing_parts = missing_parts


class PartsInvalid(Conflict):
    """Parts S3 holds have another size or other bytes than agreed: send them again."""

    code = "parts_invalid"


class TooLarge(DomainError):
    """The declared size is over the configured limit."""

    code = "file_too_large"


class QuotaExceeded(DomainError):
    """The upload does not fit in what is left of the owner's quota (bytes or files)."""

    code = "quota_exceeded"

    def __init__(
        self, detail: str, *, bytes_left: int | None = None, files_left: int | None = None
    ) -> None:
        super().__init__(detail)
        self.bytes_left = bytes_left
        self.files_left = files_left


class Forbidden(DomainError):
    """The credential is valid but may not do this (a read-only key asked to write)."""

    code = "forbidden"


class TooManyRequests(DomainError):
    """The caller used up a rate limit budget for this minute; Retry-After says when to return."""

    code = "too_many_requests"

    def __init__(self, detail: str, *, retry_after_seconds: int = 60) -> None:
        super().__init__(detail)
        self.retry_after_seconds = retry_after_seconds


class UnsupportedContentType(DomainError):
    """The declared content type is outside the allow-list."""

    code = "unsupported_content_type"


class UploadRejected(DomainError):
    """What arrived in the bucket differs from what was declared; the object was deleted."""

    code = "upload_rejected"

    def __init__(self, detail: str, mismatches: list[dict[str, str]]) -> None:
        super().__init__(detail)
        self.mismatches = mismatches


class Unavailable(DomainError):
    """A backing service (database or object storage) cannot be reached right now."""

    code = "unavailable"
    retry_after_seconds = 5


class StorageUnavailable(Unavailable):
    """The object store did not answer or failed."""

    code = "storage_unavailable"


class StorageBusy(StorageUnavailable):
    """As many object-storage calls as allowed are in flight already; retry in a moment."""

    code = "storage_busy"
    retry_after_seconds = 1


class DatabaseUnavailable(Unavailable):
    """The database did not answer or failed."""

    code = "database_unavailable"


class NotReady(Unavailable):
    """The readiness probe found the database or the bucket failing; `checks` says which."""

    code = "not_ready"

    def __init__(self, detail: str, checks: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.checks = checks or {}


class InvalidToken(NotAuthenticated):
    """A bearer token that is not a valid access token from the configured identity provider."""

    code = "invalid_token"


class IdentityProviderUnavailable(Unavailable):
    """The identity provider's signing keys cannot be fetched and none that fit are cached."""

    code = "identity_provider_unavailable"
