"""scripts/upload.py against the real stack: what a user types, what they see, what S3 gets."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mypy_boto3_s3 import S3Client

from tests.integration.live_server import Rule, Stack

Run = Callable[..., subprocess.CompletedProcess[str]]

SLOW_DOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message></Error>"
)


def one_line(text: str) -> str:
    """The only line of `text` (the promise: every error is one line, never a traceback)."""
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


def versions_under(s3: S3Client, stack: Stack) -> list[Any]:
    """Every object version under the stack's key prefix, noncurrent ones included."""
    listed = s3.list_object_versions(
        Bucket=stack.settings.storage.bucket, Prefix=stack.settings.storage.key_prefix
    )
    return list(listed.get("Versions", []))


def bucket_posts(stack: Stack) -> list[Any]:
    """The multipart form POSTs that reached S3."""
    return stack.s3.requests("POST", f"/{stack.settings.storage.bucket}")


def test_upload_json_output_parses_and_agrees_with_list_and_info(run: Run, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("quarterly numbers\n")
    (tmp_path / "data.bin").write_bytes(os.urandom(70_000))

    uploaded = run("upload", "--json", "notes.txt", "data.bin")

    assert uploaded.returncode == 0, uploaded.stderr
    assert uploaded.stderr == ""  # no bars and no notes when nothing is a terminal
    results = json.loads(uploaded.stdout)
    assert [(r["file"], r["status"], r["error"]) for r in results] == [
        ("notes.txt", "ready", None),
        ("data.bin", "ready", None),
    ]
    listed = json.loads(run("list", "--json").stdout)
    assert {f["file_id"] for f in listed} == {r["file_id"] for r in results}
    info = json.loads(run("info", "--json", results[1]["file_id"]).stdout)
    assert info["filename"] == "data.bin"
    assert info["content_type"] == "application/octet-stream"
    assert info["size"] == 70_000
    assert info["sha256"] == hashlib.sha256((tmp_path / "data.bin").read_bytes()).hexdigest()
    assert info["status"] == "ready"

    human = run("list", "--q", "NOTES").stdout.splitlines()
    assert len(human) == 1
    assert human[0].startswith(results[0]["file_id"]) and human[0].endswith("  notes.txt")


def test_unicode_filenames_round_trip_through_upload_list_and_download(
    run: Run, tmp_path: Path
) -> None:
    bodies = {
        "Grüße \u2013 報告.txt": "héllo wörld\n".encode() * 500,
        "📦 données.csv": b"a,b\n1,2\n",
    }
    for name, body in bodies.items():
        (tmp_path / name).write_bytes(body)

    uploaded = run("upload", "--jobs", "2", *bodies)

    assert uploaded.returncode == 0, uploaded.stderr
    ids = {}
    for line in uploaded.stdout.splitlines():
        name, file_id = line.removeprefix("uploaded ").split(" -> ")
        ids[name] = file_id
    assert set(ids) == set(bodies)
    listed = json.loads(run("list", "--json").stdout)
    assert {f["filename"]: f["file_id"] for f in listed} == ids

    (tmp_path / "out").mkdir()
    for name, file_id in ids.items():
        fetched = run("download", file_id, "-o", "out")
        assert fetched.returncode == 0, fetched.stderr
        assert fetched.stdout.strip() == f"downloaded {file_id} -> {Path('out', name)}"
        assert (tmp_path / "out" / name).read_bytes() == bodies[name]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(bodies)


def test_empty_file_uploads_and_downloads(run: Run, tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_bytes(b"")

    uploaded = run("upload", "--json", "empty.txt")

    assert uploaded.returncode == 0, uploaded.stderr
    file_id = json.loads(uploaded.stdout)[0]["file_id"]
    fetched = run("download", "--json", file_id, "-o", "copy.txt")
    assert fetched.returncode == 0, fetched.stderr
    assert json.loads(fetched.stdout)["path"] == "copy.txt"
    assert (tmp_path / "copy.txt").read_bytes() == b""


def test_the_form_post_to_s3_declares_its_content_length(
    run: Run, tmp_path: Path, stack: Stack
) -> None:
    # AWS refuses chunked uploads that SeaweedFS would accept; the proxy answers those 411.
    (tmp_path / "photo.png").write_bytes(os.urandom(300_000))

    uploaded = run("upload", "photo.png")

    assert uploaded.returncode == 0, uploaded.stderr
    [post] = bucket_posts(stack)
    assert "transfer-encoding" not in post.headers
    assert post.headers["content-length"] == str(post.body_size)
    assert post.body_size > 300_000  # the form fields, then the whole file
    assert post.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert "authorization" not in post.headers  # the API key never goes to S3


def test_confirm_lost_in_transit_is_retried_with_the_same_file_id(
    run: Run, tmp_path: Path, stack: Stack, s3: S3Client
) -> None:
    # The API confirms the file, then the answer is lost: the script must confirm again.
    stack.api.add(Rule("POST", "/confirm", "drop_answer"))
    (tmp_path / "ledger.csv").write_text("id,amount\n1,10\n")

    uploaded = run("upload", "--json", "ledger.csv")

    assert uploaded.returncode == 0, uploaded.stderr
    assert "retrying" in uploaded.stderr
    [result] = json.loads(uploaded.stdout)
    assert result["status"] == "ready"
    assert len(stack.api.requests("POST", "/files/upload")) == 1
    confirms = stack.api.requests("POST", "/confirm")
    assert [c.path for c in confirms] == [f"/files/{result['file_id']}/confirm"] * 2
    assert len(bucket_posts(stack)) == 1
    assert len(versions_under(s3, stack)) == 1
    assert json.loads(run("list", "--json", "--status", "pending").stdout) == []
    assert [f["file_id"] for f in json.loads(run("list", "--json").stdout)] == [result["file_id"]]


def test_s3_slow_down_is_retried_without_a_second_copy(
    run: Run, tmp_path: Path, stack: Stack, s3: S3Client
) -> None:
    stack.s3.add(Rule("POST", f"/{stack.settings.storage.bucket}", "answer", body=SLOW_DOWN))
    (tmp_path / "scan.pdf").write_bytes(b"%PDF-1.7\n" + os.urandom(5000))

    uploaded = run("upload", "scan.pdf")

    assert uploaded.returncode == 0, uploaded.stderr
    assert "SlowDown: Please reduce your request rate." in uploaded.stderr
    assert len(bucket_posts(stack)) == 2
    assert len(stack.api.requests("POST", "/files/upload")) == 1
    assert len(versions_under(s3, stack)) == 1


def test_an_s3_error_is_one_line_with_its_code_and_message(
    run: Run, tmp_path: Path, make_stack: Callable[..., Stack]
) -> None:
    # A real refusal from SeaweedFS: the form expires while the proxy holds the POST back.
    stack = make_stack(upload_url_ttl_seconds=1)
    stack.s3.add(Rule("POST", f"/{stack.settings.storage.bucket}", "delay", seconds=2.5))
    (tmp_path / "late.txt").write_text("too late\n")

    uploaded = run("upload", "late.txt", stack=stack)

    assert uploaded.returncode == 1
    line = one_line(uploaded.stderr)
    assert line.startswith("error: late.txt: AccessDenied: ")
    assert "(S3, HTTP 403)" in line
    assert "<" not in line  # parsed, not the XML
    assert uploaded.stdout == ""


def test_a_file_over_the_limit_is_refused_before_any_s3_traffic(
    run: Run, tmp_path: Path, make_stack: Callable[..., Stack]
) -> None:
    stack = make_stack(max_upload_bytes=10)
    (tmp_path / "big.txt").write_text("eleven byte")

    uploaded = run("upload", "--json", "big.txt", stack=stack)

    assert uploaded.returncode == 1
    assert one_line(uploaded.stderr) == (
        "error: big.txt: file_too_large: 11 bytes is over the limit of 10 bytes."
    )
    [result] = json.loads(uploaded.stdout)
    assert result["error"]["code"] == "file_too_large"
    assert result["status"] == "failed"
    assert stack.s3.requests("POST") == []


def test_a_missing_file_is_a_usage_error_and_nothing_is_sent(
    run: Run, tmp_path: Path, stack: Stack
) -> None:
    (tmp_path / "here.txt").write_text("here\n")

    uploaded = run("upload", "here.txt", "gone.txt")

    assert uploaded.returncode == 2
    assert one_line(uploaded.stderr) == "upload.py: error: not a file: gone.txt"
    assert stack.api.seen == []


def test_a_wrong_key_fails_with_one_line_naming_not_authenticated(run: Run) -> None:
    listed = run("list", FILES_API_KEY="stw_wrong_key")

    assert listed.returncode == 1
    line = one_line(listed.stderr)
    assert line.startswith("error: not_authenticated: ")
    assert "stw_wrong_key" not in line

    missing = run("list", FILES_API_KEY="")
    assert missing.returncode == 2
    assert "FILES_API_KEY" in one_line(missing.stderr)


def test_delete_removes_the_file_and_unknown_ids_fail_with_not_found(
    run: Run, tmp_path: Path
) -> None:
    (tmp_path / "old.txt").write_text("old\n")
    file_id = json.loads(run("upload", "--json", "old.txt").stdout)[0]["file_id"]

    deleted = run("delete", file_id)

    assert deleted.returncode == 0, deleted.stderr
    assert deleted.stdout.strip() == f"deleted {file_id}"
    for command in ("info", "delete", "download"):
        gone = run(command, "--json", file_id)
        assert gone.returncode == 1
        assert one_line(gone.stderr) == "error: not_found: No such file."
        assert json.loads(gone.stdout) == {
            "error": {"code": "not_found", "detail": "No such file."}
        }


def test_a_download_that_fails_verification_leaves_no_file(
    run: Run, tmp_path: Path, stack: Stack
) -> None:
    (tmp_path / "orig.txt").write_text("the original\n")
    file_id = json.loads(run("upload", "--json", "orig.txt").stdout)[0]["file_id"]
    stack.s3.add(Rule("GET", f"/{stack.settings.storage.bucket}/", "corrupt"))
    (tmp_path / "out").mkdir()

    fetched = run("download", file_id, "-o", "out/copy.txt")

    assert fetched.returncode == 1
    assert one_line(fetched.stderr).startswith("error: checksum_mismatch: ")
    assert list((tmp_path / "out").iterdir()) == []  # neither the target nor a partial file


def test_progress_bars_show_on_a_terminal(
    run_in_terminal: Callable[..., tuple[int, str]], tmp_path: Path, stack: Stack
) -> None:
    (tmp_path / "movie.bin").write_bytes(os.urandom(8 * 1024 * 1024))
    # Held back long enough for the bar to be drawn a few times whatever the machine's speed.
    stack.s3.add(Rule("POST", f"/{stack.settings.storage.bucket}", "delay", seconds=0.5))

    status, screen = run_in_terminal("upload", "movie.bin")

    assert status == 0, screen
    assert "uploading movie.bin" in screen
    assert "8.4 MB" in screen  # the file's size, among bytes so far, rate and time left
    assert "uploaded movie.bin -> " in screen
