"""Log records as one JSON object per line, the shape log collectors read without configuration."""

import json
import logging
from datetime import UTC, datetime


class JSONFormatter(logging.Formatter):
    """Time (UTC, ISO 8601), level, logger and message, with the traceback when there is one."""

    def format(self, record):
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        elif record.stack_info:
            entry["traceback"] = self.formatStack(record.stack_info)
        status = getattr(record, "status_code", None)
        if status is not None:
            entry["status"] = status
        return json.dumps(entry, ensure_ascii=False, default=str)
