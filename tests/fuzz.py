"""A live API fuzzed from its own OpenAPI document (schemathesis), bounded in examples and seeded.

What a refusal must look like, for every operation: never a 500; a 4xx with a JSON body whose
``error`` names the problem; and nothing changed by it (``state``, read before and after).
"""

import json
from collections.abc import Callable

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode


def check_refusal(name: str, response, before, after, upstream_ok: bool) -> None:
    """The rules above for one answer; ``upstream_ok``: a 502 naming a platform that is down is allowed."""
    status = response.status_code
    assert status != 500 and (status < 500 or (status == 502 and upstream_ok)), f"{name}: {status} {response.text}"
    if status >= 400:
        try:
            error = json.loads(response.text).get("error")
        except ValueError:
            error = None
        assert isinstance(error, str) and len(error) > 3, f"{name}: {status} without a reason: {response.text}"
    if 400 <= status < 500:
        assert after == before, f"{name}: a refused request ({status}) changed the state"


def fuzz(base: str, *, headers: dict | None = None, cookies: dict | None = None, examples: int = 20,
         skip: tuple[str, ...] = (), upstream: tuple[str, ...] = (), state: Callable = lambda: None) -> int:
    """Every operation of the API at ``base`` but ``skip`` ("POST /shutdown"), with valid and invalid data;
    ``upstream``: operations that call a platform that may be down. The number of requests made."""
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    made = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        name = f"{operation.method.upper()} {operation.path}"
        if name in skip:
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(mode, headers=headers, cookies=cookies))
            def run(case) -> None:
                nonlocal made
                before = state()
                response = case.call(base_url=base, timeout=15)
                made += 1
                check_refusal(f"{name} ({mode})", response, before, state(), name in upstream)

            try:
                run()
            except Unsatisfiable:  # no parameter nor body to make invalid (GET /healthz): nothing to try
                assert mode == GenerationMode.NEGATIVE, name
    return made
