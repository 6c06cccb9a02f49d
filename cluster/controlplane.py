"""Start and stop the local control plane: etcd -> kube-apiserver -> controller-manager, scheduler and KWOK
-> the node and the CRDs -> the Argo Rollouts controller. Every process started is stopped by ``down``,
and by ``up`` itself when a later one fails."""

import json
import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Callable

import httpx
import psutil

from canary.local import ports, procs
from cluster import components
from cluster.settings import ClusterSettings


class ClusterError(Exception):
    """A failure a person can act on, in one line."""


def _pids(s: ClusterSettings) -> dict[str, tuple[int, float]]:
    path = s.run_dir / "pids.json"
    return {name: tuple(v) for name, v in json.loads(path.read_text()).items()} if path.exists() else {}


def _ours(pid: int, created: float) -> psutil.Process | None:
    """The process, if it is still the one started (a pid is reused after a reboot or a long time)."""
    try:
        process = psutil.Process(pid)
        return process if abs(process.create_time() - created) < 1 and procs.alive(pid) else None
    except psutil.Error:
        return None


def running(s: ClusterSettings) -> dict[str, int]:
    """The components of this control plane still running: name -> pid."""
    return {name: pid for name, (pid, created) in _pids(s).items() if _ours(pid, created)}


def _prepare(s: ClusterSettings) -> None:
    """A fresh etcd, the service-account key pair, the admin's token and its kubeconfig."""
    shutil.rmtree(s.run_dir / "etcd", ignore_errors=True)
    (s.run_dir / "pki").mkdir(parents=True, exist_ok=True)
    key, pub = s.run_dir / "sa.key", s.run_dir / "sa.pub"
    if not key.exists():
        subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
        subprocess.run(["openssl", "rsa", "-in", str(key), "-pubout", "-out", str(pub)], check=True,
                       capture_output=True)
    token = secrets.token_hex(24)
    (s.run_dir / "tokens.csv").write_text(f"{token},admin,admin,system:masters\n")
    os.chmod(s.run_dir / "tokens.csv", 0o600)
    # The apiserver's serving certificate is self-signed (its --cert-dir): the kubeconfig skips verification,
    # which is safe only because the server listens on loopback.
    s.kubeconfig.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "ml-canary-local",
        "clusters": [{"name": "ml-canary-local", "cluster": {
            "server": f"https://127.0.0.1:{s.apiserver_port}", "insecure-skip-tls-verify": True}}],
        "users": [{"name": "admin", "user": {"token": token}}],
        "contexts": [{"name": "ml-canary-local", "context": {"cluster": "ml-canary-local", "user": "admin"}}]}))
    os.chmod(s.kubeconfig, 0o600)


def _start(s: ClusterSettings, c: components.Component, started: dict[str, procs.Process]) -> None:
    started[c.name] = procs.start(c.command, s.run_dir / f"{c.name}.log", c.env)
    pids = {n: (p.pid, psutil.Process(p.pid).create_time()) for n, p in started.items()}
    (s.run_dir / "pids.json").write_text(json.dumps(pids))


def _wait(s: ClusterSettings, c: components.Component, process: procs.Process) -> None:
    """Until the component's URL answers 200; a one-line error naming its log otherwise."""
    token = (s.run_dir / "tokens.csv").read_text().split(",")[0]
    deadline = time.monotonic() + s.ready_timeout_s
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise ClusterError(f"{c.name} exited with {process.popen.returncode}: {process.cause()} "
                               f"(log: {process.log_path})")
        try:
            answer = httpx.get(c.ready_url, verify=False, timeout=2, headers={"Authorization": f"Bearer {token}"})
            if answer.status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise ClusterError(f"{c.name} not ready after {s.ready_timeout_s:g} s (log: {process.log_path})")


def kubectl(s: ClusterSettings, *args: str, stdin: str | None = None) -> str:
    """Run the built kubectl against this control plane; its stderr in the error when it fails."""
    done = subprocess.run([str(s.tools_dir / "kubectl"), f"--kubeconfig={s.kubeconfig}", *args], input=stdin,
                          capture_output=True, text=True)
    if done.returncode:
        last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise ClusterError(f"kubectl {' '.join(args[:3])}: {last}")
    return done.stdout


NODE = """{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "%s",
  "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
  "labels": {"kubernetes.io/hostname": "%s", "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
             "type": "kwok"}},
 "status": {"allocatable": {"cpu": "32", "memory": "64Gi", "pods": "110"},
            "capacity": {"cpu": "32", "memory": "64Gi", "pods": "110"}}}"""


def _platform(s: ClusterSettings) -> None:
    """The KWOK node, every CRD (established before Argo starts: it looks for Istio's once) and Argo's namespace."""
    kubectl(s, "apply", "-f", "-", stdin=NODE % (s.node, s.node))
    kubectl(s, "apply", "--server-side", "-f", str((s.tools_dir.parent / "crds").resolve()))
    kubectl(s, "wait", "--for=condition=Established", "--timeout=60s", "crd", "--all")
    kubectl(s, "create", "namespace", "argo-rollouts")


def _check(s: ClusterSettings) -> None:
    """What up needs before it starts anything: the binaries, openssl, no running copy, free ports."""
    missing = [b for b in components.BINARIES if not (s.tools_dir / b).exists()]
    missing += [] if (s.tools_dir.parent / "kwok-stages" / "stages.yaml").exists() else ["KWOK's stages"]
    if missing:
        raise ClusterError(f"missing {', '.join(missing)} in {s.tools_dir}: run make cluster-tools")
    if shutil.which("openssl") is None:
        raise ClusterError("openssl is missing (it makes the service-account key): apt-get install openssl")
    if running(s):
        raise ClusterError(f"already up ({', '.join(running(s))}); run make cluster-down first")
    problems = ports.check(s.port_table())
    if problems:
        raise ClusterError(problems[0])


def up(s: ClusterSettings, log: Callable[[str], None] = print) -> None:
    """Start every component in order; on any failure stop what started and raise a ClusterError."""
    _check(s)
    s.run_dir.mkdir(parents=True, exist_ok=True)
    _prepare(s)
    started: dict[str, procs.Process] = {}
    t0 = time.monotonic()
    try:
        stages = components.stages(s)
        for group in ([components.etcd(s)], [components.apiserver(s)],
                      [components.controller_manager(s), components.scheduler(s), components.kwok(s, stages)],
                      [components.argo_rollouts(s)]):
            if group[0].name == "argo-rollouts":
                _platform(s)
            for c in group:
                _start(s, c, started)
            for c in group:
                _wait(s, c, started[c.name])
                log(f"{c.name}: ready after {time.monotonic() - t0:.1f} s")
    except BaseException:
        down(s)
        raise


def down(s: ClusterSettings) -> list[str]:
    """Stop every component (the whole process group, SIGKILL if it lingers); the names stopped."""
    stopped = []
    for name, (pid, created) in reversed(list(_pids(s).items())):
        process = _ours(pid, created)
        if process is None:
            continue
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(pid, sig)
                process.wait(10)
                break
            except psutil.TimeoutExpired:
                continue
            except (ProcessLookupError, PermissionError, psutil.NoSuchProcess):
                break
        stopped.append(name)
    (s.run_dir / "pids.json").unlink(missing_ok=True)
    return stopped


def env(s: ClusterSettings) -> dict[str, str]:
    """What a shell needs to use this control plane with the built kubectl and Argo's plugin."""
    return {"KUBECONFIG": str(s.kubeconfig.resolve()),
            "PATH": f"{s.tools_dir}{os.pathsep}{os.environ.get('PATH', '')}"}

