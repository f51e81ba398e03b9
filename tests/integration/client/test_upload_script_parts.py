"""Large files through scripts/upload.py: in parts, retried part by part, resumed after a kill."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from tests.integration.client.conftest import script_command, script_env
from tests.integration.live_server import Rule, Stack

Run = Callable[..., subprocess.CompletedProcess[str]]

MiB = 1024 * 1024
SIZE = 64 * MiB + 3 * MiB  # above the threshold: 9 parts of 8 MiB, the last of 3 MiB


def _file(path: Path) -> str:
    data = os.urandom(SIZE)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def _parts_sent(stack: Stack) -> list[int]:
    """The part numbers of every UploadPart request the S3 proxy saw, in order."""
    return [
        int(parse_qs(urlparse(seen.path).query)["partNumber"][0])
        for seen in stack.s3.requests("PUT", "partNumber=")
    ]


def _downloaded_sha256(run: Run, stack: Stack, file_id: str, tmp_path: Path) -> str:
    assert run("download", file_id, "-o", "copy.bin", stack=stack).returncode == 0
    return hashlib.sha256((tmp_path / "copy.bin").read_bytes()).hexdigest()


def test_a_large_file_goes_in_parts_and_a_failed_part_is_retried_alone(
    make_stack: Callable[..., Stack], run: Run, tmp_path: Path
) -> None:
    stack = make_stack()
    sha256 = _file(tmp_path / "big.bin")
    stack.s3.add(Rule("PUT", "partNumber=4&", "answer", status=503))

    result = run("upload", "big.bin", stack=stack, timeout=120)

    assert result.returncode == 0, result.stderr
    file_id = result.stdout.strip().split(" -> ")[1]
    assert sorted(_parts_sent(stack)) == [1, 2, 3, 4, 4, 5, 6, 7, 8, 9]
    assert all(s.headers.get("content-length") for s in stack.s3.requests("PUT", "partNumber="))
    assert _downloaded_sha256(run, stack, file_id, tmp_path) == sha256


def test_running_the_same_command_again_resumes_with_only_the_missing_parts(
    make_stack: Callable[..., Stack], run: Run, tmp_path: Path
) -> None:
    stack = make_stack()
    sha256 = _file(tmp_path / "big.bin")
    # Part 5 is refused for good: the first run ends with an error and the other parts sent.
    stack.s3.add(Rule("PUT", "partNumber=5&", "answer", status=400, times=1))
    first = run("upload", "big.bin", stack=stack, timeout=120)
    assert first.returncode != 0
    sent_before = len(_parts_sent(stack))

    again = run("upload", "big.bin", stack=stack, timeout=120)

    assert again.returncode == 0, again.stderr
    assert _parts_sent(stack)[sent_before:] == [5]
    file_id = again.stdout.strip().split(" -> ")[1]
    assert _downloaded_sha256(run, stack, file_id, tmp_path) == sha256


def test_a_killed_upload_resumes_where_s3_left_off(
    make_stack: Callable[..., Stack], run: Run, tmp_path: Path
) -> None:
    stack = make_stack()
    sha256 = _file(tmp_path / "big.bin")
    stack.s3.add(Rule("PUT", "partNumber=", "delay", seconds=0.5, times=9))
    process = subprocess.Popen(
        script_command("upload", "big.bin", "--jobs", "1"),
        cwd=tmp_path,
        env=script_env(stack, XDG_CACHE_HOME=str(tmp_path / "cache")),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while len(stack.s3.requests("PUT", "partNumber=")) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    sent_before = len(_parts_sent(stack))
    assert 0 < sent_before < 9

    again = run("upload", "big.bin", stack=stack, timeout=120)

    assert again.returncode == 0, again.stderr
    file_id = again.stdout.strip().split(" -> ")[1]
    resent = _parts_sent(stack)[sent_before:]
    # Only what S3 did not hold is sent again (a part cut off mid-way counts as not held).
    assert len(resent) <= 9 - sent_before + 1
    assert 1 not in resent
    assert _downloaded_sha256(run, stack, file_id, tmp_path) == sha256
