"""State files are replaced whole: a reader never sees an empty or partial one, and a token stays private."""

import json
import os
import threading

import pytest

from canary import statefile


def test_a_reader_polling_during_rewrites_always_reads_a_whole_document(tmp_path):
    path, seen, errors, done = tmp_path / "stack.json", [], [], threading.Event()
    statefile.write_json(path, {"n": 0, "pad": "x" * 100_000})

    def read() -> None:
        while not done.is_set():
            try:
                seen.append(json.loads(path.read_text())["n"])
            except ValueError as exc:  # an empty or cut file
                errors.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for n in range(1, 200):
            statefile.write_json(path, {"n": n, "pad": "x" * 100_000})
    finally:
        done.set()
        reader.join()
    assert errors == [] and len(seen) > 10 and seen == sorted(seen)
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    assert [p.name for p in tmp_path.iterdir()] == ["stack.json"]  # no temporary file left behind


def test_a_document_that_cannot_be_written_leaves_the_old_file_and_no_temporary_one(tmp_path):
    path = tmp_path / "controller.json"
    statefile.write_json(path, {"pid": 1})
    with pytest.raises(TypeError):
        statefile.write_json(path, {"pid": object()})
    assert json.loads(path.read_text()) == {"pid": 1} and len(list(tmp_path.iterdir())) == 1
