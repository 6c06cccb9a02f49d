"""Prometheus for the local stack: scrape config, the runtimes' target file, the rules."""

import json
import os
import tempfile
from importlib import resources
from pathlib import Path

import yaml

RULES = resources.files("canary.local") / "prometheus" / "rules.yaml"
# The revision is the last part: Argo's pod-template-hash (rand.SafeEncodeString of a 32-bit hash: up to
# 10 of [bcdfghjklmnpqrstvwxz2456789], 9 at times) or the stack's own 10 hex digits; never a dash.
STAT_NAME = "wine-(.+)-([a-z0-9]+)"


def config(folder: Path, envoy_admin_port: int, loadgen_port: int, interval: str, gateway_interval: str) -> dict:
    """Scrape Envoy, the runtimes (a file of targets, rewritten as canaries come and go) and the load generator."""
    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval, "scrape_timeout": interval},
        "rule_files": [str(Path(str(RULES)))],
        "scrape_configs": [
            {"job_name": "envoy", "metrics_path": "/stats/prometheus",
             "scrape_interval": gateway_interval, "scrape_timeout": gateway_interval,
             "static_configs": [{"targets": [f"127.0.0.1:{envoy_admin_port}"]}],
             # Each runtime's cluster stats are named wine-<version>-<revision> (envoy.stat_name).
             "metric_relabel_configs": [
                 {"source_labels": ["envoy_cluster_name"], "regex": STAT_NAME, "target_label": "version",
                  "replacement": "$1"},
                 {"source_labels": ["envoy_cluster_name"], "regex": STAT_NAME, "target_label": "revision",
                  "replacement": "$2"}]},
            {"job_name": "runtime", "file_sd_configs": [{"files": [str(folder / "runtimes.json")], "refresh_interval": "5s"}]},
            {"job_name": "loadgen", "static_configs": [{"targets": [f"127.0.0.1:{loadgen_port}"]}]},
        ],
    }


def write_config(folder: Path, cfg: dict) -> Path:
    """Write prometheus.yml where the stack keeps its files."""
    path = folder / "prometheus.yml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def write_targets(folder: Path, targets: list[dict]) -> None:
    """[{"target": "127.0.0.1:8102", "version": "v1", "role": "stable", "path": "/metrics"}], by rename."""
    groups = [{"targets": [t["target"]], "labels": {"version": t["version"], "revision": t["revision"],
                                                    "role": t["role"], "__metrics_path__": t["path"]}} for t in targets]
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".runtimes-")
    with os.fdopen(fd, "w") as f:
        json.dump(groups, f)
    os.replace(tmp, folder / "runtimes.json")


def command(binary: str, config_path: Path, data: Path, port: int) -> list[str]:
    """Prometheus' command line for the stack: its config, data folder and port, localhost only."""
    return [binary, f"--config.file={config_path}", f"--storage.tsdb.path={data}",
            f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=1d", "--log.level=warn"]
