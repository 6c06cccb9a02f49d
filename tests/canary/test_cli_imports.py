"""Only 'canary up' reads packaged models: the other commands start without scikit-learn and skops, which took
'canary dashboard --login-url' 5 s here and past its caller's 30 s on a crowded machine."""

import subprocess
import sys

import pytest

pytestmark = pytest.mark.tools

PROBE = ("import sys; from canary.cli import main; code = main.main(sys.argv[1:]); "
         "print(code, sorted(m for m in ('sklearn', 'skops') if m in sys.modules))")


@pytest.mark.parametrize("command", [["dashboard", "--login-url"], ["get"], ["judge"], ["status"]])
def test_a_command_that_reads_no_model_loads_no_model_library(command, tmp_path):
    done = subprocess.run([sys.executable, "-c", PROBE, *command], capture_output=True, text=True, timeout=60,
                          env={"PATH": "", "CANARY_RUN_DIR": str(tmp_path)})
    code, loaded = done.stdout.split(" ", 1)
    assert code == "3" and "no " in done.stderr, done.stderr  # nothing runs there: it says so, exit 3
    assert loaded.strip() == "[]", loaded
