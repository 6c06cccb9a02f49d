"""One JSON object per log line, for Fluent Bit or Fluentd to parse without regexes."""

import json
import logging
import time


class JsonFormatter(logging.Formatter):
    """time, level, logger, message (and exc_info when there is one), one line each."""

    def format(self, record: logging.LogRecord) -> str:
        """One JSON object per log line."""
        doc = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            doc["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False)
