"""Multipart uploads on a real S3 server: resumable, bound part by part, assembled by the server."""

from __future__ import annotations

import base64
import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from botocore.exceptions import ClientError
from mypy_boto3_s3 import S3Client

from backend.settings import Settings
from tests.integration.api import Api
from tests.integration.parts_api import (
    PART,
    MiB,
    announce_multipart,
    confirm,
    cut,
    put_part,
    s3_uploads,
    send,
    sign,
)


def _body(size: int) -> bytes:
    return os.urandom(size)


def _composite(parts: dict[int, bytes]) -> str:
    digests = b"".join(hashlib.sha256(parts[n]).digest() for n in sorted(parts))
    return f"{base64.b64encode(hashlib.sha256(digests).digest()).decode()}-{len(parts)}"


def _download(api: Api, file_id: str) -> bytes:
    url = api.request("GET", f"/files/{file_id}/download").json()["url"]
    return httpx.get(url, timeout=60).content


def test_a_small_multipart_file_is_one_part_and_round_trips(api: Api) -> None:
    body = b"one short part"
    ticket = announce_multipart(api, len(body))
    assert ticket["status"] == "pending"
    assert "upload" not in ticket
    assert ticket["multipart"] == {"part_size": PART, "part_count": 1}
    send(api, ticket["file_id"], {1: body}, [1])

    confirmed = confirm(api, ticket["file_id"])

    assert confirmed.status_code == 200, confirmed.text
    file = confirmed.json()
    assert file["status"] == "ready"
    assert file["integrity"] == "part_sha256"
    assert file["sha256"] is None  # nothing computed the whole file's SHA-256
    assert file["composite_sha256"] == _composite({1: body})
    assert _download(api, ticket["file_id"]) == body


def test_a_200_mib_file_in_8_mib_parts_round_trips_with_identical_bytes(api: Api) -> None:
    body = _body(200 * MiB)
    ticket = announce_multipart(api, len(body))
    assert ticket["multipart"] == {"part_size": PART, "part_count": 25}
    parts = cut(body, PART)

    send(api, ticket["file_id"], parts, parts)
    confirmed = confirm(api, ticket["file_id"])

    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["size"] == len(body)
    assert confirmed.json()["composite_sha256"] == _composite(parts)
    assert hashlib.sha256(_download(api, ticket["file_id"])).digest() == (
        hashlib.sha256(body).digest()
    )


THRESHOLD = 1000


@pytest.mark.parametrize(
    ("size", "multipart"),
    [(THRESHOLD - 1, False), (THRESHOLD, False), (THRESHOLD + 1, True)],
    ids=["threshold-1", "threshold", "threshold+1"],
)
def test_files_above_the_threshold_go_multipart(api_with: Any, size: int, multipart: bool) -> None:
    api = api_with(multipart_threshold_bytes=THRESHOLD)
    ticket = api.request_upload(b"x" * size)
    assert ticket.status_code == 201, ticket.text
    assert ("multipart" in ticket.json()) is multipart
    assert ("upload" in ticket.json()) is not multipart


def test_the_client_may_choose_either_way_within_the_limits(api_with: Any) -> None:
    api = api_with(multipart_threshold_bytes=THRESHOLD, max_single_upload_bytes=2 * THRESHOLD)
    assert "upload" in api.request_upload(b"x" * (THRESHOLD + 1), multipart=False).json()
    assert "multipart" in api.request_upload(b"x" * 10, multipart=True).json()
    too_big = api.request_upload(b"x" * (2 * THRESHOLD + 1), multipart=False)
    assert too_big.status_code == 413
    assert too_big.json()["code"] == "file_too_large"


def test_a_5_tib_file_is_planned_in_at_most_10000_parts(api: Api) -> None:
    ticket = announce_multipart(api, 5 * 1024**4)
    plan = ticket["multipart"]
    assert plan["part_count"] <= 10_000
    assert plan["part_size"] * plan["part_count"] >= 5 * 1024**4
    assert api.request("DELETE", f"/files/{ticket['file_id']}").status_code == 204


def test_an_interrupted_upload_resumes_sending_only_the_missing_parts(api: Api) -> None:
    body = _body(2 * PART + 123)
    ticket = announce_multipart(api, len(body))
    file_id = ticket["file_id"]
    parts = cut(body, ticket["multipart"]["part_size"])
    send(api, file_id, parts, [1, 3])  # ...and the client dies

    # The file id is all a restarted client needs: the file shows its plan.
    assert api.request("GET", f"/files/{file_id}").json()["multipart"] == ticket["multipart"]
    held = api.request("GET", f"/files/{file_id}/parts")
    assert held.status_code == 200, held.text
    assert [(p["part_number"], p["size"]) for p in held.json()["parts"]] == [(1, PART), (3, 123)]
    assert all(p["etag"] for p in held.json()["parts"])
    missing = sorted(set(parts) - {p["part_number"] for p in held.json()["parts"]})
    assert missing == [2]
    send(api, file_id, parts, missing)

    assert confirm(api, file_id).status_code == 200
    assert _download(api, file_id) == body


def test_part_urls_sign_the_exact_length_and_sha256(api: Api) -> None:
    body = _body(PART + 5)
    ticket = announce_multipart(api, len(body))
    parts = cut(body, PART)
    signed = sign(api, ticket["file_id"], parts).json()["parts"]

    assert [p["part_number"] for p in signed] == [1, 2]
    for part in signed:
        data = parts[part["part_number"]]
        assert part["headers"]["Content-Length"] == str(len(data))
        assert (
            part["headers"]["x-amz-checksum-sha256"]
            == base64.b64encode(hashlib.sha256(data).digest()).decode()
        )
        query = parse_qs(urlparse(part["url"]).query)
        assert query["partNumber"] == [str(part["part_number"])]
        assert {"content-length", "x-amz-checksum-sha256"} <= set(
            query["X-Amz-SignedHeaders"][0].split(";")
        )


def test_s3_refuses_a_part_whose_bytes_differ_from_its_signed_sha256(api: Api) -> None:
    body = _body(100)
    ticket = announce_multipart(api, len(body))
    (part,) = sign(api, ticket["file_id"], {1: body}).json()["parts"]

    refused = put_part(part, bytes(reversed(body)))

    assert refused.status_code in {400, 403}, refused.text
    assert api.request("GET", f"/files/{ticket['file_id']}/parts").json()["parts"] == []


def test_s3_refuses_a_part_without_its_signed_sha256(api: Api) -> None:
    body = _body(100)
    ticket = announce_multipart(api, len(body))
    (part,) = sign(api, ticket["file_id"], {1: body}).json()["parts"]
    del part["headers"]["x-amz-checksum-sha256"]

    assert put_part(part, body).status_code in {400, 403}


def test_s3_refuses_a_part_of_another_length(api: Api) -> None:
    body = _body(PART + 10)
    ticket = announce_multipart(api, len(body))
    parts = cut(body, PART)
    signed = sign(api, ticket["file_id"], parts).json()["parts"]

    # The same bytes' checksum signed for a longer part: only the length is wrong.
    assert put_part(signed[1], parts[2] + b"!").status_code in {400, 403}


def _behind_the_api(
    s3: S3Client, settings: Settings, file_id: str, number: int, data: bytes
) -> None:
    """Put a part straight into the file's S3 upload, as no URL the API signs would allow."""
    ((key, upload_id),) = s3_uploads(s3, settings.storage.bucket, settings.storage.key_prefix,
                                     file_id)  # fmt: skip
    s3.upload_part(
        Bucket=settings.storage.bucket, Key=key, UploadId=upload_id, PartNumber=number,
        Body=data, ChecksumSHA256=base64.b64encode(hashlib.sha256(data).digest()).decode(),
    )  # fmt: skip


def _assert_not_ready(api: Api, file_id: str) -> None:
    assert api.request("GET", f"/files/{file_id}").json()["status"] == "pending"
    listed = api.request("GET", "/files?status=ready").json()["items"]
    assert file_id not in {f["file_id"] for f in listed}


@pytest.mark.parametrize(
    ("sent", "missing"), [([1, 3], [2]), ([1, 2], [3]), ([], [1, 2, 3])],
    ids=["gap", "missing-last", "nothing"],
)  # fmt: skip
def test_confirm_names_the_missing_parts_and_keeps_the_file_pending(
    api: Api, sent: list[int], missing: list[int]
) -> None:
    body = _body(2 * PART + 1)
    ticket = announce_multipart(api, len(body))
    send(api, ticket["file_id"], cut(body, PART), sent)

    answer = confirm(api, ticket["file_id"])

    assert answer.status_code == 409, answer.text
    assert answer.json()["code"] == "parts_missing"
    assert answer.json()["missing_parts"] == missing
    _assert_not_ready(api, ticket["file_id"])


def test_confirm_refuses_a_wrong_sized_middle_part(
    api: Api, s3: S3Client, settings: Settings
) -> None:
    body = _body(2 * PART + 1)
    ticket = announce_multipart(api, len(body))
    parts = cut(body, PART)
    send(api, ticket["file_id"], parts, [1, 3])
    _behind_the_api(s3, settings, ticket["file_id"], 2, parts[2] + b"extra")

    answer = confirm(api, ticket["file_id"])

    assert answer.status_code == 409, answer.text
    assert answer.json()["code"] == "parts_invalid"
    assert "part 2 has" in answer.json()["detail"]
    _assert_not_ready(api, ticket["file_id"])


def test_confirm_refuses_a_part_whose_bytes_differ_from_its_signed_sha256(
    api: Api, s3: S3Client, settings: Settings
) -> None:
    body = _body(100)
    ticket = announce_multipart(api, len(body))
    assert sign(api, ticket["file_id"], {1: body}).status_code == 200
    # Same size, other bytes, put where the signed URL would have put them.
    _behind_the_api(s3, settings, ticket["file_id"], 1, bytes(reversed(body)))

    answer = confirm(api, ticket["file_id"])

    assert answer.status_code == 409, answer.text
    assert answer.json()["code"] == "parts_invalid"
    _assert_not_ready(api, ticket["file_id"])


def test_a_part_replaced_after_it_was_sent_never_makes_a_ready_file_of_other_bytes(
    api: Api, s3: S3Client, settings: Settings
) -> None:
    body = _body(100)
    ticket = announce_multipart(api, len(body))
    send(api, ticket["file_id"], {1: body}, [1])
    _behind_the_api(s3, settings, ticket["file_id"], 1, bytes(reversed(body)))

    answer = confirm(api, ticket["file_id"])

    # AWS replaces the part, so completion refuses it; SeaweedFS keeps both uploads.
    if answer.status_code == 200:
        assert _download(api, ticket["file_id"]) == body
    else:
        assert answer.json()["code"] == "parts_invalid", answer.text
        _assert_not_ready(api, ticket["file_id"])


def test_confirming_again_or_at_once_gives_one_ready_file(api: Api) -> None:
    body = _body(PART + 7)
    ticket = announce_multipart(api, len(body))
    send(api, ticket["file_id"], cut(body, PART), [1, 2])

    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(lambda _: confirm(api, ticket["file_id"]), range(2)))
    again = confirm(api, ticket["file_id"])

    assert [a.status_code for a in [*answers, again]] == [200, 200, 200], [a.text for a in answers]
    assert answers[0].json() == answers[1].json() == again.json()
    assert _download(api, ticket["file_id"]) == body


def test_deleting_a_pending_multipart_file_aborts_its_upload(
    api: Api, s3: S3Client, settings: Settings
) -> None:
    body = _body(PART + 1)
    ticket = announce_multipart(api, len(body))
    send(api, ticket["file_id"], cut(body, PART), [1])
    ((key, upload_id),) = s3_uploads(s3, settings.storage.bucket, settings.storage.key_prefix,
                                     ticket["file_id"])  # fmt: skip

    assert api.request("DELETE", f"/files/{ticket['file_id']}").status_code == 204

    assert s3_uploads(s3, settings.storage.bucket, settings.storage.key_prefix,
                      ticket["file_id"]) == []  # fmt: skip
    with pytest.raises(ClientError) as gone:
        s3.list_parts(Bucket=settings.storage.bucket, Key=key, UploadId=upload_id)
    assert gone.value.response["Error"]["Code"] == "NoSuchUpload"
    assert api.request("GET", f"/files/{ticket['file_id']}").status_code == 404
    assert api.request("DELETE", f"/files/{ticket['file_id']}").status_code == 404


def test_deleting_a_ready_multipart_file_destroys_its_object(
    api: Api, s3: S3Client, settings: Settings
) -> None:
    body = _body(10)
    ticket = announce_multipart(api, len(body))
    send(api, ticket["file_id"], {1: body}, [1])
    assert confirm(api, ticket["file_id"]).status_code == 200

    assert api.request("DELETE", f"/files/{ticket['file_id']}").status_code == 204

    listed = s3.list_object_versions(Bucket=settings.storage.bucket,
                                     Prefix=settings.storage.key_prefix)  # fmt: skip
    assert [v for v in listed.get("Versions", []) if v["Key"].endswith(ticket["file_id"])] == []


def test_a_multipart_file_is_invisible_to_another_owner(
    make_api: Any, s3: S3Client, settings: Settings
) -> None:
    alice, mallory = make_api("alice"), make_api("mallory")
    body = _body(PART + 1)
    ticket = announce_multipart(alice, len(body))
    file_id = ticket["file_id"]
    parts = cut(body, PART)
    send(alice, file_id, parts, [1])

    assert sign(mallory, file_id, parts).status_code == 404
    assert mallory.request("GET", f"/files/{file_id}/parts").status_code == 404
    send(alice, file_id, parts, [2])
    assert confirm(mallory, file_id).status_code == 404
    assert mallory.request("DELETE", f"/files/{file_id}").status_code == 404

    assert alice.request("GET", f"/files/{file_id}").json()["status"] == "pending"
    assert len(s3_uploads(s3, settings.storage.bucket, settings.storage.key_prefix, file_id)) == 1
    assert confirm(alice, file_id).status_code == 200


def test_parts_outside_the_plan_are_refused(api: Api) -> None:
    ticket = announce_multipart(api, PART + 1)
    file_id = ticket["file_id"]
    for numbers in ([0], [3], [1, 2, 3], list(range(1, 102))):
        body = {"part_numbers": numbers, "sha256": {str(n): "0" * 64 for n in numbers}}
        answer = api.request("POST", f"/files/{file_id}/parts", json=body)
        assert answer.status_code == 422, (numbers, answer.text)
        assert answer.json()["code"] == "invalid_input"


@pytest.mark.parametrize("name", ["2", "x", "²", "1" * 5000, "-1", ""])
def test_a_checksum_for_a_part_not_asked_for_is_invalid_input(api: Api, name: str) -> None:
    ticket = announce_multipart(api, PART + 1)
    body = {"part_numbers": [1], "sha256": {"1": "0" * 64, name: "0" * 64}}
    answer = api.request("POST", f"/files/{ticket['file_id']}/parts", json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == "sha256"


def test_every_part_is_signed_with_its_sha256(api: Api) -> None:
    ticket = announce_multipart(api, PART + 1)
    answer = api.request("POST", f"/files/{ticket['file_id']}/parts", json={"part_numbers": [1]})
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "sha256"


def test_a_single_part_file_has_no_parts(api: Api) -> None:
    ticket = api.request_upload(b"small").json()
    for answer in (
        sign(api, ticket["file_id"], {1: b"small"}),
        api.request("GET", f"/files/{ticket['file_id']}/parts"),
    ):
        assert answer.status_code == 409
        assert answer.json()["code"] == "not_multipart"


def test_a_ready_file_takes_no_more_parts(api: Api) -> None:
    body = b"done"
    ticket = announce_multipart(api, len(body))
    send(api, ticket["file_id"], {1: body}, [1])
    assert confirm(api, ticket["file_id"]).status_code == 200

    for answer in (
        sign(api, ticket["file_id"], {1: body}),
        api.request("GET", f"/files/{ticket['file_id']}/parts"),
    ):
        assert answer.status_code == 409
        assert answer.json()["code"] == "file_not_pending"


def test_a_whole_file_sha256_is_refused_for_multipart(api: Api) -> None:
    answer = api.request_upload(b"abc", multipart=True, sha256=hashlib.sha256(b"abc").hexdigest())
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "sha256"


def test_an_upload_s3_no_longer_has_is_gone(api: Api, s3: S3Client, settings: Settings) -> None:
    ticket = announce_multipart(api, 10)
    ((key, upload_id),) = s3_uploads(s3, settings.storage.bucket, settings.storage.key_prefix,
                                     ticket["file_id"])  # fmt: skip
    s3.abort_multipart_upload(Bucket=settings.storage.bucket, Key=key, UploadId=upload_id)

    for answer in (
        api.request("GET", f"/files/{ticket['file_id']}/parts"),
        confirm(api, ticket["file_id"]),
    ):
        assert answer.status_code == 409, answer.text
        assert answer.json()["code"] == "upload_gone"
