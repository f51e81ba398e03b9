"""`scripts/dev` as a newcomer runs it: it starts, serves uploads, stops cleanly, and restarts."""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from backend.local.devstack import UPLOAD_EXAMPLE
from backend.local.seaweedfs import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@dataclass
class DevStack:
    """One running `scripts/dev` and what it printed."""

    process: subprocess.Popen[str]
    log: Path
    api: str

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8")

    def key(self) -> str:
        match = re.search(r"API key\s+(stw_\S+)", self.output())
        assert match, self.output()
        return match.group(1)

    def interrupt(self, signum: int = signal.SIGINT) -> int:
        """Ctrl-C as a person would press it (or another stop signal); the exit code."""
        self.process.send_signal(signum)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            stacks = _python_stacks(self.process.pid)
            self.process.kill()
            self.process.wait()
            pytest.fail(
                f"scripts/dev was still running 30 s after {signal.Signals(signum).name}.\n"
                f"Its threads then:\n{stacks}\nIts output:\n{self.output()}"
            )


def _python_stacks(pid: int) -> str:
    """Where each thread of a Python process is (py-spy), to tell why it hangs."""
    spy = Path(sys.executable).with_name("py-spy")
    if not spy.exists():
        return "(py-spy is not installed)"
    dumped = subprocess.run(
        [str(spy), "dump", "--pid", str(pid)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return dumped.stdout or dumped.stderr


def _env(data_dir: Path, port: int, s3_port: int, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "CORS_ALLOW_ORIGINS"} and not k.startswith("AWS_")
    }
    env.update(PORT=str(port), S3_PORT=str(s3_port), DATA_DIR=str(data_dir), **extra)
    return env


def _start(data_dir: Path, port: int, s3_port: int, log: Path, **extra_env: str) -> DevStack:
    handle = log.open("w", encoding="utf-8")
    process = subprocess.Popen(
        ["/bin/sh", str(ROOT / "scripts" / "dev")],
        env=_env(data_dir, port, s3_port, **extra_env),
        stdout=handle,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )
    handle.close()
    stack = DevStack(process, log, f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, stack.output()
        try:
            if httpx.get(f"{stack.api}/health/ready", timeout=1).status_code == 200:
                return stack
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    process.kill()
    pytest.fail(f"scripts/dev did not become ready:\n{stack.output()}")


def _processes_using(path: Path) -> list[str]:
    """Command lines of live processes that mention `path` (SeaweedFS's carry its data dir)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if str(path) in cmdline and state != "Z":
            found.append(cmdline)
    return found


def _upload_py(stack: DevStack, *args: str) -> subprocess.CompletedProcess[str]:
    return _run_client(stack, [sys.executable, str(ROOT / "scripts" / "upload.py"), *args])


def _run_client(stack: DevStack, command: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FILES_API_URL": stack.api, "FILES_API_KEY": stack.key()}
    return subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=120, check=False, cwd=ROOT
    )


@pytest.fixture
def ports() -> Iterator[tuple[int, int]]:
    yield free_port(), free_port()


def test_dev_serves_uploads_stops_everything_and_keeps_data_across_restarts(
    tmp_path: Path, ports: tuple[int, int]
) -> None:
    data_dir = tmp_path / "data"
    port, s3_port = ports
    sample = tmp_path / "hello wörld.txt"
    sample.write_bytes(os.urandom(64 * 1024))

    first = _start(data_dir, port, s3_port, tmp_path / "first.log")
    try:
        assert f"{first.api}/docs" in first.output()
        # The example the banner prints works as printed.
        assert UPLOAD_EXAMPLE in first.output()
        example = _run_client(first, shlex.split(UPLOAD_EXAMPLE))
        assert example.returncode == 0, example.stdout + example.stderr
        uploaded = _upload_py(first, "upload", str(sample))
        assert uploaded.returncode == 0, uploaded.stdout + uploaded.stderr
        file_id = re.findall(r"[0-9a-f-]{36}", uploaded.stdout)[-1]
        copy = tmp_path / "copy.bin"
        downloaded = _upload_py(first, "download", file_id, "-o", str(copy))
        assert downloaded.returncode == 0, downloaded.stderr
        assert copy.read_bytes() == sample.read_bytes()
        key = first.key()
    finally:
        exit_code = first.interrupt()
    assert exit_code == 0, first.output()
    assert _processes_using(data_dir) == []
    assert "Traceback" not in first.output()

    second = _start(data_dir, port, s3_port, tmp_path / "second.log")
    try:
        assert second.key() == key  # the development key is made once
        info = httpx.get(
            f"{second.api}/files/{file_id}", headers={"Authorization": f"Bearer {key}"}
        )
        assert info.status_code == 200 and info.json()["status"] == "ready"
        url = httpx.get(
            f"{second.api}/files/{file_id}/download", headers={"Authorization": f"Bearer {key}"}
        ).json()["url"]
        assert httpx.get(url).content == sample.read_bytes()
    finally:
        assert second.interrupt() == 0
    assert _processes_using(data_dir) == []


def _browser_upload(stack: DevStack, origin: str) -> httpx.Response:
    """Announce a file and POST its form to the bucket as a page on `origin` would."""
    ticket = httpx.post(
        f"{stack.api}/files/upload",
        headers={"Authorization": f"Bearer {stack.key()}", "Origin": origin},
        json={"filename": "page.txt", "content_type": "text/plain", "size": 4},
    )
    assert ticket.status_code == 201, ticket.text
    upload = ticket.json()["upload"]
    return httpx.post(
        upload["url"],
        data=upload["fields"],
        files={"file": ("page.txt", b"page", "text/plain")},
        headers={"Origin": origin},
    )


def test_dev_applies_cors_allow_origins_to_the_api_and_the_bucket_at_every_start(
    tmp_path: Path, ports: tuple[int, int]
) -> None:
    data_dir = tmp_path / "data"
    first_app, second_app = "https://app.example.test", "http://localhost:5173"
    for origin, dropped in ((first_app, None), (second_app, first_app)):
        stack = _start(data_dir, *ports, tmp_path / "dev.log", CORS_ALLOW_ORIGINS=origin)
        try:
            assert origin in stack.output()  # the banner names the web apps
            preflight = httpx.options(
                f"{stack.api}/files/upload",
                headers={
                    "Origin": origin,
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "authorization, content-type",
                },
            )
            assert preflight.status_code == 204
            assert preflight.headers["access-control-allow-origin"] == origin
            sent = _browser_upload(stack, origin)
            assert sent.status_code == 204, sent.text
            assert sent.headers.get("access-control-allow-origin") == origin
            if dropped:  # the previous start's origin is gone from the bucket's rule
                stale = _browser_upload(stack, dropped)
                assert "access-control-allow-origin" not in stale.headers
        finally:
            assert stack.interrupt() == 0


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_dev_stops_everything_on_terminate_and_hangup(
    tmp_path: Path, ports: tuple[int, int], signum: int
) -> None:
    data_dir = tmp_path / "data"
    stack = _start(data_dir, *ports, tmp_path / "dev.log")
    stack.interrupt(signum)
    assert _processes_using(data_dir) == [], stack.output()
    assert "stopping SeaweedFS" in stack.output()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_dev_stops_on_a_signal_that_arrives_while_it_serves(
    tmp_path: Path, ports: tuple[int, int], signum: int
) -> None:
    """A signal caught in the middle of a request still stops the stack (uvicorn catches
    whatever a request raises, so an exception from the signal handler would be lost)."""
    data_dir = tmp_path / "data"
    stack = _start(data_dir, *ports, tmp_path / "dev.log")
    stopped = threading.Event()

    def keep_asking() -> None:
        with httpx.Client(base_url=stack.api, timeout=5) as client:
            while not stopped.is_set():
                try:
                    client.get("/health/live")
                except httpx.TransportError:
                    return

    clients = [threading.Thread(target=keep_asking) for _ in range(4)]
    for client in clients:
        client.start()
    try:
        time.sleep(1)  # well into the requests
        stack.interrupt(signum)
    finally:
        stopped.set()
        for client in clients:
            client.join(timeout=10)
    assert _processes_using(data_dir) == [], stack.output()
    assert "stopping SeaweedFS" in stack.output()


def test_dev_issues_a_new_key_when_the_database_does_not_know_the_saved_one(
    tmp_path: Path, ports: tuple[int, int]
) -> None:
    data_dir = tmp_path / "data"
    first = _start(data_dir, *ports, tmp_path / "first.log")
    old_key = first.key()
    assert first.interrupt() == 0
    (data_dir / "stowage.db").unlink()  # a fresh database, as with another DATABASE_URL

    second = _start(data_dir, *ports, tmp_path / "second.log")
    try:
        new_key = second.key()
        assert new_key != old_key
        response = httpx.get(f"{second.api}/files", headers={"Authorization": f"Bearer {new_key}"})
        assert response.status_code == 200
    finally:
        second.interrupt()


@pytest.mark.parametrize("which", ["PORT", "S3_PORT"])
def test_dev_refuses_a_port_in_use_with_one_line(
    tmp_path: Path, ports: tuple[int, int], which: str
) -> None:
    port, s3_port = ports
    busy = port if which == "PORT" else s3_port
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", busy))
        taken.listen()
        result = subprocess.run(
            ["/bin/sh", str(ROOT / "scripts" / "dev")],
            env=_env(tmp_path / "data", port, s3_port),
            capture_output=True,
            text=True,
            timeout=120,
            cwd=ROOT,
            check=False,
        )
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert str(busy) in result.stderr and "in use" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert _processes_using(tmp_path / "data") == []
