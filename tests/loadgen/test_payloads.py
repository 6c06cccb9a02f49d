import json

import pytest

from loadgen import payloads


def test_rows_encode_in_each_protocol():
    rows = [[1.0] * 13, [2.0] * 13]
    v2 = json.loads(payloads.encode_rows("v2", rows))["inputs"][0]
    assert v2["shape"] == [2, 13] and v2["datatype"] == "FP64" and v2["data"] == [1.0] * 13 + [2.0] * 13
    assert json.loads(payloads.encode_rows("seldon", rows)) == {"data": {"ndarray": rows}}
    named = json.loads(payloads.encode_rows("seldon", rows, ["a"] * 13))["data"]
    assert named["names"] == ["a"] * 13 and named["ndarray"] == rows


def test_an_unknown_protocol_is_refused():
    with pytest.raises(ValueError, match="unknown protocol 'grpc'"):
        payloads.encode_rows("grpc", [[1.0] * 13])
