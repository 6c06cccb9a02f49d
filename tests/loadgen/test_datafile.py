"""--data FILE: a person's rows replayed, checked against the model's features first; nothing lost or sent silently."""

import json
import random

import numpy as np
import pandas as pd
import pytest
from fastapi import FastAPI, HTTPException

from loadgen import cli, datafile
from models import tables
from tests.apps import served

FEATURES = ["a", "b", "c"]


def replay(tmp_path, frame: pd.DataFrame, suffix=".csv", **kwargs) -> datafile.ReplayPool:
    path = tmp_path / f"rows{suffix}"
    {".csv": lambda: frame.to_csv(path, index=False), ".parquet": lambda: frame.to_parquet(path),
     ".jsonl": lambda: frame.to_json(path, orient="records", lines=True)}[suffix]()
    options = {"label_column": "y", **kwargs}
    protocol, batch_rows = options.pop("protocol", "v2"), options.pop("batch_rows", 1)
    return datafile.ReplayPool(protocol, datafile.Replay(path, **options), FEATURES, random.Random(3),
                               batch_rows=batch_rows)


def frame(n=6) -> pd.DataFrame:
    return pd.DataFrame({"b": np.arange(n) * 1.5, "a": np.arange(n), "c": np.ones(n), "y": ["no", "yes"] * (n // 2)})


def sent(pool, n) -> list[tuple[list, tuple]]:
    out = []
    for _ in range(n):
        payload = pool.draw()
        out.append((json.loads(payload.body)["inputs"][0]["data"], payload.truth))
    return out


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_rows_go_out_in_the_models_column_order_with_their_labels_and_loop_at_the_end(tmp_path, suffix):
    pool = replay(tmp_path, frame(4), suffix)
    rows = sent(pool, 5)
    assert rows[0] == ([0.0, 0.0, 1.0], ("no",)) and rows[1] == ([1.0, 1.5, 1.0], ("yes",))
    assert rows[4] == rows[0]  # four rows, then the first again


def test_shuffled_is_a_seeded_permutation_of_every_row(tmp_path):
    first = [r for r, _ in sent(replay(tmp_path, frame(6), order="shuffle"), 6)]
    again = [r for r, _ in sent(replay(tmp_path, frame(6), order="shuffle"), 6)]
    in_order = [r for r, _ in sent(replay(tmp_path, frame(6)), 6)]
    assert first == again and first != in_order and sorted(first) == sorted(in_order)


def test_columns_that_do_not_fit_are_named_missing_extra_and_wrong_type_in_one_line(tmp_path):
    bad = frame().drop(columns="c").assign(note="x", b="text")
    with pytest.raises(tables.TableError) as caught:
        replay(tmp_path, bad)
    said = str(caught.value)
    assert said.startswith("columns do not fit the model: missing c; extra note (not a feature of the model); "
                           "not numeric: b (")  # then pandas' name of the dtype
    assert "\n" not in said


def test_rows_with_a_gap_are_counted_and_skipped_or_sent_as_null(tmp_path):
    gappy = frame(6)
    gappy.loc[2, "a"] = np.nan
    skipped = replay(tmp_path, gappy)
    assert (skipped.rows_in_file, skipped.rows_with_gaps) == (6, 1)
    assert all(None not in r for r, _ in sent(skipped, 5)) and len({str(r) for r, _ in sent(skipped, 10)}) == 5
    kept = replay(tmp_path, gappy, missing="send")
    assert kept.rows_with_gaps == 1 and sent(kept, 3)[2][0] == [None, 3.0, 1.0]  # JSON null: the runtime's 400


def test_integer_labels_read_as_floats_from_a_column_with_gaps_are_the_classes_the_model_answers(tmp_path):
    labelled = frame(4).assign(y=[0.0, 1.0, np.nan, 1.0])
    assert [t for _, t in sent(replay(tmp_path, labelled), 3)] == [("0",), ("1",), ("1",)]


def test_seldon_rows_carry_the_feature_names():
    doc = {"inputs": [{"messagetype": "ndarray", "schema": {"names": FEATURES, "shape": [3]}}]}
    assert datafile.feature_names_in("seldon", doc) == FEATURES
    assert datafile.feature_names_in("v2", {"inputs": [{"name": "x", "shape": [-1, 3]}]}) is None


def test_a_target_where_nothing_listens_is_said_in_one_line_and_exits_3(tmp_path, capsys, closed_port):
    frame().to_csv(tmp_path / "rows.csv", index=False)
    code = cli.main(["--target", f"http://127.0.0.1:{closed_port}", "--data", str(tmp_path / "rows.csv"),
                     "--duration", "1s", "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == cli.EXIT_UNREACHABLE and err.startswith(f"loadgen: nothing answers at http://127.0.0.1:{closed_port}")
    assert len(err.splitlines()) == 1


def test_a_run_that_no_server_answered_exits_3_not_0(capsys, closed_port):
    code = cli.main(["--target", f"http://127.0.0.1:{closed_port}", "--rps", "20", "--duration", "1s", "--quiet"])
    assert code == cli.EXIT_UNREACHABLE
    assert "loadgen: nothing answered at" in capsys.readouterr().err


def test_fail_under_is_the_documented_spelling_of_fail_below():
    args = cli.build_parser(cli.LoadgenSettings()).parse_args(["--fail-under", "0.99"])
    assert args.fail_below == 0.99


def test_a_row_whose_label_is_missing_is_sent_but_not_scored(tmp_path):
    unlabelled = frame(4).astype({"y": object})
    unlabelled.loc[1, "y"] = None
    truths = [t for _, t in sent(replay(tmp_path, unlabelled, missing="send"), 4)]
    assert truths == [("no",), (), ("no",), ("yes",)]  # never the truth "nan"


def test_batches_take_each_row_once_a_pass_and_a_file_shorter_than_a_batch_is_refused(tmp_path):
    pool = replay(tmp_path, frame(6), batch_rows=2)
    rows = [r for r, _ in sent(pool, 3)]
    assert rows == [[0.0, 0.0, 1.0, 1.0, 1.5, 1.0], [2.0, 3.0, 1.0, 3.0, 4.5, 1.0], [4.0, 6.0, 1.0, 5.0, 7.5, 1.0]]
    with pytest.raises(tables.TableError, match="6 rows to send, fewer than --batch-rows 8"):
        replay(tmp_path, frame(6), batch_rows=8)


@pytest.fixture(scope="module")
def forbidding():
    """A server whose policy refuses the metadata read (a cluster gateway's AuthorizationPolicy, say)."""
    app = FastAPI()

    @app.get("/v2/models/{name}")
    def metadata(name: str):
        raise HTTPException(403)

    yield from served(app, "forbidding")


def test_a_target_that_will_not_name_its_features_is_said_with_its_status(forbidding):
    with pytest.raises(datafile.NoFeatures, match="answers HTTP 403"):
        datafile.published_features(datafile.metadata_url(forbidding.url, "v2", "m"), "v2", {}, 5)
