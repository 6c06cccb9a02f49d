"""Bodies a fuzzed JSON endpoint gets (hypothesis): any JSON document, and near misses of an expected shape.

Standard strategies only, so the Seldon venv runs it too (tests/fuzz.py needs schemathesis).
"""

import httpx
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12)
DOCUMENTS = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                         | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=12)


def near(shape: dict) -> st.SearchStrategy:
    """Objects with some of ``shape``'s keys, each holding its usual strategy or any JSON at all."""
    return st.fixed_dictionaries({}, optional={k: v | DOCUMENTS for k, v in shape.items()})


def post_fuzzed(url: str, bodies: st.SearchStrategy, counted, examples: int = 60) -> None:
    """POST each body (and raw bytes): never a 5xx, and a refused body (4xx) changes nothing ``counted`` reads."""

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(body=bodies | st.binary(max_size=64))
    def run(body) -> None:
        before = counted()
        raw = {"content": body, "headers": {"content-type": "application/json"}} if isinstance(body, bytes) else {"json": body}
        response = httpx.post(url, timeout=10, **raw)
        assert response.status_code < 500, f"{body!r}: {response.status_code} {response.text}"
        if response.status_code >= 400:
            assert counted() == before, f"{body!r} was refused ({response.status_code}) but counted"

    run()
