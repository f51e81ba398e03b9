"""Client fixtures: the API served on a real port behind recording proxies, and the script."""

from __future__ import annotations

import contextlib
import os
import pty
import select
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar

from backend.local.seaweedfs import SeaweedFS
from backend.settings import Settings
from tests.configuration import replace_settings
from tests.integration.live_server import RecordingProxy, Stack, serve

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "upload.py"
PROXY_VARIABLES = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}


@pytest.fixture
def make_stack(
    make_app: Callable[[Settings], Litestar],
    make_key: Callable[[str], str],
    settings: Settings,
    seaweedfs: SeaweedFS,
) -> Iterator[Callable[..., Stack]]:
    """Serve an app on a free port, behind recording proxies (one for the API, one for S3).

    The app's S3 endpoint is the S3 proxy, so the upload forms and download URLs it signs lead
    the client through it. `proxies=False` connects everything directly (for big files);
    other keyword arguments override settings.
    """
    with contextlib.ExitStack() as resources:

        def make(*, proxies: bool = True, **overrides: Any) -> Stack:
            s3 = RecordingProxy(seaweedfs.endpoint_url)
            if proxies:
                overrides["s3_endpoint_url"] = resources.enter_context(s3.running())
            app_settings = replace_settings(settings, **overrides)
            url = resources.enter_context(serve(make_app(app_settings)))
            api = RecordingProxy(url)
            if proxies:
                url = resources.enter_context(api.running())
            return Stack(url, make_key("alice"), app_settings, api, s3)

        yield make


@pytest.fixture
def stack(make_stack: Callable[..., Stack]) -> Stack:
    """The stack with default settings, behind the proxies."""
    return make_stack()


def script_command(*args: str, python_args: Sequence[str] = ()) -> list[str]:
    """`scripts/upload.py ARGS...` as a user runs it, with this interpreter (and its options)."""
    return [sys.executable, *python_args, str(SCRIPT), *args]


def script_env(stack: Stack, **extra: str) -> dict[str, str]:
    """The script's environment: the stack's URL and key, and no HTTP proxy of the host."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in PROXY_VARIABLES}
    env.update({"FILES_API_URL": stack.url, "FILES_API_KEY": stack.key, **extra})
    return env


Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run(request: pytest.FixtureRequest, tmp_path: Path) -> Run:
    """Run the script in tmp_path against `stack=` (default: the `stack` fixture).

    `python_args` go to the interpreter before the script's path; other keyword arguments
    are set in the script's environment.
    """

    def run_script(
        *args: str,
        stack: Stack | None = None,
        timeout: float = 60,
        python_args: Sequence[str] = (),
        **env: str,
    ) -> subprocess.CompletedProcess[str]:
        target = stack or request.getfixturevalue("stack")
        return subprocess.run(
            script_command(*args, python_args=python_args),
            capture_output=True,
            text=True,
            # Resume state goes to this test's folder, never the user's cache.
            env=script_env(target, **{"XDG_CACHE_HOME": str(tmp_path / "cache"), **env}),
            cwd=tmp_path,
            timeout=timeout,
            check=False,
        )

    return run_script


@pytest.fixture
def run_in_terminal(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Callable[..., tuple[int, str]]:
    """Run the script in tmp_path with a terminal as its stdout and stderr; exit code, screen."""

    def run_script(*args: str, stack: Stack | None = None) -> tuple[int, str]:
        target = stack or request.getfixturevalue("stack")
        controller, terminal = pty.openpty()
        process = subprocess.Popen(
            script_command(*args),
            stdin=subprocess.DEVNULL,
            stdout=terminal,
            stderr=terminal,
            cwd=tmp_path,
            env=script_env(
                target, COLUMNS="120", TERM="xterm", XDG_CACHE_HOME=str(tmp_path / "cache")
            ),
        )
        os.close(terminal)
        screen = bytearray()
        try:
            while select.select([controller], [], [], 60)[0]:
                try:
                    chunk = os.read(controller, 65536)
                except OSError:  # EIO: the script has exited and closed the terminal
                    break
                if not chunk:
                    break
                screen += chunk
        finally:
            os.close(controller)
        return process.wait(timeout=30), screen.decode(errors="replace")

    return run_script
