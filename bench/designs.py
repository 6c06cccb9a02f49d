"""Copies of k8s/ with parts of the shipped Rollout taken out, to measure what each part adds."""

import contextlib
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

if TYPE_CHECKING:  # imported when a stack is started: the designs alone need neither
    from canary.local.client import StackClient
    from canary.local.harness import Harness

ROOT = Path(__file__).resolve().parent.parent


SHIPPED_SLO_MS = 250  # analysistemplate-latency.yaml: the canary's p99 at its sidecar


def variant(folder: Path, shadow: bool = True, judge: bool = True, slo_ms: int = SHIPPED_SLO_MS) -> Path:
    """k8s/ copied to ``folder``, without the shadow phase (the steps before the first weight, and the
    canary-scale steps), without the judge in the weighted analysis steps, and/or with another p99 SLO."""
    shutil.copytree(ROOT / "k8s", folder)
    if slo_ms != SHIPPED_SLO_MS:
        _set_slo(folder / "base" / "analysistemplate-latency.yaml", slo_ms)
    path = folder / "base" / "rollout.yaml"
    doc = yaml.safe_load(path.read_text())
    canary = doc["spec"]["strategy"]["canary"]
    if not shadow:
        first = next(i for i, s in enumerate(canary["steps"]) if "setWeight" in s)
        canary["steps"] = [s for s in canary["steps"][first:] if "setCanaryScale" not in s]
    if not judge:
        for step in canary["steps"]:
            if "analysis" in step and step["analysis"]["templates"][0]["templateName"] != "shadow":
                step["analysis"]["templates"] = [t for t in step["analysis"]["templates"] if t["templateName"] != "judge"]
    path.write_text(yaml.safe_dump(doc))
    return folder


def _set_slo(path: Path, slo_ms: int) -> None:
    text = path.read_text()
    for op in ("<=", ">"):
        # The whole number only: "<= 2500" or "<= 250.5" is another SLO, never rewritten as if it were 250.
        text, found = re.subn(rf"result\[0\] {op} {SHIPPED_SLO_MS}(?![\d.])", f"result[0] {op} {slo_ms}", text)
        if found != 1:  # the shipped template changed: say so, never run a rig on a stale SLO
            raise ValueError(f"{path}: expected one 'result[0] {op} {SHIPPED_SLO_MS}', found {found}")
    path.write_text(text)


@contextlib.contextmanager
def trained_work(prefix: str) -> Iterator[Path]:
    """A temporary folder with both versions trained into its artifacts/, removed afterwards."""
    from models import train

    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        work = Path(tmp)
        for version in ("v1", "v2"):
            train.train(version, work / "artifacts")
        yield work


@contextlib.contextmanager
def trained_stack(prefix: str) -> Iterator[tuple["Harness", "StackClient"]]:
    """``canary up`` over both versions trained afresh, as a bench's harness and stack client; stopped after."""
    from canary.local.harness import Harness, free_port_env

    with trained_work(prefix) as work:
        harness = Harness(work / "run", {**free_port_env(), "CANARY_ARTIFACTS": str(work / "artifacts")}, user="bench")
        try:
            yield harness, harness.start_stack()
        finally:
            harness.stop()
