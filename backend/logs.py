"""Log lines: JSON for machines, plain text for a terminal, each tagged with its request.

The request middleware (backend/http/tracking.py) opens a `RequestContext` for every request;
whatever is logged while it is open, in the event loop or in a worker thread, carries its
request id, and its owner and file once they are known. Nothing here ever formats a URL's
query string, a header or a body: presigned URLs, keys and tokens stay out of the logs.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec

from backend.settings import ObservabilitySettings

# The attributes every LogRecord has; anything else on a record came in through `extra=`.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


@dataclass
class RequestContext:
    """What a request's log lines say about it; filled in as the request learns more."""

    request_id: str
    owner_id: str | None = None
    file_id: str | None = None

    def fields(self) -> dict[str, str]:
        """The members that are known, for a log line."""
        known = {"request_id": self.request_id, "owner_id": self.owner_id}
        known["file_id"] = self.file_id
        return {name: value for name, value in known.items() if value is not None}


_current: ContextVar[RequestContext | None] = ContextVar("request_context", default=None)


def current_request() -> RequestContext | None:
    """The request being handled here, if any."""
    return _current.get()


def enter_request(context: RequestContext) -> object:
    """Make `context` the current request; returns the token `leave_request` needs."""
    return _current.set(context)


def leave_request(token: object) -> None:
    """Undo `enter_request`."""
    _current.reset(token)  # type: ignore[arg-type]  # the token enter_request handed out


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if (context := _current.get()) is not None:
        fields.update(context.fields())
    fields.update({name: value for name, value in vars(record).items() if name not in _STANDARD})
    return fields


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the request's fields, extras."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line."""
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return msgspec.json.encode(line).decode()


class TextFormatter(logging.Formatter):
    """`time level logger: message key=value ...`, for people reading a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one readable line (and its traceback, if any)."""
        time = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        extras = " ".join(f"{name}={value}" for name, value in _fields(record).items())
        line = f"{time} {record.levelname:<7} {record.name}: {record.getMessage()}"
        line = f"{line}  {extras}" if extras else line
        if record.exc_info:
            line = f"{line}\n{self.formatException(record.exc_info)}"
        return line


def formatter(settings: ObservabilitySettings, stream: Any = None) -> logging.Formatter:
    """JSON or text as LOG_FORMAT says; `auto` is text on a terminal and JSON elsewhere."""
    choice = settings.log_format
    if choice == "auto":
        choice = "text" if (stream or sys.stderr).isatty() else "json"
    return TextFormatter() if choice == "text" else JsonFormatter()


def configure(settings: ObservabilitySettings, level: str) -> None:
    """Send every log line (uvicorn's too) to stderr in one format; no access log of uvicorn's.

    The request middleware writes the access line itself, with the route template instead of
    the raw path and query, which could carry a search term or a signature.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(settings))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "litestar"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    quiet_clients()


# Libraries whose debug lines print request headers and signing material (botocore logs the
# string it signs and the Authorization header; urllib3 the URLs it fetches).
_TALKATIVE = ("botocore", "boto3", "s3transfer", "urllib3")


def quiet_clients() -> None:
    """Keep the AWS and HTTP client libraries at INFO or above, whatever LOG_LEVEL says."""
    for name in _TALKATIVE:
        logger = logging.getLogger(name)
        logger.setLevel(max(logger.getEffectiveLevel(), logging.INFO))
