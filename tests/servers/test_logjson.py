import json
import logging
import logging.config
from pathlib import Path

import servers
from servers.logjson import JsonFormatter


def test_every_line_is_one_json_object():
    record = logging.LogRecord("ml_canary.faults", logging.WARNING, __file__, 1, "fault %s", ("on",), None)
    doc = json.loads(JsonFormatter().format(record))
    assert doc["level"] == "WARNING" and doc["logger"] == "ml_canary.faults" and doc["message"] == "fault on"
    assert doc["time"].endswith("Z")


def test_the_shipped_logging_config_loads(capsys):
    config = json.loads((Path(servers.__file__).parent / "logging-json.json").read_text())
    configured = [logging.getLogger(name) for name in config["loggers"]] + [logging.getLogger()]
    saved = [(lg, lg.handlers[:], lg.propagate, lg.level) for lg in configured]
    try:
        logging.config.dictConfig(config)
        logging.getLogger("ml_canary.test").info("hello")
        line = capsys.readouterr().out.strip().splitlines()[-1]
        assert json.loads(line)["message"] == "hello"
    finally:
        # A later dictConfig would leave these handlers on their loggers, writing to
        # this test's captured stdout once pytest has closed it ("Logging error").
        for lg, handlers, propagate, level in saved:
            lg.handlers[:], lg.propagate, lg.level = handlers, propagate, level
