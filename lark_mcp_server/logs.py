"""JSON-lines logging on stdout, with nothing secret in it.

Every record becomes one JSON object. Third-party loggers that could print request URLs or
headers (aiohttp, httpx2, httpcore2, uvicorn's access log) are held at WARNING or switched off.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import Any

_STANDARD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}
# Belt and braces: whatever a library logs, a bearer token or app secret never reaches stdout.
_SECRET_PATTERNS = (
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._\-]+"), r"\1[redacted]"),
    (
        re.compile(
            r"(?i)(\"?(?:app_secret|tenant_access_token|authorization)\"?\s*[:=]\s*\"?)[^\",\s}]+"
        ),
        r"\1[redacted]",
    ),
    (re.compile(r"\b[tu]-[A-Za-z0-9_\-]{20,}"), "[redacted]"),
)


def redact(text: str) -> str:
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class JsonFormatter(logging.Formatter):
    _second = -1
    _stamp = ""

    def _time(self, record: logging.LogRecord) -> str:
        """ISO 8601 UTC with milliseconds; the seconds part formatted once per second."""
        second = int(record.created)
        if second != self._second:
            self._second = second
            self._stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._stamp}.{int(record.msecs):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self._time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(level: str = "INFO") -> None:
    """Route every logger to one JSON handler on stdout (call before building the server)."""
    # The JSON lines carry none of the caller's file/line, thread or process: do not collect
    # them for every record (the logging module's documented switches; ~10 us per call line).
    logging._srcfile = None  # type: ignore[attr-defined]
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    # Per-request chatter (and anything that might print a URL or header) stays out.
    for name in (
        "aiohttp",
        "httpx2",
        "httpcore2",
        "httpx",
        "httpcore",
        "uvicorn.access",
        "mcp.server.streamable_http",
    ):
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
