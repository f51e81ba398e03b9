"""What operators see: request ids, one JSON line per request, metrics, and no secrets anywhere."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from mypy_boto3_s3 import S3Client

from backend import logs
from backend.app import create_app
from backend.resources import Resources
from backend.settings import ObservabilitySettings, Settings
from backend.storage import ObjectFacts, Storage
from tests.configuration import replace_settings
from tests.integration.api import Api, post_form

METRICS_TOKEN = "a-metrics-token-of-some-length"


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """Every line logged during the test, at every level, as the service writes them (JSON)."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logs.formatter(ObservabilitySettings(log_format="json")))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    logs.quiet_clients()
    try:
        yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.fixture
def observed(
    make_app: Callable[[Settings], Litestar], settings: Settings, make_key: Callable[[str], str]
) -> Iterator[Api]:
    """Alice's API on an app with metrics on, behind a token."""
    app = make_app(replace_settings(settings, metrics_enabled=True, metrics_token=METRICS_TOKEN))
    with TestClient(app) as http:
        yield Api(http, make_key("alice"))


def scrape(api: Api) -> dict[str, float]:
    """The metrics page as {series with labels: value}."""
    page = api.http.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/plain")
    series = {}
    for line in page.text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            series[name] = float(value)
    return series


def moved(before: dict[str, float], after: dict[str, float], prefix: str) -> float:
    """How much all series starting with `prefix` went up."""
    return sum(v for k, v in after.items() if k.startswith(prefix)) - sum(
        v for k, v in before.items() if k.startswith(prefix)
    )


def full_flow(api: Api) -> dict[str, Any]:
    """Announce, send, confirm, list, download and delete one file; what the calls answered."""
    ticket = api.request_upload(b"observed bytes", sha256=None).json()
    assert post_form(ticket["upload"], b"observed bytes").status_code == 204
    file_id = ticket["file_id"]
    confirmed = api.request("POST", f"/files/{file_id}/confirm")
    assert confirmed.status_code == 200
    assert api.request("GET", "/files?q=observed").status_code == 200
    download = api.request("GET", f"/files/{file_id}/download").json()
    missing = api.request("GET", "/files/00000000-0000-0000-0000-000000000001")
    assert api.request("DELETE", f"/files/{file_id}").status_code == 204
    return {"ticket": ticket, "download": download, "missing": missing, "file_id": file_id}


def test_every_response_carries_a_request_id_and_a_problem_names_it(api: Api) -> None:
    generated = api.request("GET", "/files")
    assert re.fullmatch(r"[0-9a-f]{32}", generated.headers["x-request-id"])

    given = api.request("GET", "/files", headers={"X-Request-ID": "edge-7f3a.42"})
    assert given.headers["x-request-id"] == "edge-7f3a.42"

    # An id we could not log safely is replaced, not echoed.
    forged = api.request("GET", "/files", headers={"X-Request-ID": 'x" level="error' * 20})
    assert re.fullmatch(r"[0-9a-f]{32}", forged.headers["x-request-id"])
    assert forged.headers["x-request-id"] != generated.headers["x-request-id"]  # fresh each time

    problem = api.http.get("/files", headers={"X-Request-ID": "support-ticket-1"})
    assert problem.status_code == 401
    assert problem.json()["request_id"] == "support-ticket-1"


def test_each_request_logs_one_json_line_with_its_id_route_owner_and_file(
    api: Api, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    flow = full_flow(api)

    lines = log_lines()
    access = [line for line in lines if line["logger"] == "backend.access"]
    assert [(line["method"], line["route"], line["status"]) for line in access] == [
        ("POST", "/files/upload", 201),
        ("POST", "/files/{file_id}/confirm", 200),
        ("GET", "/files", 200),
        ("GET", "/files/{file_id}/download", 200),
        ("GET", "/files/{file_id}", 404),
        ("DELETE", "/files/{file_id}", 204),
    ]
    assert len({line["request_id"] for line in access}) == len(access)
    owners = {line.get("owner_id") for line in access}
    assert len(owners) == 1 and None not in owners
    assert access[1]["file_id"] == flow["file_id"]
    assert all(line["latency_ms"] >= 0 and line["level"] == "info" for line in access)
    # Lines written inside a request (in the worker threads too) carry its id.
    assert flow["missing"].headers["x-request-id"] == access[4]["request_id"]


def test_no_key_token_or_signature_ever_reaches_the_logs(
    api: Api, log_lines: Callable[[], list[dict[str, Any]]], settings: Settings
) -> None:
    flow = full_flow(api)
    api.request("GET", "/files", headers={"Authorization": f"Bearer {api.key}x"})  # refused

    text = "\n".join(json.dumps(line) for line in log_lines())
    form = flow["ticket"]["upload"]["fields"]
    download_url = flow["download"]["url"]
    secrets = {
        "the API key": api.key,
        "the API key's secret half": api.key.rsplit("_", 1)[-1],
        "the form's signature": form["x-amz-signature"],
        "the form's policy": form["policy"],
        "the download's signature": re.search(r"X-Amz-Signature=([0-9a-f]+)", download_url)[1],
        "the download URL": download_url,
    }
    assert text  # the flow did log
    leaked = [name for name, secret in secrets.items() if secret in text]
    assert leaked == []


def test_metrics_move_through_a_full_flow(observed: Api) -> None:
    before = scrape(observed)
    full_flow(observed)
    after = scrape(observed)

    confirm = (
        'stowage_http_requests_total{method="POST",route="/files/{file_id}/confirm",status="200"}'
    )
    assert after[confirm] - before.get(confirm, 0) == 1
    assert moved(before, after, 'stowage_s3_call_duration_seconds_count{operation="head"}') == 1
    assert moved(before, after, 'stowage_s3_call_duration_seconds_count{operation="purge"}') == 1
    assert (
        moved(before, after, 'stowage_db_statement_duration_seconds_count{statement="UPDATE"}') >= 1
    )
    # The flow's six calls, and the first scrape (counted once it was answered).
    assert moved(before, after, "stowage_http_request_duration_seconds_count") == 7
    assert "stowage_s3_calls_in_flight{pid=" in "\n".join(after)
    assert any(name.startswith("stowage_worker_threads_queued") for name in after)


def test_metrics_need_their_token_and_are_off_unless_enabled(observed: Api, api: Api) -> None:
    assert observed.http.get("/metrics").status_code == 401
    wrong = observed.http.get("/metrics", headers={"Authorization": "Bearer guess-guess-guess"})
    assert wrong.status_code == 401
    assert api.http.get("/metrics").status_code == 404


class _HeadsAtOnce(Storage):
    """HEADs that return only once four of them are waiting: four confirms race for real."""

    def __init__(self, inner: Storage) -> None:
        super().__init__(inner.client, inner.bucket, max_concurrent_calls=4, metrics=inner.metrics)
        self.barrier = threading.Barrier(4, timeout=15)

    def head(self, key: str) -> ObjectFacts | None:
        self.barrier.wait()
        return super().head(key)


def test_a_rejection_is_counted_once_by_the_confirm_that_made_it(
    settings: Settings,
    boto_session: boto3.session.Session,
    make_key: Callable[[str], str],
    s3: S3Client,
) -> None:
    metered = replace_settings(settings, metrics_enabled=True, metrics_token=METRICS_TOKEN)
    made = Resources.create(metered, boto_session)
    racing = Resources(metered, made.engine, _HeadsAtOnce(made.storage), made.metrics)
    try:
        with TestClient(create_app(metered, racing)) as http:
            api = Api(http, make_key("alice"))
            ticket = api.request_upload(b"abc", sha256=hashlib.sha256(b"abc").hexdigest()).json()
            key = ticket["upload"]["fields"]["key"]
            s3.put_object(Bucket=settings.storage.bucket, Key=key, Body=b"xyz",
                          ContentType="text/plain")  # fmt: skip
            before = scrape(api)
            with ThreadPoolExecutor(4) as clients:
                answers = list(
                    clients.map(
                        lambda _: api.request("POST", f"/files/{ticket['file_id']}/confirm"),
                        range(4),
                    )
                )
            after = scrape(api)
    finally:
        made.close()

    assert {answer.status_code for answer in answers} == {422}
    assert moved(before, after, 'stowage_uploads_rejected_total{reason="sha256"}') == 1
    assert moved(before, after, "stowage_uploads_confirmed_total") == 0
