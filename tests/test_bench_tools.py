"""The benchmarks read wrk's and hey's structured output (wrk's Lua done() hook, hey -o csv): real tools, a real server."""

import http.server
import random
import threading

import pytest

from bench import loadgen, paired, runtime, wrk


class Answer(http.server.BaseHTTPRequestHandler):
    """200 with a small body, or 500 under /fail; every body is read, as a real server does."""

    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        status = 500 if self.path.startswith("/fail") else 200
        self.send_response(status)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.mark.tools
def test_wrk_figures_come_from_its_done_hook(server):
    ok = wrk.run(f"{server}/ok", '{"data": {"ndarray": [[1, 2]]}}', seconds=1, connections=2)
    assert ok["requests"] > 10 and ok["rps"] > 0 and ok["non_2xx"] == 0 and ok["socket_errors"] == 0
    assert 0 < ok["p50_ms"] <= ok["p90_ms"] <= ok["p99_ms"]
    failing = wrk.run(f"{server}/fail", "{}", seconds=1, connections=2)
    assert failing["non_2xx"] == failing["requests"] > 10


def test_the_hooks_counters_become_rates_and_milliseconds():
    report = {"requests": 500, "duration_us": 2_000_000, "bytes": 1, "non_2xx": 3, "connect_errors": 1, "read_errors": 2,
              "write_errors": 0, "timeouts": 4, "p50_us": 1500, "p90_us": 2500, "p99_us": 9000}
    assert wrk.summarise(report) == {"requests": 500, "seconds": 2.0, "rps": 250.0, "p50_ms": 1.5, "p90_ms": 2.5, "p99_ms": 9.0,
                                     "non_2xx": 3, "socket_errors": 7}


def test_a_body_that_would_end_the_lua_string_is_refused():
    with pytest.raises(ValueError, match=r"\]===\]"):
        wrk.run("http://127.0.0.1:9/", '{"a": "]===]"}', seconds=1, connections=1)


@pytest.mark.tools
def test_hey_figures_come_from_its_csv(server):
    out = loadgen.hey(f"{server}/ok", "{}", rps=40, seconds=1)
    assert out["achieved_rps"] > 0 and out["errors"] == 0
    assert 0 < out["p50"] <= out["p90"] <= out["p99"]
    assert loadgen.hey(f"{server}/fail", "{}", rps=40, seconds=1)["errors"] > 10


def test_rounds_rotate_so_each_variant_takes_each_place():
    orders = [paired.rotated(["a", "b", "c"], r) for r in range(3)]
    assert orders == [["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"]]
    assert {order.index("a") for order in orders} == {0, 1, 2}


def test_ratios_pair_the_same_round():
    runs = {"x": [{"rps": 200.0, "us": 5.0}, {"rps": 90.0, "us": 10.0}], "y": [{"rps": 100.0, "us": 10.0}, {"rps": 100.0, "us": 5.0}]}
    assert paired.ratios(runs, "x", "y", "rps") == [2.0, 0.9]
    assert paired.ratios(runs, "x", "y", "us", lower_is_better=True) == [2.0, 0.5]


def test_turns_merge_into_one_run_weighted_by_what_each_answered():
    turns = [{"requests": 100, "seconds": 1.0, "rps": 100.0, "cpu_s": 0.1, "cpu_us": 1000.0, "p50_ms": 1.0, "p90_ms": 2.0, "p99_ms": 3.0,
              "non_2xx": 1, "socket_errors": 0},
             {"requests": 300, "seconds": 1.0, "rps": 300.0, "cpu_s": 0.18, "cpu_us": 600.0, "p50_ms": 5.0, "p90_ms": 6.0, "p99_ms": 9.0,
              "non_2xx": 0, "socket_errors": 2}]
    merged = runtime.merged(turns)
    assert merged["requests"] == 400 and merged["rps"] == 200.0 and merged["cpu_us"] == pytest.approx(700.0)
    assert merged["p50_ms"] == 3.0 and merged["non_2xx"] == 1 and merged["socket_errors"] == 2
    idle = {**turns[0], "requests": 0, "rps": 0.0, "cpu_s": 0.04, "cpu_us": 40000.0}  # a turn that answered nothing
    assert runtime.merged([*turns, idle])["cpu_us"] == pytest.approx(800.0)  # its CPU still counts


def test_a_places_own_effect_is_taken_out_of_the_figures():
    """Built with known effects and a little seeded noise: each round slower or faster, the first place 3% dearer,
    b 1% dearer than a. The fit finds b's 1% within its interval, and c's 0%."""
    names, rounds, rng = ["a", "b", "c"], 6, random.Random(3)
    place_effect, variant_effect = [1.03, 1.0, 0.98], {"a": 1.0, "b": 1.01, "c": 1.0}
    runs: dict[str, list[dict]] = {n: [{} for _ in range(rounds)] for n in names}
    for r in range(rounds):
        for place, name in enumerate(paired.rotated(names, r)):
            noise = 1 + rng.gauss(0, 0.001)
            runs[name][r] = {"place": place, "cpu_us": 1000 * (1 + r / 10) * place_effect[place] * variant_effect[name] * noise}
    fit = paired.place_adjusted(runs, "cpu_us")
    assert fit is not None
    value, low, high = fit.ratio("b", "a")
    assert low < 1.01 < high and abs(value - 1.01) < 0.002 and high - low < 0.01
    assert fit.ratio("c", "a")[1] < 1.0 < fit.ratio("c", "a")[2]
    assert paired.place_adjusted({n: rs[:2] for n, rs in runs.items()}, "cpu_us") is None  # no degrees of freedom left


def test_the_cost_figure_turns_the_interval_round():
    """A CPU factor of 1.02 on ours is a cost of about 2%, and the interval's ends swap as the figure is 1 - speed."""
    runs = {name: [{"place": (i + r) % 3, "cpu_us": 1000.0 * f * (1 + 0.002 * ((r * 7 + i) % 3))}
                   for r in range(6)] for i, (name, f) in enumerate([("ours-predict", 1.02), ("bare-predict", 1.0),
                                                                     ("bare-again", 1.0)])}
    cost, low, high = runtime.place_removed(runs, "cpu_us")["cost of metrics + fault switch"]
    assert low < cost < high and abs(cost - (1 - 1 / 1.02)) < 0.005
