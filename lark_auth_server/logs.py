"""Local log lines in the layout Lambda's JSON log format gives the deployed server.

Deployed, the function's `LoggingFormat.JSON` makes the Lambda runtime write one JSON object per
record with `timestamp`, `level`, `message`, `logger` and every `extra` field at the top level;
the Monitoring stack's metric filters match those fields (`event`: `sign_in`,
`sign_in_refused`, `refresh_refused`, `client_registered`, `registration_refused`). Locally
`python -m lark_auth_server` writes the same lines, so what a local run shows is what the filters
see.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
        }
        entry.update(
            (k, v) for k, v in record.__dict__.items() if k not in _STANDARD and k not in entry
        )
        if record.exc_info:
            entry["errorType"] = record.exc_info[0].__name__ if record.exc_info[0] else None
            entry["stackTrace"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(level: int = logging.INFO) -> None:
    """One JSON line per record on stderr, for every logger."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines())
    logging.basicConfig(level=level, handlers=[handler], force=True)
