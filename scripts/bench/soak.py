#!/usr/bin/env python3
"""Soak: many uploads in flight while S3 pauses and restarts and the API is killed; then check.

Starts SeaweedFS, a throwaway PostgreSQL database and the API (`python -m backend serve`, a
real process), and sends UPLOADS uploads, IN_FLIGHT at a time, of sizes at the boundaries
(0, 1, 1 KiB, 5 MiB, 5 MiB + 1, and a two-part multipart file now and then). Some are
abandoned after the announcement, some after the bytes reached S3; some confirms are repeated,
some sent twice at once. Meanwhile S3 is paused (SIGSTOP) for a while, S3 is restarted once,
and the API is killed with SIGKILL once and started again. Clients retry 503s and dropped
connections, as a real client would. Then: wait out the forms, sweep, reconcile, and check

- every file whose confirm answered 200 downloads with exactly the bytes that were sent;
- no ready row without its object, and no object without a row (reconcile finds nothing);
- no row left pending or deleting;
- no server error other than 503.

    .venv/bin/python scripts/bench/soak.py [--uploads 1000] [--in-flight 50] [--form-ttl 60]

Prints the counts; exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from backend.local.credentials import S3Credentials  # noqa: E402
from backend.local.seaweedfs import SeaweedFS, ensure_bucket  # noqa: E402

BUCKET = "soak-uploads"
KiB, MiB = 1024, 1024 * 1024
SIZES = (0, 1, KiB, 5 * MiB, 5 * MiB + 1)
MULTIPART_SIZE = 9 * MiB  # two parts: 8 MiB and 1 MiB
GRACE = 5


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@dataclass
class Tally:
    """What happened, counted across threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    counts: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    confirmed: dict[str, str] = field(default_factory=dict)  # file id -> SHA-256 sent

    def add(self, name: str, n: int = 1) -> None:
        with self.lock:
            self.counts[name] += n


class Api:
    """The API process: started, killed, started again, always on the same port."""

    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.env = {**env, "PORT": str(port), "HOST": "127.0.0.1"}
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "backend", "serve"], env=self.env, stdout=out,
                stderr=out, cwd=ROOT,
            )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/health/live", timeout=1).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"the API did not start; see {self.log}")

    def kill(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def call(tally: Tally, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """A request that rides out outages: retries 503s and dropped connections for a minute."""
    deadline = time.monotonic() + 60
    while True:
        try:
            response = httpx.request(method, url, timeout=30, **kwargs)
        except httpx.TransportError:
            tally.add("retried after a dropped connection")
        else:
            with tally.lock:
                tally.statuses[response.status_code] += 1
                if response.status_code >= 500 and response.status_code != 503:
                    tally.server_errors.append(f"{method} {url}: {response.status_code}")
            if response.status_code != 503:
                return response
            tally.add("retried after a 503")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{method} {url} kept failing for a minute")
        time.sleep(0.5 + random.random())  # noqa: S311  (jitter, not a secret)


def send_form(tally: Tally, upload: dict[str, Any], body: bytes) -> bool:
    """The bytes to S3 by the form, retried while S3 is away; whether S3 took them."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            answer = httpx.post(upload["url"], data=upload["fields"],
                                files={"file": ("f", body)}, timeout=30)  # fmt: skip
        except httpx.TransportError:
            tally.add("S3 send retried")
            time.sleep(1)
            continue
        if answer.status_code >= 500:
            tally.add("S3 send retried")
            time.sleep(1)
            continue
        return answer.status_code in (200, 201, 204)
    return False


def send_parts(tally: Tally, api: Api, headers: dict[str, str], file_id: str, body: bytes,
               part_size: int) -> None:  # fmt: skip
    """Sign and PUT every part of a multipart file."""
    parts = {n + 1: body[i : i + part_size] for n, i in enumerate(range(0, len(body), part_size))}
    signed = call(tally, "POST", f"{api.url}/files/{file_id}/parts", headers=headers, json={
        "part_numbers": list(parts),
        "sha256": {str(n): hashlib.sha256(p).hexdigest() for n, p in parts.items()},
    }).json()  # fmt: skip
    for part in signed["parts"]:
        sent = dict(part["headers"])
        sent.pop("Content-Length", None)
        for _ in range(60):
            try:
                if httpx.put(part["url"], content=parts[part["part_number"]], headers=sent,
                             timeout=30).status_code == 200:  # fmt: skip
                    break
            except httpx.TransportError:
                pass
            tally.add("S3 part retried")
            time.sleep(1)


def one_upload(number: int, api: Api, key: str, tally: Tally) -> None:
    """One client's upload, with the fate its number gives it."""
    headers = {"Authorization": f"Bearer {key}"}
    multipart = number % 50 == 7
    size = MULTIPART_SIZE if multipart else SIZES[number % len(SIZES)]
    body = os.urandom(size)
    digest = hashlib.sha256(body).hexdigest()
    request: dict[str, Any] = {
        "filename": f"soak-{number}.bin",
        "content_type": "application/octet-stream",
        "size": size,
    }
    if multipart:
        request["multipart"] = True
    else:
        request["sha256"] = digest
    ticket = call(tally, "POST", f"{api.url}/files/upload", headers={
        **headers, "Idempotency-Key": f"soak-{number}"}, json=request)  # fmt: skip
    if ticket.status_code != 201:
        tally.add(f"announce answered {ticket.status_code}")
        return
    file_id = ticket.json()["file_id"]
    fate = number % 10
    if fate == 0 and not multipart:
        tally.add("abandoned after announcing")
        return
    if multipart:
        send_parts(tally, api, headers, file_id, body, ticket.json()["multipart"]["part_size"])
    elif not send_form(tally, ticket.json()["upload"], body):
        tally.add("S3 refused the bytes (form expired during an outage)")
        return
    if fate == 1 and not multipart:
        tally.add("abandoned after sending")
        return
    confirm_url = f"{api.url}/files/{file_id}/confirm"
    if fate == 2:  # two confirms at once
        with ThreadPoolExecutor(2) as both:
            answers = list(both.map(lambda _: call(tally, "POST", confirm_url, headers=headers),
                                    range(2)))  # fmt: skip
    else:
        answers = [call(tally, "POST", confirm_url, headers=headers)]
        if fate == 3:
            answers.append(call(tally, "POST", confirm_url, headers=headers))
    if all(answer.status_code == 200 for answer in answers):
        with tally.lock:
            tally.confirmed[file_id] = digest
        tally.add("confirmed")
    else:
        tally.add(f"confirm answered {sorted({a.status_code for a in answers})}")


@contextlib.contextmanager
def database() -> Iterator[str]:
    """A throwaway database on the local PostgreSQL (or SOAK_ADMIN_URL's server)."""
    admin = os.environ.get("SOAK_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    name = f"stowage_soak_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def chaos(api: Api, s3: SeaweedFS, tally: Tally, progress: threading.Event, stop: threading.Event,
          done: list[int], total: int) -> None:  # fmt: skip
    """Pause S3, restart S3, kill the API: each once, at a third, half and two thirds in.

    Then wait for `stop`: SeaweedFS dies with the thread that started it (PR_SET_PDEATHSIG),
    so the thread that restarted it lives as long as the soak needs S3.
    """
    steps = [(total // 3, "pause"), (total // 2, "restart_s3"), (2 * total // 3, "kill_api")]
    for threshold, step in steps:
        while len(done) < threshold and not stop.is_set():
            progress.wait(0.2)
        if stop.is_set():
            break
        if step == "pause" and s3.pid is not None:
            os.killpg(s3.pid, signal.SIGSTOP)
            time.sleep(5)
            os.killpg(s3.pid, signal.SIGCONT)
        elif step == "restart_s3":
            s3.stop()
            s3.start()
        else:
            api.kill()
            api.start()
        tally.add(f"outage: {step}")
    stop.wait()


def soak(uploads: int, in_flight: int, form_ttl: int, workdir: Path) -> int:
    """Run everything; print the counts; 0 when every check held."""
    tally = Tally()
    s3 = SeaweedFS(workdir / "s3", credentials=S3Credentials.generate(), s3_port=_free_port())
    s3.start()
    try:
        admin = s3.client()
        ensure_bucket(admin, BUCKET, versioning=True)
        with database() as database_url:
            env = {
                **os.environ,
                "DATABASE_URL": database_url,
                "S3_BUCKET": BUCKET,
                "S3_ENDPOINT_URL": s3.endpoint_url,
                "AWS_ACCESS_KEY_ID": s3.credentials.access_key,
                "AWS_SECRET_ACCESS_KEY": s3.credentials.secret_key,
                "UPLOAD_URL_TTL_SECONDS": str(form_ttl),
                "SWEEP_GRACE_SECONDS": str(GRACE),
                "WORKER_THREADS": str(in_flight + 16),
                "S3_MAX_CONCURRENT_CALLS": str(in_flight),
                "LOG_LEVEL": "warning",
            }
            backend = [sys.executable, "-m", "backend"]
            subprocess.run([*backend, "db", "upgrade"], env=env, check=True, cwd=ROOT,
                           capture_output=True)  # fmt: skip
            created = subprocess.run(
                [*backend, "keys", "create", "--owner", "soak"],
                env=env, check=True, cwd=ROOT, capture_output=True, text=True,
            )  # fmt: skip
            key = next(w for w in created.stdout.split() if w.startswith("stw_"))
            api = Api(env, _free_port(), workdir / "api.log")
            api.start()
            done: list[int] = []
            progress, stop = threading.Event(), threading.Event()
            troubles = threading.Thread(
                target=chaos, args=(api, s3, tally, progress, stop, done, uploads), daemon=True
            )
            troubles.start()
            started = time.monotonic()

            def run(number: int) -> None:
                try:
                    one_upload(number, api, key, tally)
                except Exception as exc:
                    tally.add(f"client gave up: {type(exc).__name__}")
                done.append(number)
                progress.set()

            with ThreadPoolExecutor(in_flight) as clients:
                list(clients.map(run, range(uploads)))
            elapsed = time.monotonic() - started
            try:
                failures = check(tally, api, key, env, backend, form_ttl)
            finally:
                stop.set()
                troubles.join()
                api.stop()
    finally:
        s3.stop()
    print(f"{uploads} uploads, {in_flight} in flight, {elapsed:.0f} s")
    for name, count in sorted(tally.counts.items()):
        print(f"  {count:6d}  {name}")
    print(
        "  answers by status: " + ", ".join(f"{s}: {n}" for s, n in sorted(tally.statuses.items()))
    )
    for failure in failures:
        print(f"FAILED: {failure}")
    print("all checks held" if not failures else f"{len(failures)} check(s) failed")
    return 1 if failures else 0


def check(
    tally: Tally, api: Api, key: str, env: dict[str, str], backend: list[str], form_ttl: int
) -> list[str]:
    """Sweep and reconcile once every form has expired, then every check of the docstring."""
    failures = [f"server error: {line}" for line in tally.server_errors]
    time.sleep(form_ttl + GRACE + 1)
    swept = subprocess.run(
        [*backend, "sweep"], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    print("sweep:\n  " + "\n  ".join(swept.stdout.strip().splitlines()))
    if swept.returncode != 0:
        failures.append(f"sweep failed: {swept.stdout}{swept.stderr[-2000:]}")
    reconciled = subprocess.run(
        [*backend, "reconcile"], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    print("reconcile:\n  " + "\n  ".join(reconciled.stdout.strip().splitlines()))
    if reconciled.returncode != 0:
        failures.append(f"reconcile: {reconciled.stdout}{reconciled.stderr[-2000:]}")
    headers = {"Authorization": f"Bearer {key}"}
    for file_id, digest in tally.confirmed.items():
        url = call(tally, "GET", f"{api.url}/files/{file_id}/download", headers=headers)
        try:
            got = httpx.get(url.json()["url"], timeout=60).content
        except httpx.HTTPError as exc:
            failures.append(f"{file_id} could not be downloaded: {exc}")
            continue
        if hashlib.sha256(got).hexdigest() != digest:
            failures.append(f"{file_id} downloads other bytes than were confirmed")
    engine = sa.create_engine(env["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as connection:
        states: dict[str, int] = dict(connection.execute(sa.text(
            "SELECT status, count(*) FROM files GROUP BY status")).all())  # fmt: skip
    engine.dispose()
    print("rows by status: " + ", ".join(f"{s}: {n}" for s, n in sorted(states.items())))
    stuck = states.get("deleting", 0) + states.get("pending", 0)
    if stuck:
        failures.append(f"{stuck} row(s) left pending or deleting")
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--uploads", type=int, default=1000)
    parser.add_argument("--in-flight", type=int, default=50)
    parser.add_argument("--form-ttl", type=int, default=60, help="seconds a form lives")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="stowage-soak-") as workdir:
        return soak(args.uploads, args.in_flight, args.form_ttl, Path(workdir))


if __name__ == "__main__":
    sys.exit(main())
