"""The API as a test drives it: one owner's calls, and the browser's half of an upload."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import httpx
from litestar import Litestar
from litestar.testing import TestClient


@dataclass
class Api:
    """The API as one owner sees it, plus the client-side half of an upload."""

    http: TestClient[Litestar]
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.http.request(method, path, headers=headers, **kwargs)

    def request_upload(self, body: bytes = b"hello", **fields: Any) -> httpx.Response:
        payload = {"filename": "hello.txt", "content_type": "text/plain", "size": len(body)}
        payload.update(fields)
        return self.request("POST", "/files/upload", json=payload)

    def upload(
        self, body: bytes = b"hello", *, sha256: bool = True, **fields: Any
    ) -> dict[str, Any]:
        """Announce, send to S3 (by the method asked for) and confirm; the confirmed file."""
        if sha256:
            fields.setdefault("sha256", hashlib.sha256(body).hexdigest())
        ticket = self.request_upload(body, **fields)
        assert ticket.status_code == 201, ticket.text
        response = send_bytes(ticket.json()["upload"], body)
        assert response.status_code in {200, 201, 204}, response.text
        confirmed = self.request("POST", f"/files/{ticket.json()['file_id']}/confirm")
        assert confirmed.status_code == 200, confirmed.text
        result: dict[str, Any] = confirmed.json()
        return result


def post_form(
    upload: dict[str, Any],
    body: bytes,
    *,
    fields: dict[str, str] | None = None,
    content_type: str | None = None,
) -> httpx.Response:
    """Send bytes to S3 as a browser would: the form's fields, then the file, as multipart."""
    form = dict(upload["fields"])
    form.update(fields or {})
    file_type = content_type or form.get("Content-Type", "application/octet-stream")
    return httpx.post(
        upload["url"], data=form, files={"file": ("blob", body, file_type)}, timeout=30
    )


def put_body(
    upload: dict[str, Any], body: bytes, *, headers: dict[str, str] | None = None
) -> httpx.Response:
    """Send bytes to S3 as a native app would: the file as the body of a presigned PUT."""
    sent = {**upload["headers"], **(headers or {})}
    sent.pop("Content-Length", None)  # httpx sets it from the body, as every client does
    return httpx.put(upload["url"], content=body, headers=sent, timeout=30)


def send_bytes(upload: dict[str, Any], body: bytes) -> httpx.Response:
    """Send bytes with whichever presigned request the API handed out."""
    return put_body(upload, body) if upload["method"] == "PUT" else post_form(upload, body)


def announce(api: Api, body: bytes, *, sha256: bool = True, **fields: Any) -> dict[str, Any]:
    """Announce `body` (with its SHA-256 unless told not to); the ticket."""
    if sha256:
        fields["sha256"] = hashlib.sha256(body).hexdigest()
    response = api.request_upload(body, **fields)
    assert response.status_code == 201, response.text
    ticket: dict[str, Any] = response.json()
    return ticket


def assert_refused_by_s3(response: httpx.Response) -> None:
    """S3 answered the upload with a refusal (400 or 403), not a success."""
    assert response.status_code in {400, 403}, (response.status_code, response.text)


def assert_never_ready(api: Api, file_id: str) -> None:
    """Nothing arrived for the file: confirm says so and it stays pending."""
    confirmed = api.request("POST", f"/files/{file_id}/confirm")
    assert confirmed.status_code == 409, confirmed.text
    assert api.request("GET", f"/files/{file_id}").json()["status"] == "pending"
