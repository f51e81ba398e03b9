"""The whole promise through HTTP: announce, send to S3, confirm, list, download, delete."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlparse

import httpx
from mypy_boto3_s3 import S3Client

from backend.settings import Settings
from tests.integration.api import Api, post_form


def test_upload_confirm_list_download_delete_round_trip(
    api: Api, s3: S3Client, settings: Settings
) -> None:
    body = "héllo wörld\n".encode() * 1000
    digest = hashlib.sha256(body).hexdigest()

    ticket = api.request_upload(
        body, filename="Grüße \u2013 報告.txt", content_type="text/plain", sha256=digest
    )
    assert ticket.status_code == 201, ticket.text
    announced = ticket.json()
    file_id = announced["file_id"]
    assert announced["status"] == "pending"
    assert announced["upload"]["method"] == "POST"
    assert datetime.fromisoformat(announced["expires_at"]) > datetime.now(UTC)
    owner_prefix = announced["upload"]["fields"]["key"].removesuffix(file_id)
    assert owner_prefix.startswith(settings.storage.key_prefix) and owner_prefix.endswith("/")

    pending = api.request("GET", f"/files/{file_id}")
    assert pending.json()["status"] == "pending"
    assert api.request("GET", "/files").json()["items"] == []  # only ready files by default

    sent = post_form(announced["upload"], body)
    assert sent.status_code == 204, sent.text

    confirmed = api.request("POST", f"/files/{file_id}/confirm")
    assert confirmed.status_code == 200, confirmed.text
    file = confirmed.json()
    assert file["status"] == "ready"
    assert file["filename"] == "Grüße \u2013 報告.txt"
    assert file["size"] == len(body)
    assert file["sha256"] == digest
    assert file["confirmed_at"] is not None

    listed = api.request("GET", "/files").json()
    assert [item["file_id"] for item in listed["items"]] == [file_id]
    assert listed["next_cursor"] is None

    download = api.request("GET", f"/files/{file_id}/download")
    assert download.status_code == 200, download.text
    assert download.headers["cache-control"] == "no-store"
    fetched = httpx.get(download.json()["url"])
    assert fetched.status_code == 200
    assert fetched.content == body
    assert fetched.headers["content-type"] == "text/plain"
    disposition = fetched.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''Gr%C3%BC%C3%9Fe%20%E2%80%93%20%E5%A0%B1%E5%91%8A.txt" in disposition

    deleted = api.request("DELETE", f"/files/{file_id}")
    assert deleted.status_code == 204
    assert api.request("GET", f"/files/{file_id}").status_code == 404
    assert api.request("DELETE", f"/files/{file_id}").status_code == 404
    versions = s3.list_object_versions(Bucket=settings.storage.bucket, Prefix=owner_prefix)
    assert versions.get("Versions", []) == []  # the bytes are gone, not just hidden


def test_empty_file_round_trip(api: Api) -> None:
    file = api.upload(b"", filename="empty.txt")
    assert file["size"] == 0
    url = api.request("GET", f"/files/{file['file_id']}/download").json()["url"]
    assert httpx.get(url).content == b""


def test_upload_without_sha256_records_the_checksum_the_store_computed(
    api: Api, s3: S3Client, settings: Settings
) -> None:
    body = b"no checksum declared"
    ticket = api.request_upload(body).json()
    assert "x-amz-checksum-sha256" not in ticket["upload"]["fields"]
    # The client asks the store to compute a SHA-256 as it writes (as an SDK upload does).
    s3.put_object(
        Bucket=settings.storage.bucket,
        Key=ticket["upload"]["fields"]["key"],
        Body=body,
        ContentType="text/plain",
        ChecksumAlgorithm="SHA256",
    )
    file = api.request("POST", f"/files/{ticket['file_id']}/confirm").json()
    assert file["status"] == "ready"
    assert file["sha256"] == hashlib.sha256(body).hexdigest()


def test_upload_without_sha256_to_a_store_that_computed_none_records_none(
    api: Api, s3: S3Client, settings: Settings
) -> None:
    ticket = api.request_upload(b"no checksum at all").json()
    assert post_form(ticket["upload"], b"no checksum at all").status_code == 204
    head = s3.head_object(
        Bucket=settings.storage.bucket,
        Key=ticket["upload"]["fields"]["key"],
        ChecksumMode="ENABLED",
    )
    assert "ChecksumSHA256" not in head  # the premise: this form upload stored no SHA-256
    file = api.request("POST", f"/files/{ticket['file_id']}/confirm").json()
    assert file["status"] == "ready"
    assert file["sha256"] is None


def test_confirming_twice_returns_the_same_file(api: Api) -> None:
    file = api.upload(b"twice")
    again = api.request("POST", f"/files/{file['file_id']}/confirm")
    assert again.status_code == 200
    assert again.json() == file


def test_download_redirect_points_at_a_presigned_url_pinned_to_the_version(
    api: Api, s3: S3Client, settings: Settings
) -> None:
    file = api.upload(b"versioned bytes", filename="v.txt")
    redirect = api.request(
        "GET",
        f"/files/{file['file_id']}/download",
        params={"redirect": "true"},
        follow_redirects=False,
    )
    assert redirect.status_code == 307
    location = redirect.headers["location"]
    query = parse_qs(urlparse(location).query)
    key = urlparse(location).path.split(f"/{settings.storage.bucket}/", 1)[1]
    head = s3.head_object(Bucket=settings.storage.bucket, Key=key)
    assert query["versionId"] == [head["VersionId"]]
    assert int(query["X-Amz-Expires"][0]) == settings.uploads.download_url_ttl_seconds
    assert httpx.get(location).content == b"versioned bytes"


def test_download_inline_only_for_safe_types(api: Api) -> None:
    pdf = api.upload(b"%PDF-1.4 fake", filename="doc.pdf", content_type="application/pdf")
    archive = api.upload(b"PK fake", filename="a.zip", content_type="application/zip")

    def disposition(file_id: str) -> str:
        url = api.request(
            "GET", f"/files/{file_id}/download", params={"disposition": "inline"}
        ).json()["url"]
        return str(httpx.get(url).headers["content-disposition"])

    assert disposition(pdf["file_id"]).startswith("inline;")
    assert disposition(archive["file_id"]).startswith("attachment;")


def test_download_of_a_pending_file_is_a_conflict(api: Api) -> None:
    ticket = api.request_upload(b"later").json()
    response = api.request("GET", f"/files/{ticket['file_id']}/download")
    assert response.status_code == 409
    assert response.json()["code"] == "file_not_ready"


def test_deleting_a_pending_file_removes_bytes_that_arrived_unconfirmed(
    api: Api, s3: S3Client, settings: Settings
) -> None:
    ticket = api.request_upload(b"orphan").json()
    assert post_form(ticket["upload"], b"orphan").status_code == 204
    assert api.request("DELETE", f"/files/{ticket['file_id']}").status_code == 204
    key = ticket["upload"]["fields"]["key"]
    versions = s3.list_object_versions(Bucket=settings.storage.bucket, Prefix=key)
    assert versions.get("Versions", []) == []


def test_unknown_file_ids_are_not_found(api: Api) -> None:
    for path in (f"/files/{uuid.uuid4()}", "/files/not-a-uuid"):
        response = api.request("GET", path)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "not_found"


def test_a_download_pins_type_disposition_and_identity_encoding_in_its_signature(
    api: Api,
) -> None:
    file = api.upload(b"exactly these bytes", filename="pinned.txt")
    url = api.request("GET", f"/files/{file['file_id']}/download").json()["url"]

    query = parse_qs(urlparse(url).query)
    assert query["response-content-type"] == ["text/plain"]
    assert query["response-content-encoding"] == ["identity"]
    assert query["response-content-disposition"][0].startswith("attachment")
    answer = httpx.get(url)
    assert answer.content == b"exactly these bytes"
    assert answer.headers.get("content-encoding", "identity") == "identity"
    # Changing a pinned header breaks the signature.
    tampered = url.replace("response-content-encoding=identity", "response-content-encoding=gzip")
    assert httpx.get(tampered).status_code == 403
