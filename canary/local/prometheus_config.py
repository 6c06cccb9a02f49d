"""Prometheus for the local stack: scrape config, the runtimes' target file, the rules."""

from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from canary import statefile
from canary.local.settings import ControllerSettings

RULES = resources.files("canary.local") / "prometheus" / "rules.yaml"
RUNTIMES, SIDECARS = "runtimes.json", "sidecars.json"  # target files, rewritten as versions come and go


def config(folder: Path, envoy_admin_port: int, loadgen_port: int, judge_port: int, interval: str,
           gateway_interval: str, controller_port: int | None = None) -> dict[str, Any]:
    """Scrape the gateway, the runtimes and their sidecars (files of targets), the load generator, the judge and
    the rollout controller (its control API's /metrics, when it runs).

    The per-revision request counts and latencies are the sidecars' (reporter="destination"), scraped
    as often as the gateway; the gateway's own stats are per version and carry no revision label. The
    judge's joined answers, which its disagreement test reads back, are scraped as often.
    """
    def targets(name: str) -> list[dict[str, Any]]:
        return [{"files": [str(folder / name)], "refresh_interval": "5s"}]

    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval, "scrape_timeout": interval},
        "rule_files": [str(Path(str(RULES)))],
        "scrape_configs": [
            {"job_name": "envoy", "metrics_path": "/stats/prometheus",
             "scrape_interval": gateway_interval, "scrape_timeout": gateway_interval,
             "static_configs": [{"targets": [f"127.0.0.1:{envoy_admin_port}"], "labels": {"reporter": "source"}}]},
            {"job_name": "sidecar", "scrape_interval": gateway_interval, "scrape_timeout": gateway_interval,
             "file_sd_configs": targets(SIDECARS)},
            {"job_name": "runtime", "file_sd_configs": targets(RUNTIMES)},
            {"job_name": "loadgen", "static_configs": [{"targets": [f"127.0.0.1:{loadgen_port}"]}]},
            {"job_name": "judge", "scrape_interval": gateway_interval, "scrape_timeout": gateway_interval,
             "static_configs": [{"targets": [f"127.0.0.1:{judge_port}"]}]},
            *([{"job_name": "controller", "static_configs": [{"targets": [f"127.0.0.1:{controller_port}"]}]}]
              if controller_port else []),
        ],
    }


def write_config(folder: Path, cfg: dict[str, Any]) -> Path:
    """Write prometheus.yml where the stack keeps its files."""
    path = folder / "prometheus.yml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def write_targets(folder: Path, targets: Sequence[Mapping[str, str | None]], name: str = RUNTIMES) -> None:
    """[{"target": "127.0.0.1:8102", "path": "/metrics", "version": "v1", ...}]: every other key is a label
    of the target's series; written by rename."""
    groups = [{"targets": [t["target"]], "labels": {"__metrics_path__": t["path"],
                                                    **{k: v for k, v in t.items() if k not in ("target", "path")}}}
              for t in targets]
    statefile.write_json(folder / name, groups, mode=0o644)


def command(binary: str, config_path: Path, data: Path, port: int) -> list[str]:
    """Prometheus' command line for the stack: its config, data folder and port, localhost only."""
    return [binary, f"--config.file={config_path}", f"--storage.tsdb.path={data}",
            f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=1d", "--log.level=warn"]


def control_port() -> int | None:
    """Where 'canary controller' serves its /metrics; None (no scrape) when its settings are bad: the controller
    refuses to start on them and says why, the stack need not."""
    try:
        return ControllerSettings().control_port
    except ValidationError:
        return None
