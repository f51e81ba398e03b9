"""The yardstick: a Litestar app that answers a small JSON object and does nothing else."""

from __future__ import annotations

from litestar import Litestar, get


@get("/", sync_to_thread=False)
def noop() -> dict[str, bool]:
    """Answer at once."""
    return {"ok": True}


def create_app() -> Litestar:
    """`uvicorn --factory noop:create_app`, with the same options as `python -m backend serve`."""
    return Litestar(route_handlers=[noop])
