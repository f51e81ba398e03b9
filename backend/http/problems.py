"""Every error becomes an RFC 9457 problem response here, and only here."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Annotated, Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from backend import errors
from backend.logs import current_request

logger = logging.getLogger("backend.http")

PROBLEM_JSON = "application/problem+json"

STATUS_BY_ERROR: dict[type[errors.DomainError], int] = {
    errors.MalformedBody: 400,
    errors.InvalidInput: 422,
    errors.UploadRejected: 422,
    errors.IdempotencyKeyReused: 422,
    errors.NotAuthenticated: 401,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.TooLarge: 413,
    errors.QuotaExceeded: 413,
    errors.Forbidden: 403,
    errors.TooManyRequests: 429,
    errors.UnsupportedContentType: 415,
    errors.Unavailable: 503,
}

CODE_BY_HTTP_STATUS = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "request_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
}


class Problem(msgspec.Struct, omit_defaults=True):
    """RFC 9457 problem details, plus `code` (stable, machine-readable) and field `errors`."""

    type: Annotated[str, msgspec.Meta(description="urn:stowage:problem:<code>")]
    title: Annotated[str, msgspec.Meta(description="The HTTP status phrase")]
    status: Annotated[int, msgspec.Meta(description="The HTTP status")]
    detail: Annotated[str, msgspec.Meta(description="What happened, for people")]
    # Deliberately no enum: new codes must not break clients generated from this document.
    code: Annotated[
        str,
        msgspec.Meta(
            description="Stable, machine-readable reason to branch on; each response lists "
            "the codes it can carry"
        ),
    ]
    errors: Annotated[
        list[dict[str, str]],
        msgspec.Meta(description="invalid_input: one {field, message} per field that broke a rule"),
    ] = []
    mismatches: Annotated[
        list[dict[str, str]],
        msgspec.Meta(
            description="upload_rejected: one {field, declared, received} per difference; "
            "field is size, content_type or sha256"
        ),
    ] = []
    checks: Annotated[
        dict[str, str],
        msgspec.Meta(description='not_ready: "ok" or what is wrong, for database and storage'),
    ] = {}
    missing_parts: Annotated[
        list[int],
        msgspec.Meta(description="parts_missing: the part numbers S3 does not have yet"),
    ] = []
    bytes_left: Annotated[
        int | None,
        msgspec.Meta(
            description="quota_exceeded: bytes the owner may still reserve (absent: no limit)"
        ),
    ] = None
    files_left: Annotated[
        int | None,
        msgspec.Meta(
            description="quota_exceeded: files the owner may still announce (absent: no limit)"
        ),
    ] = None
    request_id: Annotated[
        str | None,
        msgspec.Meta(description="The request's id (also in X-Request-ID), for support and logs"),
    ] = None


def problem(status: int, code: str, detail: str, **extra: Any) -> Problem:
    """The problem document for `status`, `code` and `detail` (extra members as given)."""
    request = current_request()
    return Problem(
        type=f"urn:stowage:problem:{code}",
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        code=code,
        request_id=request.request_id if request else None,
        **extra,
    )


def status_for(error: errors.DomainError) -> int:
    """The HTTP status of a domain error: the entry of its nearest mapped ancestor."""
    return status_of(type(error))


def status_of(kind: type[errors.DomainError]) -> int:
    """The HTTP status of a kind of domain error (what status_for answers for its instances)."""
    for cls in kind.__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 500


def problem_response(
    status: int,
    code: str,
    detail: str,
    *,
    field_errors: list[dict[str, str]] | None = None,
    mismatches: list[dict[str, str]] | None = None,
    checks: dict[str, str] | None = None,
    missing_parts: list[int] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response[Problem]:
    """A problem+json response (`extra`: further members of Problem, by name)."""
    body = problem(
        status,
        code,
        detail,
        errors=field_errors or [],
        mismatches=mismatches or [],
        checks=checks or {},
        missing_parts=missing_parts or [],
        **(extra or {}),
    )
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def domain_error_handler(
    _request: Request[Any, Any, Any], exc: errors.DomainError
) -> Response[Problem]:
    """Map a DomainError to its problem response."""
    status = status_for(exc)
    headers = {}
    if isinstance(exc, errors.InvalidToken):
        # RFC 6750: tells a client its token (not the lack of one) is the problem.
        headers["WWW-Authenticate"] = 'Bearer realm="stowage", error="invalid_token"'
    elif isinstance(exc, errors.NotAuthenticated):
        headers["WWW-Authenticate"] = 'Bearer realm="stowage"'
    if isinstance(exc, errors.Unavailable | errors.TooManyRequests):
        headers["Retry-After"] = str(exc.retry_after_seconds)
    field_errors = None
    if isinstance(exc, errors.InvalidInput):
        field_errors = [{"field": exc.field, "message": exc.reason}]
    mismatches = exc.mismatches if isinstance(exc, errors.UploadRejected) else None
    checks = exc.checks if isinstance(exc, errors.NotReady) else None
    missing = exc.missing_parts if isinstance(exc, errors.PartsMissing) else None
    extra = None
    if isinstance(exc, errors.QuotaExceeded):
        extra = {"bytes_left": exc.bytes_left, "files_left": exc.files_left}
    return problem_response(
        status,
        exc.code,
        exc.detail,
        field_errors=field_errors,
        mismatches=mismatches,
        checks=checks,
        missing_parts=missing,
        headers=headers,
        extra=extra,
    )


def validation_handler(
    _request: Request[Any, Any, Any], exc: ValidationException
) -> Response[Problem]:
    """Request bodies and parameters of the wrong shape: 422 naming each field."""
    extra = exc.extra if isinstance(exc.extra, list) else []
    field_errors = [_field_error(item) for item in extra if isinstance(item, dict)]
    if not field_errors:
        return problem_response(400, "bad_request", exc.detail)
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in field_errors)
    return problem_response(422, "invalid_input", detail, field_errors=field_errors)


def http_exception_handler(
    _request: Request[Any, Any, Any], exc: HTTPException
) -> Response[Problem]:
    """Litestar's own HTTP errors (unknown route, wrong method, ...) as problems."""
    status = exc.status_code
    code = CODE_BY_HTTP_STATUS.get(status, "error" if status < 500 else "internal_error")
    detail = exc.detail if status < 500 else "The service failed to handle this request."
    return problem_response(status, code, detail, headers=exc.headers)


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    """Anything unforeseen: logged with its traceback, answered without one."""
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(500, "internal_error", "The service failed to handle this request.")


def _field_error(item: dict[str, Any]) -> dict[str, str]:
    """One of Litestar's validation entries, with the body itself called `body`."""
    field = str(item.get("key") or "body")
    message = str(item.get("message", "")).split(" - at `", 1)[0]
    if field == "data":  # Litestar's name for the whole body
        field = "body"
        if message == "'data'":  # no body at all
            message = "a JSON object is required"
    return {"field": field, "message": message}


EXCEPTION_HANDLERS: dict[int | type[Exception], Any] = {
    errors.DomainError: domain_error_handler,
    ValidationException: validation_handler,
    HTTPException: http_exception_handler,
    Exception: internal_error_handler,
}
