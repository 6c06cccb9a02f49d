"""Answers sharded over judge replicas: every revision's answer to a request goes to the same one."""

import pytest
from pydantic import ValidationError

from servers.answers import AnswerSettings

URL = "http://ml-canary-judge-{shard}.ml-canary-judge-peers.ml-canary.svc:8080/v1/answers"


def test_each_request_goes_to_one_replica_whichever_revision_reports_it():
    stable, canary = (AnswerSettings(url=URL, shards=3, revision=rev) for rev in ("s1", "c1"))
    ids = [f"req-{i}" for i in range(3000)]
    assert [stable.url_of(r) for r in ids] == [canary.url_of(r) for r in ids]
    counts = {url: [canary.url_of(r) for r in ids].count(url) for url in {canary.url_of(r) for r in ids}}
    assert sorted(counts) == [URL.replace("{shard}", str(k)) for k in range(3)]
    assert min(counts.values()) > 900  # an even share each


@pytest.mark.parametrize("url, shards", [(URL, 1), ("http://judge:8080/v1/answers", 2)])
def test_a_url_and_a_shard_count_that_disagree_are_refused_at_start(url, shards):
    with pytest.raises(ValidationError, match="ANSWERS_SHARDS"):
        AnswerSettings(url=url, shards=shards)


def test_one_judge_gets_every_answer():
    assert AnswerSettings(url="http://judge:8080/v1/answers").url_of("req-1") == "http://judge:8080/v1/answers"
