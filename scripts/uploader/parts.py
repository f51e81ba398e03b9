"""Large files in parts: parallel, retried part by part, and resumed after any interruption.

A state file (under $XDG_CACHE_HOME/stowage-upload, keyed by the file's path, size and
modification time) remembers the file id; running the same command again asks the API which
parts S3 already holds and sends only the others. Memory holds at most `jobs` parts at once.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from uploader.progress import Bar
from uploader.transport import (
    TIMEOUT,
    Api,
    Failure,
    file_route,
    network_failure,
    retrying,
    s3_failure,
)

# Files above this go in parts (the server's default threshold).
MULTIPART_ABOVE = 64 * 1024 * 1024


def state_file(path: Path) -> Path:
    """Where the pending upload of this exact file (path, size, mtime) is remembered."""
    facts = path.stat()
    identity = f"{path.resolve()}\0{facts.st_size}\0{facts.st_mtime_ns}".encode()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "stowage-upload" / f"{hashlib.sha256(identity).hexdigest()[:32]}.json"


def _resumable(api: Api, file_id: str, size: int) -> dict[str, Any] | None:
    """The pending multipart file of that id and size, or None (gone, finished, other)."""
    try:
        file: dict[str, Any] = api.call("GET", file_route(file_id))
    except Failure as exc:
        if exc.code == "not_found":
            return None
        raise
    if file["status"] != "pending" or not file.get("multipart") or file["size"] != size:
        return None
    return file


def start_or_resume(api: Api, path: Path, declared: dict[str, Any], resume: str | None) -> Any:
    """(file id, plan, parts S3 already holds): a remembered upload, or a new one."""
    state = state_file(path)
    remembered = resume
    if remembered is None and state.exists():
        remembered = json.loads(state.read_text(encoding="utf-8")).get("file_id")
    if remembered is not None and (file := _resumable(api, remembered, declared["size"])):
        held = api.call("GET", f"{file_route(remembered)}/parts")["parts"]
        return remembered, file["multipart"], {p["part_number"]: p["size"] for p in held}
    ticket = api.call("POST", "/files/upload", expect=201, json={**declared, "multipart": True})
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text(json.dumps({"file_id": ticket["file_id"]}), encoding="utf-8")
    return ticket["file_id"], ticket["multipart"], {}


def forget(path: Path) -> None:
    """Drop the state file once the upload is confirmed."""
    state_file(path).unlink(missing_ok=True)


def _read_part(path: Path, plan: dict[str, int], number: int, size: int) -> bytes:
    with path.open("rb") as stream:
        stream.seek((number - 1) * plan["part_size"])
        data = stream.read(plan["part_size"])
    if (number < plan["part_count"] and len(data) != plan["part_size"]) or (
        number == plan["part_count"] and (number - 1) * plan["part_size"] + len(data) != size
    ):
        raise Failure("file_changed", f"{path} changed while it was being uploaded")
    return data


def send_parts(api: Api, file_id: str, path: Path, plan: dict[str, int],
               held: dict[int, int], jobs: int, bar: Bar) -> None:  # fmt: skip
    """Send every part S3 does not hold yet, `jobs` at a time, each retried on its own."""
    size = path.stat().st_size
    wanted = [n for n in range(1, plan["part_count"] + 1) if n not in held]
    lock = threading.Lock()
    done = [sum(held.values())]
    bar.start(f"uploading {path.name}", size)
    bar.show(done[0])

    def one(number: int) -> None:
        data = _read_part(path, plan, number, size)
        digest = hashlib.sha256(data).hexdigest()

        def attempt() -> None:
            body = {"part_numbers": [number], "sha256": {str(number): digest}}
            (signed,) = api.call("POST", f"{file_route(file_id)}/parts", json=body)["parts"]
            try:
                response = api.http.put(
                    signed["url"], data=data, headers=signed["headers"], timeout=TIMEOUT
                )
            except requests.RequestException as exc:
                raise network_failure(exc, signed["url"]) from exc
            if response.status_code != 200:
                raise s3_failure(response)

        retrying(attempt, f"part {number} of {path}")
        with lock:
            done[0] += len(data)
            bar.show(done[0])

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        # list() re-raises the first part's failure once the others have stopped.
        list(pool.map(one, wanted))
