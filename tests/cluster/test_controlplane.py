"""``cluster up`` fails in one line a person can act on, and leaves nothing running behind."""

import os
import socket

import psutil
import pytest

from cluster import components, controlplane
from cluster.settings import ClusterSettings, default_tools

pytestmark = pytest.mark.integration


def settings(tmp_path, **changes) -> ClusterSettings:
    """A control plane of its own in tmp_path (the session's cluster keeps its ports)."""
    from canary.local import ports
    base = ports.free_block(12, os.getpid() + 7)
    return ClusterSettings(run_dir=tmp_path / "run", etcd_port=base, apiserver_port=base + 2,
                           controller_manager_port=base + 3, scheduler_port=base + 4, kwok_port=base + 5,
                           argo_healthz_port=base + 6, argo_metrics_port=base + 7, **changes)


def test_a_missing_binary_names_the_command_that_builds_it(tmp_path):
    with pytest.raises(controlplane.ClusterError, match="missing etcd, .* run make cluster-tools"):
        controlplane.up(settings(tmp_path, tools_dir=tmp_path / "empty"))


def test_a_port_in_use_names_its_holder_and_the_variable(tmp_path):
    s = settings(tmp_path)
    with socket.socket() as held:
        held.bind(("127.0.0.1", s.apiserver_port))
        held.listen()
        with pytest.raises(controlplane.ClusterError) as failure:
            controlplane.up(s)
    message = str(failure.value)
    assert f"port {s.apiserver_port} (kube-apiserver) is in use" in message and "CLUSTER_APISERVER_PORT" in message
    assert f"pid {os.getpid()}" in message


def test_a_component_that_never_gets_ready_names_its_log_and_nothing_is_left_running(tmp_path):
    tools = tmp_path / "tools"
    tools.mkdir()
    for name in components.BINARIES:  # the real binaries, but an apiserver that never answers
        (tools / name).symlink_to(default_tools() / name)
    (tools / "kube-apiserver").unlink()
    (tmp_path / "kwok-stages").symlink_to(default_tools().parent / "kwok-stages")
    # No exec: the shell keeps its command line (with tmp_path in it), so a leak would be seen below.
    (tools / "kube-apiserver").write_text("#!/bin/sh\necho listening soon\nsleep 600\n")
    (tools / "kube-apiserver").chmod(0o755)
    s = settings(tmp_path, tools_dir=tools, ready_timeout_s=8)  # etcd, real, is ready well within it
    with pytest.raises(controlplane.ClusterError, match=r"kube-apiserver not ready after 8 s \(log: .*kube-apiserver.log\)"):
        controlplane.up(s, log=lambda line: None)
    leftovers = [p.info["cmdline"] for p in psutil.process_iter(["cmdline"])
                 if any(str(tmp_path) in part for part in p.info["cmdline"] or [])]
    assert leftovers == []
