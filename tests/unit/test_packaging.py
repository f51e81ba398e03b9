"""What ships: the server's wheel holds the product (code, migrations, the web client's files)
and nothing of the local dev stack."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    """The wheel pip builds from this tree (offline: the build backend is a dev dependency)."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    (built,) = out.glob("stowage-*.whl")
    return zipfile.ZipFile(built)


def test_the_wheel_leaves_out_the_local_stack(wheel: zipfile.ZipFile) -> None:
    shipped = {name for name in wheel.namelist() if name.startswith("backend/")}
    assert not {name for name in shipped if name.startswith("backend/local/")}
    product = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "backend").rglob("*")
        if path.is_file()
        and path.suffix in {".py", ".mako", ".html", ".css", ".js", ".svg"}
        and "local" not in path.relative_to(ROOT / "backend").parts
    }
    assert product <= shipped, f"missing from the wheel: {sorted(product - shipped)}"


def test_nothing_in_the_wheel_imports_the_local_stack(wheel: zipfile.ZipFile) -> None:
    importers = [
        name
        for name in wheel.namelist()
        if name.endswith(".py") and b"backend.local" in wheel.read(name)
    ]
    assert importers == []
