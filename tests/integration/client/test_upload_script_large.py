"""A 200 MB file through scripts/upload.py: streamed both ways, memory independent of size."""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.live_server import Stack

Run = Callable[..., subprocess.CompletedProcess[str]]

MiB = 1024 * 1024
SIZE = 200 * MiB
PEAK_RSS_LIMIT = 100 * MiB

# Runs the script unchanged (runpy, with the script's folder first on sys.path as
# `python scripts/upload.py` has it) and, at exit, writes
# the process's peak RSS to the file named first. VmHWM is read, not ru_maxrss: after exec,
# ru_maxrss still counts the parent's memory at fork, which is the whole pytest process.
MEASURE = """
import atexit, os, runpy, sys
report, script = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.dirname(os.path.realpath(script)))
def write_peak():
    with open("/proc/self/status") as status:
        kib = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(report, "w") as out:
        out.write(kib)
atexit.register(write_peak)
sys.argv = sys.argv[2:]
runpy.run_path(script, run_name="__main__")
"""


def big_file(path: Path) -> str:
    """Write SIZE bytes (a random MiB, repeated) cheaply; their SHA-256."""
    block = os.urandom(MiB)
    digest = hashlib.sha256()
    with path.open("wb") as out:
        for _ in range(SIZE // MiB):
            out.write(block)
            digest.update(block)
    return digest.hexdigest()


@pytest.mark.slow
def test_a_200_mb_file_streams_up_and_down_in_bounded_memory(
    make_stack: Callable[..., Stack], run: Run, tmp_path: Path
) -> None:
    stack = make_stack(proxies=False)  # straight to S3: nothing in between holds the bytes
    sha256 = big_file(tmp_path / "big.bin")

    def measured(*args: str) -> tuple[str, int]:
        report = tmp_path / "peak-rss"
        started = time.monotonic()
        result = run(*args, stack=stack, timeout=300, python_args=["-c", MEASURE, str(report)])
        assert result.returncode == 0, result.stderr
        peak = int(report.read_text()) * 1024
        print(f"{args[0]}: {time.monotonic() - started:.1f} s, peak RSS {peak / MiB:.1f} MiB")
        return result.stdout, peak

    out, upload_peak = measured("upload", "big.bin")
    file_id = out.strip().split(" -> ")[1]
    _, download_peak = measured("download", file_id, "-o", "copy.bin")

    assert upload_peak < PEAK_RSS_LIMIT
    assert download_peak < PEAK_RSS_LIMIT
    digest = hashlib.sha256()
    with (tmp_path / "copy.bin").open("rb") as copy:
        while chunk := copy.read(MiB):
            digest.update(chunk)
    assert digest.hexdigest() == sha256
