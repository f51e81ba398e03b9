"""scripts/bench/api.py --quick runs from start to end and prints its table (figures unchecked)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BENCH = Path(__file__).parents[2] / "scripts" / "bench" / "api.py"


@pytest.mark.skipif(shutil.which("wrk") is None, reason="needs wrk (Debian: apt-get install wrk)")
def test_the_quick_benchmark_runs_and_prints_its_table() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| endpoint" in done.stdout
    for contender in ("initiate", "confirm pending", "rare q search", "noop litestar"):
        assert f"| {contender}" in done.stdout
    assert "initiate / no-op Litestar" in done.stdout
    assert "initiate p99 at half its peak" in done.stdout  # the paced run happened
