"""The daemons' lines go through logging: the same line for a person, one JSON object each when asked."""

import io
import json
import logging
import re

import pytest

from canary.cli import logs
from canary.cli import rollout as cli_rollout


def test_a_person_reads_the_time_and_the_line_and_a_warning_says_so(canary_logging):
    out = io.StringIO()
    logs.setup("plain", out)
    cli_rollout._emit("step 1/6: set weight 10")
    logging.getLogger("canary.stack").warning("runtime-v2 (pid 7) exited with code -9")
    first, second = out.getvalue().splitlines()
    assert re.fullmatch(r"\d\d:\d\d:\d\d step 1/6: set weight 10", first)
    assert re.fullmatch(r"\d\d:\d\d:\d\d warning: runtime-v2 \(pid 7\) exited with code -9", second)


def test_json_when_asked_one_object_per_line_with_level_and_logger(canary_logging):
    out = io.StringIO()
    logs.setup("json", out)
    cli_rollout._emit("rollout wine: v1 -> v2")
    logging.getLogger("canary.controller").warning("reconcile failed: ApiError: busy")
    docs = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(d["level"], d["logger"], d["message"]) for d in docs] == [
        ("INFO", "canary.controller", "rollout wine: v1 -> v2"),
        ("WARNING", "canary.controller", "reconcile failed: ApiError: busy")]


def test_the_setting_refuses_a_format_it_does_not_know(monkeypatch):
    from pydantic import ValidationError

    from canary.local.settings import StackSettings

    monkeypatch.setenv("CANARY_LOG_FORMAT", "xml")
    with pytest.raises(ValidationError, match="plain"):
        StackSettings()
