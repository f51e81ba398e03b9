"""A multipart upload as a test drives it: announce, sign parts, PUT them, look at S3 directly."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import httpx
from mypy_boto3_s3 import S3Client

from tests.integration.api import Api

MiB = 1024 * 1024
PART = 8 * MiB  # the smallest part size, which every file up to 78 GiB gets


def announce_multipart(api: Api, size: int, **fields: Any) -> dict[str, Any]:
    """Announce a multipart file of `size` bytes; the ticket."""
    payload = {"filename": "big.bin", "content_type": "application/octet-stream", "size": size}
    response = api.request("POST", "/files/upload", json={**payload, "multipart": True, **fields})
    assert response.status_code == 201, response.text
    ticket: dict[str, Any] = response.json()
    return ticket


def cut(body: bytes, part_size: int) -> dict[int, bytes]:
    """Part number -> bytes, as the plan cuts `body`."""
    return {n + 1: body[start : start + part_size] for n, start in
            enumerate(range(0, len(body), part_size))}  # fmt: skip


def sign(api: Api, file_id: str, parts: dict[int, bytes]) -> httpx.Response:
    """Ask for URLs for these parts, each with its SHA-256."""
    return api.request(
        "POST",
        f"/files/{file_id}/parts",
        json={
            "part_numbers": list(parts),
            "sha256": {str(n): hashlib.sha256(data).hexdigest() for n, data in parts.items()},
        },
    )


def put_part(signed: dict[str, Any], data: bytes, **headers: str) -> httpx.Response:
    """PUT one part to S3 with exactly the headers it was signed with (or these instead)."""
    sent = {**signed["headers"], **headers}
    sent.pop("Content-Length", None)  # httpx sets it from the body, as every client does
    return httpx.put(signed["url"], content=data, headers=sent, timeout=60)


def send(api: Api, file_id: str, parts: dict[int, bytes], numbers: Iterable[int]) -> None:
    """Sign and send the parts named, asserting S3 took each."""
    chosen = {n: parts[n] for n in numbers}
    for start in range(0, len(chosen), 100):
        batch = dict(list(chosen.items())[start : start + 100])
        signed = sign(api, file_id, batch)
        assert signed.status_code == 200, signed.text
        for part in signed.json()["parts"]:
            sent = put_part(part, batch[part["part_number"]])
            assert sent.status_code == 200, sent.text


def confirm(api: Api, file_id: str) -> httpx.Response:
    """POST confirm."""
    return api.request("POST", f"/files/{file_id}/confirm")


def s3_uploads(s3: S3Client, bucket: str, prefix: str, file_id: str) -> list[tuple[str, str]]:
    """(key, UploadId) of every upload S3 has in progress for the file, found behind the API."""
    answer = s3.list_multipart_uploads(Bucket=bucket, Prefix=prefix)
    return [
        (u["Key"], u["UploadId"])
        for u in answer.get("Uploads", [])
        if u.get("Key", "").endswith(f"/{file_id}")
    ]
