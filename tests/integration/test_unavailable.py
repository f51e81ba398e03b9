"""When the database or the bucket cannot be reached: 503, a problem body, nothing half-written."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import TestClient
from mypy_boto3_s3 import S3Client

from backend.settings import Settings
from tests.integration.api import Api, post_form


def test_confirm_without_storage_is_503_and_the_file_stays_pending(
    api: Api, no_storage: TestClient[Litestar]
) -> None:
    ticket = api.request_upload(b"abc").json()
    assert post_form(ticket["upload"], b"abc").status_code == 204

    response = no_storage.post(f"/files/{ticket['file_id']}/confirm", headers=api.headers)

    assert response.status_code == 503
    assert response.json()["code"] == "storage_unavailable"
    assert response.headers["retry-after"]
    assert api.request("GET", f"/files/{ticket['file_id']}").json()["status"] == "pending"
    assert api.request("POST", f"/files/{ticket['file_id']}/confirm").json()["status"] == "ready"


def test_delete_without_storage_is_503_and_a_retry_finishes_it(
    api: Api, no_storage: TestClient[Litestar], s3: S3Client, settings: Settings
) -> None:
    file = api.upload(b"delete me")
    prefix = settings.storage.key_prefix

    response = no_storage.delete(f"/files/{file['file_id']}", headers=api.headers)

    assert response.status_code == 503
    # Half-way: the file is hidden (never a row pointing at missing bytes), the bytes remain...
    assert api.request("GET", f"/files/{file['file_id']}").status_code == 404
    assert s3.list_object_versions(Bucket=settings.storage.bucket, Prefix=prefix).get("Versions")
    # ...and deleting again finishes the job.
    assert api.request("DELETE", f"/files/{file['file_id']}").status_code == 204
    assert not s3.list_object_versions(Bucket=settings.storage.bucket, Prefix=prefix).get(
        "Versions"
    )
    assert api.request("DELETE", f"/files/{file['file_id']}").status_code == 404


def test_readiness_names_the_missing_bucket(no_storage: TestClient[Litestar]) -> None:
    response = no_storage.get("/health/ready")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"] == "ok"
    assert checks["storage"] != "ok"


def test_without_a_database_requests_are_503_and_liveness_still_answers(
    api: Api, no_database: TestClient[Litestar]
) -> None:
    response = no_database.get("/files", headers=api.headers)
    assert response.status_code == 503
    assert response.json()["code"] == "database_unavailable"
    assert "Traceback" not in response.text
    ready = no_database.get("/health/ready")
    assert ready.status_code == 503
    assert ready.json()["checks"]["storage"] == "ok"
    assert ready.json()["checks"]["database"] != "ok"
    assert no_database.get("/health/live").status_code == 200


def test_readiness_is_ok_when_everything_answers(client: TestClient[Litestar]) -> None:
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "storage": "ok"}}
