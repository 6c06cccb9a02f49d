"""What each image is for, checked on a running container: inference, metrics, fault variables, uid 10001."""

import socket
import time
from collections.abc import Callable

import docker
import httpx

from images.containers import Containers, wait_exit, wait_healthy
from images.engine import EngineError

ROW = [13.2, 1.78, 2.14, 11.2, 100, 2.65, 2.76, 0.26, 1.28, 4.38, 1.05, 3.4, 1050]
V2_BODY = {"inputs": [{"name": "x", "shape": [1, 13], "datatype": "FP64", "data": ROW}]}


def free_port() -> int:
    """A port free on 127.0.0.1 now, to publish a container's port on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def expect(ok: bool, what: str) -> None:
    """Fail the smoke test with ``what`` unless ``ok``."""
    if not ok:
        raise EngineError(f"smoke test failed: {what}")


def scrape(url: str, needle: str, timeout_s: float = 10) -> str:
    """The metrics page once it shows ``needle`` (the Seldon runtime hands metrics over every 0.1 s), or as last read."""
    deadline = time.monotonic() + timeout_s
    while True:
        text = httpx.get(url, timeout=10).text
        if needle in text or time.monotonic() > deadline:
            return text
        time.sleep(0.1)


def uid(container) -> str:
    """The uid the container's processes run as."""
    return container.exec_run(["id", "-u"]).output.decode().strip()


def mlserver(box: Containers, ref: str) -> list[str]:
    """v2 answers with its version, the custom metrics count it, FAULT_ERROR_RATIO=1 fails every request."""
    http, metrics = free_port(), free_port()
    container = box.run(ref, {http: 8080, metrics: 8082}, {"MODEL_VERSION": "v2"})
    health = wait_healthy(container)
    answer = httpx.post(f"http://127.0.0.1:{http}/v2/models/wine/infer", json=V2_BODY, timeout=10)
    expect(answer.status_code == 200 and answer.json()["model_version"] == "v2", f"{ref} inference: {answer.text}")
    text = httpx.get(f"http://127.0.0.1:{metrics}/metrics", timeout=10).text
    expect('mlcanary_predictions_total{model_name="wine",model_version="v2"' in text, f"{ref} custom metrics")
    expect(uid(container) == "10001", f"{ref} runs as uid {uid(container)}, not 10001")
    faulty_port = free_port()
    faulty = box.run(ref, {faulty_port: 8080}, {"FAULT_ERROR_RATIO": "1"})
    wait_healthy(faulty)
    codes = {httpx.post(f"http://127.0.0.1:{faulty_port}/v2/models/wine/infer", json=V2_BODY, timeout=10).status_code
             for _ in range(5)}
    expect(codes == {500}, f"{ref} with FAULT_ERROR_RATIO=1 answered {codes}")
    return [f"healthy ({health})", "v2 inference", "custom metrics", "FAULT_ERROR_RATIO", "uid 10001"]


def seldon(box: Containers, ref: str) -> list[str]:
    """v2 answers through the wrapper, FAULT_WRONG_RATIO=1 turns answers wrong, metrics count the faults."""
    http, metrics = free_port(), free_port()
    container = box.run(ref, {http: 9000, metrics: 6000}, {"MODEL_VERSION": "v2", "FAULT_WRONG_RATIO": "1"})
    health = wait_healthy(container)
    answer = httpx.post(f"http://127.0.0.1:{http}/api/v1.0/predictions", json={"data": {"ndarray": [ROW]}}, timeout=10)
    expect(answer.status_code == 200 and answer.json()["meta"]["tags"]["model_version"] == "v2", f"{ref}: {answer.text}")
    expect(answer.json()["data"]["ndarray"] == [["class_1"]], f"{ref} with FAULT_WRONG_RATIO=1 answered right")
    text = scrape(f"http://127.0.0.1:{metrics}/metrics", "mlcanary_faults_injected_total{")
    expect("mlcanary_faults_injected_total{" in text, f"{ref} custom metrics")
    expect(uid(container) == "10001", f"{ref} runs as uid {uid(container)}, not 10001")
    return [f"healthy ({health})", "v2 inference", "FAULT_WRONG_RATIO", "custom metrics", "uid 10001"]


def loadgen(box: Containers, ref: str, runtime_ref: str) -> list[str]:
    """--help works; a short run against the runtime's container succeeds on every request."""
    code, out = wait_exit(box.run(ref, command=["--help"]))
    expect(code == 0 and "usage" in out, f"{ref} --help exited {code}")
    http = free_port()
    wait_healthy(box.run(runtime_ref, {http: 8080}))
    code, out = wait_exit(box.run(ref, command=["--target", f"http://127.0.0.1:{http}", "--rps", "20",
                                                "--duration", "3s", "--quiet"], host_network=True))
    expect(code == 0 and "100.00%" in out, f"{ref} against {runtime_ref} exited {code}:\n{out}")
    expect(uid_of_image(box.client, ref) == "10001", f"{ref} does not run as uid 10001")
    return ["--help", "3 s at 20 rps, all 200", "uid 10001"]


def judge(box: Containers, ref: str) -> list[str]:
    """Healthy; with its Prometheus down it answers 502 (an Error to Argo, never a pass); a bad revision is a 422."""
    http = free_port()
    container = box.run(ref, {http: 8080}, {"JUDGE_PROMETHEUS_URL": "http://127.0.0.1:9"})
    health = wait_healthy(container)
    url = f"http://127.0.0.1:{http}/v1/judge"
    down = httpx.get(url, params={"canary": "5f7c9d8b4c", "stable": "6d8e0a9c5d", "weight": 10}, timeout=10)
    expect(down.status_code == 502 and "did not answer" in down.json().get("error", ""), f"{ref} without Prometheus: {down.text}")
    bad = httpx.get(url, params={"canary": 'x"}', "stable": "6d8e0a9c5d", "weight": 10}, timeout=10)
    expect(bad.status_code == 422, f"{ref} took a bad revision: {bad.status_code} {bad.text}")
    expect(uid(container) == "10001", f"{ref} runs as uid {uid(container)}, not 10001")
    return [f"healthy ({health})", "502 without Prometheus", "422 for a bad revision", "uid 10001"]


def uid_of_image(client: docker.DockerClient, ref: str) -> str:
    """The image's USER."""
    return (client.images.get(ref).attrs.get("Config") or {}).get("User", "")


def smoke_all(client: docker.DockerClient, refs: dict[str, str], say: Callable[[str], None] = print) -> list[str]:
    """Check every named image; every container started is removed, also on failure or Ctrl-C."""
    rows = []
    with Containers(client) as box:
        for name, ref in refs.items():
            say(f"[{name}] smoke test of {ref}")
            if name == "loadgen":
                checks = loadgen(box, ref, refs.get("mlserver") or ref.replace("loadgen", "mlserver"))
            else:
                checks = {"mlserver": mlserver, "seldon": seldon, "judge": judge}[name](box, ref)
            rows.append(f"{ref:<40} ok: {', '.join(checks)}")
    return rows
