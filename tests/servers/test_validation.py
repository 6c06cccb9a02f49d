import numpy as np
import pytest

from servers.errors import InvalidInput
from servers.validation import MAX_BATCH_ROWS, rows_from_array, rows_from_tensor

ROW = [13.2, 1.78, 2.14, 11.2, 100, 2.65, 2.76, 0.26, 1.28, 4.38, 1.05, 3.4, 1050]


@pytest.mark.parametrize(
    "shape, datatype, data, message",
    [
        ([1, 13], "BYTES", ["x"] * 13, "datatype BYTES"),
        ([1, 13], "BOOL", [True] * 13, "datatype BOOL"),
        ([13], "FP64", ROW, "shape [13]"),
        ([1, 1, 13], "FP64", ROW, "shape [1, 1, 13]"),
        ([1, 12], "FP64", ROW[:12], "12 features per row"),
        ([1, 14], "FP64", ROW + [1], "14 features per row"),
        ([0, 13], "FP64", [], "empty batch"),
        ([2, 13], "FP64", ROW, "13 values but shape [2, 13] needs 26"),
        ([1, 13], "FP64", [float("nan")] + ROW[1:], "NaN or infinite value at row 0, feature 0"),
        ([1, 13], "FP64", ROW[:12] + [float("inf")], "feature 12"),
        ([1, 13], "FP64", ["a"] + ROW[1:], "not a rectangular array of numbers"),
        ([1, 13], "FP64", [[1, 2], [3]], "not a rectangular array"),
    ],
)
def test_bad_tensors_name_the_problem(shape, datatype, data, message):
    with pytest.raises(InvalidInput, match=message.replace("[", r"\[").replace("]", r"\]")) as info:
        rows_from_tensor("x", shape, datatype, data, 13)
    assert info.value.status_code == 400


@pytest.mark.parametrize("datatype", ["FP32", "FP64", "INT32", "INT64"])
def test_numeric_tensors_flat_or_nested(datatype):
    flat = rows_from_tensor("x", [2, 13], datatype, ROW + ROW, 13)
    nested = rows_from_tensor("x", [2, 13], datatype, [ROW, ROW], 13)
    assert flat.shape == (2, 13)
    np.testing.assert_array_equal(flat, nested)


def test_too_large_a_batch_is_refused():
    with pytest.raises(InvalidInput, match=f"at most {MAX_BATCH_ROWS}"):
        rows_from_array([ROW] * (MAX_BATCH_ROWS + 1), 13)


def test_a_single_flat_row_is_one_row():
    assert rows_from_array(ROW, 13).shape == (1, 13)
