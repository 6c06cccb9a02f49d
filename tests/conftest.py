import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from canary.local import procs
from models import artifacts, dataset, train
from servers import repository

pytest_plugins = ["tests.processguard"]
# Stacks started by tests run without Jaeger unless a test asks for it (tests/canary/local/test_tracing_e2e.py):
# the others keep the load their statistical assertions were measured under, whether or not this machine has
# built Jaeger. Tracing's own cost is measured in bench/ (docs/benchmarks.md, "The cost of tracing").
os.environ.setdefault("CANARY_TRACING", "off")


@pytest.fixture(scope="session")
def artifact_root(tmp_path_factory):
    """Both versions trained once per test session, into a temporary folder."""
    root = tmp_path_factory.mktemp("artifacts")
    for version in ("v1", "v2"):
        train.train(version, root)
    return root


@pytest.fixture(scope="session")
def wine():
    return dataset.load()


@pytest.fixture(scope="session")
def expected_classes(artifact_root, wine):
    """What each version answers for every wine row, straight from scikit-learn."""
    out = {}
    for version in ("v1", "v2"):
        estimator, meta = artifacts.load(artifact_root / version)
        out[version] = [meta.classes[i] for i in np.asarray(estimator.predict(wine.X))]
    return out

TOKEN = "test-admin-token"

# The image tests need an engine and built images: 'make test-images' (CI) builds them
# and runs tests/images itself; the tool's tests that need no engine run everywhere.
# The Seldon runtime's tests run in their own venv.
collect_ignore = [] if os.environ.get("ML_CANARY_IMAGE_TAG") else ["images/test_images.py", "images/test_tool.py"]
try:
    import seldon_core  # noqa: F401
except ImportError:
    collect_ignore.append("seldon")


@dataclass
class Server:
    process: procs.Process
    http: str
    grpc: str
    metrics: str


def mlserver_binary() -> str:
    found = shutil.which("mlserver") or str(Path(sys.executable).with_name("mlserver"))
    if not Path(found).exists():
        pytest.fail("the 'mlserver' command is missing: run the tests through 'make test'")
    return found


@pytest.fixture(scope="module")
def start_mlserver(artifact_root, tmp_path_factory):
    """Start real ``mlserver start`` processes; stop them all when the module ends."""
    started: list[procs.Process] = []

    def start(version: str, workers: int = 0, **fault_env: str) -> Server:
        ports = {name: procs.free_port() for name in repository.DEFAULT_PORTS}
        folder = tmp_path_factory.mktemp(f"mlserver-{version}-w{workers}")
        repository.write(folder / "repo", version, artifact_root, workers=workers, ports=ports)
        env = {"FAULT_ADMIN_TOKEN": TOKEN, "FAULT_STATE_FILE": str(folder / "faults.json"), **fault_env}
        proc = procs.start([mlserver_binary(), "start", str(folder / "repo")], folder / "log", env, cwd=folder)
        started.append(proc)
        server = Server(
            proc,
            f"http://127.0.0.1:{ports['http_port']}",
            f"127.0.0.1:{ports['grpc_port']}",
            f"http://127.0.0.1:{ports['metrics_port']}",
        )
        procs.wait_http_ok(proc, f"{server.http}/v2/models/wine/ready")
        return server

    yield start
    for proc in started:
        proc.stop()


@pytest.hookimpl(trylast=True)  # after -k, -m and --deselect: the workers' shares are of the tests that run
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that start servers first, then those that run tools, then the rest; under pytest-xdist, each
    worker's share begins with its part of the whole rollouts (``_rollouts_first``)."""
    def rank(item: pytest.Item) -> int:
        return 0 if item.get_closest_marker("integration") else 1 if item.get_closest_marker("tools") else 2

    unmarked = [i.nodeid for i in items if i.get_closest_marker("rollout") and not i.get_closest_marker("integration")]
    if unmarked:  # a rollout starts servers: without the mark make test-fast would run it
        raise pytest.UsageError(f"marked rollout but not integration: {', '.join(unmarked)}")
    items.sort(key=rank)
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0"))
    if workers > 1:
        items[:] = _rollouts_first(items, workers)


def _rollouts_first(items: list[pytest.Item], workers: int) -> list[pytest.Item]:
    """The same tests, the rollouts dealt out to the start of each worker's share.

    ``--dist worksteal`` hands the workers contiguous shares, each the pending tests // the workers still
    without one (xdist's WorkStealingScheduling.check_schedule), and an idle worker steals the tail of a
    busy one's queue. Left in file order, the 1-2 minute rollouts sat in one
    worker's share and could start last, all at once (the core suite 11:33 in one run, against 10:52
    in another, three workers); dealt out, each worker starts on its longest tests and the short ones
    at the tails even out the end (docs/testing.md).
    """
    rollouts = [i for i in items if i.get_closest_marker("rollout")]
    rest = [i for i in items if not i.get_closest_marker("rollout")]
    ordered: list[pytest.Item] = []
    for w in range(workers):
        size = (len(items) - len(ordered)) // (workers - w)
        mine = rollouts[w::workers]
        take = max(0, size - len(mine))
        ordered += mine + rest[:take]
        rest = rest[take:]
    return ordered + rest
