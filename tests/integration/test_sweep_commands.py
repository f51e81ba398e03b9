"""`python -m backend sweep` and `reconcile`, run as an operator would, in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from mypy_boto3_s3 import S3Client

from backend.domain.sweeper import SweepReport
from backend.local.seaweedfs import SeaweedFS
from backend.settings import Settings, as_environment
from tests.integration.api import Api, announce
from tests.integration.sweeping import expire_form, row

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run(settings: Settings, seaweedfs: SeaweedFS) -> Run:
    """Run the CLI with the test's settings and the S3 server's credentials."""

    def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
        environment = {
            **os.environ,
            **as_environment(settings),
            "AWS_ACCESS_KEY_ID": seaweedfs.credentials.access_key,
            "AWS_SECRET_ACCESS_KEY": seaweedfs.credentials.secret_key,
            **env,
        }
        return subprocess.run(
            [sys.executable, "-m", "backend", *args],
            capture_output=True, text=True, env=environment, timeout=60, check=False,
        )  # fmt: skip

    return run_cli


def test_sweep_prints_one_line_per_kind_of_work(run: Run, api: Api, engine: sa.Engine) -> None:
    ticket = announce(api, b"never sent")
    expire_form(engine, ticket["file_id"])

    result = run("sweep")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == len(SweepReport().lines())  # every kind of work, even when 0
    assert "1 upload(s) expired with nothing sent" in lines
    assert "sweep: decided 1 expired upload(s)" in result.stderr  # the batch's log line
    assert row(engine, ticket["file_id"]).status == "expired"


def test_sweep_without_storage_fails_in_one_line(run: Run) -> None:
    result = run("sweep", S3_ENDPOINT_URL="http://127.0.0.1:9", S3_MAX_ATTEMPTS="1")

    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and len(result.stderr.splitlines()) == 1


def test_reconcile_exits_0_when_clean_and_1_with_a_line_per_difference(
    run: Run, api: Api, s3: S3Client, settings: Settings
) -> None:
    api.upload(b"fine")
    assert run("reconcile").returncode == 0
    key = f"{settings.storage.key_prefix}nobody/stray"
    s3.put_object(Bucket=settings.storage.bucket, Key=key, Body=b"stray")

    result = run("reconcile")

    assert result.returncode == 1, result.stderr
    first, totals = result.stdout.splitlines()
    assert first.startswith(f"orphan: {key}: ")
    assert "1 difference(s)" in totals and "0 fixed, 1 not fixed" in totals
