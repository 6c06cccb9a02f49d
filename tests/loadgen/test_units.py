import itertools
import random

import pytest

from loadgen import shapes
from loadgen.cli import parse_headers
from loadgen.payloads import PayloadPool, path_for
from loadgen.runner import parse, version_of
from loadgen.stats import Stats, is_success


def test_constant_schedule_has_no_drift():
    times = list(itertools.islice(shapes.Constant(2000).schedule(), 1_000_001))
    assert times[-1] == pytest.approx(500.0, abs=1e-9)


def test_ramp_sends_the_area_under_the_rate():
    ramp = shapes.Ramp(start_rps=0, end_rps=100, over_s=10)
    sent = sum(1 for _ in itertools.takewhile(lambda t: t < 10, ramp.schedule()))
    assert sent == 500  # the triangle: 10 s * 100 rps / 2
    later = list(itertools.islice(ramp.schedule(), 500, 601))
    assert later[-1] - later[0] == pytest.approx(1.0)  # then 100 rps, held


def test_ramp_down_to_zero_ends():
    assert len(list(shapes.Ramp(start_rps=10, end_rps=0, over_s=4).schedule())) == 20


def test_steps_follow_each_rate_and_skip_zero():
    steps = shapes.Steps.parse("10:2s,0:1s,50:2s")
    times = list(itertools.takewhile(lambda t: t < 5, steps.schedule()))
    assert sum(t < 2 for t in times) == 20
    assert not any(2 <= t < 3 for t in times)
    assert sum(3 <= t < 5 for t in times) == pytest.approx(100, abs=1)


@pytest.mark.parametrize("text", ["50", "a:5s", "50:soon", "-1:5s"])
def test_bad_steps_are_refused(text):
    with pytest.raises(ValueError):
        shapes.Steps.parse(text)


def test_headers_parse_and_refuse_garbage():
    assert parse_headers(["X-Canary: always", "Host:a:b"]) == {"X-Canary": "always", "Host": "a:b"}
    with pytest.raises(ValueError, match="Name: value"):
        parse_headers(["nocolon"])


@pytest.mark.parametrize(
    "headers, body, version",
    [
        ({"x-model-version": "v2"}, b"{}", "v2"),
        ({}, b'{"model_version": "v1"}', "v1"),
        ({}, b'{"meta": {"tags": {"model_version": "v2"}}}', "v2"),
        ({}, b"not json", "unknown"),
        ({}, b"[1, 2]", "unknown"),
    ],
)
def test_version_attribution(headers, body, version):
    assert version_of(headers, parse(body)) == version


@pytest.mark.parametrize(
    "status, valid, success",
    [(200, True, True), (500, True, False), (400, True, False), (400, False, True), (422, False, True),
     (500, False, False), ("timeout", True, False)],
)
def test_success_means_the_expected_answer(status, valid, success):
    assert is_success(status, valid) is success


def test_invalid_share_is_seeded():
    pool = PayloadPool("v2", random.Random(4), invalid_ratio=0.25)
    draws = [pool.draw().valid for _ in range(8000)]
    assert draws.count(False) / len(draws) == pytest.approx(0.25, abs=0.02)
    again = PayloadPool("v2", random.Random(4), invalid_ratio=0.25)
    assert [again.draw().valid for _ in range(8000)] == draws


def test_paths_follow_the_protocol():
    assert path_for("v2", "wine") == "/v2/models/wine/infer"
    assert path_for("seldon", "wine") == "/api/v1.0/predictions"


def test_stats_keep_versions_apart():
    stats = Stats()
    stats.record("v1", 200, True, 1000, 900)
    stats.record("v2", 500, True, 2000, 1900)
    assert stats.versions["v1"].success_ratio == 1.0
    assert stats.versions["v2"].success_ratio == 0.0
    assert stats.total.requests == 2 and stats.total.statuses == {"200": 1, "500": 1}
