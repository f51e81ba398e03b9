"""What the OpenAPI document says each operation answers, built from the error tables themselves.

Handlers list the problems they can answer with `documented(...)`: domain errors, whose status
comes from problems.STATUS_BY_ERROR, whose code is the class's, and whose meaning is its
docstring; or one of the few answers Litestar gives itself. Documentation and behaviour share
those tables, and tests/integration/test_openapi.py checks that every documented answer
happens and every answer that happens is documented.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, TypedDict

import msgspec
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    Example,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    Operation,
    RequestBody,
    Schema,
)
from litestar.openapi.spec.enums import OpenAPIFormat, OpenAPIType

from backend import errors
from backend.http.bodies import REQUEST_BODY_LIMIT
from backend.http.problems import CODE_BY_HTTP_STATUS, PROBLEM_JSON, Problem, status_of

API_DESCRIPTION = """Direct-to-S3 uploads: presigned, verified, recorded.

Every error is an RFC 9457 `application/problem+json` document (the `Problem` schema) whose
`code` is stable: branch on `code`, show `detail`. Each operation lists the statuses and codes
it can answer. Besides those, any path answers `404 not_found` when it does not exist,
`405 method_not_allowed` for a method it does not list, and `500 internal_error` when the
service itself fails."""


@dataclass(frozen=True)
class Answer:
    """A problem an operation can answer: its status, its stable code, and when it happens."""

    status: int
    code: str
    when: str


def answer(kind: type[errors.DomainError]) -> Answer:
    """The answer a domain error becomes (problems.domain_error_handler makes the same one)."""
    doc = inspect.getdoc(kind) or kind.__name__
    return Answer(status_of(kind), kind.code, doc.splitlines()[0])


# Litestar refuses a body over the app's limit before a handler sees it.
REQUEST_TOO_LARGE = Answer(
    413, CODE_BY_HTTP_STATUS[413], f"The request body is over {REQUEST_BODY_LIMIT} bytes."
)
# What auth.require_api_key answers: no valid key or token, a used-up rate limit, or no
# database to look owners up in, or no identity provider to fetch token signing keys from.
KEY_GUARD = (
    errors.NotAuthenticated,
    errors.InvalidToken,
    errors.TooManyRequests,
    errors.DatabaseUnavailable,
    errors.IdentityProviderUnavailable,
)
# What the guard answers on an operation that writes: a read-only key is refused there.
WRITE_GUARD = (*KEY_GUARD, errors.Forbidden)
# What a JSON body read with bodies.decode answers, Litestar's size limit included.
JSON_BODY = (errors.MalformedBody, errors.InvalidInput, REQUEST_TOO_LARGE)

# The fields some problems carry besides the common ones, as the examples show them.
_EXAMPLE_EXTRAS: dict[str, dict[str, Any]] = {
    errors.InvalidInput.code: {
        "errors": [{"field": "size", "message": "Expected `int`, got `str`"}],
    },
    errors.UploadRejected.code: {
        "mismatches": [{"field": "size", "declared": "5 bytes", "received": "7 bytes"}],
    },
    errors.PartsMissing.code: {"missing_parts": [3, 4]},
    errors.NotReady.code: {
        "checks": {"database": "ok", "storage": "Object storage is unreachable; try again shortly."}
    },
}


class Documentation(TypedDict):
    """Route decorator arguments: `@get(..., **documented(...))`."""

    responses: dict[int, ResponseSpec]
    operation_class: type[Operation]


def documented(
    *raised: type[errors.DomainError] | Answer,
    body: type[Any] | None = None,
    redirect: str | None = None,
) -> Documentation:
    """What an operation answers besides its success: these problems, one response per status.

    `body`: the JSON body a handler reads with bodies.decode (Litestar cannot see its shape);
    `redirect`: when the operation may answer 307 instead, and to what.
    """
    by_status: dict[int, list[Answer]] = {}
    for item in raised:
        found = item if isinstance(item, Answer) else answer(item)
        if found not in by_status.setdefault(found.status, []):
            by_status[found.status].append(found)
    responses = {status: _problem_response(status, found) for status, found in by_status.items()}
    if redirect is not None:
        responses[307] = ResponseSpec(data_container=None, description=redirect)
    operation = DocumentedOperation if body is None else _with_json_body(body)
    return Documentation(responses=responses, operation_class=operation)


def _problem_response(status: int, answers: list[Answer]) -> ResponseSpec:
    codes = "\n".join(f"- `{a.code}`: {a.when}" for a in answers)
    return ResponseSpec(
        data_container=Problem,
        media_type=PROBLEM_JSON,
        description=f"{HTTPStatus(status).phrase}: a problem whose `code` is one of\n\n{codes}",
        generate_examples=False,
        # Named by code, so a reader (and a test) finds each code among the examples.
        examples=[
            Example(id=a.code, summary=a.code, description=a.when, value=_example(a))
            for a in answers
        ],
    )


def _example(found: Answer) -> dict[str, Any]:
    body = {
        "type": f"urn:stowage:problem:{found.code}",
        "title": HTTPStatus(found.status).phrase,
        "status": found.status,
        "detail": found.when,
        "code": found.code,
    }
    return body | _EXAMPLE_EXTRAS.get(found.code, {})


@dataclass
class DocumentedOperation(Operation):
    """An operation whose error answers are exactly those its handler declares (`documented`).

    Litestar documents a 400 in its own error shape for every operation with parameters; this
    API never sends that shape (its 400 is `malformed_json`, declared like any other problem),
    so any error answer that is not a problem is dropped. Redirects get their Location header.
    """

    def __post_init__(self) -> None:
        kept = {
            status: response
            for status, response in sorted((self.responses or {}).items())
            if isinstance(response, OpenAPIResponse)
            and (int(status) < 400 or PROBLEM_JSON in (response.content or {}))
        }
        for status, response in kept.items():
            if 300 <= int(status) < 400:
                response.headers = {
                    "Location": OpenAPIHeader(
                        schema=Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.URI),
                        description="The URL to follow",
                        required=True,
                    )
                }
            for media in (response.content or {}).values():
                for example in (media.examples or {}).values():
                    # Litestar keys examples by `id` but also writes it into the Example
                    # object, where OpenAPI allows no such field.
                    if isinstance(example, Example):
                        example.id = None
        self.responses = dict(kept)


def _with_json_body(kind: type[Any]) -> type[DocumentedOperation]:
    """A DocumentedOperation class that also shows `kind` as the JSON request body."""
    (_ref,), components = msgspec.json.schema_components(
        [kind], ref_template="#/components/schemas/{name}"
    )
    schema: Any = components[kind.__name__]

    @dataclass
    class WithJsonBody(DocumentedOperation):
        def __post_init__(self) -> None:
            super().__post_init__()
            self.request_body = RequestBody(
                required=True,
                content={
                    "application/json": OpenAPIMediaType(schema=Schema(**_schema_fields(schema)))
                },
            )

    return WithJsonBody


def _schema_fields(schema: dict[str, Any]) -> dict[str, Any]:
    fields = {"type", "properties", "required", "title", "description", "additional_properties"}
    renamed = {"additionalProperties": "additional_properties"}
    result = {renamed.get(k, k): v for k, v in schema.items()}
    return {k: v for k, v in result.items() if k in fields}
