#!/usr/bin/env python3
"""Upload throughput against a local SeaweedFS: scripts/upload.py vs `aws s3 cp` vs boto3.

Starts SeaweedFS and the API (SQLite) in a temporary folder, writes a FILE_MIB file of random
bytes, then uploads it with each tool in turn, ROUNDS times, alternating the order. Prints
MB/s (the median round), the ratio to `aws s3 cp`, and each tool's peak RSS. Asserts nothing.

    .venv/bin/python scripts/bench/upload_throughput.py [--mib 1024] [--rounds 2]

`aws` (PyPI awscli) must be on PATH; it runs with its default settings.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from backend.local.credentials import S3Credentials  # noqa: E402
from backend.local.seaweedfs import SeaweedFS, ensure_bucket  # noqa: E402

BUCKET = "bench-uploads"
MiB = 1024 * 1024
BOTO3_UPLOAD = """
import sys, boto3
from botocore.config import Config
client = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
                      config=Config(s3={"addressing_style": "path"}))
client.upload_file(sys.argv[2], sys.argv[3], sys.argv[4])
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _tree(pid: int) -> list[int]:
    """The process and its descendants, from /proc."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            with contextlib.suppress(OSError):  # the process may end meanwhile
                todo += [int(child) for child in task.read_text().split()]
    return found


def _peak_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure(command: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Run `command`; (seconds, peak RSS in bytes of its largest process)."""
    started = time.monotonic()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    peak = 0
    while process.poll() is None:
        peak = max([peak, *(_peak_kib(pid) for pid in _tree(process.pid))])
        time.sleep(0.02)
    elapsed = time.monotonic() - started
    if process.returncode != 0:
        raise SystemExit(f"{command[0]} failed with exit code {process.returncode}")
    return elapsed, peak * 1024


def start_api(folder: Path, s3: SeaweedFS) -> tuple[subprocess.Popen[bytes], str, str]:
    """Migrate a SQLite database, make a key, serve the API; (process, URL, key)."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{folder / 'bench.db'}",
        "S3_BUCKET": BUCKET,
        "S3_ENDPOINT_URL": s3.endpoint_url,
        "AWS_ACCESS_KEY_ID": s3.credentials.access_key,
        "AWS_SECRET_ACCESS_KEY": s3.credentials.secret_key,
        "AWS_REGION": "us-east-1",
        "PORT": str(port),
        "LOG_LEVEL": "warning",
    }
    python = [sys.executable, "-m", "backend"]
    subprocess.run([*python, "db", "upgrade"], env=env, cwd=ROOT, check=True)
    made = subprocess.run([*python, "keys", "create", "--owner", "bench"], env=env, cwd=ROOT,
                          check=True, capture_output=True, text=True)  # fmt: skip
    key = made.stdout.strip().splitlines()[-1]
    server = subprocess.Popen([*python, "serve"], env=env, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            with urllib.request.urlopen(f"{url}/health/live", timeout=1):  # noqa: S310
                return server, url, key
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("the API did not start")


def main() -> None:
    """Run the rounds and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=1024, help="file size in MiB")
    parser.add_argument("--rounds", type=int, default=2, help="uploads per tool")
    args = parser.parse_args()
    if shutil.which("aws") is None:
        raise SystemExit("`aws` is not on PATH: pip install awscli")
    with tempfile.TemporaryDirectory(prefix="stowage-bench-") as name:
        folder = Path(name)
        data = folder / "big.bin"
        with data.open("wb") as out:
            for _ in range(args.mib // 16):
                out.write(os.urandom(16 * MiB))
        with SeaweedFS(folder / "s3", credentials=S3Credentials.generate()) as s3:
            ensure_bucket(s3.client(), BUCKET, versioning=True)
            server, url, key = start_api(folder, s3)
            try:
                env = {
                    **os.environ,
                    "FILES_API_URL": url,
                    "FILES_API_KEY": key,
                    "XDG_CACHE_HOME": str(folder / "cache"),
                    "AWS_ACCESS_KEY_ID": s3.credentials.access_key,
                    "AWS_SECRET_ACCESS_KEY": s3.credentials.secret_key,
                    "AWS_DEFAULT_REGION": "us-east-1",
                }
                tools = {
                    "scripts/upload.py": lambda n: [
                        sys.executable, str(ROOT / "scripts" / "upload.py"), "upload", str(data)
                    ],
                    "aws s3 cp": lambda n: [
                        "aws", "s3", "cp", str(data), f"s3://{BUCKET}/aws/{n}",
                        "--endpoint-url", s3.endpoint_url, "--only-show-errors",
                    ],
                    "boto3 upload_file": lambda n: [
                        sys.executable, "-c", BOTO3_UPLOAD, s3.endpoint_url, str(data), BUCKET,
                        f"boto3/{n}",
                    ],
                }  # fmt: skip
                seconds: dict[str, list[float]] = {tool: [] for tool in tools}
                peaks: dict[str, int] = dict.fromkeys(tools, 0)
                for round_number in range(args.rounds):
                    order = list(tools) if round_number % 2 == 0 else list(reversed(tools))
                    for tool in order:
                        elapsed, peak = measure(tools[tool](round_number), env)
                        seconds[tool].append(elapsed)
                        peaks[tool] = max(peaks[tool], peak)
            finally:
                server.terminate()
                server.wait(timeout=10)
    size_mb = args.mib * MiB / 1e6
    speed = {tool: size_mb / statistics.median(times) for tool, times in seconds.items()}
    print(f"{args.mib} MiB, {args.rounds} round(s), median round, on {os.cpu_count()} cores")
    print(f"{'tool':<20} {'MB/s':>8} {'vs aws':>7} {'peak RSS':>10}")
    for tool in tools:
        ratio = speed[tool] / speed["aws s3 cp"]
        print(f"{tool:<20} {speed[tool]:>8.1f} {ratio:>6.2f}x {peaks[tool] / MiB:>7.1f} MiB")


if __name__ == "__main__":
    main()
