"""The OpenAPI document is honest: it lists every answer the API gives, and only those.

Each row of ANSWERS makes one operation answer one way, against the real app on PostgreSQL and
SeaweedFS, or on an app whose bucket, database or S3 credentials are missing. Every answer
seen must be in the document, with a body its schema accepts; every answer in the document
must be a row, so it is one the API really gives.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from jsonschema import Draft202012Validator
from litestar import Litestar
from litestar.testing import TestClient
from mypy_boto3_s3 import S3Client
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from backend.domain.keys import KeyService, Scope
from backend.settings import Settings
from tests.identity_provider import forge
from tests.integration.api import Api, post_form
from tests.integration.parts_api import announce_multipart, send

PROBLEM = "application/problem+json"
UPLOAD = {"filename": "a.txt", "content_type": "text/plain", "size": 3}


@dataclass
class World:
    """What a row needs: the healthy API for setting up, and the API the request goes through."""

    ok: Api
    via: Api
    s3: S3Client
    bucket: str
    engine: sa.Engine

    def no_key(self, method: str, path: str) -> httpx.Response:
        return self.via.http.request(method, path)

    def read_only(self, method: str, path: str) -> httpx.Response:
        """The request made with a read-only key of the same owner."""
        key = KeyService(self.engine).create("alice", scope=Scope.READ).key
        return self.via.http.request(method, path, headers={"Authorization": f"Bearer {key}"})

    def pending(self) -> str:
        """A file announced but never sent."""
        return str(self.ok.request_upload(b"abc").json()["file_id"])

    def expired(self) -> str:
        """A file whose form expired with nothing sent, as the sweeper records it."""
        file_id = self.pending()
        with self.engine.begin() as connection:
            connection.execute(
                sa.text("UPDATE files SET status = 'expired' WHERE id = :id"),
                {"id": uuid.UUID(file_id)},
            )
        return file_id

    def no_quota_left(self) -> None:
        """Every owner's file quota set to zero."""
        with self.engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO owner_usage (owner_id, files_limit) SELECT id, 0 FROM owners "
                    "ON CONFLICT (owner_id) DO UPDATE SET files_limit = 0"
                )
            )

    def sent(self) -> str:
        """A file whose bytes are in the bucket, not yet confirmed."""
        ticket = self.ok.request_upload(b"abc").json()
        assert post_form(ticket["upload"], b"abc").status_code == 204
        return str(ticket["file_id"])

    def differing(self) -> str:
        """A file whose object was replaced behind the policy's back by other bytes."""
        ticket = self.ok.request_upload(b"abc", sha256=hashlib.sha256(b"abc").hexdigest()).json()
        key = ticket["upload"]["fields"]["key"]
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=b"xyz", ContentType="text/plain")
        return str(ticket["file_id"])

    def announced_twice(self, key: str, second: dict[str, Any]) -> httpx.Response:
        """Announce with an Idempotency-Key, then again with the same key and `second`."""
        headers = {"Idempotency-Key": key}
        self.ok.request("POST", "/files/upload", json=UPLOAD, headers=headers)
        return self.via.request("POST", "/files/upload", json=second, headers=headers)

    def confirmed_then_retried(self) -> httpx.Response:
        """Announce with an Idempotency-Key, upload and confirm, then announce again."""
        headers = {"Idempotency-Key": "done"}
        ticket = self.ok.request("POST", "/files/upload", json=UPLOAD, headers=headers).json()
        assert post_form(ticket["upload"], b"abc").status_code == 204
        self.ok.request("POST", f"/files/{ticket['file_id']}/confirm")
        return self.via.request("POST", "/files/upload", json=UPLOAD, headers=headers)

    def ready(self) -> str:
        """A confirmed file."""
        return str(self.ok.upload(b"abc")["file_id"])

    def multipart(self) -> str:
        """A multipart file announced, no part sent."""
        return str(announce_multipart(self.ok, 3)["file_id"])

    def multipart_sent(self) -> str:
        """A multipart file whose only part is in the bucket."""
        file_id = self.multipart()
        send(self.ok, file_id, {1: b"abc"}, [1])
        return file_id

    def multipart_ready(self) -> str:
        """A confirmed multipart file."""
        file_id = self.multipart_sent()
        assert self.ok.request("POST", f"/files/{file_id}/confirm").status_code == 200
        return file_id

    def multipart_tampered(self) -> str:
        """A multipart file whose signed part holds other bytes, put there behind the API."""
        file_id = self.multipart()
        payload = {"part_numbers": [1], "sha256": {"1": hashlib.sha256(b"abc").hexdigest()}}
        assert self.ok.request("POST", f"/files/{file_id}/parts", json=payload).status_code == 200
        _key, upload_id = self._upload_of(file_id)
        self.s3.upload_part(Bucket=self.bucket, Key=_key, UploadId=upload_id, PartNumber=1,
                            Body=b"xyz", ChecksumAlgorithm="SHA256")  # fmt: skip
        return file_id

    def multipart_gone(self) -> str:
        """A multipart file whose S3 upload was aborted behind the API."""
        file_id = self.multipart()
        key, upload_id = self._upload_of(file_id)
        self.s3.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        return file_id

    def _upload_of(self, file_id: str) -> tuple[str, str]:
        uploads = self.s3.list_multipart_uploads(Bucket=self.bucket).get("Uploads", [])
        (found,) = [u for u in uploads if u.get("Key", "").endswith(f"/{file_id}")]
        return found["Key"], found["UploadId"]

    def sign(self, file_id: str, **body: Any) -> httpx.Response:
        """Ask for part 1's URL, its SHA-256 given."""
        payload = {"part_numbers": [1], "sha256": {"1": hashlib.sha256(b"abc").hexdigest()}}
        return self.via.request("POST", f"/files/{file_id}/parts", json={**payload, **body})


@dataclass(frozen=True)
class Row:
    """One answer an operation gives: (status, code) when `send` runs through app `via`."""

    operation: str
    status: int
    code: str | None
    send: Callable[[World], httpx.Response]
    # Or the fixture of a broken app: no_storage, storage_busy, no_database, no_credentials.
    via: str = "api"

    def __str__(self) -> str:
        return f"{self.operation} {self.status} {self.code or ''}".strip()


def _upload(**fields: Any) -> Callable[[World], httpx.Response]:
    return lambda w: w.via.request("POST", "/files/upload", json={**UPLOAD, **fields})


UNKNOWN = uuid.UUID(int=1)
UPLOAD_OP = "POST /files/upload"
CONFIRM = "POST /files/{file_id}/confirm"
LIST = "GET /files"
GET = "GET /files/{file_id}"
DOWNLOAD = "GET /files/{file_id}/download"
DELETE = "DELETE /files/{file_id}"
SIGN = "POST /files/{file_id}/parts"
PARTS = "GET /files/{file_id}/parts"
ME = "GET /me"

ANSWERS = [
    Row(UPLOAD_OP, 201, None, _upload()),
    Row(UPLOAD_OP, 400, "malformed_json", lambda w: w.via.request(
        "POST", "/files/upload", content=b'{"filename": ',
        headers={"content-type": "application/json"})),
    Row(UPLOAD_OP, 401, "not_authenticated", lambda w: w.no_key("POST", "/files/upload")),
    Row(UPLOAD_OP, 413, "file_too_large", _upload(size=6 * 1024**4)),
    Row(UPLOAD_OP, 413, "request_too_large", _upload(filename="a" * 70_000)),
    Row(UPLOAD_OP, 413, "quota_exceeded",
        lambda w: (w.no_quota_left(), w.via.request("POST", "/files/upload", json=UPLOAD))[1]),
    Row(UPLOAD_OP, 415, "unsupported_content_type", _upload(content_type="text/html")),
    Row(UPLOAD_OP, 422, "invalid_input", _upload(size=-1)),
    Row(UPLOAD_OP, 422, "idempotency_key_reused",
        lambda w: w.announced_twice("reused", {**UPLOAD, "filename": "b.txt"})),
    Row(UPLOAD_OP, 409, "idempotency_key_used", lambda w: w.confirmed_then_retried()),
    Row(UPLOAD_OP, 503, "storage_unavailable", _upload(), via="no_credentials"),
    Row(UPLOAD_OP, 503, "storage_busy", _upload(multipart=True), via="storage_busy"),
    Row(UPLOAD_OP, 503, "database_unavailable", _upload(), via="no_database"),

    Row(CONFIRM, 200, None, lambda w: w.via.request("POST", f"/files/{w.sent()}/confirm")),
    Row(CONFIRM, 401, "not_authenticated", lambda w: w.no_key("POST", f"/files/{UNKNOWN}/confirm")),
    Row(CONFIRM, 404, "not_found", lambda w: w.via.request("POST", f"/files/{UNKNOWN}/confirm")),
    Row(CONFIRM, 409, "object_missing",
        lambda w: w.via.request("POST", f"/files/{w.pending()}/confirm")),
    Row(CONFIRM, 409, "parts_missing",
        lambda w: w.via.request("POST", f"/files/{w.multipart()}/confirm")),
    Row(CONFIRM, 409, "parts_invalid",
        lambda w: w.via.request("POST", f"/files/{w.multipart_tampered()}/confirm")),
    Row(CONFIRM, 409, "upload_gone",
        lambda w: w.via.request("POST", f"/files/{w.multipart_gone()}/confirm")),
    Row(CONFIRM, 409, "upload_expired",
        lambda w: w.via.request("POST", f"/files/{w.expired()}/confirm")),
    Row(CONFIRM, 422, "upload_rejected",
        lambda w: w.via.request("POST", f"/files/{w.differing()}/confirm")),
    Row(CONFIRM, 503, "storage_unavailable",
        lambda w: w.via.request("POST", f"/files/{w.sent()}/confirm"), via="no_storage"),
    Row(CONFIRM, 503, "storage_busy",
        lambda w: w.via.request("POST", f"/files/{w.sent()}/confirm"), via="storage_busy"),
    Row(CONFIRM, 503, "database_unavailable",
        lambda w: w.via.request("POST", f"/files/{UNKNOWN}/confirm"), via="no_database"),

    Row(SIGN, 200, None, lambda w: w.sign(w.multipart())),
    Row(SIGN, 400, "malformed_json", lambda w: w.via.request(
        "POST", f"/files/{UNKNOWN}/parts", content=b"{",
        headers={"content-type": "application/json"})),
    Row(SIGN, 401, "not_authenticated", lambda w: w.no_key("POST", f"/files/{UNKNOWN}/parts")),
    Row(SIGN, 404, "not_found", lambda w: w.sign(str(UNKNOWN))),
    Row(SIGN, 409, "not_multipart", lambda w: w.sign(w.pending())),
    Row(SIGN, 409, "file_not_pending", lambda w: w.sign(w.multipart_ready())),
    Row(SIGN, 413, "request_too_large", lambda w: w.sign(str(UNKNOWN), x="a" * 70_000)),
    Row(SIGN, 422, "invalid_input", lambda w: w.sign(w.multipart(), part_numbers=[2])),
    Row(SIGN, 503, "storage_unavailable", lambda w: w.sign(w.multipart()),
        via="no_credentials"),
    Row(SIGN, 503, "database_unavailable", lambda w: w.sign(str(UNKNOWN)), via="no_database"),

    Row(PARTS, 200, None, lambda w: w.via.request("GET", f"/files/{w.multipart_sent()}/parts")),
    Row(PARTS, 401, "not_authenticated", lambda w: w.no_key("GET", f"/files/{UNKNOWN}/parts")),
    Row(PARTS, 404, "not_found", lambda w: w.via.request("GET", f"/files/{UNKNOWN}/parts")),
    Row(PARTS, 409, "not_multipart",
        lambda w: w.via.request("GET", f"/files/{w.pending()}/parts")),
    Row(PARTS, 409, "file_not_pending",
        lambda w: w.via.request("GET", f"/files/{w.multipart_ready()}/parts")),
    Row(PARTS, 409, "upload_gone",
        lambda w: w.via.request("GET", f"/files/{w.multipart_gone()}/parts")),
    Row(PARTS, 503, "storage_unavailable",
        lambda w: w.via.request("GET", f"/files/{w.multipart()}/parts"), via="no_storage"),
    Row(PARTS, 503, "storage_busy",
        lambda w: w.via.request("GET", f"/files/{w.multipart()}/parts"), via="storage_busy"),
    Row(PARTS, 503, "database_unavailable",
        lambda w: w.via.request("GET", f"/files/{UNKNOWN}/parts"), via="no_database"),

    Row(ME, 200, None, lambda w: w.via.request("GET", "/me")),
    Row(ME, 401, "not_authenticated", lambda w: w.no_key("GET", "/me")),
    Row(ME, 503, "database_unavailable", lambda w: w.via.request("GET", "/me"),
        via="no_database"),

    Row(LIST, 200, None, lambda w: w.via.request("GET", "/files")),
    Row(LIST, 401, "not_authenticated", lambda w: w.no_key("GET", "/files")),
    Row(LIST, 422, "invalid_input", lambda w: w.via.request("GET", "/files?limit=0")),
    Row(LIST, 503, "database_unavailable", lambda w: w.via.request("GET", "/files"),
        via="no_database"),

    Row(GET, 200, None, lambda w: w.via.request("GET", f"/files/{w.ready()}")),
    Row(GET, 401, "not_authenticated", lambda w: w.no_key("GET", f"/files/{UNKNOWN}")),
    Row(GET, 404, "not_found", lambda w: w.via.request("GET", f"/files/{UNKNOWN}")),
    Row(GET, 503, "database_unavailable", lambda w: w.via.request("GET", f"/files/{UNKNOWN}"),
        via="no_database"),

    Row(DOWNLOAD, 200, None, lambda w: w.via.request("GET", f"/files/{w.ready()}/download")),
    Row(DOWNLOAD, 307, None, lambda w: w.via.request(
        "GET", f"/files/{w.ready()}/download?redirect=true", follow_redirects=False)),
    Row(DOWNLOAD, 401, "not_authenticated",
        lambda w: w.no_key("GET", f"/files/{UNKNOWN}/download")),
    Row(DOWNLOAD, 404, "not_found", lambda w: w.via.request("GET", f"/files/{UNKNOWN}/download")),
    Row(DOWNLOAD, 409, "file_not_ready",
        lambda w: w.via.request("GET", f"/files/{w.pending()}/download")),
    Row(DOWNLOAD, 422, "invalid_input",
        lambda w: w.via.request("GET", f"/files/{w.ready()}/download?disposition=evil")),
    Row(DOWNLOAD, 503, "storage_unavailable",
        lambda w: w.via.request("GET", f"/files/{w.ready()}/download"), via="no_credentials"),
    Row(DOWNLOAD, 503, "database_unavailable",
        lambda w: w.via.request("GET", f"/files/{UNKNOWN}/download"), via="no_database"),

    Row(DELETE, 204, None, lambda w: w.via.request("DELETE", f"/files/{w.ready()}")),
    Row(DELETE, 401, "not_authenticated", lambda w: w.no_key("DELETE", f"/files/{UNKNOWN}")),
    Row(DELETE, 404, "not_found", lambda w: w.via.request("DELETE", f"/files/{UNKNOWN}")),
    Row(DELETE, 503, "storage_unavailable",
        lambda w: w.via.request("DELETE", f"/files/{w.ready()}"), via="no_storage"),
    Row(DELETE, 503, "storage_busy",
        lambda w: w.via.request("DELETE", f"/files/{w.ready()}"), via="storage_busy"),
    Row(DELETE, 503, "database_unavailable",
        lambda w: w.via.request("DELETE", f"/files/{UNKNOWN}"), via="no_database"),

    Row("GET /health/live", 200, None, lambda w: w.via.http.get("/health/live")),
    Row("GET /health/ready", 200, None, lambda w: w.via.http.get("/health/ready")),
    Row("GET /health/ready", 503, "not_ready", lambda w: w.via.http.get("/health/ready"),
        via="no_storage"),
]  # fmt: skip


# Tokens for an app whose identity provider does not answer: one refused before any key is
# needed (unsigned), one whose keys cannot be fetched.
UNSIGNED_TOKEN = forge({"alg": "none"}, {"sub": "x"})
UNVERIFIABLE_TOKEN = forge({"alg": "RS256", "kid": "k"}, {"sub": "x"}, b"not a signature")
GUARDED = {
    UPLOAD_OP: "/files/upload",
    CONFIRM: f"/files/{UNKNOWN}/confirm",
    LIST: "/files",
    GET: f"/files/{UNKNOWN}",
    DOWNLOAD: f"/files/{UNKNOWN}/download",
    DELETE: f"/files/{UNKNOWN}",
    SIGN: f"/files/{UNKNOWN}/parts",
    PARTS: f"/files/{UNKNOWN}/parts",
    ME: "/me",
}


def _with_token(token: str, operation: str) -> Callable[[World], httpx.Response]:
    method, path = operation.split(" ", 1)[0], GUARDED[operation]
    return lambda w: w.via.http.request(method, path, headers={"Authorization": f"Bearer {token}"})


def _twice(operation: str) -> Callable[[World], httpx.Response]:
    method, path = operation.split(" ", 1)[0], GUARDED[operation]
    return lambda w: [w.via.request(method, path) for _ in range(2)][-1]


ANSWERS += [
    Row(operation, 429, "too_many_requests", _twice(operation), via="rate_limited")
    for operation in GUARDED
]

ANSWERS += [
    Row(operation, 403, "forbidden",
        lambda w, operation=operation: w.read_only(operation.split(" ")[0], GUARDED[operation]))
    for operation in (UPLOAD_OP, CONFIRM, DELETE, SIGN)
]  # fmt: skip

ANSWERS += [
    row
    for operation in GUARDED
    for row in (
        Row(operation, 401, "invalid_token", _with_token(UNSIGNED_TOKEN, operation),
            via="no_identity_provider"),
        Row(operation, 503, "identity_provider_unavailable",
            _with_token(UNVERIFIABLE_TOKEN, operation), via="no_identity_provider"),
    )
]  # fmt: skip


def documented_answers(document: dict[str, Any]) -> set[tuple[str, int, str | None]]:
    """(operation, status, code) for every answer the document lists; code None for successes."""
    answers: set[tuple[str, int, str | None]] = set()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            name = f"{method.upper()} {path}"
            for status, response in operation["responses"].items():
                problem = (response.get("content") or {}).get(PROBLEM)
                codes = list(problem["examples"]) if problem else [None]
                answers |= {(name, int(status), code) for code in codes}
    return answers


def _body_schema(document: dict[str, Any], operation: str, status: int, media: str) -> Any:
    method, path = operation.split(" ", 1)
    response = document["paths"][path][method.lower()]["responses"][str(status)]
    return response["content"][media]["schema"]


def _assert_conforms(document: dict[str, Any], schema: dict[str, Any], body: Any) -> None:
    """The body is valid against a schema of the document, its $refs resolved in the document."""
    ref = schema.get("$ref", "")
    assert ref.startswith("#/"), schema  # bodies are named components (tests/unit checks)
    registry: Registry[Any] = Registry().with_resource(
        "urn:stowage:openapi", Resource.from_contents(document, default_specification=DRAFT202012)
    )
    validator = Draft202012Validator({"$ref": f"urn:stowage:openapi{ref}"}, registry=registry)
    errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(body)]
    assert errors == [], body


@pytest.fixture
def document(client: TestClient[Litestar]) -> dict[str, Any]:
    """The OpenAPI document as the app serves it."""
    served: dict[str, Any] = client.get("/docs/openapi.json").json()
    return served


@pytest.mark.parametrize("row", ANSWERS, ids=str)
def test_every_answer_the_api_gives_is_documented(
    row: Row,
    request: pytest.FixtureRequest,
    api: Api,
    s3: S3Client,
    settings: Settings,
    engine: sa.Engine,
    document: dict[str, Any],
) -> None:
    via = api if row.via == "api" else Api(request.getfixturevalue(row.via), api.key)

    response = row.send(World(api, via, s3, settings.storage.bucket, engine))

    assert response.status_code == row.status, response.text
    if row.code is not None:
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["code"] == row.code
    assert (row.operation, row.status, row.code) in documented_answers(document), (
        f"{row.operation} answers {row.status} {row.code or ''}, which the OpenAPI document "
        "does not list"
    )
    if response.content:
        media = response.headers["content-type"].split(";")[0]
        schema = _body_schema(document, row.operation, row.status, media)
        _assert_conforms(document, schema, response.json())
    if 300 <= row.status < 400:
        assert response.headers["location"]


def test_the_document_lists_no_answer_the_api_does_not_give(document: dict[str, Any]) -> None:
    # Each row is shown above to really happen, so an answer without a row is fiction.
    observed = {(row.operation, row.status, row.code) for row in ANSWERS}

    assert documented_answers(document) - observed == set()
