import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

import servers
from servers.logjson import JsonFormatter


def test_every_line_is_one_json_object():
    record = logging.LogRecord("ml_canary.faults", logging.WARNING, __file__, 1, "fault %s", ("on",), None)
    doc = json.loads(JsonFormatter().format(record))
    assert doc["level"] == "WARNING" and doc["logger"] == "ml_canary.faults" and doc["message"] == "fault on"
    assert doc["time"].endswith("Z")


@pytest.mark.tools
def test_the_shipped_logging_config_loads():
    """Loaded in a process of its own, as MLServer loads it: in this one, its handlers
    would outlive the test and write to a captured stdout pytest has closed."""
    config = Path(servers.__file__).parent / "logging-json.json"
    script = ("import json, logging, logging.config, sys; "
              "logging.config.dictConfig(json.loads(open(sys.argv[1]).read())); "
              "logging.getLogger('ml_canary.test').info('hello')")
    done = subprocess.run([sys.executable, "-c", script, str(config)], capture_output=True, text=True, check=True,
                          cwd=config.parent.parent)  # where servers.logjson imports from
    assert json.loads(done.stdout.strip().splitlines()[-1])["message"] == "hello"
