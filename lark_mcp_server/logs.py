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
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
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
